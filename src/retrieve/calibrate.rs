//! Calibration: the policy's thresholds, and how much the trained answer model counts, from the
//! knowledge base itself, never from test queries. Owns the simulation and the search over
//! thresholds; never the scoring.
//!
//! The simulation is cross-validation. Entries and phrasings are dealt into [`FOLDS`] folds;
//! each fold is a smaller FAQ without its entries and phrasings (and its own trained answer
//! model, trained on what is left). A held-out phrasing of an entry still there is a visitor
//! asking a known question in their own words (it should be answered with its entry); a
//! phrasing of a held-out entry is a visitor asking about something the FAQ does not cover, as
//! close to the FAQ's topics as such questions get (it must not be answered). For each weight
//! of the trained model, the thresholds kept are those answering the most of the first kind
//! while the expected share of wrong answers, with a quarter of visitors asking uncovered
//! things, stays at or under 5% by one standard error of the simulation (small knowledge bases
//! keep a margin); the weight kept is the lowest answering within one standard error of the
//! most. How much each entry's reading (its question with its answer) counts is chosen the
//! same way first, without the trained model. Last, a confidence learned on the same simulated questions (see
//! [`super::confidence`]) replaces the two thresholds where it answers more by more than one
//! standard error.

use serde::{Deserialize, Serialize};

use crate::said;
use crate::said::Said;

use super::confidence::{self, Confidence};
use super::policy::answerable;
use super::{dense_score, fused_score, mixed_score, Head, Index, Policy, Query, Scope, Scored};

/// The share of visitors assumed to ask about something the FAQ does not cover.
const OUT_OF_SCOPE_SHARE: f32 = 0.25;
/// The most wrong answers tolerated, over all questions.
const MAX_WRONG: f32 = 0.05;
/// With no paraphrases to simulate known questions on, the most uncovered questions that may
/// be answered anyway: a quarter of visitors times 20% is the same 5% of wrong answers.
const MAX_UNKNOWN_ANSWERED: f32 = MAX_WRONG / OUT_OF_SCOPE_SHARE;
/// Sampled phrasings: enough for thresholds to the hundredth, bounded build time.
const MAX_SAMPLES: usize = 4000;
/// Below this, the estimate is noise and the defaults are safer.
const MIN_SAMPLES: usize = 40;
const MIN_ENTRIES: usize = 8;
/// Sampled phrasings scored per matrix product.
const SIMILARITY_BATCH: usize = 256;
/// Cross-validation folds (fewer when there are fewer entries): each fold's FAQ keeps 90% of
/// the entries and 90% of their phrasings, close to the real one.
const FOLDS: usize = 10;
/// The trained answer model's weights tried when the owner did not set one.
pub const TRAINED_WEIGHTS: [f32; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// The shares of an entry's reading (its question with its answer) in its meaning score that
/// calibration tries (see [`super::Index::rank`]): up to half, so an entry's own phrasings
/// always count at least as much as its answer.
pub const ANSWER_WEIGHTS: [f32; 3] = [0.0, 0.25, 0.5];
/// The readings' share where there are too few paraphrases to calibrate it (see
/// [`simulate`]'s defaults).
const UNCALIBRATED_ANSWER_WEIGHT: f32 = 0.25;

/// Thresholds and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub policy: Policy,
    pub basis: Basis,
    /// Thresholds the owner set, replacing what the basis gave.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_set: Vec<String>,
}

/// Why the default thresholds were kept, for the owner. The bundle records the English
/// string, as it always has; a reason read back from a bundle is that English alone (the build
/// that made the bundle is what says it, in the owner's language). Compared by the English.
#[derive(Debug, Clone)]
pub enum Reason {
    /// Said by this calibration, in both languages.
    Said(Said),
    /// Read from a bundle.
    Recorded(String),
}

impl Reason {
    /// The Spanish when `es` and this calibration said it, else the English.
    pub fn pick(&self, es: bool) -> &str {
        match self {
            Reason::Said(said) => said.pick(es),
            Reason::Recorded(en) => en,
        }
    }

    fn en(&self) -> &str {
        self.pick(false)
    }
}

impl PartialEq for Reason {
    fn eq(&self, other: &Self) -> bool {
        self.en() == other.en()
    }
}

