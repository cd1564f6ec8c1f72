//! The answer policy: from a ranking to one outcome, on absolute scores and the margin between
//! the two best entries, never on scores scaled by the best one (which would make "the least
//! bad entry" look like a confident answer to an unrelated question).

use serde::{Deserialize, Serialize};

use super::{Confidence, Scored};
use crate::said::Said;

/// What to do with a question.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// One entry clearly matches: show its answer.
    Answer(Scored),
    /// Some entries may match, none clearly: offer these (one to three, best first). An entry
    /// sharing no word with the question is never offered: the same guard against the model's
    /// pull between unrelated Spanish questions as for answers (on the demo, "¿Qué tiempo hará
    /// mañana?" scores 0.6 against "¿Puedo recoger mi pedido en la tienda?").
    Suggest(Vec<Scored>),
    /// Nothing in the knowledge base matches: say so and offer a person.
    Escalate,
}

/// Most entries a suggestion offers.
pub const MAX_SUGGESTIONS: usize = 3;
/// How far below the best entry another may score and still be offered beside it: entries
/// much further down are noise next to a close match.
pub const SUGGEST_WINDOW: f32 = 0.1;

/// Whether a best entry scoring `first` (and sharing `lexical` of the question's words) over a
/// second scoring `second` is an answer.
///
/// Besides the thresholds, an answer needs at least one of the question's words (stemmed) in
/// the entry. all-MiniLM-L6-v2 is an English model: it finds any two Spanish questions fairly
/// alike ("¿Hacéis tartas por encargo?" scores 0.64 against "¿Cuánto tarda el envío?"), and
/// the shared word is what tells a real match. On the dev sets no right answer lacked one
/// (BANKING77 out-of-scope variant, StackFAQ), so the rule costs nothing there; such a question
/// is offered as a suggestion instead.
pub(crate) fn answerable(
    first: f32,
    second: f32,
    lexical: f32,
    answer_at: f32,
    margin: f32,
) -> bool {
    first >= answer_at && first - second >= margin && lexical > 0.0
}

/// The thresholds, all on the fused score of [`Scored::score`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Answer when the best entry scores at least this...
    pub answer_at: f32,
    /// ...and leads the second best by at least this.
    pub margin: f32,
    /// Offer entries scoring at least this when not answering.
    pub suggest_at: f32,
    /// Share of the lexical score in the fused score (0 = dense only).
    pub lexical_weight: f32,
    /// Answer and suggest only entries sharing a word with the question (see [`answerable`]):
    /// on for English models; off for multilingual ones, which ask it only of entries in the
    /// question's own language, since Spanish questions must reach English entries and the
    /// reverse. Bundles from before the field have it on.
    #[serde(default = "on")]
    pub shared_word: bool,
    /// Share of the trained answer model in the score (0 = not used; see
    /// [`super::Index::rank`]). Decided by calibration per knowledge base; bundles from before
    /// the model have none.
    #[serde(default)]
    pub trained_weight: f32,
    /// Share of an entry's reading (its question with its answer, one vector per entry) in its
    /// meaning score, the rest being its phrasings' (0 = phrasings alone; see
    /// [`super::Index::rank`]). Decided by calibration per knowledge base; bundles from before
    /// the readings have none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub answer_weight: f32,
    /// When set, answers are decided by this learned confidence instead of `answer_at` and
    /// `margin` (see [`super::confidence`]); calibration sets it where cross-validation shows
    /// it answers more at the same share of wrong answers. Bundles from before it have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
}

fn on() -> bool {
    true
}

fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

impl Policy {
    /// For a knowledge base too small to calibrate on (fewer than a few dozen entries with two
    /// or more phrasings). all-MiniLM-L6-v2 gives paraphrases of one question cosines of about
    /// 0.6 to 0.9 and unrelated questions below 0.4; `answer_at` sits where a small FAQ's
    /// neighbouring entries stop being confused, from the calibrations on the dev sets (see
    /// ARCHITECTURE.md, "Answer policy").
    pub const DEFAULT: Policy = Policy {
        answer_at: 0.62,
        margin: 0.04,
        suggest_at: 0.45,
        lexical_weight: 0.1,
        shared_word: true,
        trained_weight: 0.0,
        answer_weight: 0.0,
        confidence: None,
    };

    /// The same for multilingual-e5, whose cosines sit higher and closer together (unrelated
    /// questions about 0.75 to 0.85, paraphrases 0.85 to 0.95): between its calibrations on the
    /// dev sets that have paraphrases (Bitext 0.890 / 0.010, BANKING77's out-of-scope variant
    /// 0.875 / 0.020), never on a test set's questions.
    pub const MULTILINGUAL_DEFAULT: Policy = Policy {
        answer_at: 0.88,
        margin: 0.015,
        suggest_at: 0.8,
        lexical_weight: 0.1,
        shared_word: false,
        trained_weight: 0.0,
        answer_weight: 0.0,
        confidence: None,
    };

    /// The defaults for a model that is multilingual or not.
    pub fn defaults(multilingual: bool) -> Policy {
        if multilingual {
            Policy::MULTILINGUAL_DEFAULT
        } else {
            Policy::DEFAULT
        }
    }

