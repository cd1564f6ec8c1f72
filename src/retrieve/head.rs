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
/// Length of the noise added to each phrasing to make the "none of them" class's examples
/// (see [`Head::train`]). In the cross-validated simulation on BANKING77, lengths from 0.1 to
/// 0.5 separated known from unknown questions alike; the middle is kept.
const NONE_NOISE: f32 = 0.3;

/// A linear layer from a question's embedding to one logit per entry, and (in heads trained
/// since bundle version 5) one for "none of them".
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// One row per entry, then the "none" row when there is one (int8 with a scale, like the
    /// phrasing vectors).
    weights: Vectors,
    bias: Vec<f32>,
    entries: usize,
}

/// The rows a stored head holds: what the bundle's version says it was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// One per entry (bundle versions 2 to 4).
    Entries,
    /// One per entry and one for "none of them".
    EntriesAndNone,
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
    ///
    /// One more class, "none of them", learns from each phrasing moved off its place by
    /// noise: a softmax over entries alone always picks someone, even for a question no entry
    /// is about, while this class takes the probability where no entry's direction stands out.
    /// It counts as much as one entry; its probability is evidence for the learned confidence
    /// (see [`super::confidence`]), not part of the entries' probabilities.
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
        Head {
            weights,
            bias: b,
            entries,
        }
    }

    /// One logit per row (entries, then "none" when there is one) for a unit-length vector.
    fn logits(&self, query: &[f32]) -> Vec<f32> {
        self.weights
            .similarities(query)
            .iter()
            .zip(&self.bias)
            .map(|(s, b)| s + b)
            .collect()
    }

    /// For a unit-length question vector: each of `ranked` entries' probability among them
    /// (the softmax of their logits), and the probability of "none of them" against them
    /// (0 for a head without that row).
    pub fn probabilities(
        &self,
        query: &[f32],
        ranked: impl Iterator<Item = usize>,
    ) -> (Vec<f32>, f32) {
        let logits = self.logits(query);
        let mut p: Vec<f32> = ranked.map(|e| logits[e]).collect();
        let none = match self.rows() {
            Rows::Entries => 0.0,
            Rows::EntriesAndNone => {
                let mut with_none = p.clone();
                with_none.push(logits[self.entries]);
                crate::exact::softmax(&mut with_none);
                with_none[p.len()]
            }
        };
        // exact's softmax: the browser and the command line give the same probabilities.
        crate::exact::softmax(&mut p);
        (p, none)
    }

    pub fn entries(&self) -> usize {
        self.entries
    }

    /// What the head holds, and so how its stored form is read back.
    pub fn rows(&self) -> Rows {
        if self.bias.len() > self.entries {
            Rows::EntriesAndNone
        } else {
            Rows::Entries
        }
    }

    /// The stored form: the bias (f32 each), then the weight rows as [`Vectors::to_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.bias.iter().flat_map(|b| b.to_le_bytes()).collect();
        out.extend(self.weights.to_bytes());
        out
    }

    /// Reads what [`Head::to_bytes`] wrote for `entries` entries of dimension `dim` with
    /// `rows`, refusing any other size and any value that is not a finite number (every score
    /// would be NaN).
    pub fn from_bytes(
        bytes: &[u8],
        entries: usize,
        dim: usize,
        rows: Rows,
    ) -> Result<Head, HeadError> {
        let count = match rows {
            Rows::Entries => Some(entries),
            Rows::EntriesAndNone => entries.checked_add(1),
        };
        let expected =
            count.and_then(|c| c.checked_mul(4)?.checked_add(Vectors::stored_len(c, dim)?));
        let (bias, rest) = match (expected, count) {
            (Some(n), Some(c)) if n == bytes.len() => bytes.split_at(c * 4),
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
        let weights = Vectors::from_bytes(rest, bias.len(), dim).expect("length checked above");
        if !bias.iter().all(|b| b.is_finite()) || !weights.scales_finite() {
            return Err(HeadError::NotFinite);
        }
        Ok(Head {
            weights,
            bias,
            entries,
        })
    }
}

