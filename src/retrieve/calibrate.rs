//! Calibration: the policy's thresholds from the knowledge base itself, never from test
//! queries. Owns the simulation and the search over thresholds; never the scoring.
//!
//! Each sampled phrasing is asked twice. Once with only that phrasing left out: a visitor
//! asking a known question in their own words (it should be answered with its entry). Once
//! with its whole entry left out: a visitor asking about something the FAQ does not cover, as
//! close to the FAQ's topics as such questions get (it must not be answered). The thresholds
//! kept are those answering the most of the first kind while the expected share of wrong
//! answers, with a quarter of visitors asking uncovered things, stays at or under 5%.

use serde::{Deserialize, Serialize};

use super::policy::answerable;
use super::{Index, Policy, Query, Scope, NEAR_DUPLICATE};

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

/// Thresholds and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub policy: Policy,
    pub basis: Basis,
    /// Thresholds the owner set, replacing what the basis gave.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_set: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Basis {
    /// [`Policy::DEFAULT`] (answer_at raised if needed, see [`calibrate`]), and why the
    /// knowledge base could not calibrate the rest.
    Defaults {
        reason: String,
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
    },
}

/// One simulated question: best and second-best fused scores, and whether the best is right.
#[derive(Clone, Copy)]
struct Trial {
    first: f32,
    second: f32,
    /// The best entry's lexical share.
    lexical: f32,
    right: bool,
}

impl Trial {
    fn answered(&self, answer_at: f32, margin: f32) -> bool {
        answerable(self.first, self.second, self.lexical, answer_at, margin)
    }
}

fn share(trials: &[Trial], answer_at: f32, margin: f32) -> f32 {
    trials
        .iter()
        .filter(|t| t.answered(answer_at, margin))
        .count() as f32
        / trials.len().max(1) as f32
}

/// Thresholds for `index`, whose phrasings read `texts` (in index order), with dense and
/// lexical scores mixed by `lexical_weight`.
///
/// With enough entries that have two or more phrasings, every threshold comes from the
/// simulation. Otherwise the defaults hold, except that `answer_at` is raised until at most
/// 20% of simulated uncovered questions would be answered, when there are enough entries to
/// simulate that (it needs no paraphrases).
pub fn calibrate(index: &Index, texts: &[&str], base: Policy) -> Calibration {
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
    let step = texts.len().div_ceil(MAX_SAMPLES).max(1);
    let (mut known, mut unknown, mut conflicts) = (Vec::new(), Vec::new(), 0);
    for i in (0..texts.len()).step_by(step) {
        let e = owner[i] as usize;
        let query = Query::new(texts[i], index.vectors().row(i));
        let (sims, shares) = index.similarities(&query);
        let conflict = sims
            .iter()
            .zip(owner)
            .any(|(&s, &o)| o as usize != e && s >= NEAR_DUPLICATE);
        if conflict {
            conflicts += 1;
            continue;
        }
        let trial = |ranked: &[super::Scored]| Trial {
            first: ranked.first().map_or(f32::NEG_INFINITY, |s| s.score),
            second: ranked.get(1).map_or(f32::NEG_INFINITY, |s| s.score),
            // The policy's word test (see Policy::decide), folded into the share it reads.
            lexical: ranked.first().map_or(0.0, |s| {
                if base.shared_word || !s.other_language {
                    s.lexical
                } else {
                    1.0
                }
            }),
            right: ranked.first().is_some_and(|s| s.entry == e),
        };
        // Asked, as a visitor would be answered, among the entries of its own language.
        let only = index.alongside(e);
        let only = only.as_deref();
        let unknown_scope = Scope {
            only,
            entry: Some(e),
            ..Scope::default()
        };
        let without_entry = index.aggregate(
            &sims,
            &shares,
            lexical_weight,
            &unknown_scope,
            query.language(),
        );
        if without_entry.len() > 1 {
            unknown.push(trial(&without_entry));
        }
        if count[e] >= 2 {
            let known_scope = Scope {
                only,
                phrasing: Some(i),
                ..Scope::default()
            };
            known.push(trial(&index.aggregate(
                &sims,
                &shares,
                lexical_weight,
                &known_scope,
                query.language(),
            )));
        }
    }

    let entries = count.iter().filter(|&&n| n >= 2).count();
    if known.len() < MIN_SAMPLES || entries < MIN_ENTRIES {
        let reason = format!(
            "{entries} entries have two or more phrasings; calibrating every threshold needs {MIN_ENTRIES} such entries and {MIN_SAMPLES} such phrasings"
        );
        let mut policy = base;
        let mut unknown_answered = None;
        if unknown.len() >= MIN_SAMPLES {
            while share(&unknown, policy.answer_at, policy.margin) > MAX_UNKNOWN_ANSWERED
                && policy.answer_at < 0.95
            {
                policy.answer_at += 0.005;
            }
            unknown_answered = Some(share(&unknown, policy.answer_at, policy.margin));
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

    let n = known.len() as f32;
    let mut best: Option<(f32, f32, f32, f32)> = None; // (correct, wrong, answer_at, margin)
                                                       // From the strictest down, so that among equally good settings the safer one is kept.
    for a in (80..=190).rev() {
        let answer_at = a as f32 * 0.005;
        for m in (0..=30).rev() {
            let margin = m as f32 * 0.005;
            let (mut right, mut wrong) = (0usize, 0usize);
            for t in known.iter().filter(|t| t.answered(answer_at, margin)) {
                if t.right {
                    right += 1
                } else {
                    wrong += 1
                }
            }
            let expected_wrong = (1.0 - OUT_OF_SCOPE_SHARE) * wrong as f32 / n
                + OUT_OF_SCOPE_SHARE * share(&unknown, answer_at, margin);
            let correct = right as f32 / n;
            if expected_wrong <= MAX_WRONG && best.is_none_or(|b| correct > b.0) {
                best = Some((correct, expected_wrong, answer_at, margin));
            }
        }
    }
    let Some((correct, wrong, answer_at, margin)) = best else {
        // Even the strictest thresholds answer too many uncovered questions wrongly.
        return Calibration {
            policy: Policy {
                answer_at: 0.95,
                ..base
            },
            basis: Basis::Defaults {
                reason: "no thresholds keep simulated wrong answers at 5% or under; the entries are too alike (see `ayuda lint`)".into(),
                unknown_answered: Some(share(&unknown, 0.95, base.margin)),
            },
            owner_set: Vec::new(),
        };
    };
    // Suggest what known questions usually score: all but the lowest 5% of right first picks.
    let mut right_scores: Vec<f32> = known.iter().filter(|t| t.right).map(|t| t.first).collect();
    right_scores.sort_by(f32::total_cmp);
    let p5 = right_scores
        .get(right_scores.len() / 20)
        .copied()
        .unwrap_or(base.suggest_at);
    Calibration {
        policy: Policy {
            answer_at,
            margin,
            suggest_at: p5.clamp(0.3, answer_at),
            ..base
        },
        basis: Basis::KnowledgeBase {
            samples: known.len(),
            entries,
            conflicts,
            expected_correct: correct,
            expected_wrong: wrong,
            unknown_answered: share(&unknown, answer_at, margin),
        },
        owner_set: Vec::new(),
    }
}
