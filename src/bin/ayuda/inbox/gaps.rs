//! `ayuda inbox gaps`: what the FAQ missed, from the messages visitors chose to send. Each is
//! asked of the knowledge base as the widget would; messages are grouped by the entry they came
//! nearest to (or none), and a CSV `ayuda build` reads is written: their words as new phrasings
//! of the entry they were near, and suggested new entries (handed to a person until the owner
//! writes their answer). Reads the inbox and the bundle; never changes either.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use ayuda::escalate::Escalation;
use ayuda::retrieve::Outcome;
use clap::Args;

use super::shown;
use super::store::Store;
use crate::say::{count, say};
use crate::support::{open_kb, write_atomically};

#[derive(Args)]
pub struct GapsArgs {
    /// The inbox's database: its SQLite file or postgres:// URL.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// The knowledge base the site serves.
    #[arg(long, value_name = "FILE")]
    kb: PathBuf,
    /// The model it was built with (default: the one it names, found beside it).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Write the suggestions here as CSV (id,question,answer,lang,handoff), to edit and add to
    /// your sources.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Examples shown per group.
    #[arg(long, default_value_t = 3)]
    examples: usize,
}

/// One message as the knowledge base saw it.
struct Seen {
    text: String,
    lang: Option<String>,
    score: f32,
    answered: bool,
}

pub fn run(args: &GapsArgs) -> Result<()> {
    let rows = Store::open_existing(&args.db)?
        .all()
        .with_context(|| say!(en: "reading {}", es: "leyendo {}", args.db.display()))?;
    let (bundle, encoder) = open_kb(&args.kb, args.model.as_deref())?;
    let suggest_at = bundle.policy().suggest_at;
    // Entry index (None: no entry near enough) -> the messages nearest it.
    let mut groups: BTreeMap<Option<usize>, Vec<Seen>> = BTreeMap::new();
    let mut seen_texts = std::collections::HashSet::new();
    for row in &rows {
        let message: Escalation = serde_json::from_str(&row.body)
            .with_context(|| super::damaged(&args.db.display().to_string(), row.id))?;
        let text = message
            .message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if text.is_empty() || !seen_texts.insert(text.to_lowercase()) {
            continue;
        }
        let vector = encoder
            .embed(&text)
            .with_context(|| say!(en: "message {}", es: "mensaje {}", row.id))?
            .vector;
        let (ranked, outcome) = bundle.rank_and_decide(&text, vector, message.lang.as_deref());
        let best = ranked.first();
        let near = best.filter(|b| b.score >= suggest_at).map(|b| b.entry);
        groups.entry(near).or_default().push(Seen {
            text,
            lang: message.lang.clone(),
            score: best.map_or(0.0, |b| b.score),
            answered: matches!(outcome, Outcome::Answer(_)),
        });
    }
    let total: usize = groups.values().map(Vec::len).sum();
    let lacking = groups.get(&None).map_or(0, Vec::len);
    let messages = |n| count(n, ["message", "messages"], ["mensaje", "mensajes"]);
    println!(
        "{}",
        say!(
            en: "{}: {} came near an entry (they may need other words for it), {lacking} near none (topics the FAQ may lack)",
            es: "{}: {} se acercaron a una entrada (puede que les falten otras formas de preguntar), {lacking} a ninguna (temas que quizá no están en las FAQ)",
            messages(total),
            total - lacking
        )
    );
    let mut order: Vec<_> = groups.iter().collect();
    order.sort_by_key(|(entry, seen)| (entry.is_none(), std::cmp::Reverse(seen.len())));
    let entries = bundle.entries();
    for (entry, seen) in &order {
        let n = messages(seen.len());
        let heading = match entry {
            Some(i) => say!(
                en: "\nnear \"{}\" ({}): {n}",
                es: "\ncerca de \"{}\" ({}): {n}",
                shown(&entries[*i].phrasings[0]),
                entries[*i].id
            ),
            None => say!(en: "\nnear no entry: {n}", es: "\ncerca de ninguna entrada: {n}"),
        };
        println!("{heading}");
        for s in seen.iter().take(args.examples) {
            let answered = if s.answered {
                say!(en: " (answered)", es: " (respondido)")
            } else {
                String::new()
            };
            println!("  {:.2}  \"{}\"{answered}", s.score, shown(&s.text));
        }
        if seen.len() > args.examples {
            let more = seen.len() - args.examples;
            println!(
                "{}",
                say!(en: "  ... and {more} more", es: "  ... y {more} más")
            );
        }
    }

    if let Some(out) = &args.out {
        let mut csv = ::csv::Writer::from_writer(Vec::new());
        csv.write_record(["id", "question", "answer", "lang", "handoff"])?;
        let (mut phrasings, mut new) = (0, 0);
        for (entry, seen) in &order {
            for s in seen.iter() {
                let lang = s.lang.clone().unwrap_or_default();
                match entry {
                    // A new way of asking: the entry's answer comes from its own source.
                    Some(i) if !s.answered => {
                        csv.write_record([entries[*i].id.as_str(), &s.text, "", &lang, ""])?;
                        phrasings += 1;
                    }
                    Some(_) => {}
                    None => {
                        new += 1;
                        let placeholder = if lang.starts_with("es") {
                            "Gracias por preguntar: te lo contamos en persona."
                        } else {
                            "Thanks for asking: a person will answer this for you."
                        };
                        csv.write_record([
                            format!("new-{new}").as_str(),
                            &s.text,
                            placeholder,
                            &lang,
                            "yes",
                        ])?;
                    }
                }
            }
        }
        let bytes = csv
            .into_inner()
            .with_context(|| say!(en: "writing the CSV", es: "escribiendo el CSV"))?;
        write_atomically(out, &bytes)?;
        eprintln!(
            "{}",
            say!(
                en: "ayuda: wrote {}: {} of asking existing entries, {} (handed to a person until you write their answers); edit it, then add it to your sources and rebuild",
                es: "ayuda: escrito {}: {} de preguntar por entradas que ya existen, {} (pasan a una persona hasta que escribas sus respuestas); edítalo, añádelo a tus fuentes y vuelve a crear la base de conocimiento",
                out.display(),
                count(phrasings, ["new way", "new ways"], ["forma nueva", "formas nuevas"]),
                count(
                    new,
                    ["suggested new entry", "suggested new entries"],
                    ["entrada nueva sugerida", "entradas nuevas sugeridas"]
                )
            )
        );
    }
    Ok(())
}
