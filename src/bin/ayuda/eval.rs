//! `ayuda eval`: scores a knowledge base on labelled questions with the answer-quality
//! protocol (ARCHITECTURE.md, "Answer policy"): each question gets one outcome; correct is an
//! answer with the right entry; wrong is an answer with another entry, or any answer to an
//! out-of-scope question.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use ayuda::retrieve::Outcome;
use clap::Args;
use serde::Serialize;

use crate::say::say;
use crate::support::{open_kb, open_kb_early, progress};

#[derive(Args)]
pub struct EvalArgs {
    /// The knowledge-base bundle (from `ayuda build`).
    #[arg(long)]
    kb: PathBuf,
    /// The model file; by default the one the bundle was built with, found beside it.
    #[arg(long)]
    model: Option<PathBuf>,
    /// CSV with a header: the question text, then its label (an entry id, or the out-of-scope
    /// label). Columns named text and label (or category, id) are used; else the first two.
    #[arg(long)]
    queries: PathBuf,
    /// The label that marks a question the knowledge base does not cover.
    #[arg(long)]
    oos_label: Option<String>,
    /// Ask every question in this language (BCP 47), as `ayuda ask --lang` does.
    #[arg(long)]
    lang: Option<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Score the early tier instead: what the chat answers from a question's words alone,
    /// before the model has arrived (needs no model).
    #[arg(long, conflicts_with = "model")]
    early: bool,
}

#[derive(Serialize, Default)]
struct Report {
    queries: usize,
    in_scope: usize,
    /// Right answers over in-scope questions.
    correct_rate: f64,
    /// Wrong answers (wrong entry, or any answer out of scope) over all questions.
    wrong_rate: f64,
    suggest_rate: f64,
    /// In-scope suggestions that include the right entry, over in-scope suggestions.
    suggest_hit_rate: Option<f64>,
    escalate_rate: f64,
    /// Out-of-scope questions not answered (suggested or escalated), over out-of-scope ones.
    oos_recall: Option<f64>,
    /// In-scope questions whose best-ranked entry is right, whatever the outcome.
    top1_accuracy: f64,
    /// The most right answers (of in-scope) that one threshold on the best entry's score (on
    /// its learned confidence, when the build decided answers by one) could give with wrong
    /// answers at 5% or under, the threshold picked on these very questions. Not a setting: how far calibration could go; past it only better scores help.
    ceiling_correct_rate: f64,
    /// Questions embedded, ranked and decided per second (embedding in batches).
    queries_per_second: f64,
    /// The build's decision: the trained answer model's share of the score (0 = not used).
    trained_weight: f32,
    /// The build's decision: the entries' readings' (question with answer) share of the dense
    /// score (0 = not used).
    answer_weight: f32,
    /// The build's decision: whether a confidence learned from the phrasings decides answers.
    learned_confidence: bool,
    /// Which tier answered: "full" (the model) or "early" (words alone).
    tier: &'static str,
}

const CHUNK: usize = 256;

