//! The markup an answer may carry into the bundle: owner HTML is cleaned at build time to the
//! few tags the chat shows (paragraphs, line breaks, lists, emphasis, links), written in one
//! canonical form that the widget recognises (www/ayuda-chat.js, `ANSWER_TAGS`). The widget
//! shows anything else as text without ever parsing it, because the browser's parser applies
//! the page's Content-Security-Policy even to an inert document: an inline style or handler in
//! an answer would make a strict site report violations. Never reads files; never changes
//! plain-text answers (Markdown links and all), which hold no markup to clean.

use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};

/// Tags kept; everything else is dropped, its text kept (except the ones in [`DROPPED`]).
const TAGS: &[&str] = &["p", "br", "ul", "ol", "li", "strong", "em", "b", "i", "a"];

/// Tags whose content goes with them: code, styles and embedded documents are no answer text.
const DROPPED: &[&str] = &[
    "script", "style", "template", "iframe", "object", "noscript",
];

/// Link schemes kept; relative links (the owner's own pages) are kept too.
const SCHEMES: &[&str] = &["http", "https", "mailto", "tel"];

static CLEANER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut b = Builder::empty();
    b.tags(TAGS.iter().copied().collect::<HashSet<_>>())
        .clean_content_tags(DROPPED.iter().copied().collect::<HashSet<_>>())
        .generic_attributes(HashSet::new())
        .tag_attributes(
            [("a", ["href"].into_iter().collect())]
                .into_iter()
                .collect(),
        )
        .url_schemes(SCHEMES.iter().copied().collect::<HashSet<_>>())
        .url_relative(UrlRelative::PassThrough)
        // No rel attribute: the widget sets its own on every link it shows.
        .link_rel(None)
        .strip_comments(true);
    b
});

/// `answer` with only the markup the chat shows, in canonical form; a plain-text answer as is.
pub fn clean(answer: &str) -> String {
    if !answer.contains('<') {
        return answer.to_string();
    }
    CLEANER.clean(answer).to_string()
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn plain_text_and_markdown_links_are_left_alone() {
        for text in [
            "De 9:00 a 14:00 & los sábados.",
            "Mira [envíos](/envios).\n- Islas: 5 días",
        ] {
            assert_eq!(clean(text), text);
        }
    }

    #[test]
    fn kept_tags_lose_their_attributes_and_take_one_form() {
        assert_eq!(
            clean(r#"<P class="x" style="color:red">Sí<BR/>los <strong id=a>jueves</strong></P>"#),
            "<p>Sí<br>los <strong>jueves</strong></p>"
        );
        assert_eq!(
            clean(r#"<a href='/contacto/' class=btn target=_blank onclick="x()">contacto</a>"#),
            r#"<a href="/contacto/">contacto</a>"#
        );
    }

    #[test]
    fn code_styles_frames_and_unsafe_links_are_removed_text_kept() {
        let dirty = concat!(
            r#"<img src=x onerror="alert(1)">Uno <script>alert(2)</script><style>*{}</style>"#,
            r#"<iframe src="/x"></iframe><a href="javascript:alert(3)">dos</a> "#,
            r#"<div><span style="background:url(/x)">tres</span></div>"#
        );
        assert_eq!(clean(dirty), "Uno <a>dos</a> tres");
    }

    #[test]
    fn a_half_open_tag_cannot_swallow_or_smuggle() {
        assert_eq!(clean("5 < 7 y <b>negrita"), "5 &lt; 7 y <b>negrita</b>");
        assert_eq!(
            clean(r#"<a href="/x" title="a>b">x</a>"#),
            r#"<a href="/x">x</a>"#
        );
    }
}
