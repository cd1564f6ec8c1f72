//! `ayuda embed`: texts on stdin to JSONL embeddings on stdout.
//!
//! Input is one text per line, or JSONL objects with a "text" string (auto-detected from the
//! first non-empty line, or chosen with --format). Every line is an input, so an empty line
//! embeds the empty text. The whole input is read and checked before any output, so bad input
//! (invalid UTF-8, a JSONL line without "text") fails naming its line and prints nothing.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ayuda::native::load_encoder;
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::say::say;

#[derive(Args)]
pub struct EmbedArgs {
    /// A model directory (full precision) or a packed model file.
    #[arg(long)]
    model: PathBuf,
    /// Input format; auto treats the input as JSONL when its first non-empty line starts with '{'.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// When done, print one JSON line to stderr: texts, tokens, and the seconds spent embedding
    /// (reading input, loading the model and writing vectors left out), for benchmarks.
    #[arg(long)]
    timing: bool,
}

#[derive(Serialize)]
struct Timing {
    texts: usize,
    tokens: usize,
    embed_seconds: f64,
    texts_per_s: f64,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Format {
    Auto,
    Text,
    Jsonl,
}

#[derive(Deserialize)]
struct InputLine {
    text: String,
}

#[derive(Serialize)]
struct OutputLine<'a> {
    text: &'a str,
    tokens: usize,
    embedding: &'a [f32],
}

/// Inputs embedded before their output is written: bounds how much is held, and is large enough
/// that the cores seldom wait for each other at the end of a chunk (progress moves per batch).
const CHUNK: usize = 4096;

pub fn run(args: EmbedArgs) -> Result<()> {
    let mut raw = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut raw)
        .with_context(|| say!(en: "reading stdin", es: "leyendo la entrada estándar"))?;
    let texts = parse_input(&raw, args.format)?;
    let encoder = load_encoder(&args.model)?;

    let progress = crate::support::progress(texts.len(), &say!(en: "texts", es: "textos"), CHUNK);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let (mut seconds, mut tokens) = (0.0, 0);
    for chunk in texts.chunks(CHUNK) {
        let start = std::time::Instant::now();
        let embeddings = encoder
            .embed_batch_with(chunk, &|n| progress.inc(n as u64))
            .with_context(|| say!(en: "embedding", es: "calculando los vectores"))?;
        seconds += start.elapsed().as_secs_f64();
        tokens += embeddings.iter().map(|e| e.tokens).sum::<usize>();
        for (text, e) in chunk.iter().zip(&embeddings) {
            let line = OutputLine {
                text,
                tokens: e.tokens,
                embedding: &e.vector,
            };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    progress.finish_and_clear();
    out.flush()?;
    if args.timing {
        let timing = Timing {
            texts: texts.len(),
            tokens,
            embed_seconds: seconds,
            texts_per_s: texts.len() as f64 / seconds.max(1e-9),
        };
        eprintln!("{}", serde_json::to_string(&timing)?);
    }
    Ok(())
}

fn parse_input(raw: &[u8], format: Format) -> Result<Vec<String>> {
    let mut lines: Vec<&[u8]> = raw.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop(); // the final newline ends the last line; it does not start a new one
    }
    let mut texts = Vec::with_capacity(lines.len());
    let mut jsonl = format == Format::Jsonl;
    for (i, line) in lines.iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = match std::str::from_utf8(line) {
            Ok(s) => s,
            Err(e) => bail!(say!(
                en: "stdin line {}: not valid UTF-8 (bad byte at column {}); convert the input to UTF-8 first",
                es: "línea {} de la entrada: no es UTF-8 válido (byte erróneo en la columna {}); convierte antes la entrada a UTF-8",
                i + 1,
                e.valid_up_to() + 1
            )),
        };
        if format == Format::Auto && texts.is_empty() && !jsonl && !line.trim().is_empty() {
            jsonl = line.trim_start().starts_with('{');
        }
        if jsonl {
            if line.trim().is_empty() {
                continue;
            }
            let parsed: InputLine = serde_json::from_str(line).with_context(|| {
                say!(
                    en: "stdin line {}: expected a JSON object with a \"text\" string",
                    es: "línea {} de la entrada: se esperaba un objeto JSON con un texto \"text\"",
                    i + 1
                )
            })?;
            texts.push(parsed.text);
        } else {
            texts.push(line.to_string());
        }
    }
    Ok(texts)
}
