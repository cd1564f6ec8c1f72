//! `ayuda build`: FAQ sources and a model to one knowledge-base bundle.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ayuda::escalate::Settings;
use ayuda::kb::{BuildOptions, Bundle, Stage};
use ayuda::native::{load_encoder, read_source_rows};
use ayuda::retrieve::calibrate::{Basis, WeightTried};
use ayuda::retrieve::Policy;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

use crate::say::{self, say};
use crate::support::{check_folder, model_for, progress, warn_ignored_sources, write_atomically};

#[derive(Args)]
pub struct BuildArgs {
    /// FAQ sources: .csv, .json, .jsonl, .md, .html files, or folders of a built static site.
    #[arg(required = true)]
    sources: Vec<PathBuf>,
    /// The packed model file (or model directory) visitors' browsers will embed questions with.
    /// Default: the multilingual model when any entry is not in English, else the small
    /// English one, looked for in $AYUDA_MODELS, www/models, models and beside this program.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The languages your visitors write in (BCP 47, comma-separated, e.g. `en,es`): any but
    /// English picks the multilingual model even for an English-only FAQ.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LANGS",
        value_parser = language,
        conflicts_with = "model"
    )]
    languages: Vec<String>,
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
    /// Share of the answer model trained on your phrasings in the score, 0 to 1; 0 turns it
    /// off (default: decided by cross-validation on your phrasings).
    #[arg(long)]
    trained_weight: Option<f32>,
    /// Contact settings (TOML or JSON): hours, time zone, phones, where messages go.
    #[arg(long, value_name = "FILE")]
    contact: Option<PathBuf>,
}

/// A `--languages` value, refused unless it is a language code (see
/// [`ayuda::kb::is_language_code`]): `--languages english` would otherwise pick a model as if
/// visitors wrote in a language called "english".
fn language(value: &str) -> Result<String, String> {
    let value = value.trim();
    if ayuda::kb::is_language_code(value) {
        Ok(value.to_string())
    } else {
        Err(say::pick(&ayuda::kb::not_a_language_code(value)).to_string())
    }
}

pub fn run(args: BuildArgs) -> Result<()> {
    // Settings first: a typo in them should not wait for the embedding.
    let contact = args.contact.as_deref().map(read_contact).transpose()?;
    check_out(&args.out, &args.sources)?;
    warn_ignored_sources(&args.sources);
    let rows = read_source_rows(&args.sources)?;
    warn_lint_errors(&rows);
    let entries = ayuda::kb::merge(rows)?;
    let model = model_for(args.model.as_deref(), &entries, &args.languages)?;
    let encoder = load_encoder(&model)?;
    let options = BuildOptions {
        contact,
        answer_at: args.answer_at,
        margin: args.margin,
        suggest_at: args.suggest_at,
        lexical_weight: args.lexical_weight,
        trained_weight: args.trained_weight,
    };
    let model_file = model.file_name().map(|n| n.to_string_lossy().into_owned());
    let bundle = build_bundle(entries, &encoder, model_file.as_deref(), options)
        .with_context(|| say!(en: "building {}", es: "creando {}", args.out.display()))?;
    let bytes = bundle.to_bytes();
    write_atomically(&args.out, &bytes)?;
    report(&bundle, &args.out, bytes.len(), &encoder);
    Ok(())
}

/// Says what `ayuda lint` would call an error (one question under two entries, two entries
/// with one answer...): the build goes on, as it always has, but the owner hears that some
/// visitors will get a wrong answer, and where. (`ayuda site` refuses them.)
fn warn_lint_errors(rows: &[ayuda::kb::Entry]) {
    use ayuda::kb::lint::{check_rows, Severity};
    const SHOWN: usize = 5;
    let checked = check_rows(rows.to_vec());
    let errors: Vec<_> = checked
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    for f in errors.iter().take(SHOWN) {
        let (origin, message) = (&f.origin, say::pick(&f.message));
        eprintln!(
            "{}",
            say!(en: "ayuda: warning: {origin}: {message}", es: "ayuda: aviso: {origin}: {message}")
        );
    }
    if errors.len() > SHOWN {
        let more = errors.len() - SHOWN;
        eprintln!(
            "{}",
            say!(en: "ayuda: warning: and {more} more", es: "ayuda: aviso: y {more} más")
        );
    }
    if !errors.is_empty() {
        eprintln!(
            "{}",
            say!(
                en: "ayuda: warning: {} problem(s) `ayuda lint` reports as errors: visitors may get a wrong or empty answer; fix them, then build again",
                es: "ayuda: aviso: {} problema(s) que `ayuda lint` da como errores: tus visitantes pueden recibir una respuesta equivocada o vacía; arréglalos y vuelve a crearla",
                errors.len()
            )
        );
    }
}