/// The English.
impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.en())
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.en())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Reason::Recorded)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Basis {
    /// [`Policy::DEFAULT`] (answer_at raised if needed, see [`calibrate`]), and why the
    /// knowledge base could not calibrate the rest.
    Defaults {
        reason: Reason,
        /// Simulated share of uncovered questions answered anyway, when there were enough
        /// entries to simulate it.
        unknown_answered: Option<f32>,
    },
    /// Simulated on the knowledge base's phrasings.
    KnowledgeBase {
        samples: usize,
        entries: usize,
        /// Samples left out because another entry has a near-duplicate phrasing (a conflict
        /// `ayuda lint` reports; visitors' questions do not look like that).
        conflicts: usize,
        /// Simulated share of known questions answered right.
        expected_correct: f32,
        /// Simulated share of wrong answers over all questions.
        expected_wrong: f32,
        /// Simulated share of uncovered questions answered anyway.
        unknown_answered: f32,
        /// With the learned confidence (the policy has one): the simulated share of known
        /// questions `answer_at` and `margin` alone would answer right.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thresholds_alone: Option<f32>,
        /// Each weight of the trained answer model tried, with its simulated share of known
        /// questions answered right (empty when the knowledge base is too small to train on).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        trained_tried: Vec<WeightTried>,
        /// Each share of the entries' readings tried (without the trained model), with its
        /// simulated share of known questions answered right (empty without readings).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        answer_tried: Vec<WeightTried>,
    },
}

/// One weight (of the trained answer model, or of the readings) the calibration tried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeightTried {
    pub weight: f32,
    pub expected_correct: f32,
}

/// One simulated question: every entry its fold ranks, with the scores to mix.
struct Trial {
    /// The entry asked about (known) or left out (unknown).
    entry: usize,
    known: bool,
    candidates: Vec<Candidate>,
    /// The fold's trained model's probability of "none of them" (0 without one).
    none: f32,
}

#[derive(Clone, Copy)]
struct Candidate {
    entry: usize,
    /// The dense score from its phrasings alone.
    phrasings: f32,
    /// Its reading's cosine (0 without readings).
    reading: f32,
    lexical: f32,
    /// The lexical weight its fused score takes (0 for an entry in another language).
    lexical_weight: f32,
    other_language: bool,
    /// The policy's word test (see Policy::decide).
    word: bool,
    /// The fold's trained model's probability among the candidates (0 without one).
    trained: f32,
}

/// Shares of the readings (`answer`) and of the trained model (`trained`) in a score.
#[derive(Clone, Copy)]
struct Mix {
    answer: f32,
    trained: f32,
}

impl Candidate {
    /// Its dense score at `answer` share of the reading, as [`Index::rank`] computes it.
    fn dense(&self, answer: f32) -> f32 {
        dense_score(self.phrasings, self.reading, answer)
    }

    /// The score [`super::Index::rank`] gives it at `mix` (`aggregate`, then `mix`).
    fn mixed(&self, mix: Mix) -> f32 {
        let dense = self.dense(mix.answer);
        let fused = fused_score(dense, self.lexical, self.lexical_weight);
        mixed_score(fused, self.trained, dense, mix.trained)
    }
}

/// A trial's best and second-best scores at one weight of the trained model.
#[derive(Clone, Copy)]
struct Outcome {
    first: f32,
    second: f32,
    word: bool,
    right: bool,
    known: bool,
}

impl Trial {
    fn at(&self, mix: Mix) -> Outcome {
        let score = |c: &Candidate| c.mixed(mix);
        // Best first, ties by entry order, as Index::rank sorts.
        let mut best: Option<(f32, &Candidate)> = None;
        let mut second = f32::NEG_INFINITY;
        for c in &self.candidates {
            let s = score(c);
            match best {
                Some((b, bc)) if s < b || (s == b && c.entry > bc.entry) => second = second.max(s),
                Some((b, _)) => {
                    second = second.max(b);
                    best = Some((s, c));
                }
                None => best = Some((s, c)),
            }
        }
        let (first, word, right) = best.map_or((f32::NEG_INFINITY, false, false), |(s, c)| {
            (s, c.word, self.known && c.entry == self.entry)
        });
        Outcome {
            first,
            second,
            word,
            right,
            known: self.known,
        }
    }

    /// The ranking [`super::Index::rank`] gives at `mix`: what the learned confidence reads.
    /// Without the model (weight 0) its probabilities are 0 there.
    fn ranked(&self, mix: Mix) -> Vec<Scored> {
        let mut ranked: Vec<Scored> = self
            .candidates
            .iter()
            .map(|c| Scored {
                entry: c.entry,
                score: c.mixed(mix),
                dense: c.dense(mix.answer),
                lexical: c.lexical,
                trained: if mix.trained > 0.0 { c.trained } else { 0.0 },
                none: if mix.trained > 0.0 { self.none } else { 0.0 },
                other_language: c.other_language,
            })
            .collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        ranked
    }
}

