//! Shared fixtures: the real model (loaded once per test binary) and the reference embeddings.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use ayuda::model::{self, Encoder, PackOptions};
use ayuda::native::{load_encoder, read_model_dir};
use serde::Deserialize;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn model_dir() -> PathBuf {
    let dir = root().join("models/all-MiniLM-L6-v2");
    assert!(
        dir.join("model.safetensors").is_file(),
        "the model is missing: run `bash models/fetch.sh` (make test does it)"
    );
    dir
}

#[derive(Deserialize)]
pub struct Reference {
    pub text: String,
    pub tokens: usize,
    pub embedding: Vec<f32>,
}

/// sentence-transformers' embeddings of 145 varied texts (../shared/reference).
pub fn reference() -> &'static [Reference] {
    static ROWS: OnceLock<Vec<Reference>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let path = root().join("../shared/reference/all-MiniLM-L6-v2.jsonl");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (../shared must sit beside the repo)",
                path.display()
            )
        });
        text.lines()
            .map(|l| serde_json::from_str(l).expect("reference row"))
            .collect()
    })
}

/// The full-precision model, straight from its directory.
pub fn full() -> &'static Encoder {
    static ENC: OnceLock<Encoder> = OnceLock::new();
    ENC.get_or_init(|| load_encoder(&model_dir()).expect("full model loads"))
}

/// The model packed with the default options, as bytes.
pub fn packed_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let files = read_model_dir(&model_dir()).expect("model dir reads");
        model::pack(&files, PackOptions::default()).expect("model packs")
    })
}

pub fn packed() -> &'static Encoder {
    static ENC: OnceLock<Encoder> = OnceLock::new();
    ENC.get_or_init(|| Encoder::from_packed(packed_bytes()).expect("packed model loads"))
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// Mean and minimum cosine to the reference over every row, printing the worst rows.
pub fn parity(embeddings: &[Vec<f32>]) -> (f32, f32) {
    let rows = reference();
    assert_eq!(embeddings.len(), rows.len());
    let cos: Vec<f32> = rows
        .iter()
        .zip(embeddings)
        .map(|(r, e)| cosine(&r.embedding, e))
        .collect();
    let mean = cos.iter().sum::<f32>() / cos.len() as f32;
    let min = cos.iter().cloned().fold(f32::INFINITY, f32::min);
    (mean, min)
}

/// The `ayuda` binary, speaking English whatever the machine's locale: the tests read its
/// English words (`cli::the_cli_speaks_the_owners_language` runs it in Spanish).
pub fn ayuda_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ayuda"));
    command.env("AYUDA_LANG", "en");
    command
}

/// Runs the `ayuda` binary with `args`, feeding `stdin`.
pub fn ayuda(args: &[&str], stdin: &[u8]) -> Output {
    piped(ayuda_command().args(args), stdin)
}

/// Runs `command`, feeding it `stdin` from another thread (so a large input cannot deadlock
/// against its output), and collects its output.
pub fn piped(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command runs");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The packed model as a file, written once per test binary.
pub fn packed_file() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("all-MiniLM-L6-v2.ayuda"), packed_bytes()).unwrap();
        dir
    });
    Box::leak(dir.path().join("all-MiniLM-L6-v2.ayuda").into_boxed_path())
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/kb").join(name)
}