/// Refuses an `--out` the bundle cannot or must not be written to, before the slow part: a
/// missing folder, or one of the sources (`ayuda build faq.csv --out faq.csv` would replace
/// the owner's FAQ with the binary bundle).
fn check_out(out: &Path, sources: &[PathBuf]) -> Result<()> {
    check_folder(out)?;
    // A path that does not exist yet cannot be a source; one that does is compared by its
    // canonical form, so ./faq.csv and a link to it count as faq.csv.
    let Ok(target) = out.canonicalize() else {
        return Ok(());
    };
    for source in sources {
        if source.canonicalize().is_ok_and(|s| s == target) {
            anyhow::bail!(say!(
                en: "--out {} is the source {}: writing the bundle there would replace your FAQ; give another file, e.g. --out faq.kb",
                es: "--out {} es la fuente {}: escribir ahí la base de conocimiento sustituiría tus FAQ; indica otro archivo, p. ej. --out faq.kb",
                out.display(),
                source.display()
            ));
        }
    }
    Ok(())
}

/// Embeds and calibrates `entries` into a bundle, with a progress bar for the embedding and
/// one for the answer models' training once it has taken more than a second.
pub fn build_bundle(
    entries: Vec<ayuda::kb::Entry>,
    encoder: &ayuda::model::Encoder,
    model_file: Option<&str>,
    options: BuildOptions,
) -> Result<Bundle> {
    let phrasings: usize = entries.iter().map(|e| e.phrasings.len()).sum();
    let bar = progress(
        phrasings,
        &say!(en: "phrasings", es: "formas de preguntar"),
        256,
    );
    let mut training: Option<(ProgressBar, Instant)> = None;
    let bundle = Bundle::build(
        entries,
        encoder,
        model_file,
        options,
        &mut |stage, done, total| match stage {
            Stage::Embedding => bar.set_position(done as u64),
            Stage::Training => {
                bar.finish_and_clear();
                let (b, started) = training.get_or_insert_with(|| {
                    let b = ProgressBar::with_draw_target(
                        Some(total as u64),
                        ProgressDrawTarget::hidden(),
                    );
                    let template = say!(
                        en: "{{bar:40}} {{pos}}/{{len}} answer models trained, eta {{eta}}",
                        es: "{{bar:40}} {{pos}}/{{len}} modelos de respuesta entrenados, quedan {{eta}}"
                    );
                    b.set_style(ProgressStyle::with_template(&template).expect("valid template"));
                    (b, Instant::now())
                });
                if b.is_hidden() && started.elapsed() > Duration::from_secs(1) {
                    b.set_draw_target(ProgressDrawTarget::stderr());
                }
                b.set_length(total as u64);
                b.set_position(done as u64);
            }
        },
    )?;
    bar.finish_and_clear();
    if let Some((b, _)) = training {
        b.finish_and_clear();
    }
    Ok(bundle)
}