pub fn run(args: EvalArgs) -> Result<()> {
    let (bundle, encoder) = if args.early {
        (open_kb_early(&args.kb)?, None)
    } else {
        let (bundle, encoder) = open_kb(&args.kb, args.model.as_deref())?;
        (bundle, Some(encoder))
    };
    let ids: HashMap<&str, usize> = bundle
        .entries()
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();
    let rows = read_queries(&args.queries)?;
    // None = out of scope.
    let mut labels: Vec<Option<usize>> = Vec::with_capacity(rows.len());
    for (line, _, label) in &rows {
        if args.oos_label.as_deref() == Some(label.as_str()) {
            labels.push(None);
        } else if let Some(&i) = ids.get(label.as_str()) {
            labels.push(Some(i));
        } else {
            let hint = match &args.oos_label {
                Some(l) => say!(
                    en: " nor the out-of-scope label \"{l}\"",
                    es: " ni la etiqueta de fuera del ámbito \"{l}\""
                ),
                None => say!(
                    en: " (pass --oos-label L if some questions are out of scope)",
                    es: " (indica --oos-label L si algunas preguntas están fuera del ámbito)"
                ),
            };
            bail!(say!(
                en: "{}:{line}: label \"{label}\" is not an entry id of {}{hint}",
                es: "{}:{line}: la etiqueta \"{label}\" no es el id de ninguna entrada de {}{hint}",
                args.queries.display(),
                args.kb.display()
            ));
        }
    }

    let bar = progress(rows.len(), &say!(en: "questions", es: "preguntas"), CHUNK);
    let started = Instant::now();
    let mut r = Report {
        queries: rows.len(),
        ..Report::default()
    };
    let (mut correct, mut wrong, mut suggest, mut escalate, mut top1) = (0, 0, 0, 0, 0);
    let policy = bundle.policy();
    // (best entry's score, whether it is the right one) per question, for the ceiling.
    let mut tops: Vec<(f32, bool)> = Vec::with_capacity(rows.len());
    let (mut suggest_in, mut suggest_hit, mut oos, mut oos_held) = (0, 0, 0, 0);
    for (chunk, chunk_labels) in rows.chunks(CHUNK).zip(labels.chunks(CHUNK)) {
        let texts: Vec<&str> = chunk.iter().map(|(_, t, _)| t.as_str()).collect();
        let vectors = match &encoder {
            Some(encoder) => encoder
                .embed_batch(&texts)
                .with_context(|| say!(en: "embedding questions", es: "calculando los vectores de las preguntas"))?
                .into_iter()
                .map(|e| Some(e.vector))
                .collect(),
            None => vec![None; texts.len()],
        };
        for ((text, vector), label) in texts.iter().zip(vectors).zip(chunk_labels) {
            // As `ayuda ask` and the browser decide, language fallback included.
            let lang = args.lang.as_deref();
            let (ranked, outcome) = match vector {
                Some(v) => bundle.rank_and_decide(text, v, lang),
                None => bundle.decide_early(text, lang).expect("checked above"),
            };
            if label.is_some() && ranked.first().map(|s| s.entry) == *label {
                top1 += 1;
            }
            if let Some(best) = ranked.first() {
                let confidence = match (&policy.confidence, args.early) {
                    (Some(c), false) => c.of(&ranked),
                    _ => best.score,
                };
                tops.push((confidence, label.is_some() && Some(best.entry) == *label));
            }
            if label.is_none() {
                oos += 1;
            }
            match (&outcome, label) {
                (Outcome::Answer(s), Some(l)) if s.entry == *l => correct += 1,
                (Outcome::Answer(_), _) => wrong += 1,
                (Outcome::Suggest(v), Some(l)) => {
                    suggest += 1;
                    suggest_in += 1;
                    if v.iter().any(|s| s.entry == *l) {
                        suggest_hit += 1;
                    }
                }
                (Outcome::Suggest(_), None) => {
                    suggest += 1;
                    oos_held += 1;
                }
                (Outcome::Escalate, l) => {
                    escalate += 1;
                    if l.is_none() {
                        oos_held += 1;
                    }
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let n = rows.len().max(1) as f64;
    r.in_scope = rows.len() - oos;
    let in_scope = r.in_scope.max(1) as f64;
    r.correct_rate = correct as f64 / in_scope;
    r.wrong_rate = wrong as f64 / n;
    r.suggest_rate = suggest as f64 / n;
    r.suggest_hit_rate = (suggest_in > 0).then(|| suggest_hit as f64 / suggest_in as f64);
    r.escalate_rate = escalate as f64 / n;
    r.oos_recall = (oos > 0).then(|| oos_held as f64 / oos as f64);
    r.top1_accuracy = top1 as f64 / in_scope;
    r.ceiling_correct_rate = ceiling(tops, rows.len()) as f64 / in_scope;
    r.queries_per_second = rows.len() as f64 / seconds.max(1e-9);
    r.trained_weight = policy.trained_weight;
    r.answer_weight = policy.answer_weight;
    r.learned_confidence = policy.confidence.is_some();
    r.tier = if args.early { "early" } else { "full" };

    if args.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    // The table is for a person (tools read `--json`): said in the owner's language, each label
    // padded to the longest.
    let pct = |v: f64| format!("{:.2}%", v * 100.0);
    let opt = |v: Option<f64>| v.map_or("-".to_string(), pct);
    let not_used = || say!(en: "not used", es: "no se usa");
    let tier = match (r.tier, crate::say::lang()) {
        (_, crate::say::Lang::En) => r.tier,
        ("early", _) => "temprano",
        _ => "completo",
    };
    let table = [
        (say!(en: "tier", es: "nivel"), tier.to_string()),
        (say!(en: "queries", es: "preguntas"), r.queries.to_string()),
        (
            say!(en: "in scope", es: "en el ámbito"),
            r.in_scope.to_string(),
        ),
        (
            say!(en: "correct", es: "correctas"),
            say!(
                en: "{}  (right answers, of in-scope)",
                es: "{}  (bien respondidas, de las del ámbito)",
                pct(r.correct_rate)
            ),
        ),
        (
            say!(en: "wrong", es: "equivocadas"),
            say!(
                en: "{}  (wrong answers, of all)",
                es: "{}  (respuestas equivocadas, de todas)",
                pct(r.wrong_rate)
            ),
        ),
        (say!(en: "suggest", es: "sugerencias"), pct(r.suggest_rate)),
        (
            say!(en: "suggest hit", es: "sugerencia acertada"),
            say!(
                en: "{}  (right entry offered, of in-scope suggestions)",
                es: "{}  (entrada correcta ofrecida, de las sugerencias del ámbito)",
                opt(r.suggest_hit_rate)
            ),
        ),
        (
            say!(en: "escalate", es: "a una persona"),
            pct(r.escalate_rate),
        ),
        (
            say!(en: "out-of-scope held", es: "fuera del ámbito retenidas"),
            say!(
                en: "{}  (not answered, of out-of-scope)",
                es: "{}  (sin responder, de las de fuera del ámbito)",
                opt(r.oos_recall)
            ),
        ),
        (
            say!(en: "top-1 accuracy", es: "acierto top-1"),
            pct(r.top1_accuracy),
        ),
        (
            say!(en: "ceiling", es: "techo"),
            say!(
                en: "{}  (right answers at <= 5% wrong, one threshold picked on these questions)",
                es: "{}  (bien respondidas con <= 5% equivocadas, un umbral elegido con estas mismas preguntas)",
                pct(r.ceiling_correct_rate)
            ),
        ),
        (
            say!(en: "questions/s", es: "preguntas/s"),
            format!("{:.1}", r.queries_per_second),
        ),
        (
            say!(en: "trained model", es: "modelo entrenado"),
            if r.trained_weight > 0.0 {
                say!(
                    en: "{:.0}% of the score",
                    es: "{:.0}% de la puntuación",
                    r.trained_weight * 100.0
                )
            } else {
                not_used()
            },
        ),
        (
            say!(en: "answers' text", es: "texto de las respuestas"),
            if r.answer_weight > 0.0 {
                say!(
                    en: "{:.0}% of the meaning score",
                    es: "{:.0}% de la puntuación por significado",
                    r.answer_weight * 100.0
                )
            } else {
                not_used()
            },
        ),
        (
            say!(en: "learned confidence", es: "confianza aprendida"),
            if r.learned_confidence {
                say!(en: "decides answers", es: "decide las respuestas")
            } else {
                not_used()
            },
        ),
    ];
    let width = table
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    for (label, value) in &table {
        println!("{label:<width$} {value}");
    }
    Ok(())
}

/// The most right answers one threshold on the best score gives with at most 5% of `n`
/// questions answered wrongly: answering from the highest score down, the best point passed.
fn ceiling(mut tops: Vec<(f32, bool)>, n: usize) -> usize {
    tops.sort_by(|a, b| b.0.total_cmp(&a.0));
    let budget = n as f64 * 0.05;
    let (mut right, mut wrong, mut best) = (0, 0, 0);
    for (_, is_right) in tops {
        if is_right {
            right += 1;
        } else {
            wrong += 1;
        }
        if wrong as f64 <= budget {
            best = best.max(right);
        }
    }
    best
}

/// (line, text, label) rows of a labelled CSV.
fn read_queries(path: &PathBuf) -> Result<Vec<(u64, String, String)>> {
    let name = path.display();
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("{name}"))?;
    let headers = reader
        .headers()
        .with_context(|| say!(en: "{name}: reading the header", es: "{name}: leyendo la cabecera"))?
        .clone();
    let find = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().as_str()))
    };
    let text = find(&["text", "question", "query"]).unwrap_or(0);
    let label = find(&["label", "category", "id", "entry", "intent"]).unwrap_or(1);
    if headers.len() < 2 {
        bail!(say!(
            en: "{name}: expected a header with two columns, text and label; found {:?}",
            es: "{name}: se esperaba una cabecera con dos columnas, text y label; tiene {:?}",
            headers.iter().collect::<Vec<_>>()
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{name}"))?;
        let line = record.position().map_or(0, |p| p.line());
        match (record.get(text), record.get(label)) {
            (Some(t), Some(l)) if !l.trim().is_empty() => {
                rows.push((line, t.to_string(), l.trim().to_string()))
            }
            _ => bail!(say!(
                en: "{name}:{line}: a question needs a text and a label",
                es: "{name}:{line}: cada pregunta necesita un texto y una etiqueta"
            )),
        }
    }
    if rows.is_empty() {
        bail!(say!(en: "{name}: no questions", es: "{name}: no hay preguntas"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::ceiling;

    #[test]
    fn the_ceiling_stops_where_wrong_answers_pass_five_percent() {
        // 40 questions: 2 wrong answers allowed. From the top: right, wrong, right, right,
        // wrong, right, wrong (the third wrong is one too many), right.
        let tops = [
            (0.9, true),
            (0.85, false),
            (0.8, true),
            (0.7, true),
            (0.6, false),
            (0.5, true),
            (0.4, false),
            (0.3, true),
        ];
        assert_eq!(ceiling(tops.to_vec(), 40), 4);
        assert_eq!(ceiling(tops.to_vec(), 1000), 5);
        assert_eq!(ceiling(Vec::new(), 10), 0);
    }
}
