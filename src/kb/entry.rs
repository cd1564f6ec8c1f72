//! One FAQ entry, and merging the rows of many sources into entries.

use std::collections::{HashMap, HashSet};

use crate::said;
use crate::said::Said;

/// Where an entry (or its first row) was read: a file name and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One answer of the owner's, with the ways visitors may ask for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Stable identifier: given by the source, or derived from the first question.
    pub id: String,
    /// The questions this entry answers, first as written first; never empty.
    pub phrasings: Vec<String>,
    /// The owner's answer: plain text, Markdown links, or the markup the chat shows (see
    /// `sources::markup`); shown as written, never generated. May be empty here: the linter
    /// reports it.
    pub answer: String,
    /// The page the answer comes from, shown as its source link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// BCP 47 language tag, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The owner wants a person to handle this topic every time.
    #[serde(default)]
    pub handoff: bool,
    pub origin: Origin,
}

/// Whether `tag` is a language code as entries and `ayuda build --languages` take them (BCP 47):
/// a language of two or three letters (`es`, `EN`, `ast`), optionally followed by subtags of
/// up to eight letters or digits after `-` or `_` (`es-ES`, `es_419`, `zh-Hant-TW`).
/// Retrieval compares languages by that first part, so a name (`Español`, `english`) or the
/// three-letter form of a language that has two (`spa` for `es`) would make an entry another
/// language's, and is refused instead of guessed at.
pub fn is_language_code(tag: &str) -> bool {
    let mut parts = tag.split(['-', '_']);
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && two_letter_form(primary).is_none()
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The two-letter code BCP 47 asks for instead of `code`, for the three-letter codes an owner
/// is likely to write: the languages of Spain and its neighbours and the largest others (ISO
/// 639-2, both its forms). Not every such code: the rest are read as languages of their own,
/// which only keeps their entries apart from Spanish and English ones, as they are.
fn two_letter_form(code: &str) -> Option<&'static str> {
    const ALIASES: &[(&str, &str)] = &[
        ("spa", "es"),
        ("eng", "en"),
        ("cat", "ca"),
        ("glg", "gl"),
        ("eus", "eu"),
        ("baq", "eu"),
        ("por", "pt"),
        ("fra", "fr"),
        ("fre", "fr"),
        ("deu", "de"),
        ("ger", "de"),
        ("ita", "it"),
        ("nld", "nl"),
        ("dut", "nl"),
        ("ara", "ar"),
        ("zho", "zh"),
        ("chi", "zh"),
        ("rus", "ru"),
    ];
    let code = code.to_ascii_lowercase();
    ALIASES
        .iter()
        .find(|(long, _)| *long == code)
        .map(|(_, short)| *short)
}

/// What to say about a value that is not [`is_language_code`], after what it is the value of.
pub fn not_a_language_code(tag: &str) -> Said {
    let primary = tag.split(['-', '_']).next().unwrap_or("");
    match two_letter_form(primary) {
        Some(short) => said!(
            en: "\"{tag}\" is written with two letters: use {short} (optionally with a region: {short}-ES)",
            es: "\"{tag}\" se escribe con dos letras: usa {short} (si quieres, con una región: {short}-ES)"
        ),
        None => said!(
            en: "\"{tag}\" is not a language code; use es, en, ... (two letters, optionally a region: es-MX)",
            es: "\"{tag}\" no es un código de idioma; usa es, en, ... (dos letras y, si quieres, una región: es-MX)"
        ),
    }
}

/// A source that cannot be read, with the file and, where there is one, the line. Its
/// `Display` is the English; [`SourceError::said`] has both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", place(file, *line))]
pub struct SourceError {
    pub file: String,
    pub line: Option<usize>,
    pub message: Said,
}

impl SourceError {
    pub fn at(origin: &Origin, message: Said) -> Self {
        SourceError {
            file: origin.file.clone(),
            line: Some(origin.line),
            message,
        }
    }

    pub fn file(file: &str, message: Said) -> Self {
        SourceError {
            file: file.to_string(),
            line: None,
            message,
        }
    }

    /// The whole error, `file:line: message`, in both languages.
    pub fn said(&self) -> Said {
        let place = place(&self.file, self.line);
        self.message.map(|m, _| format!("{place}: {m}"))
    }
}

/// Where a source error is: `file`, or `file:line`.
fn place(file: &str, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{file}:{line}"),
        None => file.to_string(),
    }
}

/// Joins rows that share an id into one entry, in order of first appearance. Later rows add
/// phrasings; their answer, url, category and language may repeat the first row's or be empty,
/// but may not contradict it, since one of the two would be silently lost.
pub fn merge(rows: Vec<Entry>) -> Result<Vec<Entry>, SourceError> {
    let (entries, mut conflicts) = merge_reporting(rows);
    if conflicts.is_empty() {
        Ok(entries)
    } else {
        Err(conflicts.swap_remove(0))
    }
}

