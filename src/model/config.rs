//! The model's configuration: the BERT hyper-parameters from config.json and the
//! sentence-transformers settings (window length, pooling) around them.

use super::{Error, Result};
use serde::Deserialize;

/// The BERT hyper-parameters the encoder needs, from config.json. Fields BERT checkpoints
/// sometimes leave out take the values transformers assumes.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default)]
    pub hidden_act: Activation,
    pub max_position_embeddings: usize,
    #[serde(default = "two")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: u32,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn two() -> usize {
    2
}

fn default_eps() -> f64 {
    1e-12
}

/// The feed-forward activation (config.json `hidden_act`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub(crate) enum Activation {
    /// The exact, erf-based GELU.
    #[default]
    #[serde(rename = "gelu")]
    Gelu,
    /// The tanh approximation.
    #[serde(alias = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    #[serde(rename = "relu")]
    Relu,
}

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Average of the text's token vectors (all-MiniLM-L6-v2 and most models).
    Mean,
    /// The first ([CLS]) token's vector.
    Cls,
}

/// The sentence-transformers settings an encoder needs beyond the BERT configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Tokens per text, special tokens included; longer texts are truncated, as
    /// sentence-transformers does.
    pub max_seq_length: usize,
    pub pooling: Pooling,
}

/// sentence-transformers' own default when a directory has no sentence_bert_config.json is the
/// tokenizer's limit; 256 is what the common small models ship with and what their
/// embeddings were trained for.
const DEFAULT_MAX_SEQ_LENGTH: usize = 256;

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

/// Parses config.json, refusing other architectures by name rather than failing later on a
/// missing tensor.
pub(crate) fn parse_bert_config(json: &[u8]) -> Result<BertConfig> {
    let err = |e: serde_json::Error| Error::Config {
        file: "config.json",
        reason: e.to_string(),
    };
    #[derive(Deserialize)]
    struct ModelType {
        model_type: Option<String>,
    }
    let kind: ModelType = serde_json::from_slice(json).map_err(err)?;
    if let Some(t) = kind.model_type.as_deref() {
        if t != "bert" {
            return Err(Error::UnsupportedModel(t.to_string()));
        }
    }
    let config: BertConfig = serde_json::from_slice(json).map_err(err)?;
    check_bounds(&config)?;
    if let Some(p) = config.position_embedding_type.as_deref() {
        if p != "absolute" {
            return Err(Error::Config {
                file: "config.json",
                reason: format!(
                    "position_embedding_type \"{p}\" is not supported (only \"absolute\")"
                ),
            });
        }
    }
    if config.hidden_size == 0
        || config.num_attention_heads == 0
        || !config
            .hidden_size
            .is_multiple_of(config.num_attention_heads)
    {
        return Err(Error::Config {
            file: "config.json",
            reason: format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                config.hidden_size, config.num_attention_heads
            ),
        });
    }
    Ok(config)
}

/// The largest dimensions a model file may declare: far above any sentence encoder ayuda runs
/// (MiniLM: 6 layers x 384, e5-small: 12 x 384, vocabularies of 30k-250k), far below what
/// would exhaust memory before a tensor is checked. A crafted file declaring 2^31 layers is
/// refused here, before anything is allocated for it.
const LIMITS: [(&str, usize); 7] = [
    ("vocab_size", 1 << 20),
    ("hidden_size", 4096),
    ("num_hidden_layers", 64),
    ("num_attention_heads", 64),
    ("intermediate_size", 16384),
    ("max_position_embeddings", 8192),
    ("type_vocab_size", 16),
];

fn check_bounds(config: &BertConfig) -> Result<()> {
    let values = [
        config.vocab_size,
        config.hidden_size,
        config.num_hidden_layers,
        config.num_attention_heads,
        config.intermediate_size,
        config.max_position_embeddings,
        config.type_vocab_size,
    ];
    for ((name, limit), value) in LIMITS.iter().zip(values) {
        if value == 0 || value > *limit {
            return Err(Error::Config {
                file: "config.json",
                reason: format!("{name} {value} is outside 1..={limit}: not a model ayuda can run"),
            });
        }
    }
    if !config.layer_norm_eps.is_finite() || config.layer_norm_eps <= 0.0 {
        return Err(Error::Config {
            file: "config.json",
            reason: format!(
                "layer_norm_eps {} is not a small positive number",
                config.layer_norm_eps
            ),
        });
    }
    Ok(())
}

impl Settings {
    /// Reads the optional sentence-transformers files; `max_positions` caps the window.
    pub(crate) fn parse(
        sentence_bert_config: Option<&[u8]>,
        pooling_config: Option<&[u8]>,
        max_positions: usize,
    ) -> Result<Settings> {
        let mut max_seq_length = DEFAULT_MAX_SEQ_LENGTH;
        if let Some(json) = sentence_bert_config {
            let c: SentenceBertConfig =
                serde_json::from_slice(json).map_err(|e| Error::Config {
                    file: "sentence_bert_config.json",
                    reason: e.to_string(),
                })?;
            if let Some(n) = c.max_seq_length {
                max_seq_length = n;
            }
        }
        let max_seq_length = max_seq_length.clamp(2, max_positions.max(2));
        let mut pooling = Pooling::Mean;
        if let Some(json) = pooling_config {
            let file = "1_Pooling/config.json";
            let c: PoolingConfig = serde_json::from_slice(json).map_err(|e| Error::Config {
                file,
                reason: e.to_string(),
            })?;
            pooling = match (c.pooling_mode_mean_tokens, c.pooling_mode_cls_token) {
                (true, false) => Pooling::Mean,
                (false, true) => Pooling::Cls,
                _ => {
                    return Err(Error::Config {
                        file,
                        reason: "only one of mean or CLS pooling is supported".into(),
                    })
                }
            };
            if c.pooling_mode_max_tokens || c.pooling_mode_mean_sqrt_len_tokens {
                return Err(Error::Config {
                    file,
                    reason: "max and sqrt-length pooling are not supported".into(),
                });
            }
        }
        Ok(Settings {
            max_seq_length,
            pooling,
        })
    }
}
