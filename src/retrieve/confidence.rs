//! The learned answer confidence: owns how sure an answer is, as one number from a ranking's
//! first entries, the logistic model that weighs them, and fitting it. Pure computation; it
//! never ranks ([`super::Index::rank`] does), never picks its own threshold or decides whether
//! a knowledge base uses it ([`super::calibrate`] does, by cross-validation).
//!
//! The plain rule answers when the best entry's score clears one threshold and its lead over
//! the second another: a box in two numbers. The simulated questions show more: a question on
//! a topic the FAQ lacks often finds a middling best entry whose phrasings are close but whose
//! trained probability is split with a neighbour, or a high score with no lead in meaning. A
//! straight line through [`FEATURES`] such numbers, fitted on the knowledge base's own
//! simulated questions (right answers against wrong ones and answered unknowns, weighted as the
//! calibration counts them), tells them apart better where there are many phrasings.

use serde::{Deserialize, Serialize};

use super::Scored;

/// What the confidence is computed from, all read off a ranking (see [`features`]).
pub const FEATURES: usize = 8;
/// Bundles 3 and 4 stored a weight for each feature but the last (the trained model's "none
/// of them"); read with 0 for it, they give the same confidence as before.
const FEATURES_BEFORE_NONE: usize = 7;
/// "None of them" less likely than one in a million counts as one in a million: what a
/// float's underflow would otherwise make minus infinity, or a far outlier the line bends to.
const NONE_FLOOR: f32 = 1e-6;

/// Ridge penalty on the standardised weights: keeps the fit finite when the simulated
/// questions are separable, and the weights small on a small knowledge base.
const RIDGE: f64 = 1e-3;
/// Newton steps; the fit converges in about ten.
const MAX_STEPS: usize = 50;

/// A logistic model over a ranking's [`features`], and the confidence an answer needs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confidence {
    /// One per feature, in [`features`]' order.
    #[serde(deserialize_with = "weights_of_any_version")]
    weights: [f32; FEATURES],
    bias: f32,
    /// Answer when the best entry's confidence is at least this (0 to 1).
    answer_at: f32,
}

/// Why a stored confidence cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfidenceError {
    #[error("a weight of the learned confidence is not a finite number")]
    NotFinite,
    #[error("the learned confidence's answer_at must be between 0 and 1, not {0}")]
    AnswerAt(f32),
}

/// The numbers the confidence weighs, for a ranking (best first, at least one entry):
/// the best entry's fused score and its lead over the second; its meaning (dense) score and
/// lead over the best other meaning score; its trained probability and lead over the best
/// other; its share of the question's words; and the logarithm of the trained model's
/// probability of "none of them" (see [`log_probability`]). A lead with nobody behind counts
/// as 1.
pub fn features(ranked: &[Scored]) -> [f32; FEATURES] {
    let Some((first, rest)) = ranked.split_first() else {
        return [0.0; FEATURES];
    };
    let lead = |own: f32, of: fn(&Scored) -> f32| {
        let other = rest.iter().map(of).fold(f32::NEG_INFINITY, f32::max);
        (own - other).clamp(-1.0, 1.0)
    };
    [
        first.score,
        lead(first.score, |s| s.score),
        first.dense,
        lead(first.dense, |s| s.dense),
        first.trained,
        lead(first.trained, |s| s.trained),
        first.lexical,
        log_probability(first.none),
    ]
}

/// `ln p`, from [`NONE_FLOOR`] up: the confidence is a straight line in its features, and
/// evidence from a probability adds up in its logarithm (in the simulation on BANKING77 the
/// logarithm of "none of them" answered 83.2% of known questions right where the probability
/// itself answered 82.7%, at the same bound on wrong answers). Through
/// [`crate::exact::ln_at_least_one`], so the browser and the command line give the same bits.
fn log_probability(p: f32) -> f32 {
    -crate::exact::ln_at_least_one(1.0 / p.max(NONE_FLOOR))
}

/// The stored weights: [`FEATURES`] of them, or one fewer from a bundle written before the
/// last feature existed.
fn weights_of_any_version<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<[f32; FEATURES], D::Error> {
    let stored = Vec::<f32>::deserialize(deserializer)?;
    let mut weights = [0f32; FEATURES];
    match stored.len() {
        FEATURES | FEATURES_BEFORE_NONE => {
            weights[..stored.len()].copy_from_slice(&stored);
            Ok(weights)
        }
        n => Err(serde::de::Error::invalid_length(
            n,
            &"8 weights (7 in bundles written before version 5)",
        )),
    }
}

impl Confidence {
    /// How sure an answer with `ranked`'s best entry is, 0 to 1.
    pub fn of(&self, ranked: &[Scored]) -> f32 {
        let f = features(ranked);
        // In a fixed order, f32: the browser and the command line give the same bits.
        let mut z = self.bias;
        for (w, x) in self.weights.iter().zip(f) {
            z += w * x;
        }
        sigmoid(z)
    }

