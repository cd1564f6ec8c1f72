//! The linter: owns finding what in an owner's FAQ will make answers wrong or missing, and
//! saying where. It never changes entries; it only reports.
//!
//! Two passes: [`check_rows`] needs only the text (contradicting rows under one id, empty
//! answers or questions, one question under two entries); [`check_retrieval`] needs the
//! entries embedded (near-duplicate questions with different answers, and phrasings that find
//! another entry before their own).

use std::collections::HashMap;

use super::{merge_reporting, Entry, Origin};
use crate::retrieve::{Index, Query, Scope};
use crate::said;
use crate::said::Said;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Visitors will get a wrong or empty answer: fix before building.
    Error,
    /// Visitors may get a worse answer than the owner intends.
    Warning,
}

/// One problem, where it is, and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub origin: Origin,
    pub message: Said,
}

impl Finding {
    /// The whole finding, `file:line: error: message`, in both languages (the Spanish says
    /// `aviso` for a warning).
    pub fn said(&self) -> Said {
        let origin = &self.origin;
        let level = match self.severity {
            Severity::Error => said!(en: "error", es: "error"),
            Severity::Warning => said!(en: "warning", es: "aviso"),
        };
        Said {
            en: format!("{origin}: {}: {}", level.en, self.message.en),
            es: format!("{origin}: {}: {}", level.es, self.message.es),
        }
    }
}

/// The English.
impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said().en)
    }
}

fn finding(severity: Severity, origin: &Origin, message: Said) -> Finding {
    Finding {
        severity,
        origin: origin.clone(),
        message,
    }
}

/// Entries merged from rows, what [`check_rows`] found, and where each phrasing was written.
pub struct Checked {
    pub entries: Vec<Entry>,
    pub findings: Vec<Finding>,
    /// (entry id, phrasing) -> the row it came from; a merged entry keeps only its first.
    origins: HashMap<(String, String), Origin>,
}

impl Checked {
    fn origin<'a>(&'a self, entry: &'a Entry, phrasing: &str) -> &'a Origin {
        self.origins
            .get(&(entry.id.clone(), phrasing.to_string()))
            .unwrap_or(&entry.origin)
    }
}

/// Merges `rows` as a build would and reports what needs no model.
pub fn check_rows(rows: Vec<Entry>) -> Checked {
    let mut origins = HashMap::new();
    for r in &rows {
        for p in &r.phrasings {
            origins
                .entry((r.id.clone(), p.clone()))
                .or_insert_with(|| r.origin.clone());
        }
    }
    let (entries, conflicts) = merge_reporting(rows);
    let mut out: Vec<Finding> = conflicts
        .into_iter()
        .map(|c| Finding {
            severity: Severity::Error,
            origin: Origin {
                file: c.file,
                line: c.line.unwrap_or(0),
            },
            message: c.message,
        })
        .collect();
    // Keyed by language too: one question may open an entry in each language.
    let mut asked: HashMap<(Option<&str>, String), &Entry> = HashMap::new();
    let mut answers: HashMap<&str, &Entry> = HashMap::new();
    for e in &entries {
        if e.answer.trim().is_empty() {
            out.push(finding(
                Severity::Error,
                &e.origin,
                said!(
                    en: "entry \"{}\" has no answer; write one, or remove the entry",
                    es: "la entrada \"{}\" no tiene respuesta; escríbela o quita la entrada",
                    e.id
                ),
            ));
        } else if let Some(other) = answers.insert(e.answer.trim(), e) {
            out.push(finding(
                Severity::Warning,
                &e.origin,
                said!(
                    en: "entries \"{}\" and \"{}\" ({}) have the same answer; give them one id so their questions are phrasings of one entry",
                    es: "las entradas \"{}\" y \"{}\" ({}) tienen la misma respuesta; dales un mismo id para que sus preguntas sean formas de preguntar de una sola entrada",
                    other.id, e.id, other.origin
                ),
            ));
        }
        for p in &e.phrasings {
            let key = (e.lang.as_deref(), normalise(p));
            if key.1.is_empty() {
                out.push(finding(
                    Severity::Error,
                    &e.origin,
                    said!(
                        en: "entry \"{}\" has an empty question",
                        es: "la entrada \"{}\" tiene una pregunta vacía",
                        e.id
                    ),
                ));
            } else if let Some(other) = asked.get(&key).filter(|o| o.id != e.id) {
                out.push(finding(
                    Severity::Error,
                    &e.origin,
                    said!(
                        en: "the question \"{p}\" belongs to entries \"{}\" ({}) and \"{}\"; keep it under one",
                        es: "la pregunta \"{p}\" está en las entradas \"{}\" ({}) y \"{}\"; déjala solo en una",
                        other.id, other.origin, e.id
                    ),
                ));
            } else {
                asked.insert(key, e);
            }
        }
    }
    Checked {
        entries,
        findings: out,
        origins,
    }
}