fn answered(o: &Outcome, answer_at: f32, margin: f32) -> bool {
    answerable(
        o.first,
        o.second,
        if o.word { 1.0 } else { 0.0 },
        answer_at,
        margin,
    )
}

fn share(outcomes: &[Outcome], answer_at: f32, margin: f32) -> f32 {
    let (answered, unknown) = unknown_answered(outcomes, answer_at, margin);
    answered as f32 / unknown.max(1) as f32
}

/// How many simulated uncovered questions are answered, of how many.
fn unknown_answered(outcomes: &[Outcome], answer_at: f32, margin: f32) -> (usize, usize) {
    let unknown: Vec<&Outcome> = outcomes.iter().filter(|o| !o.known).collect();
    let answered = unknown
        .iter()
        .filter(|o| answered(o, answer_at, margin))
        .count();
    (answered, unknown.len())
}

/// The share of simulated uncovered questions answered, plus one standard error (see
/// [`standard_error`]): what keeps it under a limit with a margin where the sample is small.
fn share_bound(outcomes: &[Outcome], answer_at: f32, margin: f32) -> f32 {
    let (answered, unknown) = unknown_answered(outcomes, answer_at, margin);
    let unknown = unknown.max(1) as f32;
    answered as f32 / unknown + variance(answered, unknown).sqrt()
}

/// The folds: entry `e` is held out in fold `e % folds`, and the `j`th phrasing of an entry in
/// the fold after its entry's plus `j`, so an entry's phrasings are spread over the folds.
struct Folds {
    count: usize,
    entry: Vec<usize>,
    phrasing: Vec<usize>,
}

impl Folds {
    fn new(owner: &[u32], entries: usize) -> Folds {
        let count = FOLDS.min(entries).max(1);
        let entry: Vec<usize> = (0..entries).map(|e| e % count).collect();
        let mut seen = vec![0usize; entries];
        let phrasing = owner
            .iter()
            .map(|&e| {
                let e = e as usize;
                seen[e] += 1;
                (entry[e] + seen[e]) % count
            })
            .collect();
        Folds {
            count,
            entry,
            phrasing,
        }
    }

    /// Fold `k`'s held-out phrasings (its own and its entries'), and its entries.
    fn masks(&self, k: usize, owner: &[u32]) -> (Vec<bool>, Vec<bool>) {
        let held_out = self
            .phrasing
            .iter()
            .zip(owner)
            .map(|(&f, &e)| f == k || self.entry[e as usize] == k)
            .collect();
        let kept = self.entry.iter().map(|&f| f != k).collect();
        (held_out, kept)
    }
}

/// Thresholds for `index`, whose phrasings read `texts` (in index order), with dense and
/// lexical scores mixed by `base.lexical_weight`, and which of the trained answer model's
/// `weights` (each 0 to 1; 0 is without it) answers the most.
///
/// With enough entries that have two or more phrasings, every threshold comes from the
/// simulation, and so does how much the entries' readings count. Otherwise the defaults hold,
/// except that, when there are enough entries to simulate uncovered questions (it needs no
/// paraphrases), the readings count a quarter and `answer_at` is the lowest at which at most
/// 20% of them would be answered (by one standard error); words alone (the early tier) keep
/// their default unless it answers more. `progress` hears (folds trained, folds).
pub fn calibrate(
    index: &Index,
    texts: &[&str],
    base: Policy,
    weights: &[f32],
    near_duplicate: f32,
    progress: &mut dyn FnMut(usize, usize),
) -> Calibration {
    simulate(
        index,
        texts,
        base,
        weights,
        near_duplicate,
        Evidence::Full,
        progress,
    )
}

/// What the simulated questions are scored on.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Evidence {
    /// The question's vector and words, as the full model answers.
    Full,
    /// Its words alone, as the early tier answers before the model has arrived (see
    /// [`super::early`]).
    Words,
}

