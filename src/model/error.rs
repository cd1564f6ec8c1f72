use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between model bytes and an embedding. Each message says what
/// was found and, where there is one, what to do about it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// config.json (or a sentence-transformers settings file) does not parse or lacks a field.
    #[error("{file} is not a usable model configuration: {reason}")]
    Config { file: &'static str, reason: String },

    /// The configuration names an architecture this encoder does not run.
    #[error("model_type \"{0}\" is not supported: ayuda runs BERT-family encoders (model_type \"bert\")")]
    UnsupportedModel(String),

    /// tokenizer.json does not load.
    #[error("tokenizer.json could not be loaded: {0}")]
    Tokenizer(String),

    /// The weights do not load or do not match the configuration.
    #[error("the model weights could not be loaded: {0}")]
    Weights(String),

    /// The bytes are not a packed model at all.
    #[error("not an ayuda model file (it does not start with the AYUDAMDL signature); make one with `ayuda model pack MODEL_DIR -o FILE`")]
    NotPacked,

    /// The packed file is shorter than it says it is: an interrupted download or copy.
    #[error("the model file is truncated ({found} bytes, expected {expected}); download or copy it again")]
    Truncated { expected: u64, found: u64 },

    /// The packed file's checksum does not match its contents.
    #[error("the model file is corrupted (checksum {found:08x}, expected {expected:08x}); download or copy it again")]
    Checksum { expected: u32, found: u32 },

    /// The packed file was written by a newer or much older ayuda.
    #[error("model file format version {found} is not supported: this build reads versions {oldest} to {current}; repack the model with this build (`ayuda model pack`)")]
    Version {
        found: u32,
        oldest: u32,
        current: u32,
    },

    /// The checksum holds but the contents are inconsistent: a bug in the writer, or a file
    /// forged to pass the checksum.
    #[error("the model file is malformed: {0}")]
    Malformed(String),

    /// The forward pass failed.
    #[error("inference failed: {0}")]
    Inference(#[from] candle_core::Error),
}