/// Lower-case words only: "Do you ship?" and "do you ship" are one question.
fn normalise(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reports near-duplicate questions under different entries and phrasings whose own entry is
/// not what they find first. `index` holds `checked.entries` (see [`Index::build`]) and is
/// ranked with `lexical_weight`, as the bundle will be.
pub fn check_retrieval(
    checked: &Checked,
    index: &Index,
    lexical_weight: f32,
    near_duplicate: f32,
) -> Vec<Finding> {
    let entries = &checked.entries;
    let owner = index.phrasing_entry();
    let texts: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.phrasings.iter().map(String::as_str))
        .collect();
    let mut count = vec![0usize; entries.len()];
    for &e in owner {
        count[e as usize] += 1;
    }
    let mut out = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let e = owner[i] as usize;
        let query = Query::new(text, index.vectors().row(i));
        let (sims, shares) = index.similarities(&query);
        let mut near = false;
        for (j, (&s, &o)) in sims.iter().zip(owner).enumerate() {
            // Each pair once, from its first phrasing.
            // Word-for-word repeats are check_rows' finding already.
            if j > i
                && o as usize != e
                && s >= near_duplicate
                && normalise(text) != normalise(texts[j])
            {
                near = true;
                let other = &entries[o as usize];
                out.push(finding(
                    Severity::Error,
                    checked.origin(&entries[e], text),
                    said!(
                        en: "\"{text}\" (entry \"{}\") and \"{}\" (entry \"{}\", {}) ask the same thing (similarity {s:.2}) but have different answers; merge the entries or reword one question",
                        es: "\"{text}\" (entrada \"{}\") y \"{}\" (entrada \"{}\", {}) preguntan lo mismo (similitud {s:.2}) pero tienen respuestas distintas; junta las entradas o reformula una de las preguntas",
                        entries[e].id, texts[j], other.id, checked.origin(other, texts[j])
                    ),
                ));
            }
        }
        // A phrasing can only find its entry without itself if the entry has others.
        if near || count[e] < 2 {
            continue;
        }
        let only = index.alongside(e);
        let scope = Scope {
            only: only.as_deref(),
            phrasing: Some(i),
            ..Scope::default()
        };
        let ranked = index.aggregate(&sims, &shares, None, lexical_weight, &scope, None);
        if let Some(first) = ranked.first().filter(|s| s.entry != e) {
            let other = &entries[first.entry];
            out.push(finding(
                Severity::Warning,
                checked.origin(&entries[e], text),
                said!(
                    en: "\"{text}\" (entry \"{}\") finds entry \"{}\" ({}) first; a visitor asking this in other words may get that answer: make the two entries' questions more distinct",
                    es: "\"{text}\" (entrada \"{}\") encuentra antes la entrada \"{}\" ({}); un visitante que lo pregunte con otras palabras puede recibir esa respuesta: haz que las preguntas de las dos entradas se distingan más",
                    entries[e].id, other.id, other.origin
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kb::entry::test_row as row;

    fn messages(f: &[Finding]) -> Vec<String> {
        f.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_clean_faq_has_no_findings() {
        let Checked {
            entries,
            findings: f,
            ..
        } = check_rows(vec![
            row("ship", "Do you ship?", "Yes.", 2),
            row("ship", "Shipping abroad?", "", 3),
            row("pay", "Can I pay by card?", "Yes, all cards.", 4),
        ]);
        assert!(f.is_empty(), "{:?}", messages(&f));
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn every_row_problem_is_reported_with_its_line() {
        let f = check_rows(vec![
            row("ship", "Do you ship?", "Yes.", 2),
            row("ship", "Shipping abroad?", "No.", 3),
            row("pay", "Can I pay by card?", "", 4),
            row("card", "can I pay by card", "Yes.", 5),
            row("hours", "Opening hours?", "Yes.", 6),
        ])
        .findings;
        let m = messages(&f);
        assert!(
            m.iter()
                .any(|m| m.starts_with("faq.csv:3: error") && m.contains("different answer")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|m| m.starts_with("faq.csv:4: error") && m.contains("no answer")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|m| m.starts_with("faq.csv:5: error") && m.contains("\"pay\"")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|m| m.starts_with("faq.csv:5: warning") && m.contains("same answer")),
            "{m:?}"
        );
        // Each in Spanish too, a warning called an aviso.
        for f in &f {
            let said = f.said();
            assert_eq!(said.en, f.to_string());
            assert!(!f.message.es.is_empty() && said.es != said.en, "{said:?}");
        }
        assert!(
            f.iter().any(|f| f.said().es
                == "faq.csv:4: error: la entrada \"pay\" no tiene respuesta; escríbela o quita la entrada"),
            "{m:?}"
        );
        assert!(
            f.iter()
                .any(|f| f.said().es.starts_with("faq.csv:5: aviso: las entradas")),
            "{m:?}"
        );
    }
}