pub(crate) fn simulate(
    index: &Index,
    texts: &[&str],
    base: Policy,
    weights: &[f32],
    near_duplicate: f32,
    evidence: Evidence,
    progress: &mut dyn FnMut(usize, usize),
) -> Calibration {
    let weights = if weights.is_empty() {
        &[0.0][..]
    } else {
        weights
    };
    let lexical_weight = base.lexical_weight;
    assert_eq!(
        texts.len(),
        index.phrasing_entry().len(),
        "one text per phrasing"
    );
    let owner = index.phrasing_entry();
    let mut count = vec![0usize; index.entries()];
    for &e in owner {
        count[e as usize] += 1;
    }
    let folds = Folds::new(owner, index.entries());
    let masks: Vec<(Vec<bool>, Vec<bool>)> =
        (0..folds.count).map(|k| folds.masks(k, owner)).collect();
    let step = texts.len().div_ceil(MAX_SAMPLES).max(1);
    let mut trials = Vec::new();
    // Which fold and which phrasing each trial was asked in, to add the trained model's view.
    let mut asked = Vec::new();
    let mut conflicts = 0;
    let sampled: Vec<usize> = (0..texts.len()).step_by(step).collect();
    let batch = index.vectors().batch();
    // The entries' readings count only where meaning does.
    let readings = index.readings().filter(|_| evidence == Evidence::Full);
    let readings_batch = readings.map(|r| r.batch());
    let mut rows_read = Vec::new();
    // Near-duplicates are told by meaning whatever the evidence; words alone rank as if every
    // phrasing were as far from the question as any other.
    let no_meaning = (evidence == Evidence::Words).then(|| vec![0.0; texts.len()]);
    let mut rows_sims = Vec::new();
    for (n, &i) in sampled.iter().enumerate() {
        if n % SIMILARITY_BATCH == 0 {
            let rows: Vec<Vec<f32>> = sampled[n..(n + SIMILARITY_BATCH).min(sampled.len())]
                .iter()
                .map(|&j| index.vectors().row(j))
                .collect();
            rows_sims = batch.similarities(&rows);
            rows_sims.reverse();
            if let Some(b) = &readings_batch {
                rows_read = b.similarities(&rows);
                rows_read.reverse();
            }
        }
        let sims = rows_sims
            .pop()
            .expect("one row of similarities per sampled phrasing");
        let read = rows_read.pop().unwrap_or_default();
        let e = owner[i] as usize;
        let query = Query::new(texts[i], index.vectors().row(i));
        let shares = index.shares(&query);
        let conflict = sims
            .iter()
            .zip(owner)
            .any(|(&s, &o)| o as usize != e && s >= near_duplicate);
        if conflict {
            conflicts += 1;
            continue;
        }
        // Asked, as a visitor would be answered, among the entries of its own language.
        let language = index.alongside(e);
        let mut ask = |k: usize, known: bool| {
            let (held_out, kept) = &masks[k];
            let only: Vec<bool> = kept
                .iter()
                .enumerate()
                .map(|(j, &kept)| kept && language.as_ref().is_none_or(|l| l[j]))
                .collect();
            let scope = Scope {
                only: Some(&only),
                held_out: Some(held_out),
                ..Scope::default()
            };
            // Phrasings alone: the readings are mixed in per share tried (Candidate::mixed).
            let ranked = index.aggregate(
                no_meaning.as_deref().unwrap_or(&sims),
                &shares,
                None,
                lexical_weight,
                &scope,
                query.language(),
            );
            if ranked.len() < 2 || (known && !ranked.iter().any(|s| s.entry == e)) {
                return;
            }
            trials.push(Trial {
                entry: e,
                known,
                candidates: ranked
                    .iter()
                    .map(|s| candidate(s, &base, read.get(s.entry).copied().unwrap_or(0.0)))
                    .collect(),
                none: 0.0,
            });
            asked.push((k, i));
        };
        ask(folds.entry[e], false);
        // An entry's reading holds its first question word for word: asked in other words,
        // that one would find itself there.
        let in_reading = readings.is_some() && (i == 0 || owner[i - 1] != owner[i]);
        if count[e] >= 2 && folds.phrasing[i] != folds.entry[e] && !in_reading {
            ask(folds.phrasing[i], true);
        }
    }

    let known = trials.iter().filter(|t| t.known).count();
    let entries = count.iter().filter(|&&n| n >= 2).count();
    if known < MIN_SAMPLES || entries < MIN_ENTRIES {
        let reason = Reason::Said(said!(
            en: "{entries} entries have two or more phrasings; calibrating every threshold needs {MIN_ENTRIES} such entries and {MIN_SAMPLES} such phrasings",
            es: "{entries} entradas tienen dos o más formas de preguntar; para calibrar todos los umbrales hacen falta {MIN_ENTRIES} entradas así y {MIN_SAMPLES} formas de preguntar así"
        ));
        // Too few paraphrases to tell whether a trained model helps: without it.
        let mut policy = Policy {
            trained_weight: 0.0,
            ..base
        };
        let mut unknown_answered = None;
        if trials.len() - known >= MIN_SAMPLES {
            // Words alone can match fully (a share of 1): their tier may be raised past it,
            // to answering nothing.
            let ceiling = match evidence {
                Evidence::Full => 0.95,
                Evidence::Words => 1.0,
            };
            if readings.is_some() {
                // With too few paraphrases to weigh it, the answer's text counts a quarter, as
                // in the middle of what calibration tries: on FAQs written with one question
                // per entry it lifted top-1 (StackFAQ 94.9% -> 95.8%, two bilingual FAQs by
                // 3-8 points) and the ceiling of one threshold (COVID 29% -> 35%); half lifted
                // them more but answered COVID's known questions less often under thresholds
                // from this simulation alone. The defaults were set on phrasings alone, so
                // answer_at comes from the simulation here, up or down.
                policy.answer_weight = UNCALIBRATED_ANSWER_WEIGHT;
                policy.answer_at = -1.0;
            }
            let outcomes: Vec<Outcome> = trials
                .iter()
                .map(|t| {
                    t.at(Mix {
                        answer: policy.answer_weight,
                        trained: 0.0,
                    })
                })
                .collect();
            while share_bound(&outcomes, policy.answer_at, policy.margin) > MAX_UNKNOWN_ANSWERED
                && policy.answer_at < ceiling
            {
                // In whole steps of 0.005, so the value kept reads as written.
                policy.answer_at =
                    (((policy.answer_at * 200.0).round() + 1.0) / 200.0).min(ceiling);
            }
            if evidence == Evidence::Words
                && share_bound(&outcomes, policy.answer_at, policy.margin) > MAX_UNKNOWN_ANSWERED
            {
                // Not even a full match keeps them down: answer nothing early.
                policy.margin = 2.0;
            }
            unknown_answered = Some(share(&outcomes, policy.answer_at, policy.margin));
            policy.suggest_at = policy.suggest_at.min(policy.answer_at);
        }
        return Calibration {
            policy,
            basis: Basis::Defaults {
                reason,
                unknown_answered,
            },
            owner_set: Vec::new(),
        };
    }

    // First how much the readings count, on the phrasings' evidence alone; then, at that, how
    // much the trained model does.
    let answer_weights: &[f32] = if readings.is_some() {
        &ANSWER_WEIGHTS
    } else {
        &[0.0]
    };
    let (answer_weight, mut answer_tried) = lowest_within_one_error(
        answer_weights,
        known,
        |a| Mix {
            answer: a,
            trained: 0.0,
        },
        &trials,
    );
    let answer_weight = answer_weight.map_or(0.0, |(a, _)| a);
    if answer_weights == [0.0] {
        answer_tried.clear();
    }
    if weights.iter().any(|&w| w > 0.0) {
        add_trained(index, &folds, &masks, &mut trials, &asked, progress);
    }
    let (kept, mut tried) = lowest_within_one_error(
        weights,
        known,
        |w| Mix {
            answer: answer_weight,
            trained: w,
        },
        &trials,
    );
    if weights == [0.0] {
        tried.clear();
    }
    let Some((trained_weight, found)) = kept else {
        // Even the strictest thresholds answer too many uncovered questions wrongly.
        let outcomes: Vec<Outcome> = trials.iter().map(|t| t.at(PLAIN)).collect();
        return Calibration {
            policy: Policy {
                answer_at: 0.95,
                trained_weight: 0.0,
                // Words alone that cannot keep wrong answers down answer nothing.
                margin: match evidence {
                    Evidence::Full => base.margin,
                    Evidence::Words => 2.0,
                },
                ..base
            },
            basis: Basis::Defaults {
                reason: Reason::Said(said!(
                    en: "no thresholds keep simulated wrong answers at 5% or under; the entries are too alike (see `ayuda lint`)",
                    es: "ningún umbral deja las respuestas equivocadas simuladas en el 5% o menos; las entradas se parecen demasiado (mira `ayuda lint`)"
                )),
                unknown_answered: Some(share(&outcomes, 0.95, base.margin)),
            },
            owner_set: Vec::new(),
        };
    };
    let mix = Mix {
        answer: answer_weight,
        trained: trained_weight,
    };
    let outcomes: Vec<Outcome> = trials.iter().map(|t| t.at(mix)).collect();
    let learned = match evidence {
        Evidence::Full => learn_confidence(&trials, &outcomes, &folds, mix, &found, known),
        Evidence::Words => None,
    };
    // Suggest what known questions usually score: all but the lowest 5% of right first picks.
    let mut right_scores: Vec<f32> = outcomes
        .iter()
        .filter(|o| o.right)
        .map(|o| o.first)
        .collect();
    right_scores.sort_by(f32::total_cmp);
    let p5 = right_scores
        .get(right_scores.len() / 20)
        .copied()
        .unwrap_or(base.suggest_at);
    Calibration {
        policy: Policy {
            answer_at: found.answer_at,
            margin: found.margin,
            // A floor for fused scores, under which sentences are unrelated for any model;
            // mixed with the trained model, scores run lower and the simulation alone decides.
            suggest_at: p5
                .max(if trained_weight > 0.0 { 0.0 } else { 0.3 })
                .min(found.answer_at),
            trained_weight,
            answer_weight,
            confidence: learned.as_ref().map(|l| l.confidence),
            ..base
        },
        basis: Basis::KnowledgeBase {
            samples: known,
            entries,
            conflicts,
            expected_correct: learned.as_ref().map_or(found.correct, |l| l.found.correct),
            expected_wrong: learned.as_ref().map_or(found.wrong, |l| l.found.wrong),
            unknown_answered: learned.as_ref().map_or_else(
                || share(&outcomes, found.answer_at, found.margin),
                |l| l.unknown_answered,
            ),
            trained_tried: tried,
            answer_tried,
            thresholds_alone: learned.as_ref().map(|_| found.correct),
        },
        owner_set: Vec::new(),
    }
}