    /// Whether `ranked`'s best entry is sure enough to answer with.
    pub fn answers(&self, ranked: &[Scored]) -> bool {
        self.of(ranked) >= self.answer_at
    }

    /// The threshold [`Confidence::answers`] holds the confidence to.
    pub fn answer_at(&self) -> f32 {
        self.answer_at
    }

    /// The same model answering from `answer_at` (0 to 1).
    pub(crate) fn answering_from(self, answer_at: f32) -> Confidence {
        Confidence { answer_at, ..self }
    }

    /// Refuses what a damaged or foreign bundle could hold.
    pub fn check(&self) -> Result<(), ConfidenceError> {
        if !self.bias.is_finite() || !self.weights.iter().all(|w| w.is_finite()) {
            return Err(ConfidenceError::NotFinite);
        }
        if !(0.0..=1.0).contains(&self.answer_at) {
            return Err(ConfidenceError::AnswerAt(self.answer_at));
        }
        Ok(())
    }

    /// Weighted logistic regression of `right` on `features` (answered right: 1; answered
    /// wrong or about a topic the FAQ lacks: 0), by Newton's method on standardised features
    /// with a small ridge penalty. `answer_at` is left at 0 for the caller to pick.
    pub(crate) fn fit(features: &[[f32; FEATURES]], right: &[bool], weight: &[f32]) -> Confidence {
        const K: usize = FEATURES + 1;
        let n = features.len() as f64;
        let mut mean = [0f64; FEATURES];
        let mut sd = [0f64; FEATURES];
        for f in features {
            for (m, &x) in mean.iter_mut().zip(f) {
                *m += x as f64 / n.max(1.0);
            }
        }
        for f in features {
            for ((s, &x), m) in sd.iter_mut().zip(f).zip(&mean) {
                *s += (x as f64 - m).powi(2) / n.max(1.0);
            }
        }
        // A feature that never varies (the trained probability without a trained model)
        // gets no weight rather than a division by zero.
        let sd: Vec<f64> = sd
            .iter()
            .map(|v| if v.sqrt() > 1e-6 { v.sqrt() } else { 0.0 })
            .collect();
        let row = |f: &[f32; FEATURES]| -> [f64; K] {
            let mut z = [1f64; K];
            for j in 0..FEATURES {
                z[j] = if sd[j] > 0.0 {
                    (f[j] as f64 - mean[j]) / sd[j]
                } else {
                    0.0
                };
            }
            z
        };
        let rows: Vec<[f64; K]> = features.iter().map(row).collect();
        let mut beta = [0f64; K];
        for _ in 0..MAX_STEPS {
            let mut grad = [0f64; K];
            let mut hess = [[0f64; K]; K];
            for ((z, &y), &w) in rows.iter().zip(right).zip(weight) {
                let p = 1.0 / (1.0 + (-dot(&beta, z)).exp());
                let w = w as f64;
                let g = w * (p - if y { 1.0 } else { 0.0 });
                let h = w * p * (1.0 - p);
                for a in 0..K {
                    grad[a] += g * z[a];
                    for b in 0..K {
                        hess[a][b] += h * z[a] * z[b];
                    }
                }
            }
            // The bias is not penalised.
            for a in 0..FEATURES {
                grad[a] += RIDGE * beta[a];
                hess[a][a] += RIDGE;
            }
            let Some(step) = solve(hess, grad) else {
                break;
            };
            for (b, s) in beta.iter_mut().zip(&step) {
                *b -= s;
            }
            if step.iter().all(|s| s.abs() < 1e-9) {
                break;
            }
        }
        // Back to the features' own units.
        let mut weights = [0f32; FEATURES];
        let mut bias = beta[FEATURES];
        for j in 0..FEATURES {
            if sd[j] > 0.0 {
                weights[j] = (beta[j] / sd[j]) as f32;
                bias -= beta[j] * mean[j] / sd[j];
            }
        }
        Confidence {
            weights,
            bias: bias as f32,
            answer_at: 0.0,
        }
    }
}

/// The logistic function through [`crate::exact::exp_nonpositive`], so every target gives the
/// same bits.
fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + crate::exact::exp_nonpositive(-z))
    } else {
        let e = crate::exact::exp_nonpositive(z);
        e / (1.0 + e)
    }
}

