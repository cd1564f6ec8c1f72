//! How deeply a piece of the owner's HTML nests its elements, counted by html5ever's
//! tokenizer alone, in one linear pass. Owns that count and its limit; never builds a tree,
//! never cleans or reads FAQ data.
//!
//! Building the tree is quadratic in the nesting: the HTML standard has some start tags (a
//! `<div>` looks for an open `<p>`) search the whole stack of open elements, and html5ever does
//! just that. 20,000 nested `<div>`s took 1.5 s, 200,000 (1.2 MB) over two minutes, so a page
//! under the size limit could hold a build for hours. No real page nests anywhere near
//! [`MAX_NESTING`] deep; refusing deeper ones before parsing keeps every build linear.

use std::cell::Cell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Chromium's HTML parser stops nesting at this depth (deeper elements become siblings), so
/// no page a browser shows as written goes deeper.
pub const MAX_NESTING: usize = 512;

/// Elements that never hold others.
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// Elements whose end tag may be left out: the next sibling closes them, so a page of a
/// thousand unclosed `<li>` or `<p>` is a flat list, not a deep one.
const OPTIONAL_END: &[&str] = &[
    "body", "caption", "colgroup", "dd", "dt", "head", "html", "li", "optgroup", "option", "p",
    "rb", "rp", "rt", "rtc", "tbody", "td", "tfoot", "th", "thead", "tr",
];

/// Elements that close an open one of their kind (or are ignored inside it) rather than nest:
/// a sloppy page's thousand unclosed `<a>` are a thousand links side by side.
const NEVER_IN_THEMSELVES: &[&str] = &[
    "a", "button", "form", "h1", "h2", "h3", "h4", "h5", "h6", "nobr",
];

/// The deepest nesting of `html`'s elements, as the tree would hold them (to within the
/// elements that a sibling may close, which are not counted).
pub fn deepest(html: &str) -> usize {
    let tokenizer = Tokenizer::new(Depth::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.deepest.get()
}

#[derive(Default)]
struct Depth {
    open: Cell<usize>,
    deepest: Cell<usize>,
    /// Open `<svg>` and `<math>` elements: inside them `<path/>` is closed as written, while in
    /// HTML a `<div/>` stays open.
    foreign: Cell<usize>,
}

impl TokenSink for Depth {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        let name: &str = &tag.name;
        let counted = ![VOID, OPTIONAL_END, NEVER_IN_THEMSELVES]
            .iter()
            .any(|list| list.contains(&name));
        let foreign = matches!(name, "svg" | "math");
        match tag.kind {
            TagKind::StartTag => {
                let closed = tag.self_closing && self.foreign.get() > 0;
                if counted && !closed {
                    self.open.set(self.open.get() + 1);
                    self.deepest.set(self.deepest.get().max(self.open.get()));
                    if foreign {
                        self.foreign.set(self.foreign.get() + 1);
                    }
                }
                // What the tree builder would tell the tokenizer: these hold text, not tags.
                return match name {
                    "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                    "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                        TokenSinkResult::RawData(RawKind::Rawtext)
                    }
                    "textarea" | "title" => TokenSinkResult::RawData(RawKind::Rcdata),
                    "plaintext" => TokenSinkResult::Plaintext,
                    _ => TokenSinkResult::Continue,
                };
            }
            TagKind::EndTag if counted => {
                self.open.set(self.open.get().saturating_sub(1));
                if foreign {
                    self.foreign.set(self.foreign.get().saturating_sub(1));
                }
            }
            TagKind::EndTag => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_as_the_tree_would_hold_it() {
        assert_eq!(
            deepest("<p>plain</p>"),
            0,
            "an optional end tag is not counted"
        );
        assert_eq!(deepest("<div><div><span>a</span></div></div>"), 3);
        // Unclosed, they still nest; closed, they do not add up.
        assert_eq!(deepest("<div><div><div>"), 3);
        assert_eq!(deepest(&"<div>a</div>".repeat(1000)), 1);
        assert_eq!(deepest(&"<li>item".repeat(1000)), 0);
        assert_eq!(deepest(&"<a href=/x>link".repeat(1000)), 0);
        assert_eq!(deepest("<br><img src=x><hr>"), 0);
        // Tags inside scripts, styles and titles are text.
        assert_eq!(
            deepest("<script>let s = '<div><div><div>';</script><style>a{}</style>"),
            1
        );
        // In HTML `<div/>` stays open; in SVG `<path/>` is closed.
        assert_eq!(deepest("<div/><div/>"), 2);
        assert_eq!(
            deepest(&format!("<svg>{}</svg>", "<path d='M0'/>".repeat(100))),
            1
        );
    }

    #[test]
    fn a_deep_page_is_counted_in_linear_time() {
        // 200,000 nested elements: html5ever's tree builder takes minutes, the count a blink.
        let n = 200_000;
        let page = format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n));
        assert_eq!(deepest(&page), n);
    }
}