/// The candidate `s` (ranked on its phrasings alone) whose reading's cosine is `reading`.
fn candidate(s: &Scored, base: &Policy, reading: f32) -> Candidate {
    Candidate {
        entry: s.entry,
        phrasings: s.dense,
        reading,
        lexical: s.lexical,
        lexical_weight: if s.other_language {
            0.0
        } else {
            base.lexical_weight
        },
        other_language: s.other_language,
        word: s.lexical > 0.0 || (!base.shared_word && s.other_language),
        trained: 0.0,
    }
}

/// Trains each fold's answer model on what the fold keeps and fills in its probabilities for
/// the fold's trials.
fn add_trained(
    index: &Index,
    folds: &Folds,
    masks: &[(Vec<bool>, Vec<bool>)],
    trials: &mut [Trial],
    asked: &[(usize, usize)],
    progress: &mut dyn FnMut(usize, usize),
) {
    progress(0, folds.count);
    for (k, (held_out, _)) in masks.iter().enumerate() {
        let include: Vec<bool> = held_out.iter().map(|&h| !h).collect();
        let fold_head = Head::train(
            index.vectors(),
            index.phrasing_entry(),
            Some(&include),
            index.entries(),
        );
        for (t, &(fold, i)) in trials.iter_mut().zip(asked) {
            if fold != k {
                continue;
            }
            let (p, none) = fold_head.probabilities(
                &index.vectors().row(i),
                t.candidates.iter().map(|c| c.entry),
            );
            for (c, p) in t.candidates.iter_mut().zip(p) {
                c.trained = p;
            }
            t.none = none;
        }
        progress(k + 1, folds.count);
    }
}

