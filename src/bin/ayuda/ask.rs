//! `ayuda ask`: questions against a knowledge base, each outcome printed.

use std::path::PathBuf;

use anyhow::Result;
use ayuda::kb::{Hit, Reply};
use clap::Args;
use std::io::Write;

use crate::say::say;
use crate::support::{open_kb, open_kb_early};

#[derive(Args)]
pub struct AskArgs {
    /// The knowledge-base bundle (from `ayuda build`).
    #[arg(long)]
    kb: PathBuf,
    /// The model file; by default the one the bundle was built with, found beside it.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The visitor's language (BCP 47, e.g. es or en-GB), as the page's: entries in it (or in
    /// none) are looked among first, unless the question is written in another language the
    /// knowledge base has.
    #[arg(long)]
    lang: Option<String>,
    /// Print each outcome as one JSON object on its own line.
    #[arg(long)]
    json: bool,
    /// Answer as the early tier does, from the words alone, before the model has arrived
    /// (needs no model).
    #[arg(long, conflicts_with = "model")]
    early: bool,
    /// The visitor's question (several: one outcome each, in order).
    #[arg(required = true)]
    text: Vec<String>,
}

pub fn run(args: AskArgs) -> Result<()> {
    let (bundle, encoder) = if args.early {
        (open_kb_early(&args.kb)?, None)
    } else {
        let (bundle, encoder) = open_kb(&args.kb, args.model.as_deref())?;
        (bundle, Some(encoder))
    };
    for text in &args.text {
        let lang = args.lang.as_deref();
        let outcome = match &encoder {
            Some(encoder) => bundle.ask(encoder, text, lang)?,
            None => {
                bundle
                    .decide_early(text, lang)
                    .expect("checked on opening")
                    .1
            }
        };
        let reply = bundle.reply(&outcome);
        // Written, not println!: a closed pipe (`ayuda ask ... | head -1`) is an error main()
        // lets pass quietly, not a panic.
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&reply)?)?;
        } else {
            print_reply(&mut out, &reply)?;
        }
    }
    Ok(())
}

/// One outcome for a person to read. ANSWER, SUGGEST and ESCALATE are the outcomes' names in
/// every language (the README and `--json` use them); the rest is said in the owner's.
fn print_reply(out: &mut impl Write, reply: &Reply) -> std::io::Result<()> {
    let line = |h: &Hit| {
        say!(
            en: "{} (score {:.3}: dense {:.3}, lexical {:.3})",
            es: "{} (puntuación {:.3}: densa {:.3}, léxica {:.3})",
            h.id, h.score, h.dense, h.lexical
        )
    };
    match reply {
        Reply::Answer { entry } => {
            writeln!(out, "ANSWER {}", line(entry))?;
            writeln!(out, "{}", entry.answer)?;
            if let Some(url) = entry.url {
                writeln!(out, "{}", say!(en: "source: {url}", es: "fuente: {url}"))?;
            }
            if entry.handoff {
                let handoff = say!(
                    en: "(the owner hands this topic to a person)",
                    es: "(de este tema se encarga una persona del equipo)"
                );
                writeln!(out, "{handoff}")?;
            }
        }
        Reply::Suggest { entries } => {
            writeln!(out, "SUGGEST")?;
            for h in entries {
                writeln!(out, "  {}: {}", line(h), h.question)?;
            }
        }
        Reply::Escalate => writeln!(
            out,
            "{}",
            say!(
                en: "ESCALATE (nothing in the knowledge base matches)",
                es: "ESCALATE (nada en la base de conocimiento coincide)"
            )
        )?,
    }
    Ok(())
}
