//! The trained answer model: owns a softmax layer over entries learned at build time from the
//! knowledge base's own phrasing vectors, its stored form, and its scores for a question. Pure
//! computation; it never decides (the policy does, on scores [`super::Index::rank`] mixes) and
//! never reads files.
//!
//! Nearest phrasings use each phrasing on its own; the layer learns from all of an entry's
//! phrasings at once which directions of the embedding tell it from its neighbours, which is
//! what lifts intent sets with many phrasings per entry. Whether and how much it counts is
//! decided per knowledge base by cross-validation ([`super::calibrate`]).

use candle_core::{Device, Tensor};

use super::Vectors;

/// Phrasings per optimisation step.
const BATCH: usize = 256;
/// Passes over the phrasings, and the fewest steps however few phrasings there are (a small
/// FAQ is one batch: it needs the steps, not the passes).
const EPOCHS: usize = 10;
const MIN_STEPS: usize = 200;
/// AdamW with PyTorch's default decoupled weight decay; the learning rate at which the training
/// loss settles within the steps above on unit-length sentence embeddings.
const LEARNING_RATE: f32 = 0.05;
const WEIGHT_DECAY: f32 = 0.01;
/// Fixed, so the same sources give the same bundle bytes.
const SEED: u64 = 0x5eed_a1da;

/// A linear layer from a question's embedding to one logit per entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// One row per entry (int8 with a scale, like the phrasing vectors).
    weights: Vectors,
    bias: Vec<f32>,
}

/// Why stored weights cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HeadError {
    #[error("{found} bytes, but {entries} entries of dimension {dim} need {expected}")]
    Size {
        found: usize,
        expected: usize,
        entries: usize,
        dim: usize,
    },
    #[error("a weight or bias is not a finite number")]
    NotFinite,
}

impl Head {
    /// Trains on the phrasings marked in `include` (all when None): `vectors` row `i` belongs
    /// to entry `labels[i]`, of `entries`. Each entry weighs the same whatever its number of
    /// phrasings, so an entry with two is not drowned by one with two hundred. Entries with no
    /// phrasing included get a layer row that never wins.
    pub fn train(
        vectors: &Vectors,
        labels: &[u32],
        include: Option<&[bool]>,
        entries: usize,
    ) -> Head {
        let rows: Vec<usize> = (0..vectors.len())
            .filter(|&i| include.is_none_or(|m| m[i]))
            .collect();
        let dim = vectors.dim();
        let (w, b) = fit(vectors, labels, &rows, entries).expect("CPU tensors of checked shapes");
        let weights = Vectors::quantise(
            &w.chunks_exact(dim).map(<[f32]>::to_vec).collect::<Vec<_>>(),
            dim,
        );
        Head { weights, bias: b }
    }

    /// One logit per entry for a unit-length question vector.
    pub fn logits(&self, query: &[f32]) -> Vec<f32> {
        self.weights
            .similarities(query)
            .iter()
            .zip(&self.bias)
            .map(|(s, b)| s + b)
            .collect()
    }

    pub fn entries(&self) -> usize {
        self.bias.len()
    }

    /// The stored form: the bias (f32 each), then the weight rows as [`Vectors::to_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.bias.iter().flat_map(|b| b.to_le_bytes()).collect();
        out.extend(self.weights.to_bytes());
        out
    }

    /// Reads what [`Head::to_bytes`] wrote for `entries` entries of dimension `dim`, refusing
    /// any other size and any value that is not a finite number (every score would be NaN).
    pub fn from_bytes(bytes: &[u8], entries: usize, dim: usize) -> Result<Head, HeadError> {
        let expected = entries
            .checked_mul(4)
            .and_then(|b| Some(b + Vectors::stored_len(entries, dim)?));
        let (bias, rest) = match expected {
            Some(n) if n == bytes.len() => bytes.split_at(entries * 4),
            _ => {
                return Err(HeadError::Size {
                    found: bytes.len(),
                    expected: expected.unwrap_or(usize::MAX),
                    entries,
                    dim,
                })
            }
        };
        let bias: Vec<f32> = bias
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        let weights = Vectors::from_bytes(rest, entries, dim).expect("length checked above");
        if !bias.iter().all(|b| b.is_finite()) || !weights.scales_finite() {
            return Err(HeadError::NotFinite);
        }
        Ok(Head { weights, bias })
    }
}

