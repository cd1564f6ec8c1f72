//! `ayuda site --inject`: owns adding the one script tag to the site's HTML pages that lack it,
//! touching nothing else in a page (the owner's bytes stay as they were around the tag).
//! Never reads FAQ data and never writes under `ayuda/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::folder::FOLDER;
use crate::say::say;
use crate::support::write_atomically;

/// The tag for a page at `rel` (its path under the site's root, e.g. `en/faq/index.html`):
/// a relative `src`, so the chat is found whatever path the site is served under.
pub fn tag_for(rel: &Path) -> String {
    let depth = rel.components().count().saturating_sub(1);
    format!(
        r#"<script src="{}{FOLDER}/ayuda.js" defer></script>"#,
        "../".repeat(depth)
    )
}

/// `html` with `tag` added before `</head>` (else before `</body>`, else at the end); `None`
/// when the page already loads ayuda's script (by any path: the owner may have placed it).
/// Bytes, not text: the tag is ASCII, and so are `</head>` and `</body>` in every encoding a
/// page is written in but UTF-16 (see [`ascii_compatible`]), so an old ISO-8859-1 page gets its
/// tag with every other byte as it was.
pub fn with_tag(html: &[u8], tag: &str) -> Option<Vec<u8>> {
    let lower = html.to_ascii_lowercase();
    let find = |needle: &str| {
        lower
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
    };
    if find(&format!("{FOLDER}/ayuda.js")).is_some() {
        return None;
    }
    let at = find("</head>")
        .or_else(|| find("</body>"))
        .unwrap_or(html.len());
    Some([&html[..at], tag.as_bytes(), b"\n", &html[at..]].concat())
}

/// Whether ASCII bytes can be added to `html` as they are: not UTF-16 (a byte-order mark, or
/// the zero bytes of ASCII text written in it).
fn ascii_compatible(html: &[u8]) -> bool {
    !(html.starts_with(&[0xFF, 0xFE]) || html.starts_with(&[0xFE, 0xFF]) || html.contains(&0))
}

/// Adds the tag to every HTML page under `site` that lacks it (pages under `ayuda/` and in
/// dot folders are skipped). Returns the pages changed.
pub fn inject(site: &Path) -> Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    let walk = walkdir::WalkDir::new(site).sort_by_file_name().into_iter();
    for item in walk.filter_entry(|e| {
        e.depth() == 0
            || !(e.file_name().to_string_lossy().starts_with('.')
                || (e.depth() == 1 && e.file_name() == FOLDER))
    }) {
        let item =
            item.with_context(|| say!(en: "reading {}", es: "leyendo {}", site.display()))?;
        let path = item.path();
        let html = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
        if !item.file_type().is_file() || !html {
            continue;
        }
        let bytes = std::fs::read(path)
            .with_context(|| say!(en: "reading {}", es: "leyendo {}", path.display()))?;
        // A page in UTF-16 is left as it is rather than given ASCII it cannot hold.
        if !ascii_compatible(&bytes) {
            eprintln!(
                "{}",
                say!(
                    en: "ayuda: {}: UTF-16, no tag added (add it by hand, or save the page as UTF-8)",
                    es: "ayuda: {}: está en UTF-16, no se ha añadido la etiqueta (añádela a mano, o guarda la página como UTF-8)",
                    path.display()
                )
            );
            continue;
        }
        let rel = path.strip_prefix(site).unwrap_or(path);
        if let Some(tagged) = with_tag(&bytes, &tag_for(rel)) {
            write_atomically(path, &tagged)?;
            changed.push(path.to_owned());
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_goes_before_the_head_ends_once() {
        let page = "<!doctype html><HTML><Head><title>x</title></HEAD><body>hi</body></html>";
        let tag = tag_for(Path::new("en/faq/index.html"));
        assert_eq!(tag, r#"<script src="../../ayuda/ayuda.js" defer></script>"#);
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
        let tagged = text(with_tag(page.as_bytes(), &tag).unwrap());
        assert!(tagged.contains(&format!("{tag}\n</HEAD>")));
        assert_eq!(tagged.replace(&format!("{tag}\n"), ""), page);
        assert_eq!(with_tag(tagged.as_bytes(), &tag), None, "idempotent");
        // The owner's own tag, by another path, counts.
        assert_eq!(
            with_tag(
                br#"<script src="/ayuda/ayuda.js" data-kb="/kb.bin"></script>"#,
                &tag
            ),
            None
        );
        // No head: before the body ends; neither: at the end.
        assert!(text(with_tag(b"<p>x</p></body>", &tag).unwrap()).starts_with("<p>x</p><script"));
        assert!(text(with_tag(b"<p>x</p>", &tag).unwrap()).ends_with("</script>\n"));
        assert_eq!(
            tag_for(Path::new("index.html")),
            r#"<script src="ayuda/ayuda.js" defer></script>"#
        );
    }

    #[test]
    fn an_iso_8859_1_page_gets_its_tag_and_keeps_every_other_byte() {
        let page: &[u8] = b"<html><head><meta charset=\"iso-8859-1\"><title>Informaci\xf3n</title></head><body>Espa\xf1a</body></html>";
        let tag = tag_for(Path::new("aviso.html"));
        let tagged = with_tag(page, &tag).unwrap();
        let at = page.windows(7).position(|w| w == b"</head>").unwrap();
        assert_eq!(&tagged[..at], &page[..at]);
        assert_eq!(
            &tagged[at..at + tag.len() + 1],
            format!("{tag}\n").as_bytes()
        );
        assert_eq!(&tagged[at + tag.len() + 1..], &page[at..]);
        assert!(ascii_compatible(page));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<html></html>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(!ascii_compatible(&utf16));
    }
}