/// Prints what the build decided: thresholds, what the calibration expects, the trained
/// model's share, the early tier, and what the owner set.
pub fn report(bundle: &Bundle, out: &Path, len: usize, encoder: &ayuda::model::Encoder) {
    let phrasings: usize = bundle.entries().iter().map(|e| e.phrasings.len()).sum();
    let p = bundle.policy();
    let cal = bundle.calibration();
    eprintln!(
        "{}",
        say!(
            en: "ayuda: built {} ({} entries, {phrasings} phrasings, {:.2} MB)",
            es: "ayuda: creada {} ({} entradas, {phrasings} formas de preguntar, {:.2} MB)",
            out.display(),
            bundle.entries().len(),
            len as f64 / 1e6
        )
    );
    let rule = match &p.confidence {
        Some(c) => say!(
            en: "ayuda: answers when the best entry's learned confidence is >= {:.3}; suggests entries scoring >= {:.3}",
            es: "ayuda: responde cuando la confianza aprendida de la mejor entrada es >= {:.3}; sugiere las entradas con puntuación >= {:.3}",
            c.answer_at(),
            p.suggest_at
        ),
        None => say!(
            en: "ayuda: answers when the best entry scores >= {:.3} and leads by >= {:.3}; suggests entries scoring >= {:.3}",
            es: "ayuda: responde cuando la mejor entrada puntúa >= {:.3} y saca >= {:.3} a la siguiente; sugiere las entradas con puntuación >= {:.3}",
            p.answer_at, p.margin, p.suggest_at
        ),
    };
    eprintln!("{rule}");
    match &cal.basis {
        Basis::KnowledgeBase {
            samples,
            entries,
            conflicts,
            expected_correct,
            expected_wrong,
            unknown_answered,
            trained_tried,
            answer_tried,
            thresholds_alone,
        } => {
            eprintln!(
                "{}",
                say!(
                    en: "ayuda: calibrated on {samples} phrasings of {entries} entries: about {:.0}% of questions like them answered right; {:.0}% of questions on topics the FAQ lacks answered anyway; {:.1}% wrong answers if a quarter of questions are such",
                    es: "ayuda: calibrado con {samples} formas de preguntar de {entries} entradas: cerca del {:.0}% de las preguntas parecidas, bien respondidas; el {:.0}% de las preguntas sobre temas que no están en las FAQ, respondidas de todos modos; un {:.1}% de respuestas equivocadas si una de cada cuatro preguntas es así",
                    expected_correct * 100.0,
                    unknown_answered * 100.0,
                    expected_wrong * 100.0
                )
            );
            report_answers(p.answer_weight, answer_tried);
            report_trained(p.trained_weight, trained_tried);
            if let Some(alone) = thresholds_alone {
                eprintln!(
                    "{}",
                    say!(
                        en: "ayuda: a confidence learned from your phrasings decides answers: cross-validated, {:.0}% of known questions answered right with it, {:.0}% with a score and a lead alone",
                        es: "ayuda: decide si responder una confianza aprendida de tus formas de preguntar: en validación cruzada, el {:.0}% de las preguntas conocidas bien respondidas con ella, el {:.0}% solo con la puntuación y la ventaja",
                        expected_correct * 100.0,
                        alone * 100.0
                    )
                );
            }
            if *conflicts > 0 {
                eprintln!(
                    "{}",
                    say!(
                        en: "ayuda: {conflicts} phrasings left out of calibration: another entry has a near-duplicate (run `ayuda lint`)",
                        es: "ayuda: {conflicts} formas de preguntar fuera de la calibración: otra entrada tiene una casi igual (ejecuta `ayuda lint`)"
                    )
                );
            }
        }
        Basis::Defaults {
            reason,
            unknown_answered,
        } => {
            let reason = reason.pick(say::is_spanish());
            eprintln!(
                "{}",
                say!(
                    en: "ayuda: default thresholds: {reason}",
                    es: "ayuda: umbrales por defecto: {reason}"
                )
            );
            if let Some(u) = unknown_answered {
                let default = Policy::defaults(encoder.multilingual()).answer_at;
                let raised = if p.answer_weight > 0.0 {
                    say!(
                        en: " (your answers' text counts {:.0}% of how alike a question and an entry are; answer_at set to keep it under 20% with a margin for how few were simulated)",
                        es: " (el texto de tus respuestas cuenta un {:.0}% en lo que se parecen una pregunta y una entrada; answer_at fijado para dejarlo por debajo del 20%, con margen por lo pocas que se han simulado)",
                        p.answer_weight * 100.0
                    )
                } else if p.answer_at > default {
                    say!(
                        en: " (answer_at raised from {default:.2} to keep it under 20% with a margin for how few were simulated)",
                        es: " (answer_at subido desde {default:.2} para dejarlo por debajo del 20%, con margen por lo pocas que se han simulado)"
                    )
                } else {
                    String::new()
                };
                eprintln!(
                    "{}",
                    say!(
                        en: "ayuda: simulated, about {:.0}% of questions on topics the FAQ lacks would be answered anyway{raised}; add phrasings to calibrate fully",
                        es: "ayuda: en la simulación, cerca del {:.0}% de las preguntas sobre temas que no están en las FAQ se responderían de todos modos{raised}; añade formas de preguntar para calibrar del todo",
                        u * 100.0
                    )
                );
            }
        }
    }
    if let Some(early) = bundle.early() {
        report_early(early);
    }
    if !cal.owner_set.is_empty() {
        let set = cal.owner_set.join(", ");
        eprintln!(
            "{}",
            say!(en: "ayuda: set by you: {set}", es: "ayuda: fijado por ti: {set}")
        );
    }
}

/// The early tier's policy: what the chat answers from words alone before the model arrives.
fn report_early(early: &ayuda::retrieve::Calibration) {
    let p = early.policy;
    if p.margin > 1.0 {
        eprintln!(
            "{}",
            say!(
                en: "ayuda: before the model arrives: no answers from words alone (they would answer topics the FAQ lacks), suggestions from a share of {:.2} of the question's words",
                es: "ayuda: antes de que llegue el modelo: ninguna respuesta solo por las palabras (respondería temas que no están en las FAQ), sugerencias desde una proporción de {:.2} de las palabras de la pregunta",
                p.suggest_at
            )
        );
        return;
    }
    let expected = match &early.basis {
        Basis::KnowledgeBase {
            expected_correct,
            expected_wrong,
            ..
        } => say!(
            en: "; about {:.0}% of known questions answered right, {:.1}% wrong answers",
            es: "; cerca del {:.0}% de las preguntas conocidas bien respondidas, un {:.1}% de respuestas equivocadas",
            expected_correct * 100.0,
            expected_wrong * 100.0
        ),
        Basis::Defaults { .. } => String::new(),
    };
    eprintln!(
        "{}",
        say!(
            en: "ayuda: before the model arrives, from words alone: answers when the best entry holds a share >= {:.2} of the question's words and leads by >= {:.2}{expected}",
            es: "ayuda: antes de que llegue el modelo, solo por las palabras: responde cuando la mejor entrada tiene una proporción >= {:.2} de las palabras de la pregunta y saca >= {:.2} a la siguiente{expected}",
            p.answer_at, p.margin
        )
    );
}

