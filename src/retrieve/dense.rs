//! Dense similarity: the phrasings' sentence embeddings, stored as int8 rows with one scale
//! each (a quarter of f32; cosine error about 1e-3, far below the gaps the policy decides on).
//! A question's similarities are `exact`'s fixed-order sums, so the browser and the command
//! line score alike; it never decides anything from them.

use candle_core::{Device, Tensor};

use crate::exact;
use crate::model::quant;

/// Unit-length vectors, one per phrasing, compressed.
#[derive(Debug, Clone, PartialEq)]
pub struct Vectors {
    dim: usize,
    scales: Vec<f32>,
    codes: Vec<i8>,
}

impl Vectors {
    /// Compresses `rows`, each `dim` long.
    pub fn quantise(rows: &[Vec<f32>], dim: usize) -> Vectors {
        let flat: Vec<f32> = rows
            .iter()
            .inspect(|r| assert_eq!(r.len(), dim, "every vector has the model's dimension"))
            .flatten()
            .copied()
            .collect();
        Vectors::from_bytes(&quant::q8_rows(&flat, dim.max(1)), rows.len(), dim)
            .expect("q8_rows writes the length it reads")
    }

    /// The stored form: row scales, then codes (see [`quant::q8_rows`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.scales.iter().flat_map(|s| s.to_le_bytes()).collect();
        out.extend(self.codes.iter().map(|&c| c as u8));
        out
    }

    /// None when `bytes` is not the size `rows` x `dim` needs.
    pub fn from_bytes(bytes: &[u8], rows: usize, dim: usize) -> Option<Vectors> {
        if Vectors::stored_len(rows, dim) != Some(bytes.len()) {
            return None;
        }
        let (scales, codes) = quant::split_q8_rows(bytes, rows);
        Some(Vectors { dim, scales, codes })
    }

    /// Bytes [`Vectors::to_bytes`] writes for `rows` x `dim`; None when that overflows.
    pub fn stored_len(rows: usize, dim: usize) -> Option<usize> {
        rows.checked_mul(dim.checked_add(4)?)
    }

    /// Whether every row scale is a finite number (a stored file may say otherwise).
    pub fn scales_finite(&self) -> bool {
        self.scales.iter().all(|s| s.is_finite())
    }

    pub fn len(&self) -> usize {
        self.scales.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Cosine similarity of `query` (unit length) with every row.
    pub fn similarities(&self, query: &[f32]) -> Vec<f32> {
        assert_eq!(query.len(), self.dim, "query has the model's dimension");
        self.codes
            .chunks_exact(self.dim)
            .zip(&self.scales)
            .map(|(row, scale)| exact::dot_codes(row, query) * scale)
            .collect()
    }

    /// Every row decompressed once, to score many questions at a time.
    pub fn batch(&self) -> Batch {
        let rows: Vec<f32> = (0..self.len()).flat_map(|i| self.row(i)).collect();
        Batch {
            rows: Tensor::from_vec(rows, (self.len(), self.dim), &Device::Cpu)
                .expect("rows x dim values"),
            dim: self.dim,
        }
    }

    /// Row `i`, decompressed.
    pub fn row(&self, i: usize) -> Vec<f32> {
        let s = self.scales[i];
        self.codes[i * self.dim..(i + 1) * self.dim]
            .iter()
            .map(|&c| c as f32 * s)
            .collect()
    }
}

/// The rows of [`Vectors`] as one matrix: similarities for many questions in one product
/// (calibration and the linter ask every phrasing; one question at a time was most of their
/// time). The same cosines as [`Vectors::similarities`] but for rounding in the last place:
/// for simulations, never for answering visitors.
pub struct Batch {
    rows: Tensor,
    dim: usize,
}

impl Batch {
    /// For each of `queries` (unit length, the model's dimension), its cosine with every row.
    pub fn similarities(&self, queries: &[Vec<f32>]) -> Vec<Vec<f32>> {
        if queries.is_empty() {
            return Vec::new();
        }
        let flat: Vec<f32> = queries
            .iter()
            .inspect(|q| assert_eq!(q.len(), self.dim, "query has the model's dimension"))
            .flatten()
            .copied()
            .collect();
        let q = Tensor::from_vec(flat, (queries.len(), self.dim), &Device::Cpu)
            .expect("queries x dim values");
        q.matmul(&self.rows.t().expect("2-D"))
            .and_then(|m| m.to_vec2())
            .expect("CPU product of checked shapes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn compressed_similarities_stay_within_a_thousandth() {
        let rows: Vec<Vec<f32>> = (0..20)
            .map(|i| {
                unit(
                    &(0..64)
                        .map(|j| ((i * 7 + j * 3) % 11) as f32 - 5.0)
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let v = Vectors::quantise(&rows, 64);
        let back = Vectors::from_bytes(&v.to_bytes(), 20, 64).unwrap();
        assert_eq!(back, v);
        for (i, q) in rows.iter().enumerate() {
            let sims = v.similarities(q);
            for (j, r) in rows.iter().enumerate() {
                let exact: f32 = q.iter().zip(r).map(|(a, b)| a * b).sum();
                assert!(
                    (sims[j] - exact).abs() < 1e-2,
                    "{i},{j}: {} vs {exact}",
                    sims[j]
                );
            }
            assert!((sims[i] - 1.0).abs() < 5e-3);
        }
        assert!(Vectors::from_bytes(&v.to_bytes()[1..], 20, 64).is_none());
        let batch = v.batch().similarities(&rows[..3]);
        for (q, got) in rows.iter().zip(&batch) {
            for (a, b) in v.similarities(q).iter().zip(got) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
    }
}
