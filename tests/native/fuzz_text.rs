//! Fuzzing what people type and upload, beside fuzz.rs's downloaded files: the owner's source
//! files in every format (the fixtures with hostile snippets spliced in and bytes changed), the
//! crafted files in tests/fixtures/crafted, the tokenizer's window on any text, and the
//! visitor's message as the form drafts it and as the inbox receives it. Each must be read or
//! refused by name, never panic; what is read keeps its promises (answers hold only the
//! markup the widget lets through; a message that passes the check survives a round trip).
//! `make fuzz` runs many more cases (PROPTEST_CASES) than CI.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ayuda::escalate::{Draft, Escalation, LaneKind, Line, Speaker};
use ayuda::kb::lint::check_rows;
use ayuda::kb::sources::read;
use proptest::prelude::*;

use crate::util::{fuzz_cases, fuzz_cases_per, packed, root};

/// Snippets that mean something to one of the readers.
const SNIPPETS: &[&str] = &[
    "\"",
    "\"\"",
    ",",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\0",
    "\u{FEFF}",
    "\u{202E}",
    "\u{FFFD}",
    "<",
    ">",
    "</",
    "<p>",
    "</p>",
    "<a href=\"",
    "<script>",
    "<style>",
    "<!--",
    "-->",
    "<![CDATA[",
    "<svg><style>",
    "data-ayuda-faq",
    "<details><summary>",
    "itemprop=\"text\"",
    "&",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "#",
    "###",
    "\n## ",
    "\n- ",
    "> ",
    "```",
    "[x](",
    "](javascript:alert(1))",
    "{",
    "}",
    "[",
    "]",
    ":",
    "null",
    "\\u0000",
    "\\ud800",
    "1e999",
    "{\"@type\":\"FAQPage\",\"mainEntity\":[",
    "{\"@context\":\"https://schema.org\"",
];

/// The fixture sources, one per format.
fn sources() -> Vec<(&'static str, Vec<u8>)> {
    let dir = root().join("tests/fixtures/kb");
    [
        ("faq.csv", dir.join("faq.csv")),
        ("faq.json", dir.join("faq.json")),
        ("faq.md", dir.join("faq.md")),
        ("index.html", dir.join("site/index.html")),
    ]
    .into_iter()
    .map(|(name, path)| (name, std::fs::read(path).unwrap()))
    .collect()
}

/// `text` with each `(position, snippet, repeat)` spliced in at a char boundary.
fn splice(text: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut out = text.to_string();
    for &(at, which, repeat) in edits {
        let boundaries: Vec<usize> = (0..=out.len())
            .filter(|&i| out.is_char_boundary(i))
            .collect();
        let at = boundaries[at % boundaries.len()];
        out.insert_str(at, &SNIPPETS[which % SNIPPETS.len()].repeat(repeat));
    }
    out
}

/// Whether every `<` in `answer` starts a tag the widget's gate lets through (ANSWER_TAGS in
/// www/ayuda-chat.js), so a built answer is shown as the owner wrote it.
fn passes_the_gate(answer: &str) -> bool {
    const PLAIN: &[&str] = &["p", "br", "ul", "ol", "li", "strong", "em", "b", "i", "a"];
    answer.match_indices('<').all(|(i, _)| {
        let rest = &answer[i..];
        let plain = PLAIN
            .iter()
            .any(|t| rest.starts_with(&format!("<{t}>")) || rest.starts_with(&format!("</{t}>")));
        let link = rest
            .strip_prefix("<a href=\"")
            .and_then(|r| r.split_once('"'))
            .is_some_and(|(_, after)| after.starts_with('>'));
        plain || link
    })
}

/// Reads a source (and lints what it read): refused or read, never a panic; read answers pass
/// the widget's gate.
fn exercise_source(name: &str, bytes: &[u8]) {
    let outcome = catch_unwind(AssertUnwindSafe(|| match read(name, bytes) {
        Ok(rows) => {
            for row in &rows {
                assert!(
                    passes_the_gate(&row.answer),
                    "{name}: answer {:?}",
                    row.answer
                );
            }
            let _ = check_rows(rows);
        }
        Err(e) => assert!(e.to_string().contains(name), "{e} does not name {name}"),
    }));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn crafted_sources_are_read_or_refused_by_name() {
    let dir = root().join("tests/fixtures/crafted");
    let mut seen = 0;
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        exercise_source(&name, &std::fs::read(&path).unwrap());
        seen += 1;
    }
    assert!(seen >= 8, "the crafted corpus is in {}", dir.display());
}