/// A learned confidence kept by [`learn_confidence`], with its cross-validated outcome.
struct Learned {
    confidence: Confidence,
    found: Thresholds,
    unknown_answered: f32,
}

/// The learned confidence (see [`super::confidence`]) for the rankings at `weight` of the
/// trained model (`outcomes`: the trials' outcomes at it), when cross-validation shows it answers more known questions right than the
/// thresholds alone (`plain`) by more than one standard error, at the same bound on wrong
/// answers; None otherwise. Each simulated question is scored by a confidence fitted without
/// its entry's fold, so the threshold is picked on scores the fit has not seen; the one kept
/// is then fitted on all of them.
fn learn_confidence(
    trials: &[Trial],
    outcomes: &[Outcome],
    folds: &Folds,
    mix: Mix,
    plain: &Thresholds,
    known: usize,
) -> Option<Learned> {
    let ranked: Vec<Vec<Scored>> = trials.iter().map(|t| t.ranked(mix)).collect();
    let features: Vec<_> = ranked.iter().map(|r| confidence::features(r)).collect();
    let right: Vec<bool> = outcomes.iter().map(|o| o.right).collect();
    let unknown = (trials.len() - known).max(1) as f32;
    // As the calibration counts them: known questions three quarters, unknown one.
    let sample_weight: Vec<f32> = trials
        .iter()
        .map(|t| {
            if t.known {
                (1.0 - OUT_OF_SCOPE_SHARE) / known as f32
            } else {
                OUT_OF_SCOPE_SHARE / unknown
            }
        })
        .collect();
    let fold_of = |i: usize| folds.entry[trials[i].entry];
    let mut held_out = outcomes.to_vec();
    for k in 0..folds.count {
        let fit_on: Vec<usize> = (0..trials.len()).filter(|&i| fold_of(i) != k).collect();
        let model = Confidence::fit(
            &fit_on.iter().map(|&i| features[i]).collect::<Vec<_>>(),
            &fit_on.iter().map(|&i| right[i]).collect::<Vec<_>>(),
            &fit_on.iter().map(|&i| sample_weight[i]).collect::<Vec<_>>(),
        );
        for i in (0..trials.len()).filter(|&i| fold_of(i) == k) {
            held_out[i].first = model.of(&ranked[i]);
            held_out[i].second = f32::NEG_INFINITY;
        }
    }
    let found = search(&held_out)?;
    let se = variance(
        (plain.correct * known as f32).round() as usize,
        known as f32,
    )
    .sqrt();
    if found.correct <= plain.correct + se {
        return None;
    }
    let confidence =
        Confidence::fit(&features, &right, &sample_weight).answering_from(found.answer_at);
    Some(Learned {
        confidence,
        unknown_answered: share(&held_out, found.answer_at, 0.0),
        found,
    })
}

