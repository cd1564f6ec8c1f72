//! HTML pages: schema.org FAQPage data, as JSON-LD (`<script type="application/ld+json">`) or
//! as microdata (`itemtype=".../FAQPage"`), and sections the owner marks with `data-ayuda-faq`:
//! inside one, each `<details>` is a question (its `<summary>`) and answer, and each heading
//! is a question answered by what follows it up to the next heading.
//!
//! Answers keep their HTML as written; the widget renders them safely.

use scraper::{ElementRef, Html, Node, Selector};

use crate::kb::{Entry, Origin, SourceError};
use crate::said;

use super::{faqpage, question_entry as entry, Lines};

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("selectors in this file are valid")
}

fn clean(text: impl Iterator<Item = impl AsRef<str>>) -> String {
    let joined: String = text.map(|t| t.as_ref().to_string()).collect();
    joined.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How far into a page browsers look for its declared encoding (WHATWG's prescan).
const PRESCAN_BYTES: usize = 1024;

/// The encoding a page declares in a `<meta>` within its first [`PRESCAN_BYTES`] (`charset`,
/// or `http-equiv="Content-Type"` with a `charset=`), as a browser's prescan finds it; None
/// when it declares none, or a label that names no encoding. Read with the same HTML parser
/// as the page, over the bytes as ASCII (every label is).
pub(super) fn declared_encoding(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(PRESCAN_BYTES)]);
    let doc = Html::parse_document(&head);
    let meta = Selector::parse("meta").expect("valid selector");
    doc.select(&meta).find_map(|m| {
        let attr = |name: &str| m.value().attr(name);
        let label = match attr("charset") {
            Some(charset) => charset.to_string(),
            None if attr("http-equiv").is_some_and(|h| h.eq_ignore_ascii_case("content-type")) => {
                let content = attr("content")?.to_ascii_lowercase();
                let value = &content[content.find("charset=")? + "charset=".len()..];
                value
                    .split([';', ' '])
                    .next()?
                    .trim_matches(['"', '\'', ' '])
                    .to_string()
            }
            None => return None,
        };
        encoding_rs::Encoding::for_label(label.trim().as_bytes())
    })
}