fn draft(message: String, reply: String, lang: Option<String>, transcript: Vec<String>) -> Draft {
    Draft {
        key: "k".repeat(24),
        message,
        reply,
        lane: LaneKind::Open,
        lang,
        transcript: Some(
            transcript
                .into_iter()
                .enumerate()
                .map(|(i, text)| Line {
                    from: if i % 2 == 0 {
                        Speaker::Visitor
                    } else {
                        Speaker::Assistant
                    },
                    text,
                })
                .collect(),
        ),
        written_at: "2026-11-24T09:00:00Z".parse().unwrap(),
    }
}

proptest! {
    #![proptest_config(fuzz_cases(256))]

    #[test]
    fn fuzz_a_source_with_spliced_snippets_never_panics(
        which in 0usize..4,
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), 1usize..64), 1..8)
    ) {
        let (name, bytes) = &sources()[which];
        let text = String::from_utf8(bytes.clone()).unwrap();
        exercise_source(name, splice(&text, &edits).as_bytes());
    }

    #[test]
    fn fuzz_a_source_with_changed_bytes_never_panics(
        which in 0usize..4,
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..16)
    ) {
        let (name, mut bytes) = sources().swap_remove(which);
        let len = bytes.len();
        for (at, byte) in flips {
            bytes[at % len] = byte;
        }
        exercise_source(name, &bytes);
    }

    #[test]
    fn fuzz_any_text_as_a_source_never_panics(
        which in 0usize..4,
        text in ".{0,400}"
    ) {
        exercise_source(sources()[which].0, text.as_bytes());
    }

    #[test]
    fn fuzz_the_tokenizer_window_holds_for_any_text(
        text in ".{0,200}",
        repeat in prop_oneof![Just(1usize), 1usize..50, Just(2000)]
    ) {
        let text = text.repeat(repeat);
        let window = packed().settings().max_seq_length;
        let tokens = packed().count_tokens(&text).unwrap();
        prop_assert!((2..=window).contains(&tokens), "{tokens} tokens, window {window}");
    }

    #[test]
    fn fuzz_a_visitors_message_is_checked_never_panics(
        message in ".{0,300}",
        reply in prop_oneof![".{0,40}", "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}", "\\+?[0-9 ]{0,20}"],
        lang in prop::option::of(".{0,20}"),
        transcript in prop::collection::vec(".{0,80}", 0..40),
    ) {
        if let Ok(escalation) = draft(message, reply, lang, transcript).prepare() {
            prop_assert!(escalation.check().is_ok());
            let json = serde_json::to_string(&escalation).unwrap();
            let back: Escalation = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &escalation);
            prop_assert!(!escalation.form_fields().is_empty());
        }
    }

    #[test]
    fn fuzz_a_received_message_with_spliced_json_never_panics(
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), 1usize..4), 1..6)
    ) {
        let valid = serde_json::to_string(
            &draft("¿Tenéis tartas sin gluten?".into(), "ana@example.es".into(), Some("es".into()),
                vec!["hola".into(), "¡Hola!".into()]).prepare().unwrap(),
        ).unwrap();
        if let Ok(received) = serde_json::from_str::<Escalation>(&splice(&valid, &edits)) {
            let _ = received.check();
            let _ = received.form_fields();
        }
    }
}

proptest! {
    // Each case runs the model on up to its whole window: fewer in CI, a tenth in `make fuzz`.
    #![proptest_config(fuzz_cases_per(32, 10))]

    #[test]
    fn fuzz_any_text_embeds_to_a_unit_vector(text in ".{0,300}", repeat in 1usize..20) {
        let e = packed().embed(&text.repeat(repeat)).unwrap();
        let norm: f32 = e.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        prop_assert!(e.vector.iter().all(|x| x.is_finite()) && (norm - 1.0).abs() < 1e-3, "norm {norm}");
    }
}