/// Softmax of `logits` over the entries in `ranked` order: each one's probability among them.
pub fn probabilities(logits: &[f32], entries: impl Iterator<Item = usize>) -> Vec<f32> {
    // exact's softmax: the browser and the command line give the same probabilities.
    let mut p: Vec<f32> = entries.map(|e| logits[e]).collect();
    crate::exact::softmax(&mut p);
    p
}

/// Multinomial logistic regression by minibatch AdamW: returns the weights (entries x dim, row
/// major) and biases, with the phrasings' mean folded into the bias.
///
/// The gradient is written out (softmax minus one-hot, weighted) rather than taken by candle's
/// autograd: the two products go to candle's matrix multiply, everything else is a few
/// thousand numbers a step, and a step's dozens of small tensor operations would otherwise
/// cost more than its arithmetic.
fn fit(
    vectors: &Vectors,
    labels: &[u32],
    rows: &[usize],
    entries: usize,
) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
    let dim = vectors.dim();
    let n = rows.len();
    let dev = Device::Cpu;
    let mut mean = vec![0f32; dim];
    let data: Vec<Vec<f32>> = rows.iter().map(|&i| vectors.row(i)).collect();
    for r in &data {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += v / n.max(1) as f32;
        }
    }
    // Centred: the bias then starts where the data is, and the steps go further.
    let centred: Vec<f32> = data
        .iter()
        .flat_map(|r| r.iter().zip(&mean).map(|(v, m)| v - m))
        .collect();
    let mut count = vec![0usize; entries];
    for &i in rows {
        count[labels[i] as usize] += 1;
    }
    let y: Vec<usize> = rows.iter().map(|&i| labels[i] as usize).collect();
    let sample_weight: Vec<f32> = y.iter().map(|&l| 1.0 / count[l] as f32).collect();
    let x = Tensor::from_vec(centred, (n, dim), &dev)?;

    let mut w = Adam::new(entries * dim);
    let mut b = Adam::new(entries);
    // Entries with no phrasing here: a bias far below every other, so they never win.
    let absent: Vec<f32> = count
        .iter()
        .map(|&c| if c == 0 { -1e4 } else { 0.0 })
        .collect();
    let batches = n.div_ceil(BATCH).max(1);
    let steps = if n == 0 {
        0
    } else {
        (EPOCHS * batches).max(MIN_STEPS)
    };
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut rng = SEED;
    let mut step = 0;
    while step < steps {
        shuffle(&mut order, &mut rng);
        for chunk in order.chunks(BATCH) {
            if step == steps {
                break;
            }
            step += 1;
            let idx = Tensor::from_slice(chunk, chunk.len(), &dev)?;
            let xb = x.index_select(&idx, 0)?;
            let wt = Tensor::from_slice(&w.value, (entries, dim), &dev)?;
            let logits: Vec<f32> = xb.matmul(&wt.t()?)?.flatten_all()?.to_vec1()?;
            // d loss / d logits: (softmax - one-hot), each phrasing by its weight.
            let total: f32 = chunk.iter().map(|&i| sample_weight[i as usize]).sum();
            let mut grad = vec![0f32; chunk.len() * entries];
            let mut grad_b = vec![0f32; entries];
            for (r, &i) in chunk.iter().enumerate() {
                let row = &logits[r * entries..(r + 1) * entries];
                let z: Vec<f32> = row
                    .iter()
                    .zip(&b.value)
                    .zip(&absent)
                    .map(|((l, b), a)| l + b + a)
                    .collect();
                let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exp: Vec<f32> = z.iter().map(|v| (v - max).exp()).collect();
                let sum: f32 = exp.iter().sum();
                let scale = sample_weight[i as usize] / total;
                for (k, e) in exp.iter().enumerate() {
                    let target = if k == y[i as usize] { 1.0 } else { 0.0 };
                    let g = (e / sum - target) * scale;
                    grad[r * entries + k] = g;
                    grad_b[k] += g;
                }
            }
            let g = Tensor::from_vec(grad, (chunk.len(), entries), &dev)?;
            let grad_w: Vec<f32> = g.t()?.matmul(&xb)?.flatten_all()?.to_vec1()?;
            w.step(&grad_w);
            b.step(&grad_b);
        }
    }
    // W (x - mean) + b = W x + (b - W mean).
    let bias = b
        .value
        .iter()
        .zip(&absent)
        .zip(w.value.chunks_exact(dim.max(1)))
        .map(|((b, a), row)| b + a - row.iter().zip(&mean).map(|(w, m)| w * m).sum::<f32>())
        .collect();
    Ok((w.value, bias))
}

