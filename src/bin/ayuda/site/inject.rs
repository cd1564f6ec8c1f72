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
pub fn with_tag(html: &str, tag: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    if lower.contains(&format!("{FOLDER}/ayuda.js")) {
        return None;
    }
    let at = lower
        .find("</head>")
        .or_else(|| lower.find("</body>"))
        .unwrap_or(html.len());
    Some(format!("{}{tag}\n{}", &html[..at], &html[at..]))
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
        // A page that is not UTF-8 is left as it is rather than rewritten lossily.
        let Ok(text) = std::str::from_utf8(&bytes) else {
            eprintln!(
                "{}",
                say!(
                    en: "ayuda: {}: not UTF-8, no tag added",
                    es: "ayuda: {}: no es UTF-8, no se ha añadido la etiqueta",
                    path.display()
                )
            );
            continue;
        };
        let rel = path.strip_prefix(site).unwrap_or(path);
        if let Some(tagged) = with_tag(text, &tag_for(rel)) {
            write_atomically(path, tagged.as_bytes())?;
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
        let tagged = with_tag(page, &tag).unwrap();
        assert!(tagged.contains(&format!("{tag}\n</HEAD>")));
        assert_eq!(tagged.replace(&format!("{tag}\n"), ""), page);
        assert_eq!(with_tag(&tagged, &tag), None, "idempotent");
        // The owner's own tag, by another path, counts.
        assert_eq!(
            with_tag(
                r#"<script src="/ayuda/ayuda.js" data-kb="/kb.bin"></script>"#,
                &tag
            ),
            None
        );
        // No head: before the body ends; neither: at the end.
        assert!(with_tag("<p>x</p></body>", &tag)
            .unwrap()
            .starts_with("<p>x</p><script"));
        assert!(with_tag("<p>x</p>", &tag).unwrap().ends_with("</script>\n"));
        assert_eq!(
            tag_for(Path::new("index.html")),
            r#"<script src="ayuda/ayuda.js" defer></script>"#
        );
    }
}