/// [`merge`] that goes on past contradictions (the first row's value is kept) and returns
/// them all, for the linter.
pub fn merge_reporting(rows: Vec<Entry>) -> (Vec<Entry>, Vec<SourceError>) {
    let mut out: Vec<Entry> = Vec::new();
    let mut conflicts = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    // Each entry's phrasings so far, by entry: a row adding one looks it up here rather than
    // along the list (a file of 100,000 rows for one id took 14 s, quadratic).
    let mut said: HashSet<(usize, String)> = HashSet::new();
    for row in rows {
        let Some(&i) = index.get(&row.id) else {
            index.insert(row.id.clone(), out.len());
            said.extend(row.phrasings.iter().map(|p| (out.len(), p.clone())));
            out.push(row);
            continue;
        };
        let first = &mut out[i];
        // What differs, and in Spanish "a different one than that of" (which has a gender).
        let mut conflict = |what: &str, distinta: &str| {
            let (id, at) = (&row.id, &first.origin);
            conflicts.push(SourceError::at(
                &row.origin,
                Said {
                    en: format!("entry \"{id}\" has a different {what} here than at {at}; rows sharing an id must agree (or leave it empty)"),
                    es: format!("la entrada \"{id}\" tiene aquí {distinta} {at}; las filas con el mismo id deben coincidir (o dejarlo vacío)"),
                },
            ))
        };
        if !row.answer.is_empty() {
            if first.answer.is_empty() {
                first.answer = row.answer.clone();
            } else if first.answer.trim() != row.answer.trim() {
                conflict("answer", "una respuesta distinta a la de");
            }
        }
        for (mine, theirs, what) in [
            (
                &mut first.url,
                &row.url,
                ("url", "una url distinta a la de"),
            ),
            (
                &mut first.category,
                &row.category,
                ("category", "una categoría distinta a la de"),
            ),
            (
                &mut first.lang,
                &row.lang,
                ("lang", "un idioma (lang) distinto al de"),
            ),
        ] {
            match (mine.as_deref(), theirs.as_deref()) {
                (_, None) => {}
                (None, Some(t)) => *mine = Some(t.to_string()),
                (Some(m), Some(t)) if m == t => {}
                _ => conflict(what.0, what.1),
            }
        }
        first.handoff |= row.handoff;
        for p in row.phrasings {
            if said.insert((i, p.clone())) {
                first.phrasings.push(p);
            }
        }
    }
    (out, conflicts)
}

/// A one-question row of faq.csv, for tests.
#[cfg(test)]
pub(crate) fn test_row(id: &str, q: &str, a: &str, line: usize) -> Entry {
    Entry {
        id: id.into(),
        phrasings: vec![q.into()],
        answer: a.into(),
        url: None,
        category: None,
        lang: None,
        handoff: false,
        origin: Origin {
            file: "faq.csv".into(),
            line,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kb::entry::test_row as row;

    #[test]
    fn rows_sharing_an_id_become_phrasings_of_one_entry() {
        let merged = merge(vec![
            row("ship", "How long is shipping?", "3 days.", 2),
            row("pay", "Can I pay by card?", "Yes.", 3),
            row("ship", "When will my order arrive?", "", 4),
            row("ship", "How long is shipping?", "3 days.", 5),
        ])
        .unwrap();
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merged[0].phrasings,
            ["How long is shipping?", "When will my order arrive?"]
        );
        assert_eq!(merged[0].answer, "3 days.");
    }

    #[test]
    fn language_codes_are_two_or_three_letters_and_optional_subtags() {
        for ok in [
            "es",
            "ES",
            "en",
            "es-ES",
            "es_ES",
            "es-419",
            "zh-Hant-TW",
            "ast",
            "fil-PH",
        ] {
            assert!(is_language_code(ok), "{ok}");
        }
        for bad in [
            "Español",
            "spa",
            "SPA-es",
            "eng",
            "castellano",
            "english",
            "",
            "e",
            "es-",
            "es ES",
            "es-toolongtag",
        ] {
            assert!(!is_language_code(bad), "{bad}");
        }
        assert!(not_a_language_code("spa").en.contains("use es"));
        assert!(not_a_language_code("spa").es.contains("usa es"));
        assert!(not_a_language_code("Español")
            .en
            .contains("not a language code"));
        assert!(not_a_language_code("Español")
            .es
            .contains("no es un código de idioma"));
    }

    #[test]
    fn contradicting_answers_name_both_lines() {
        let err = merge(vec![
            row("ship", "a?", "3 days.", 2),
            row("ship", "b?", "5 days.", 9),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("faq.csv:9:") && err.contains("faq.csv:2"),
            "{err}"
        );
    }
}
