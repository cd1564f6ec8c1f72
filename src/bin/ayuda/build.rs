//! `ayuda build`: FAQ sources and a model to one knowledge-base bundle.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ayuda::escalate::Settings;
use ayuda::kb::{BuildOptions, Bundle};
use ayuda::native::{load_encoder, read_sources};
use ayuda::retrieve::calibrate::Basis;
use ayuda::retrieve::Policy;
use clap::Args;

use crate::support::{progress, write_atomically};

#[derive(Args)]
pub struct BuildArgs {
    /// FAQ sources: .csv, .json, .jsonl, .md, .html files, or folders of a built static site.
    #[arg(required = true)]
    sources: Vec<PathBuf>,
    /// The packed model file (or model directory) visitors' browsers will embed questions with.
    #[arg(long)]
    model: PathBuf,
    /// Where to write the bundle.
    #[arg(long)]
    out: PathBuf,
    /// Answer only when the best entry scores at least this (default: calibrated).
    #[arg(long)]
    answer_at: Option<f32>,
    /// ...and leads the second best by at least this (default: calibrated).
    #[arg(long)]
    margin: Option<f32>,
    /// Offer entries scoring at least this when not answering (default: calibrated).
    #[arg(long)]
    suggest_at: Option<f32>,
    /// Share of the keyword (BM25) score in the fused score, 0 to 1.
    #[arg(long)]
    lexical_weight: Option<f32>,
    /// Contact settings (TOML or JSON): hours, time zone, phones, where messages go.
    #[arg(long, value_name = "FILE")]
    contact: Option<PathBuf>,
}

pub fn run(args: BuildArgs) -> Result<()> {
    // Settings first: a typo in them should not wait for the embedding.
    let contact = args.contact.as_deref().map(read_contact).transpose()?;
    let entries = read_sources(&args.sources)?;
    let encoder = load_encoder(&args.model)?;
    let phrasings: usize = entries.iter().map(|e| e.phrasings.len()).sum();
    let bar = progress(phrasings, "phrasings", 256);
    let options = BuildOptions {
        contact,
        answer_at: args.answer_at,
        margin: args.margin,
        suggest_at: args.suggest_at,
        lexical_weight: args.lexical_weight,
    };
    let model_file = args
        .model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let bundle = Bundle::build(
        entries,
        &encoder,
        model_file.as_deref(),
        options,
        &mut |done, _| bar.set_position(done as u64),
    )
    .with_context(|| format!("building {}", args.out.display()))?;
    bar.finish_and_clear();
    let bytes = bundle.to_bytes();
    write_atomically(&args.out, &bytes)?;

    let p = bundle.policy();
    let cal = bundle.calibration();
    eprintln!(
        "ayuda: built {} ({} entries, {phrasings} phrasings, {:.2} MB)",
        args.out.display(),
        bundle.entries().len(),
        bytes.len() as f64 / 1e6
    );
    eprintln!(
        "ayuda: answers when the best entry scores >= {:.3} and leads by >= {:.3}; suggests entries scoring >= {:.3}",
        p.answer_at, p.margin, p.suggest_at
    );
    match &cal.basis {
        Basis::KnowledgeBase {
            samples,
            entries,
            conflicts,
            expected_correct,
            expected_wrong,
            unknown_answered,
        } => {
            eprintln!(
                "ayuda: calibrated on {samples} phrasings of {entries} entries: about {:.0}% of questions like them answered right; {:.0}% of questions on topics the FAQ lacks answered anyway; {:.1}% wrong answers if a quarter of questions are such",
                expected_correct * 100.0,
                unknown_answered * 100.0,
                expected_wrong * 100.0
            );
            if *conflicts > 0 {
                eprintln!("ayuda: {conflicts} phrasings left out of calibration: another entry has a near-duplicate (run `ayuda lint`)");
            }
        }
        Basis::Defaults {
            reason,
            unknown_answered,
        } => {
            eprintln!("ayuda: default thresholds: {reason}");
            if let Some(u) = unknown_answered {
                let raised = if p.answer_at > Policy::DEFAULT.answer_at {
                    format!(
                        " (answer_at raised from {:.2} to keep it at 20% or under)",
                        Policy::DEFAULT.answer_at
                    )
                } else {
                    String::new()
                };
                eprintln!(
                    "ayuda: simulated, about {:.0}% of questions on topics the FAQ lacks would be answered anyway{raised}; add phrasings to calibrate fully",
                    u * 100.0
                );
            }
        }
    }
    if !cal.owner_set.is_empty() {
        eprintln!("ayuda: set by you: {}", cal.owner_set.join(", "));
    }
    Ok(())
}

/// Reads and checks a contact settings file: TOML, or JSON when it ends in .json.
fn read_contact(path: &Path) -> Result<Settings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading contact settings {}", path.display()))?;
    let settings: Settings = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(anyhow::Error::from)
    } else {
        toml::from_str(&text).map_err(anyhow::Error::from)
    }
    .with_context(|| format!("contact settings {}", path.display()))?;
    settings
        .check()
        .with_context(|| format!("contact settings {}", path.display()))?;
    Ok(settings)
}