    /// The outcome for a ranking from [`super::Index::rank`] (best first).
    pub fn decide(&self, ranked: &[Scored]) -> Outcome {
        let Some(best) = ranked.first() else {
            return Outcome::Escalate;
        };
        let second = ranked.get(1).map_or(f32::NEG_INFINITY, |s| s.score);
        // A shared word is asked of every entry by English models, and by multilingual ones of
        // entries in the question's own language (a Spanish question may share no word with an
        // English entry, but "¿Qué tiempo hará mañana?" and "¿Qué horario tenéis?" should).
        let shares_word = |s: &Scored| s.lexical > 0.0 || (!self.shared_word && s.other_language);
        let answer = match &self.confidence {
            Some(c) => shares_word(best) && c.answers(ranked),
            None => answerable(
                best.score,
                second,
                if shares_word(best) { 1.0 } else { 0.0 },
                self.answer_at,
                self.margin,
            ),
        };
        if answer {
            return Outcome::Answer(*best);
        }
        let offered: Vec<Scored> = ranked
            .iter()
            .take(MAX_SUGGESTIONS)
            .take_while(|s| s.score >= self.suggest_at && best.score - s.score <= SUGGEST_WINDOW)
            .filter(|s| shares_word(s))
            .copied()
            .collect();
        if offered.is_empty() {
            Outcome::Escalate
        } else {
            Outcome::Suggest(offered)
        }
    }

    /// Checks an owner's override: every threshold a number in its range.
    pub fn validate(&self) -> Result<(), Said> {
        let check = |name: &str, v: f32, lo: f32, hi: f32| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(crate::said!(
                    en: "{name} must be between {lo} and {hi}, not {v}",
                    es: "{name} debe estar entre {lo} y {hi}, no {v}"
                ))
            }
        };
        check("answer_at", self.answer_at, -1.0, 1.0)?;
        check("margin", self.margin, 0.0, 2.0)?;
        check("suggest_at", self.suggest_at, -1.0, 1.0)?;
        check("lexical_weight", self.lexical_weight, 0.0, 1.0)?;
        check("trained_weight", self.trained_weight, 0.0, 1.0)?;
        check("answer_weight", self.answer_weight, 0.0, 1.0)?;
        match &self.confidence {
            // A stored confidence is the build's, never the owner's: the reader's English.
            Some(c) => c.check().map_err(|e| Said {
                en: e.to_string(),
                es: e.to_string(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(scores: &[f32]) -> Vec<Scored> {
        scores
            .iter()
            .enumerate()
            .map(|(entry, &score)| Scored {
                entry,
                score,
                dense: score,
                lexical: 0.5,
                trained: 0.0,
                none: 0.0,
                other_language: false,
            })
            .collect()
    }

    const P: Policy = Policy {
        answer_at: 0.7,
        margin: 0.05,
        suggest_at: 0.5,
        lexical_weight: 0.0,
        shared_word: true,
        trained_weight: 0.0,
        answer_weight: 0.0,
        confidence: None,
    };

    fn entries(o: &Outcome) -> Vec<usize> {
        match o {
            Outcome::Answer(s) => vec![s.entry],
            Outcome::Suggest(v) => v.iter().map(|s| s.entry).collect(),
            Outcome::Escalate => vec![],
        }
    }

    #[test]
    fn a_clear_winner_is_answered() {
        assert!(matches!(P.decide(&ranked(&[0.8, 0.6])), Outcome::Answer(s) if s.entry == 0));
        assert!(matches!(P.decide(&ranked(&[0.71])), Outcome::Answer(_)));
    }

    #[test]
    fn close_runners_up_turn_an_answer_into_suggestions() {
        let o = P.decide(&ranked(&[0.8, 0.78, 0.75, 0.72, 0.52]));
        assert!(matches!(o, Outcome::Suggest(_)));
        assert_eq!(entries(&o), [0, 1, 2], "at most three, best first");
        let o = P.decide(&ranked(&[0.8, 0.78, 0.6]));
        assert_eq!(entries(&o), [0, 1], "only those near the best");
    }

    #[test]
    fn low_scores_escalate_however_far_ahead_the_best_is() {
        // Scaled by the best, 0.4 against 0.1 would look like a sure answer.
        assert_eq!(P.decide(&ranked(&[0.4, 0.1])), Outcome::Escalate);
        assert_eq!(P.decide(&[]), Outcome::Escalate);
    }

    #[test]
    fn an_answer_needs_a_word_in_common() {
        let mut r = ranked(&[0.8, 0.75]);
        r[0].lexical = 0.0;
        assert!(matches!(P.decide(&r), Outcome::Suggest(v) if v[0].entry == 1));
    }

    #[test]
    fn a_suggestion_needs_a_word_in_common() {
        let mut r = ranked(&[0.6, 0.58]);
        r[0].lexical = 0.0;
        assert_eq!(entries(&P.decide(&r)), [1]);
        r[1].lexical = 0.0;
        assert_eq!(P.decide(&r), Outcome::Escalate);
    }

    #[test]
    fn middling_scores_suggest_only_what_clears_the_bar() {
        assert_eq!(entries(&P.decide(&ranked(&[0.6, 0.45]))), [0]);
    }

    #[test]
    fn owner_overrides_are_checked() {
        assert!(Policy::DEFAULT.validate().is_ok());
        let bad = Policy {
            margin: -0.1,
            ..Policy::DEFAULT
        };
        let err = bad.validate().unwrap_err();
        assert!(
            err.en.contains("margin must be") && err.es.contains("margin debe"),
            "{err:?}"
        );
        let nan = Policy {
            answer_at: f32::NAN,
            ..Policy::DEFAULT
        };
        assert!(nan.validate().is_err());
    }
}