/// Of `weights` (each made a [`Mix`] by `mix`), the lowest whose best thresholds answer
/// within one standard error of the most known questions right, with those thresholds; and
/// each weight with thresholds, with its share. The lowest (the least reliance on what is
/// mixed in; none at all first): on a small knowledge base the shares of the weights are a
/// flat, noisy curve, and its highest point moved from one end to the other when the vectors
/// changed in their fifth decimal; the one-standard-error rule of cross-validation keeps the
/// choice where the evidence is.
fn lowest_within_one_error(
    weights: &[f32],
    known: usize,
    mix: impl Fn(f32) -> Mix,
    trials: &[Trial],
) -> (Option<(f32, Thresholds)>, Vec<WeightTried>) {
    let mut tried = Vec::new();
    let mut found_at = Vec::new();
    for &weight in weights {
        let outcomes: Vec<Outcome> = trials.iter().map(|t| t.at(mix(weight))).collect();
        if let Some(found) = search(&outcomes) {
            tried.push(WeightTried {
                weight,
                expected_correct: found.correct,
            });
            found_at.push((weight, found));
        }
    }
    let most = found_at
        .iter()
        .map(|(_, f)| f.correct)
        .fold(f32::NAN, f32::max);
    let within = most - variance((most * known as f32).round() as usize, known as f32).sqrt();
    let kept = found_at
        .iter()
        .position(|(_, f)| f.correct >= within)
        .map(|i| found_at.swap_remove(i));
    (kept, tried)
}

/// Phrasings alone: neither readings nor the trained model.
const PLAIN: Mix = Mix {
    answer: 0.0,
    trained: 0.0,
};

/// The best thresholds for simulated outcomes: the most known questions answered right with
/// expected wrong answers at or under 5% by one standard error (see [`standard_error`]); None
/// when no thresholds manage that.
struct Thresholds {
    answer_at: f32,
    margin: f32,
    correct: f32,
    wrong: f32,
}

fn search(outcomes: &[Outcome]) -> Option<Thresholds> {
    let known = outcomes.iter().filter(|o| o.known).count().max(1) as f32;
    let unknown = outcomes.iter().filter(|o| !o.known).count().max(1) as f32;
    const ANSWER_STEPS: usize = 190;
    const MARGIN_STEPS: usize = 200;
    let answer_at = |a: usize| a as f32 * 0.005;
    let margin = |m: usize| m as f32 * 0.005;
    // For each margin, outcomes answered at some threshold, best first: sweeping the threshold
    // down admits them in order.
    let mut table = vec![(0f32, 0f32, 0f32); (ANSWER_STEPS + 1) * (MARGIN_STEPS + 1)];
    for m in 0..=MARGIN_STEPS {
        let mut passing: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| answered(o, f32::NEG_INFINITY, margin(m)))
            .collect();
        passing.sort_by(|a, b| b.first.total_cmp(&a.first));
        let (mut right, mut wrong_known, mut unknown_answered) = (0usize, 0usize, 0usize);
        let mut next = passing.iter().peekable();
        for a in (0..=ANSWER_STEPS).rev() {
            while let Some(o) = next.next_if(|o| o.first >= answer_at(a)) {
                match (o.known, o.right) {
                    (true, true) => right += 1,
                    (true, false) => wrong_known += 1,
                    (false, _) => unknown_answered += 1,
                }
            }
            let expected_wrong = (1.0 - OUT_OF_SCOPE_SHARE) * wrong_known as f32 / known
                + OUT_OF_SCOPE_SHARE * unknown_answered as f32 / unknown;
            let error = standard_error(wrong_known, known, unknown_answered, unknown);
            table[a * (MARGIN_STEPS + 1) + m] = (right as f32 / known, expected_wrong, error);
        }
    }
    let mut best: Option<Thresholds> = None;
    // From the strictest down, so that among equally good settings the safer one is kept.
    for a in (0..=ANSWER_STEPS).rev() {
        for m in (0..=MARGIN_STEPS).rev() {
            let (correct, wrong, error) = table[a * (MARGIN_STEPS + 1) + m];
            if wrong + error <= MAX_WRONG && best.as_ref().is_none_or(|b| correct > b.correct) {
                best = Some(Thresholds {
                    answer_at: answer_at(a),
                    margin: margin(m),
                    correct,
                    wrong,
                });
            }
        }
    }
    best
}

