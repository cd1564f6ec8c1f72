//! Text normalisation shared by the knowledge base's ids and lexical search: folding the
//! accented Latin letters common in Spanish, French, German and Portuguese to their base.

/// The base letter of a Latin letter with a diacritic; other characters pass through.
pub(crate) fn fold_char(c: char) -> char {
    const FROM: &str = "áàâäãåçéèêëíìîïñóòôöõúùûüýÿÁÀÂÄÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝ";
    const TO: &str = "aaaaaaceeeeiiiinooooouuuuyyAAAAAACEEEEIIIINOOOOOUUUUY";
    FROM.chars()
        .position(|f| f == c)
        .and_then(|i| TO.chars().nth(i))
        .unwrap_or(c)
}

pub(crate) fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// An owner's answer (Markdown, or the few HTML tags the chat shows) as the words a reader
/// sees: tags and link targets dropped, the common entities and emphasis marks undone, runs of
/// white space made one space. For embedding an answer, not for showing it. Written here
/// rather than with an HTML or Markdown parser because the core also runs in the browser,
/// which carries neither, and answers reach it already cleaned to a few tags
/// (`kb::sources::markup`): a reader's words need no more than this.
pub(crate) fn answer_words(answer: &str) -> String {
    let mut out = String::with_capacity(answer.len());
    let mut rest = answer;
    while let Some(c) = rest.chars().next() {
        let tail = &rest[c.len_utf8()..];
        match c {
            '<' if tail.starts_with(|t: char| t.is_ascii_alphabetic() || t == '/' || t == '!') => {
                match tail.find('>') {
                    Some(end) if !tail[..end].contains('<') => {
                        out.push(' ');
                        rest = &tail[end + 1..];
                        continue;
                    }
                    _ => out.push(c),
                }
            }
            // A Markdown link's target: `](url)` keeps only the text before it.
            ']' if tail.starts_with('(') => match tail.find(')') {
                Some(end) => {
                    rest = &tail[end + 1..];
                    continue;
                }
                None => out.push(' '),
            },
            '&' => {
                const ENTITIES: [(&str, char); 7] = [
                    ("amp;", '&'),
                    ("lt;", '<'),
                    ("gt;", '>'),
                    ("quot;", '"'),
                    ("#39;", '\''),
                    ("apos;", '\''),
                    ("nbsp;", ' '),
                ];
                match ENTITIES.iter().find(|(name, _)| tail.starts_with(name)) {
                    Some((name, ch)) => {
                        out.push(*ch);
                        rest = &tail[name.len()..];
                        continue;
                    }
                    None => out.push(c),
                }
            }
            '[' | '*' | '_' | '`' | '#' => out.push(' '),
            _ => out.push(c),
        }
        rest = tail;
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_words_are_what_a_reader_sees() {
        assert_eq!(
            answer_words("We're open <b>Monday</b> to Saturday; see our <a href=\"/en/contact/\">contact page</a> &amp; more."),
            "We're open Monday to Saturday; see our contact page & more."
        );
        assert_eq!(
            answer_words("## Envíos\n\nLlegan en **2 o 3 días**: más en [envíos](https://example.com/envios)."),
            "Envíos Llegan en 2 o 3 días : más en envíos."
        );
        assert_eq!(answer_words("a < b and c > d"), "a < b and c > d");
        assert_eq!(answer_words("[unclosed](link"), "unclosed (link");
    }
}