/// Asserts the command failed (exit 1) saying `needle` on stderr.
pub fn assert_fails(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

/// An `ayuda ask --json` reply as (outcome, entry ids: the answer's, or the suggestions').
pub fn outcome(v: &serde_json::Value) -> (String, Vec<String>) {
    let ids = match v["outcome"].as_str().unwrap() {
        "answer" => vec![v["entry"]["id"].as_str().unwrap().to_string()],
        "suggest" => v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect(),
        _ => vec![],
    };
    (v["outcome"].as_str().unwrap().to_string(), ids)
}

/// A knowledge base with paraphrases to calibrate on: 12 BANKING77 categories, 10 training
/// questions each, as a CSV in `dir`.
pub fn banking_sample(dir: &Path) -> PathBuf {
    let train = root().join("../shared/data/banking77/train.csv");
    let mut reader = csv::Reader::from_path(&train).expect("../shared/data beside the repo");
    let mut by_category: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in reader.records() {
        let r = r.unwrap();
        by_category
            .entry(r[1].to_string())
            .or_default()
            .push(r[0].to_string());
    }
    let file = dir.join("banking.csv");
    let mut w = csv::Writer::from_path(&file).unwrap();
    w.write_record(["id", "question", "answer"]).unwrap();
    for (category, questions) in by_category.iter().take(12) {
        for q in questions.iter().take(10) {
            w.write_record([category.as_str(), q, &format!("About {category}.")])
                .unwrap();
        }
    }
    w.flush().unwrap();
    file
}

/// `ayuda build SOURCES --model <packed file> --out OUT EXTRA...`, which must succeed; what it
/// printed.
pub fn build_packed(sources: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "build",
        sources.to_str().unwrap(),
        "--model",
        packed_file().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = ayuda(&args, b"");
    assert!(o.status.success(), "{}", stderr(&o));
    stderr(&o)
}

/// BANKING77's out-of-scope variant as `tools/datasets.py` makes it: every training question of
/// the categories at sorted positions i % 4 != 3 (58 of 77), as a CSV knowledge base in `dir`.
pub fn banking_out_of_scope_kb(dir: &Path) -> PathBuf {
    let train = root().join("../shared/data/banking77/train.csv");
    let mut reader = csv::Reader::from_path(&train).expect("../shared/data beside the repo");
    let rows: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_string(), r[0].to_string())
        })
        .collect();
    let mut categories: Vec<&str> = rows.iter().map(|(c, _)| c.as_str()).collect();
    categories.sort_unstable();
    categories.dedup();
    let kept: std::collections::HashSet<&str> = categories
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 4 != 3)
        .map(|(_, c)| *c)
        .collect();
    let file = dir.join("banking-oos.csv");
    let mut w = csv::Writer::from_path(&file).unwrap();
    w.write_record(["id", "question", "answer"]).unwrap();
    for (category, question) in rows.iter().filter(|(c, _)| kept.contains(c.as_str())) {
        w.write_record([category.as_str(), question, &format!("About {category}.")])
            .unwrap();
    }
    w.flush().unwrap();
    file
}

/// The knowledge base `source` built in process with the packed model at default settings.
pub fn bundle_of(source: &Path) -> ayuda::kb::Bundle {
    let entries = ayuda::native::read_sources(&[source.to_path_buf()]).unwrap();
    ayuda::kb::Bundle::build(
        entries,
        packed(),
        None,
        ayuda::kb::BuildOptions::default(),
        &mut |_, _, _| {},
    )
    .unwrap()
}

/// `bytes` with the frame's version set to `version` and its checksum made right again, as a
/// build that wrote them would have.
pub fn reframe(mut bytes: Vec<u8>, version: u32) -> Vec<u8> {
    bytes[8..12].copy_from_slice(&version.to_le_bytes());
    let end = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..end]);
    bytes[end..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// `bytes` with the manifest `edit` gives for its text, lengths made right (not the checksum:
/// see [`reframe`]).
pub fn with_manifest(bytes: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    let manifest_len = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let manifest = edit(std::str::from_utf8(&bytes[24..24 + manifest_len]).unwrap());
    let mut out = bytes[..20].to_vec();
    out.extend((manifest.len() as u32).to_le_bytes());
    out.extend(manifest.as_bytes());
    out.extend(&bytes[24 + manifest_len..]);
    let total = out.len() as u64;
    out[12..20].copy_from_slice(&total.to_le_bytes());
    out
}

/// A manifest's text without its top-level field `name` (an object of numbers, such as a
/// range), as a bundle from before that field was written.
pub fn without_field(manifest: &str, name: &str) -> String {
    let start = manifest
        .find(&format!(",\"{name}\":"))
        .unwrap_or_else(|| panic!("a {name} field"));
    let end = start + manifest[start..].find('}').unwrap() + 1;
    format!("{}{}", &manifest[..start], &manifest[end..])
}

/// Proptest settings for the fuzz tests: `default` cases, or $PROPTEST_CASES (`make fuzz`).
/// A failing case is reported as found: shrinking a loaded model is slow.
pub fn fuzz_cases(default: u32) -> proptest::prelude::ProptestConfig {
    fuzz_cases_per(default, 1)
}

/// [`fuzz_cases`] for tests that run the model on long texts: a `share`th of $PROPTEST_CASES,
/// so `make fuzz` stays within its hour.
pub fn fuzz_cases_per(default: u32, share: u32) -> proptest::prelude::ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse::<u32>().ok())
        .map_or(default, |c| (c / share).max(default));
    proptest::prelude::ProptestConfig {
        cases,
        max_shrink_iters: 32,
        ..proptest::prelude::ProptestConfig::default()
    }
}