/// What the cross-validation decided about the entries' readings (question with answer).
fn report_answers(weight: f32, tried: &[WeightTried]) {
    let (Some(without), Some(with)) = (
        tried.iter().find(|t| t.weight == 0.0),
        tried
            .iter()
            .filter(|t| t.weight > 0.0)
            .max_by(|a, b| a.expected_correct.total_cmp(&b.expected_correct)),
    ) else {
        return;
    };
    if weight > 0.0 {
        let kept = tried
            .iter()
            .find(|t| t.weight == weight)
            .map_or(with.expected_correct, |t| t.expected_correct);
        eprintln!(
            "{}",
            say!(
                en: "ayuda: your answers' text counts {:.0}% of how alike a question and an entry are: cross-validated, {:.0}% of known questions answered right with it, {:.0}% with the questions alone",
                es: "ayuda: el texto de tus respuestas cuenta un {:.0}% en lo que se parecen una pregunta y una entrada: en validación cruzada, el {:.0}% de las preguntas conocidas bien respondidas con él, el {:.0}% solo con las preguntas",
                weight * 100.0,
                kept * 100.0,
                without.expected_correct * 100.0
            )
        );
    } else {
        eprintln!(
            "{}",
            say!(
                en: "ayuda: your answers' text not used to match questions: cross-validated, {:.0}% of known questions answered right with the questions alone, {:.0}% at best with it",
                es: "ayuda: el texto de tus respuestas no se usa para encontrar las preguntas: en validación cruzada, el {:.0}% de las preguntas conocidas bien respondidas solo con las preguntas, el {:.0}% como mucho con él",
                without.expected_correct * 100.0,
                with.expected_correct * 100.0
            )
        );
    }
}

/// What the cross-validation decided about the trained answer model.
fn report_trained(weight: f32, tried: &[WeightTried]) {
    let without = tried.iter().find(|t| t.weight == 0.0);
    let best = tried
        .iter()
        .filter(|t| t.weight > 0.0)
        .max_by(|a, b| a.expected_correct.total_cmp(&b.expected_correct));
    let said = match (without, best) {
        (Some(without), Some(best)) if weight > 0.0 => say!(
            en: "ayuda: answer model trained on your phrasings counts {:.0}% of the score: cross-validated, {:.0}% of known questions answered right with it, {:.0}% without",
            es: "ayuda: el modelo de respuesta entrenado con tus formas de preguntar cuenta un {:.0}% de la puntuación: en validación cruzada, el {:.0}% de las preguntas conocidas bien respondidas con él, el {:.0}% sin él",
            weight * 100.0,
            tried.iter().find(|t| t.weight == weight).map_or(best.expected_correct, |t| t.expected_correct) * 100.0,
            without.expected_correct * 100.0
        ),
        (Some(without), Some(best)) => say!(
            en: "ayuda: answer model trained on your phrasings not used: cross-validated, {:.0}% of known questions answered right without it, {:.0}% at best with it",
            es: "ayuda: el modelo de respuesta entrenado con tus formas de preguntar no se usa: en validación cruzada, el {:.0}% de las preguntas conocidas bien respondidas sin él, el {:.0}% como mucho con él",
            without.expected_correct * 100.0,
            best.expected_correct * 100.0
        ),
        _ if weight > 0.0 => say!(
            en: "ayuda: answer model trained on your phrasings counts {:.0}% of the score (set by you)",
            es: "ayuda: el modelo de respuesta entrenado con tus formas de preguntar cuenta un {:.0}% de la puntuación (fijado por ti)",
            weight * 100.0
        ),
        _ => return,
    };
    eprintln!("{said}");
}

/// Reads and checks a contact settings file: TOML, or JSON when it ends in .json.
pub fn read_contact(path: &Path) -> Result<Settings> {
    let text = std::fs::read_to_string(path).with_context(|| {
        say!(
            en: "reading contact settings {}",
            es: "leyendo los datos de contacto {}",
            path.display()
        )
    })?;
    let named = || {
        say!(
            en: "contact settings {}",
            es: "datos de contacto {}",
            path.display()
        )
    };
    let settings: Settings = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(anyhow::Error::from)
    } else {
        toml::from_str(&text).map_err(anyhow::Error::from)
    }
    .with_context(named)?;
    settings.check().with_context(named)?;
    Ok(settings)
}