fn dot<const K: usize>(a: &[f64; K], b: &[f64; K]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `m x = v` by Gaussian elimination with partial pivoting; None when `m` is singular. Written
/// out because one 8 x 8 solve at build time does not warrant a linear algebra dependency.
fn solve<const K: usize>(mut m: [[f64; K]; K], mut v: [f64; K]) -> Option<[f64; K]> {
    for c in 0..K {
        let p = (c..K).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))?;
        if m[p][c].abs() < 1e-12 {
            return None;
        }
        m.swap(c, p);
        v.swap(c, p);
        let pivot = m[c];
        for r in c + 1..K {
            let f = m[r][c] / pivot[c];
            for (x, p) in m[r][c..].iter_mut().zip(&pivot[c..]) {
                *x -= f * p;
            }
            v[r] -= f * v[c];
        }
    }
    let mut x = [0f64; K];
    for c in (0..K).rev() {
        let s: f64 = (c + 1..K).map(|k| m[c][k] * x[k]).sum();
        x[c] = (v[c] - s) / m[c][c];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(entry: usize, score: f32, trained: f32) -> Scored {
        Scored {
            entry,
            score,
            dense: score,
            lexical: 0.5,
            trained,
            none: 0.25,
            other_language: false,
        }
    }

    #[test]
    fn features_read_the_best_entry_and_its_leads() {
        let f = features(&[
            scored(3, 0.8, 0.7),
            scored(1, 0.6, 0.2),
            scored(0, 0.5, 0.1),
        ]);
        let want = [0.8, 0.2, 0.8, 0.2, 0.7, 0.5, 0.5, 0.25f32.ln()];
        for (got, want) in f.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{f:?}");
        }
        // Nobody behind: the leads are full.
        assert_eq!(features(&[scored(0, 0.8, 1.0)])[1], 1.0);
        assert_eq!(features(&[]), [0.0; FEATURES]);
        // Without "none of them" (no trained model, or one from an older bundle): the floor,
        // the same for every question.
        let mut without = scored(0, 0.8, 0.0);
        without.none = 0.0;
        assert!((features(&[without])[7] - 1e-6f32.ln()).abs() < 1e-4);
    }

    #[test]
    fn the_fit_learns_which_numbers_tell_right_from_wrong() {
        // Right answers lead by 0.1 to 0.3; wrong ones by 0 to 0.1, at the same scores.
        let mut features = Vec::new();
        let mut right = Vec::new();
        for i in 0..200 {
            let score = 0.6 + (i % 10) as f32 * 0.03;
            let lead = if i % 2 == 0 {
                0.1 + (i % 7) as f32 * 0.03
            } else {
                (i % 5) as f32 * 0.02
            };
            features.push([score, lead, score, lead, 0.0, 0.0, 0.5, 0.0]);
            right.push(i % 2 == 0);
        }
        let c = Confidence::fit(&features, &right, &vec![1.0 / 200.0; 200]).answering_from(0.5);
        assert!(
            c.weights[1] + c.weights[3] > 0.0,
            "a lead raises confidence: {c:?}"
        );
        assert_eq!(
            c.weights[4], 0.0,
            "a feature that never varies gets no weight"
        );
        let sure = |lead: f32| {
            let ranked = [scored(0, 0.75, 0.0), scored(1, 0.75 - lead, 0.0)];
            c.of(&ranked)
        };
        assert!(
            sure(0.25) > 0.9 && sure(0.0) < 0.1,
            "{} {}",
            sure(0.25),
            sure(0.0)
        );
        assert!(c.check().is_ok());
    }

    #[test]
    fn a_confidence_stored_before_the_none_feature_reads_with_no_weight_on_it() {
        let older = r#"{"weights":[1,2,3,4,5,6,7],"bias":-1,"answer_at":0.5}"#;
        let c: Confidence = serde_json::from_str(older).unwrap();
        assert_eq!(c.weights, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0]);
        let now = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Confidence>(&now).unwrap(), c);
        for wrong in ["[1,2,3,4,5,6]", "[1,2,3,4,5,6,7,8,9]"] {
            let stored = format!(r#"{{"weights":{wrong},"bias":-1,"answer_at":0.5}}"#);
            let err = serde_json::from_str::<Confidence>(&stored).unwrap_err();
            assert!(err.to_string().contains("8 weights"), "{err}");
        }
    }

    #[test]
    fn damaged_confidences_are_refused() {
        let ok = Confidence {
            weights: [1.0; FEATURES],
            bias: 0.0,
            answer_at: 0.5,
        };
        assert!(ok.check().is_ok());
        let nan = Confidence {
            bias: f32::NAN,
            ..ok
        };
        assert_eq!(nan.check(), Err(ConfidenceError::NotFinite));
        let far = Confidence {
            answer_at: 1.5,
            ..ok
        };
        assert_eq!(far.check(), Err(ConfidenceError::AnswerAt(1.5)));
    }

    #[test]
    fn the_sigmoid_is_the_logistic_function() {
        for z in [-30.0f32, -2.0, -0.1, 0.0, 0.1, 2.0, 30.0] {
            let want = 1.0 / (1.0 + (-(z as f64)).exp());
            assert!((sigmoid(z) as f64 - want).abs() < 1e-6, "{z}");
        }
    }
}
