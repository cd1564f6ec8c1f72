//! The early tier: owns answering from a question's words alone, while the encoder is still on
//! its way to the visitor's device (a phone on 4G waits tens of seconds for it). It ranks with
//! the bundle's BM25 index only, under its own policy, calibrated at build time by the same
//! cross-validation as the full model's but on lexical evidence alone, so an early answer is
//! as trustworthy as a late one: it answers when a question's words clearly pick one entry,
//! offers suggestions when they point somewhere, and otherwise waits for the model. It never
//! uses vectors and never overrides the full model once that has arrived.

use super::calibrate::{simulate, Calibration, Evidence};
use super::{lexical, Index, Policy, Query};

/// For a knowledge base too small to calibrate on: answer only when nearly all of a question's
/// (BM25-weighted) words are in one entry and a third more of them than in any other; offer
/// entries holding half. Set by what the scores mean, not fitted to any set; calibration
/// raises `answer_at` when the knowledge base shows it answers topics it lacks.
pub const EARLY_DEFAULT: Policy = Policy {
    answer_at: 0.9,
    margin: 0.3,
    suggest_at: 0.5,
    lexical_weight: 1.0,
    shared_word: true,
    trained_weight: 0.0,
    answer_weight: 0.0,
    confidence: None,
};

/// The early tier's policy for `index`, whose phrasings read `texts` (in index order).
pub fn calibrate_early(index: &Index, texts: &[&str], near_duplicate: f32) -> Calibration {
    simulate(
        index,
        texts,
        EARLY_DEFAULT,
        &[0.0],
        near_duplicate,
        Evidence::Words,
        &mut |_, _| {},
    )
}

impl Query {
    /// A question as the early tier sees it: its words, no vector. Ranked by
    /// [`Index::rank`], every dense score is 0, so entries count only by words.
    pub fn words_only(text: &str) -> Query {
        Query {
            vector: Vec::new(),
            words: lexical::query_terms(text),
            lang: lexical::guess_language(text),
        }
    }

    /// Whether the question has a vector (the full model) or only words (the early tier).
    pub fn has_vector(&self) -> bool {
        !self.vector.is_empty()
    }
}
