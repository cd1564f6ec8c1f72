//! JSON and JSONL: a list of entry objects (or {"entries": [...]}), one object per JSONL line,
//! or a schema.org FAQPage JSON-LD document.
//!
//! An entry object: "question" (a string) or "questions" (a list), "answer", and optionally
//! "id", "url", "category", "lang", "handoff" (true/false).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::kb::{Entry, Origin, SourceError};
use crate::said;
use crate::said::Said;

use super::{faqpage, flag, non_empty, slug, Lines};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryObject {
    id: Option<IdValue>,
    question: Option<String>,
    #[serde(default, alias = "phrasings")]
    questions: Vec<String>,
    #[serde(default)]
    answer: String,
    url: Option<String>,
    category: Option<String>,
    lang: Option<String>,
    handoff: Option<Flag>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Number(i64),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

pub(super) fn read(name: &str, text: &str) -> Result<Vec<Entry>, SourceError> {
    let at = |line: usize, message: Said| SourceError {
        file: name.to_string(),
        line: Some(line),
        message,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        at(
            e.line(),
            said!(en: "invalid JSON: {e}", es: "JSON no válido: {e}"),
        )
    })?;
    if faqpage::is_faqpage(&value) {
        return Ok(faqpage::entries(
            &value,
            &Origin {
                file: name.to_string(),
                line: 1,
            },
        ));
    }
    // Parse again keeping each element's text, to give every entry its line.
    #[derive(Deserialize)]
    struct Wrapped<'a> {
        #[serde(borrow)]
        entries: Vec<&'a RawValue>,
    }
    let items: Vec<&RawValue> = if value.is_array() {
        serde_json::from_str(text).map_err(|e| at(e.line(), not_a_list(&e)))?
    } else if value.get("entries").is_some_and(Value::is_array) {
        serde_json::from_str::<Wrapped>(text)
            .map_err(|e| at(e.line(), not_a_list(&e)))?
            .entries
    } else {
        return Err(SourceError::file(
            name,
            said!(
                en: "expected a list of entries, an object with \"entries\", or schema.org FAQPage JSON-LD",
                es: "se esperaba una lista de entradas, un objeto con \"entries\" o JSON-LD schema.org FAQPage"
            ),
        ));
    };
    let lines = Lines::new(text);
    items
        .into_iter()
        .map(|raw| {
            let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            entry(name, lines.line_of(offset), raw.get())
        })
        .collect()
}

/// A list that serde could not read as one (the error is serde's, in English), in both
/// languages: the English as serde wrote it.
fn not_a_list(e: &serde_json::Error) -> Said {
    said!(en: "{e}", es: "no se puede leer la lista de entradas: {e}")
}

pub(super) fn read_lines(name: &str, text: &str) -> Result<Vec<Entry>, SourceError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| entry(name, i + 1, l))
        .collect()
}

fn entry(name: &str, line: usize, json: &str) -> Result<Entry, SourceError> {
    let origin = Origin {
        file: name.to_string(),
        line,
    };
    let o: EntryObject = serde_json::from_str(json).map_err(|e| {
        SourceError::at(
            &origin,
            said!(
                en: "not an entry object ({e}); an entry has \"question\" and \"answer\"",
                es: "no es un objeto de entrada ({e}); una entrada tiene \"question\" y \"answer\""
            ),
        )
    })?;
    let mut phrasings: Vec<String> = o
        .question
        .into_iter()
        .chain(o.questions)
        .filter_map(|q| non_empty(&q))
        .collect();
    phrasings.dedup();
    let Some(first) = phrasings.first() else {
        return Err(SourceError::at(
            &origin,
            said!(en: "the entry has no question", es: "la entrada no tiene pregunta"),
        ));
    };
    let handoff = match o.handoff {
        None => false,
        Some(Flag::Bool(b)) => b,
        Some(Flag::Text(t)) => flag(&t).ok_or_else(|| {
            SourceError::at(
                &origin,
                said!(
                    en: "handoff must be true or false, not \"{t}\"",
                    es: "handoff tiene que ser true o false, no \"{t}\""
                ),
            )
        })?,
    };
    Ok(Entry {
        id: match o.id {
            Some(IdValue::Text(t)) if !t.trim().is_empty() => t.trim().to_string(),
            Some(IdValue::Number(n)) => n.to_string(),
            _ => slug(first),
        },
        answer: o.answer.trim().to_string(),
        phrasings,
        url: o.url.as_deref().and_then(non_empty),
        category: o.category.as_deref().and_then(non_empty),
        lang: o.lang.as_deref().and_then(non_empty),
        handoff,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_entries_gives_each_its_line() {
        let text = r#"[
  {"id": "ship", "questions": ["How long is shipping?", "When does my order arrive?"],
   "answer": "Three days.", "url": "/envios"},
  {"question": "Can I talk to a lawyer?", "answer": "", "handoff": true}
]"#;
        let rows = read("faq.json", text).unwrap();
        assert_eq!(rows[0].phrasings.len(), 2);
        assert_eq!(rows[0].origin.line, 2);
        assert_eq!(rows[1].origin.line, 4);
        assert_eq!(rows[1].id, "can-i-talk-to-a-lawyer");
        assert!(rows[1].handoff);
    }

    #[test]
    fn faqpage_json_ld_is_read() {
        let text = r#"{"@context": "https://schema.org", "@type": "FAQPage", "inLanguage": "es",
          "mainEntity": [{"@type": "Question", "name": "¿Cuánto tarda el envío?",
            "acceptedAnswer": {"@type": "Answer", "text": "<p>De 2 a 3 días.</p>"}}]}"#;
        let rows = read("faq.jsonld", text).unwrap();
        assert_eq!(rows[0].phrasings, ["¿Cuánto tarda el envío?"]);
        assert_eq!(rows[0].answer, "<p>De 2 a 3 días.</p>");
        assert_eq!(rows[0].lang.as_deref(), Some("es"));
    }

    #[test]
    fn a_questions_alternate_names_are_more_phrasings() {
        let text = r#"{"@type": "FAQPage", "mainEntity": [{"@type": "Question",
            "name": "¿Abrís los domingos?", "alternateName": ["¿Qué días abrís?", " ", "¿Abrís los domingos?"],
            "acceptedAnswer": {"text": "Sí."}}, {"@type": "Question", "name": "¿Bizum?",
            "alternateName": "¿Puedo pagar con el móvil?", "acceptedAnswer": {"text": "Sí."}}]}"#;
        let rows = read("faq.jsonld", text).unwrap();
        assert_eq!(
            rows[0].phrasings,
            ["¿Abrís los domingos?", "¿Qué días abrís?"]
        );
        assert_eq!(rows[1].phrasings, ["¿Bizum?", "¿Puedo pagar con el móvil?"]);
    }

    #[test]
    fn jsonl_errors_name_the_line() {
        let text = "{\"question\": \"a?\", \"answer\": \"b\"}\n\n{\"q\": \"typo\"}\n";
        let err = read_lines("faq.jsonl", text).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.en.contains("unknown field `q`"), "{err}");
    }

    #[test]
    fn broken_json_names_the_line() {
        let err = read("faq.json", "[\n{\"question\": \"a?\",\n \"answer\": }\n]").unwrap_err();
        assert_eq!(err.line, Some(3));
    }
}
