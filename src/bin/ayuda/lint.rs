//! `ayuda lint`: what in the owner's FAQ sources will make answers wrong or missing.

use std::path::PathBuf;

use anyhow::{bail, Result};
use ayuda::kb::embed_phrasings;
use ayuda::kb::lint::{check_retrieval, check_rows, Severity};
use ayuda::native::{load_encoder, read_source_rows};
use ayuda::retrieve::{Index, Policy};
use clap::Args;

use crate::say::{count, say};
use crate::support::{progress, warn_ignored_sources};

#[derive(Args)]
pub struct LintArgs {
    /// FAQ sources, as for `ayuda build`.
    #[arg(required = true)]
    sources: Vec<PathBuf>,
    /// The model file: adds the checks that need one (near-duplicate questions, phrasings
    /// that find another entry first).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Share of the keyword score in the fused score, as given to `ayuda build`.
    #[arg(long)]
    lexical_weight: Option<f32>,
}

/// Findings printed per kind before the rest are only counted.
const SHOWN: usize = 50;

pub fn run(args: LintArgs) -> Result<()> {
    warn_ignored_sources(&args.sources);
    let checked = check_rows(read_source_rows(&args.sources)?);
    let entries = &checked.entries;
    let mut findings = checked.findings.clone();
    let phrasings: usize = entries.iter().map(|e| e.phrasings.len()).sum();
    match &args.model {
        Some(model) => {
            let encoder = load_encoder(model)?;
            let unit = say!(en: "phrasings", es: "formas de preguntar");
            let bar = progress(phrasings, &unit, 256);
            let vectors = embed_phrasings(entries, &encoder, &mut |done, _| {
                bar.set_position(done as u64)
            })?;
            bar.finish_and_clear();
            let index = Index::build(entries, vectors);
            let weight = args
                .lexical_weight
                .unwrap_or(Policy::DEFAULT.lexical_weight);
            findings.extend(check_retrieval(
                &checked,
                &index,
                weight,
                ayuda::retrieve::near_duplicate(encoder.multilingual()),
            ));
        }
        None => eprintln!(
            "{}",
            say!(
                en: "ayuda: lint: no --model given: near-duplicate questions and phrasings that find another entry were not checked",
                es: "ayuda: lint: sin --model no se han comprobado las preguntas casi repetidas ni las formas de preguntar que encuentran otra entrada"
            )
        ),
    }
    findings.sort_by_key(|f| f.severity);
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    for severity in [Severity::Error, Severity::Warning] {
        let of_kind: Vec<_> = findings.iter().filter(|f| f.severity == severity).collect();
        for f in of_kind.iter().take(SHOWN) {
            println!("{}", crate::say::pick(&f.said()));
        }
        if of_kind.len() > SHOWN {
            let more = of_kind.len() - SHOWN;
            println!(
                "{}",
                say!(en: "... and {more} more like these", es: "... y {more} más como estos")
            );
        }
    }
    let errors_said = count(errors, ["error", "errors"], ["error", "errores"]);
    println!(
        "{}, {}: {errors_said}, {}",
        count(entries.len(), ["entry", "entries"], ["entrada", "entradas"]),
        count(
            phrasings,
            ["phrasing", "phrasings"],
            ["forma de preguntar", "formas de preguntar"]
        ),
        count(warnings, ["warning", "warnings"], ["aviso", "avisos"])
    );
    if errors > 0 {
        bail!(say!(
            en: "{errors_said} in the FAQ sources; fix them before building",
            es: "las fuentes de las FAQ tienen {errors_said}; arréglalas antes de crear la base de conocimiento"
        ));
    }
    Ok(())
}