/// AdamW (decoupled weight decay) over one flat parameter vector, starting at zero.
struct Adam {
    value: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    const BETA1: f32 = 0.9;
    const BETA2: f32 = 0.999;
    const EPS: f32 = 1e-8;

    fn new(len: usize) -> Adam {
        Adam {
            value: vec![0.0; len],
            m: vec![0.0; len],
            v: vec![0.0; len],
            t: 0,
        }
    }

    fn step(&mut self, grad: &[f32]) {
        self.t += 1;
        let c1 = 1.0 - Self::BETA1.powi(self.t);
        let c2 = 1.0 - Self::BETA2.powi(self.t);
        for (((x, m), v), g) in self
            .value
            .iter_mut()
            .zip(&mut self.m)
            .zip(&mut self.v)
            .zip(grad)
        {
            *x -= LEARNING_RATE * WEIGHT_DECAY * *x;
            *m = Self::BETA1 * *m + (1.0 - Self::BETA1) * g;
            *v = Self::BETA2 * *v + (1.0 - Self::BETA2) * g * g;
            *x -= LEARNING_RATE * (*m / c1) / ((*v / c2).sqrt() + Self::EPS);
        }
    }
}

/// Fisher-Yates with xorshift64: the same order on every machine.
fn shuffle(order: &mut [u32], state: &mut u64) {
    for i in (1..order.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let j = (*state % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    /// Three entries, each phrasing its direction plus noise shared across entries.
    fn data() -> (Vectors, Vec<u32>) {
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..30u32 {
            let e = i % 3;
            let mut v: Vec<f32> = (0..16)
                .map(|j| ((i as usize * 7 + j * 5) % 13) as f32 / 13.0 - 0.5)
                .collect();
            v[e as usize] += 2.0;
            rows.push(unit(v));
            labels.push(e);
        }
        (Vectors::quantise(&rows, 16), labels)
    }

    #[test]
    fn learns_which_entry_a_vector_belongs_to() {
        let (v, labels) = data();
        let head = Head::train(&v, &labels, None, 3);
        for (i, &l) in labels.iter().enumerate() {
            let logits = head.logits(&v.row(i));
            let best = (0..3)
                .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                .unwrap();
            assert_eq!(best, l as usize, "row {i}: {logits:?}");
        }
        let p = probabilities(&head.logits(&v.row(0)), 0..3);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p[0] > 0.5, "{p:?}");
    }

    #[test]
    fn training_is_deterministic_and_round_trips() {
        let (v, labels) = data();
        let a = Head::train(&v, &labels, None, 3);
        let b = Head::train(&v, &labels, None, 3);
        assert_eq!(a.to_bytes(), b.to_bytes());
        assert_eq!(Head::from_bytes(&a.to_bytes(), 3, 16).unwrap(), a);
    }

    #[test]
    fn an_entry_without_phrasings_never_wins() {
        let (v, labels) = data();
        let include: Vec<bool> = labels.iter().map(|&l| l != 2).collect();
        let head = Head::train(&v, &labels, Some(&include), 3);
        for i in 0..labels.len() {
            let logits = head.logits(&v.row(i));
            assert!(logits[2] < logits[0] && logits[2] < logits[1]);
        }
    }

    #[test]
    fn wrong_sizes_and_non_finite_values_are_refused() {
        let (v, labels) = data();
        let bytes = Head::train(&v, &labels, None, 3).to_bytes();
        assert!(matches!(
            Head::from_bytes(&bytes[1..], 3, 16),
            Err(HeadError::Size { .. })
        ));
        assert!(matches!(
            Head::from_bytes(&bytes, 4, 16),
            Err(HeadError::Size { .. })
        ));
        assert!(Head::from_bytes(&bytes, usize::MAX / 2, 16).is_err());
        let mut nan = bytes.clone();
        nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(Head::from_bytes(&nan, 3, 16), Err(HeadError::NotFinite));
        let mut inf_scale = bytes;
        inf_scale[12..16].copy_from_slice(&f32::INFINITY.to_le_bytes());
        assert_eq!(
            Head::from_bytes(&inf_scale, 3, 16),
            Err(HeadError::NotFinite)
        );
    }
}