/// The standard error of the simulated share of wrong answers, from how many simulated
/// questions it rests on. Picking the thresholds that answer the most among thousands of
/// settings favours those whose few simulated wrong answers happened to be fewest, so on a small
/// knowledge base the share it reports is optimistic; keeping it under 5% by one standard error
/// (the usual one-standard-error rule of cross-validation) keeps that margin where the estimate
/// is noisy and costs almost nothing where thousands of phrasings make it precise. The shares
/// are smoothed by one success and one failure, so that none seen is not taken as none possible.
fn standard_error(wrong_known: usize, known: f32, unknown_answered: usize, unknown: f32) -> f32 {
    ((1.0 - OUT_OF_SCOPE_SHARE).powi(2) * variance(wrong_known, known)
        + OUT_OF_SCOPE_SHARE.powi(2) * variance(unknown_answered, unknown))
    .sqrt()
}

/// The variance of a share seen as `count` of `of`, smoothed as [`standard_error`] says.
fn variance(count: usize, of: f32) -> f32 {
    let p = (count as f32 + 1.0) / (of + 2.0);
    p * (1.0 - p) / of
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_recorded_as_its_english_string_and_reads_back_equal() {
        let said = Reason::Said(said!(en: "too few", es: "demasiado pocas"));
        let basis = Basis::Defaults {
            reason: said.clone(),
            unknown_answered: None,
        };
        let json = serde_json::to_string(&basis).unwrap();
        assert_eq!(
            json,
            r#"{"from":"defaults","reason":"too few","unknown_answered":null}"#
        );
        let back: Basis = serde_json::from_str(&json).unwrap();
        assert_eq!(back, basis);
        let Basis::Defaults { reason, .. } = back else {
            unreachable!()
        };
        assert_eq!(reason.pick(true), "too few");
        assert_eq!(said.pick(true), "demasiado pocas");
        assert_eq!(said.to_string(), "too few");
    }

    /// Simulated outcomes drawn evenly from fixed score ranges, each `copies` times: the same
    /// distribution, known from more or fewer simulated questions.
    fn outcomes(copies: usize) -> Vec<Outcome> {
        let spread = |n: usize, low: f32, high: f32| {
            (0..n).map(move |i| low + (high - low) * i as f32 / n as f32)
        };
        let outcome = |first: f32, known: bool, right: bool| Outcome {
            first,
            second: first - 1.0,
            word: true,
            right,
            known,
        };
        let mut all = Vec::new();
        for _ in 0..copies {
            all.extend(spread(40, 0.5, 1.0).map(|s| outcome(s, true, true)));
            all.extend(spread(8, 0.5, 0.8).map(|s| outcome(s, true, false)));
            all.extend(spread(16, 0.4, 0.9).map(|s| outcome(s, false, false)));
        }
        all
    }

    #[test]
    fn small_simulations_keep_a_margin_under_five_percent_and_large_ones_almost_none() {
        let small = search(&outcomes(1)).expect("thresholds exist");
        let large = search(&outcomes(100)).expect("thresholds exist");
        // The same distribution: the plain share would pick the same thresholds for both.
        assert!(
            small.answer_at > large.answer_at,
            "{} vs {}",
            small.answer_at,
            large.answer_at
        );
        assert!(small.wrong < 0.04, "small: {}", small.wrong);
        assert!(
            large.wrong > 0.045 && large.wrong <= MAX_WRONG,
            "large: {}",
            large.wrong
        );
        assert!(small.correct < large.correct);
    }

    #[test]
    fn the_few_phrasings_bound_is_above_the_share_and_shrinks_with_the_sample() {
        let (few, many) = (outcomes(1), outcomes(100));
        let at = 0.7;
        assert_eq!(share(&few, at, 0.0), share(&many, at, 0.0));
        let (bound_few, bound_many) = (share_bound(&few, at, 0.0), share_bound(&many, at, 0.0));
        assert!(bound_few > bound_many && bound_many > share(&many, at, 0.0));
        // Nothing answered is still not a certainty from 16 questions.
        assert!(share_bound(&few, 2.0, 0.0) > 0.0);
    }
}
