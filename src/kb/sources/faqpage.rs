//! schema.org FAQPage data (the JSON-LD search engines read): each Question's name is a
//! phrasing, its acceptedAnswer's text the answer. Shared by JSON files and HTML pages.
//!
//! A Question's `alternateName` (schema.org's "an alias for the item", a text or a list) gives
//! more phrasings: how the owner's customers really ask, kept in the page's own data.

use serde_json::Value;

use crate::kb::{Entry, Origin};

use super::{question_entry, slug};

fn has_type(v: &Value, wanted: &str) -> bool {
    match v.get("@type") {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some(wanted)),
        _ => false,
    }
}

fn as_list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// True when `v` holds FAQPage data anywhere (top level, a list, or an @graph).
pub(super) fn is_faqpage(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(is_faqpage),
        Value::Object(_) => has_type(v, "FAQPage") || v.get("@graph").is_some_and(is_faqpage),
        _ => false,
    }
}

/// The entries of every FAQPage in `v`; `origin` is where the data starts in the file.
pub(super) fn entries(v: &Value, origin: &Origin) -> Vec<Entry> {
    let mut out = Vec::new();
    collect(v, origin, &mut out);
    out
}

fn collect(v: &Value, origin: &Origin, out: &mut Vec<Entry>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect(i, origin, out)),
        Value::Object(_) if has_type(v, "FAQPage") => {
            let page_url = text(v.get("url"));
            let lang = text(v.get("inLanguage"));
            for q in as_list(v.get("mainEntity"))
                .into_iter()
                .filter(|q| has_type(q, "Question"))
            {
                let Some(name) = text(q.get("name")) else {
                    continue;
                };
                let answer = as_list(q.get("acceptedAnswer"))
                    .into_iter()
                    .find_map(|a| text(a.get("text")))
                    .unwrap_or_default();
                let mut phrasings = vec![name.clone()];
                for alias in match q.get("alternateName") {
                    Some(Value::Array(items)) => items.iter().collect(),
                    Some(v) => vec![v],
                    None => Vec::new(),
                }
                .into_iter()
                .filter_map(|a| text(Some(a)))
                {
                    if !phrasings.contains(&alias) {
                        phrasings.push(alias);
                    }
                }
                out.push(Entry {
                    id: text(q.get("@id")).unwrap_or_else(|| slug(&name)),
                    phrasings,
                    url: text(q.get("url")).or_else(|| page_url.clone()),
                    lang: text(q.get("inLanguage")).or_else(|| lang.clone()),
                    ..question_entry(name, answer, origin.clone())
                });
            }
        }
        Value::Object(_) => {
            if let Some(graph) = v.get("@graph") {
                collect(graph, origin, out);
            }
        }
        _ => {}
    }
}