/// The FAQ entries on one page; `url` is the page's address, when known, used when the page
/// does not name a canonical one. A page without FAQ data gives no entries.
pub(crate) fn read_page(
    name: &str,
    text: &str,
    url: Option<&str>,
) -> Result<Vec<Entry>, SourceError> {
    let doc = Html::parse_document(text);
    let page_url = doc
        .select(&selector(r#"link[rel="canonical"]"#))
        .find_map(|l| l.attr("href"))
        .map(str::to_string)
        .or_else(|| url.map(str::to_string));
    let lang = doc
        .select(&selector("html"))
        .find_map(|h| h.attr("lang"))
        .map(str::to_string);
    // Entries come in document order: each needle is looked for from where the last was found
    // (then from the start), so a page with n entries is read in about linear time.
    let lines = Lines::new(text);
    let from = std::cell::Cell::new(0);
    let origin_of = |needle: &str| {
        let at = text[from.get()..]
            .find(needle)
            .map(|at| at + from.get())
            .or_else(|| text.find(needle));
        if let Some(at) = at {
            from.set(at);
        }
        Origin {
            file: name.to_string(),
            line: at.map_or(1, |at| lines.line_of(at)),
        }
    };

    let mut entries = Vec::new();
    for script in doc.select(&selector(r#"script[type="application/ld+json"]"#)) {
        let json: String = script.text().collect();
        let origin = origin_of(json.trim());
        let value: serde_json::Value = serde_json::from_str(&json).map_err(|e| {
            SourceError::at(
                &origin,
                said!(
                    en: "invalid JSON-LD in a <script> block: {e}",
                    es: "JSON-LD no válido en un bloque <script>: {e}"
                ),
            )
        })?;
        entries.extend(faqpage::entries(&value, &origin));
    }
    if entries.is_empty() {
        entries.extend(microdata(&doc, &origin_of));
    }
    entries.extend(marked_sections(&doc, &origin_of));
    for e in &mut entries {
        if e.url.is_none() {
            e.url = page_url.clone();
        }
        if e.lang.is_none() {
            e.lang = lang.clone();
        }
    }
    Ok(entries)
}

fn microdata(doc: &Html, origin_of: &dyn Fn(&str) -> Origin) -> Vec<Entry> {
    let questions =
        selector(r#"[itemtype$="schema.org/FAQPage"] [itemtype$="schema.org/Question"]"#);
    let name = selector(r#"[itemprop="name"]"#);
    let answer = selector(r#"[itemprop="acceptedAnswer"] [itemprop="text"]"#);
    let mut out = Vec::new();
    for q in doc.select(&questions) {
        let Some(name_el) = q.select(&name).next() else {
            continue;
        };
        let title = name_el
            .attr("content")
            .map(str::to_string)
            .unwrap_or_else(|| clean(name_el.text()));
        if title.is_empty() {
            continue;
        }
        let answer = q
            .select(&answer)
            .next()
            .map(|a| a.inner_html().trim().to_string())
            .unwrap_or_default();
        out.push(entry(title, answer, origin_of(&name_el.html())));
    }
    out
}

fn marked_sections(doc: &Html, origin_of: &dyn Fn(&str) -> Origin) -> Vec<Entry> {
    let mut out = Vec::new();
    let summary = selector("summary");
    for section in doc.select(&selector("[data-ayuda-faq]")) {
        for details in section.select(&selector("details")) {
            let Some(s) = details.select(&summary).next() else {
                continue;
            };
            let title = clean(s.text());
            let answer: String = details
                .children()
                .filter(|c| c.id() != s.id())
                .map(node_html)
                .collect();
            if !title.is_empty() {
                out.push(entry(
                    title,
                    answer.trim().to_string(),
                    origin_of(&s.html()),
                ));
            }
        }
        // Headings and what follows each, among the section's direct children.
        let mut current: Option<(String, String, Origin)> = None;
        for child in section.children() {
            let heading = ElementRef::wrap(child)
                .filter(|e| matches!(e.value().name(), "h2" | "h3" | "h4" | "h5" | "h6"));
            if let Some(h) = heading {
                if let Some((t, a, o)) = current.take() {
                    out.push(entry(t, a.trim().to_string(), o));
                }
                current = Some((clean(h.text()), String::new(), origin_of(&h.html())));
            } else if let Some((_, answer, _)) = current.as_mut() {
                answer.push_str(&node_html(child));
            }
        }
        if let Some((t, a, o)) = current.take() {
            out.push(entry(t, a.trim().to_string(), o));
        }
    }
    out
}

fn node_html(node: ego_tree::NodeRef<'_, Node>) -> String {
    match node.value() {
        Node::Element(_) => ElementRef::wrap(node).map(|e| e.html()).unwrap_or_default(),
        Node::Text(t) => t
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microdata_questions_keep_their_answer_html() {
        let page = r#"<html lang="en"><body>
<div itemscope itemtype="https://schema.org/FAQPage">
  <div itemscope itemprop="mainEntity" itemtype="https://schema.org/Question">
    <h3 itemprop="name">Do you deliver on Sundays?</h3>
    <div itemscope itemprop="acceptedAnswer" itemtype="https://schema.org/Answer">
      <div itemprop="text"><p>No, <a href="/delivery">Monday to Saturday</a>.</p></div>
    </div>
  </div>
</div></body></html>"#;
        let rows = read_page("faq.html", page, Some("/faq/")).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].phrasings, ["Do you deliver on Sundays?"]);
        assert_eq!(
            rows[0].answer,
            r#"<p>No, <a href="/delivery">Monday to Saturday</a>.</p>"#
        );
        assert_eq!(rows[0].url.as_deref(), Some("/faq/"));
        assert_eq!(rows[0].lang.as_deref(), Some("en"));
        assert_eq!(rows[0].origin.line, 4);
    }

    #[test]
    fn owner_marked_sections_with_details_and_headings() {
        let page = r#"<main><section data-ayuda-faq>
<details><summary>¿Tenéis pan sin gluten?</summary><p>Sí, los jueves.</p></details>
<h3>¿Aceptáis Bizum?</h3>
<p>Sí, en tienda & online.</p>
<h3>¿Dónde estáis?</h3>
<p>Calle Mayor 3.</p>
</section><h3>Not marked</h3><p>ignored</p></main>"#;
        let rows = read_page("tienda.html", page, None).unwrap();
        let q: Vec<&str> = rows.iter().map(|r| r.phrasings[0].as_str()).collect();
        assert_eq!(
            q,
            [
                "¿Tenéis pan sin gluten?",
                "¿Aceptáis Bizum?",
                "¿Dónde estáis?"
            ]
        );
        assert_eq!(rows[0].answer, "<p>Sí, los jueves.</p>");
        assert_eq!(rows[1].answer, "<p>Sí, en tienda &amp; online.</p>");
    }

    #[test]
    fn broken_json_ld_names_its_line_and_pages_without_faq_give_nothing() {
        let err = read_page(
            "a.html",
            "<html>\n<head>\n<script type=\"application/ld+json\">{\"@type\": </script>",
            None,
        )
        .unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.en.contains("invalid JSON-LD"), "{err}");
        assert!(
            read_page("b.html", "<html><body><h1>Hola</h1></body></html>", None)
                .unwrap()
                .is_empty()
        );
    }
}