/// Multinomial logistic regression by minibatch AdamW over the entries and "none of them":
/// returns the weights ((entries + 1) x dim, row major) and biases, with the phrasings' mean
/// folded into the bias.
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
    let classes = entries + 1;
    let dev = Device::Cpu;
    let mut mean = vec![0f32; dim];
    let mut data: Vec<Vec<f32>> = rows.iter().map(|&i| vectors.row(i)).collect();
    for r in &data {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += v / n.max(1) as f32;
        }
    }
    let mut rng = SEED;
    let jittered: Vec<Vec<f32>> = data.iter().map(|r| jitter(r, &mut rng)).collect();
    data.extend(jittered);
    // Centred: the bias then starts where the data is, and the steps go further.
    let centred: Vec<f32> = data
        .iter()
        .flat_map(|r| r.iter().zip(&mean).map(|(v, m)| v - m))
        .collect();
    let mut count = vec![0usize; classes];
    for &i in rows {
        count[labels[i] as usize] += 1;
    }
    count[entries] = n;
    let y: Vec<usize> = rows
        .iter()
        .map(|&i| labels[i] as usize)
        .chain(std::iter::repeat_n(entries, n))
        .collect();
    let sample_weight: Vec<f32> = y.iter().map(|&l| 1.0 / count[l] as f32).collect();
    let total_rows = y.len();
    let x = Tensor::from_vec(centred, (total_rows, dim), &dev)?;

    let mut w = Adam::new(classes * dim);
    let mut b = Adam::new(classes);
    // Entries with no phrasing here: a bias far below every other, so they never win.
    let absent: Vec<f32> = count
        .iter()
        .map(|&c| if c == 0 { -1e4 } else { 0.0 })
        .collect();
    let batches = total_rows.div_ceil(BATCH).max(1);
    let steps = if n == 0 {
        0
    } else {
        (EPOCHS * batches).max(MIN_STEPS)
    };
    let mut order: Vec<u32> = (0..total_rows as u32).collect();
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
            let wt = Tensor::from_slice(&w.value, (classes, dim), &dev)?;
            let logits: Vec<f32> = xb.matmul(&wt.t()?)?.flatten_all()?.to_vec1()?;
            // d loss / d logits: (softmax - one-hot), each phrasing by its weight.
            let total: f32 = chunk.iter().map(|&i| sample_weight[i as usize]).sum();
            let mut grad = vec![0f32; chunk.len() * classes];
            let mut grad_b = vec![0f32; classes];
            for (r, &i) in chunk.iter().enumerate() {
                let row = &logits[r * classes..(r + 1) * classes];
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
                    grad[r * classes + k] = g;
                    grad_b[k] += g;
                }
            }
            let g = Tensor::from_vec(grad, (chunk.len(), classes), &dev)?;
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

