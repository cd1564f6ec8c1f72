//! A weight tensor as the model file stores it: f32, or compressed codes that are decoded only
//! where the forward pass needs f32.

use candle_core::{Device, Tensor};

use super::{quant, Error, Result};

pub(crate) enum Weight {
    F32(Tensor),
    /// int8 codes with one scale per row of `[rows, cols]`.
    Q8 {
        rows: usize,
        cols: usize,
        codes: Vec<i8>,
        scales: Vec<f32>,
    },
    /// int4 codes in groups of [`quant::Q4_GROUP`], laid out as [`quant::q4_groups`] writes them.
    Q4 {
        dims: Vec<usize>,
        bytes: Vec<u8>,
    },
}

impl Weight {
    pub(crate) fn dims(&self) -> Vec<usize> {
        match self {
            Weight::F32(t) => t.dims().to_vec(),
            Weight::Q8 { rows, cols, .. } => vec![*rows, *cols],
            Weight::Q4 { dims, .. } => dims.clone(),
        }
    }

    /// The whole tensor in f32.
    pub(crate) fn to_f32(&self) -> Result<Tensor> {
        Ok(match self {
            Weight::F32(t) => t.clone(),
            Weight::Q8 {
                rows,
                cols,
                codes,
                scales,
            } => {
                let mut v = Vec::with_capacity(rows * cols);
                for (row, scale) in codes.chunks_exact(*cols).zip(scales) {
                    v.extend(row.iter().map(|&c| c as f32 * scale));
                }
                Tensor::from_vec(v, (*rows, *cols), &Device::Cpu)?
            }
            Weight::Q4 { dims, bytes } => {
                let n = dims.iter().product();
                Tensor::from_vec(quant::dq4_groups(bytes, n), dims.as_slice(), &Device::Cpu)?
            }
        })
    }

    /// This weight's `(rows, cols)`, when it is a 2-D table holding every row in `ids`; `what`
    /// names an id in the error ("token id", "row").
    fn table_for(&self, ids: &[u32], what: &str) -> Result<(usize, usize)> {
        let dims = self.dims();
        let [rows, cols] = dims[..] else {
            return Err(Error::Weights(format!("a table must be 2-D, not {dims:?}")));
        };
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= rows) {
            return Err(Error::Weights(format!(
                "{what} {bad} is outside the {rows}-row table"
            )));
        }
        Ok((rows, cols))
    }

    /// A 2-D table cut down to rows `keep` (in that order), staying in its encoding: how a
    /// trimmed vocabulary keeps its words' embeddings.
    pub(crate) fn select_rows(self, keep: &[u32]) -> Result<Weight> {
        let (rows, cols) = self.table_for(keep, "row")?;
        Ok(match self {
            Weight::Q4 { bytes, .. } if cols % quant::Q4_GROUP == 0 => Weight::Q4 {
                dims: vec![keep.len(), cols],
                bytes: quant::q4_select_rows(&bytes, rows, cols, keep),
            },
            other => {
                let t = other.to_f32()?;
                let idx = Tensor::from_slice(keep, keep.len(), &Device::Cpu)?;
                Weight::F32(t.index_select(&idx, 0)?)
            }
        })
    }

    /// This weight as a table [`Weight::rows`] can read a row at a time: int4 tables whose rows
    /// do not fill whole groups are decoded here, once, instead of on every lookup.
    pub(crate) fn into_row_table(self) -> Result<Weight> {
        Ok(match self {
            Weight::Q4 { ref dims, .. } if dims.len() != 2 || dims[1] % quant::Q4_GROUP != 0 => {
                Weight::F32(self.to_f32()?)
            }
            other => other,
        })
    }

    /// Rows `ids` of a 2-D table (see [`Weight::into_row_table`]), in f32: `[ids.len(), cols]`.
    pub(crate) fn rows(&self, ids: &[u32]) -> Result<Tensor> {
        let (rows, cols) = self.table_for(ids, "token id")?;
        let values: Vec<f32> = match self {
            Weight::F32(t) => {
                let idx = Tensor::from_slice(ids, ids.len(), &Device::Cpu)?;
                return Ok(t.index_select(&idx, 0)?);
            }
            Weight::Q8 { codes, scales, .. } => ids
                .iter()
                .flat_map(|&id| {
                    let (r, s) = (id as usize, scales[id as usize]);
                    codes[r * cols..(r + 1) * cols]
                        .iter()
                        .map(move |&c| c as f32 * s)
                })
                .collect(),
            Weight::Q4 { .. } if cols % quant::Q4_GROUP != 0 => {
                return Err(Error::Weights(
                    "an int4 table must go through into_row_table before row lookups".into(),
                ));
            }
            Weight::Q4 { bytes, .. } => ids
                .iter()
                .flat_map(|&id| quant::dq4_row(bytes, rows, cols, id as usize))
                .collect(),
        };
        Ok(Tensor::from_vec(values, (ids.len(), cols), &Device::Cpu)?)
    }
}
