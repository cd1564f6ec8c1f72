//! Markdown: a heading is a question and the text under it, verbatim, its answer. A heading
//! followed directly by a deeper heading is a section: its title becomes the category of the
//! questions under it. Front matter (YAML between `---` lines, TOML between `+++` lines, at the
//! very start) is the page's settings for a site generator, not FAQ content, and is skipped.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::kb::{Entry, Origin};

use super::{question_entry, Lines};

struct Heading {
    level: HeadingLevel,
    title: String,
    /// Byte range of the heading itself, and where its body ends (the next heading).
    start: usize,
    end: usize,
    body_end: usize,
}

pub(super) fn read(name: &str, text: &str) -> Vec<Entry> {
    let mut headings: Vec<Heading> = Vec::new();
    let mut open: Option<Heading> = None;
    // Without these options `title: FAQ` over YAML front matter's closing `---` is a heading
    // (a setext one), so the page's settings became a question.
    let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                if let Some(prev) = headings.last_mut() {
                    prev.body_end = range.start;
                }
                open = Some(Heading {
                    level,
                    title: String::new(),
                    start: range.start,
                    end: range.end,
                    body_end: text.len(),
                });
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = open.as_mut() {
                    h.title.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(mut h) = open.take() {
                    h.end = range.end;
                    h.title = h.title.trim().to_string();
                    headings.push(h);
                }
            }
            _ => {}
        }
    }

    let mut entries = Vec::new();
    let lines = Lines::new(text);
    // The section titles above the current heading, by level.
    let mut sections: Vec<(HeadingLevel, String)> = Vec::new();
    for (i, h) in headings.iter().enumerate() {
        sections.retain(|(level, _)| *level < h.level);
        let body = text[h.end..h.body_end].trim();
        let next_is_deeper = headings.get(i + 1).is_some_and(|n| n.level > h.level);
        if body.is_empty() && next_is_deeper {
            sections.push((h.level, h.title.clone()));
            continue;
        }
        if h.title.is_empty() {
            continue;
        }
        let origin = Origin {
            file: name.to_string(),
            line: lines.line_of(h.start),
        };
        entries.push(Entry {
            category: sections.last().map(|(_, t)| t.clone()),
            ..question_entry(h.title.clone(), body.to_string(), origin)
        });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAQ: &str = "# Preguntas frecuentes\n\
\n\
## Envíos\n\
\n\
### ¿Cuánto tarda el envío?\n\
\n\
De 2 a 3 días laborables. Consulta [la tabla de envíos](https://tienda.example/envios).\n\
\n\
- Península: 2 días\n\
- Islas: 5 días\n\
\n\
### ¿Enviáis fuera de España?\n\
\n\
Sí, a toda la UE.\n\
\n\
## Pagos\n\
\n\
### ¿Puedo pagar con tarjeta?\n\
\n\
Sí.\n";

    #[test]
    fn headings_are_questions_and_sections_are_categories() {
        let rows = read("faq.md", FAQ);
        let titles: Vec<&str> = rows.iter().map(|r| r.phrasings[0].as_str()).collect();
        assert_eq!(
            titles,
            [
                "¿Cuánto tarda el envío?",
                "¿Enviáis fuera de España?",
                "¿Puedo pagar con tarjeta?"
            ]
        );
        assert!(rows[0].answer.starts_with("De 2 a 3 días laborables. Consulta [la tabla de envíos](https://tienda.example/envios)."));
        assert!(rows[0].answer.ends_with("- Islas: 5 días"));
        assert_eq!(rows[0].category.as_deref(), Some("Envíos"));
        assert_eq!(rows[2].category.as_deref(), Some("Pagos"));
        assert_eq!(rows[0].origin.line, 5);
        assert_eq!(rows[0].id, "cuanto-tarda-el-envio");
    }

    #[test]
    fn front_matter_is_not_a_question() {
        for front in [
            "---\ntitle: FAQ\nlayout: page\n---\n",
            "+++\ntitle = \"FAQ\"\n+++\n",
        ] {
            let rows = read(
                "faq.md",
                &format!("{front}\n## Opening hours?\n\n9 to 5.\n"),
            );
            let titles: Vec<&str> = rows.iter().map(|r| r.phrasings[0].as_str()).collect();
            assert_eq!(titles, ["Opening hours?"], "{front}");
            assert_eq!(rows[0].answer, "9 to 5.");
            assert_eq!(rows[0].origin.line, front.lines().count() + 2);
        }
        // A rule (---) later on stays part of an answer.
        let rows = read(
            "faq.md",
            "## Hours?\n\n9 to 5.\n\n---\n\nClosed on Sundays.\n",
        );
        assert_eq!(rows.len(), 1);
        assert!(
            rows[0].answer.ends_with("Closed on Sundays."),
            "{}",
            rows[0].answer
        );
    }

    #[test]
    fn a_question_with_no_text_is_kept_with_an_empty_answer_for_the_linter() {
        let rows = read(
            "faq.md",
            "## Where are you?\n\n## Opening hours?\n\n9 to 5.\n",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].answer, "");
        assert_eq!(rows[1].answer, "9 to 5.");
    }
}