/// `v` plus noise of length about [`NONE_NOISE`], back to unit length: an example of "none of
/// them". Uniform per dimension rather than Gaussian: in hundreds of dimensions the noise's
/// length and direction come out the same, and integers and products give the same bits on
/// every machine, which a logarithm and a cosine from the platform's library need not.
fn jitter(v: &[f32], state: &mut u64) -> Vec<f32> {
    // Uniform on [-a, a] has variance a²/3; `dim` of them sum to NONE_NOISE² in square.
    let a = NONE_NOISE * (3.0 / v.len().max(1) as f32).sqrt();
    let mut out: Vec<f32> = v
        .iter()
        .map(|x| {
            let u = (next(state) >> 40) as f32 / (1u64 << 24) as f32;
            x + a * (2.0 * u - 1.0)
        })
        .collect();
    let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|x| *x /= norm);
    }
    out
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
        let j = (next(state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

/// xorshift64's next state.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
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
            let (p, none) = head.probabilities(&v.row(i), 0..3);
            let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(best, l as usize, "row {i}: {p:?}");
            assert!(none > 0.0 && none < p[best], "row {i}: {none} vs {p:?}");
        }
        let (p, _) = head.probabilities(&v.row(0), 0..3);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p[0] > 0.5, "{p:?}");
    }

    #[test]
    fn training_is_deterministic_and_round_trips() {
        let (v, labels) = data();
        let a = Head::train(&v, &labels, None, 3);
        let b = Head::train(&v, &labels, None, 3);
        assert_eq!(a.to_bytes(), b.to_bytes());
        assert_eq!(a.rows(), Rows::EntriesAndNone);
        assert_eq!(
            Head::from_bytes(&a.to_bytes(), 3, 16, Rows::EntriesAndNone).unwrap(),
            a
        );
    }

    #[test]
    fn a_head_stored_before_the_none_row_still_reads_and_answers_the_same() {
        let (v, labels) = data();
        let head = Head::train(&v, &labels, None, 3);
        // The same head without its last row, stored as bundles 2 to 4 store one.
        let bytes = head.to_bytes();
        let (bias, rest) = bytes.split_at(4 * 4);
        let (scales, codes) = rest.split_at(4 * 4);
        let older: Vec<u8> = [&bias[..12], &scales[..12], &codes[..3 * 16]].concat();
        let older = Head::from_bytes(&older, 3, 16, Rows::Entries).unwrap();
        assert_eq!(older.rows(), Rows::Entries);
        for i in 0..labels.len() {
            let (p, none) = older.probabilities(&v.row(i), 0..3);
            assert_eq!(none, 0.0);
            assert_eq!(p, head.probabilities(&v.row(i), 0..3).0);
        }
    }

    #[test]
    fn questions_off_the_phrasings_leave_more_to_none() {
        let (v, labels) = data();
        let head = Head::train(&v, &labels, None, 3);
        let none = |q: &[f32]| head.probabilities(q, 0..3).1;
        let mut state = 7;
        let (mut on, mut off) = (0.0, 0.0);
        for i in 0..labels.len() {
            on += none(&v.row(i));
            off += none(&jitter(&v.row(i), &mut state));
        }
        assert!(off > on, "{off} vs {on}");
    }

    #[test]
    fn an_entry_without_phrasings_never_wins() {
        let (v, labels) = data();
        let include: Vec<bool> = labels.iter().map(|&l| l != 2).collect();
        let head = Head::train(&v, &labels, Some(&include), 3);
        for i in 0..labels.len() {
            let (p, _) = head.probabilities(&v.row(i), 0..3);
            assert!(p[2] < p[0] && p[2] < p[1], "{p:?}");
        }
    }

    #[test]
    fn wrong_sizes_and_non_finite_values_are_refused() {
        let (v, labels) = data();
        let bytes = Head::train(&v, &labels, None, 3).to_bytes();
        let none = Rows::EntriesAndNone;
        assert!(matches!(
            Head::from_bytes(&bytes[1..], 3, 16, none),
            Err(HeadError::Size { .. })
        ));
        assert!(matches!(
            Head::from_bytes(&bytes, 4, 16, none),
            Err(HeadError::Size { .. })
        ));
        // The same bytes read as an older head's: one row too many.
        assert!(matches!(
            Head::from_bytes(&bytes, 3, 16, Rows::Entries),
            Err(HeadError::Size { .. })
        ));
        assert!(Head::from_bytes(&bytes, usize::MAX / 2, 16, none).is_err());
        assert!(Head::from_bytes(&bytes, usize::MAX, 16, none).is_err());
        let mut nan = bytes.clone();
        nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(
            Head::from_bytes(&nan, 3, 16, none),
            Err(HeadError::NotFinite)
        );
        let mut inf_scale = bytes;
        inf_scale[16..20].copy_from_slice(&f32::INFINITY.to_le_bytes());
        assert_eq!(
            Head::from_bytes(&inf_scale, 3, 16, none),
            Err(HeadError::NotFinite)
        );
    }
}
