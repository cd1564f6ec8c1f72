use thiserror::Error;

use crate::said;
use crate::said::Said;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between model bytes and an embedding. Each message says what
/// was found and, where there is one, what to do about it. `Display` is the English;
/// [`Error::said`] has both languages.
#[derive(Debug, Error)]
#[error("{}", self.said().en)]
#[non_exhaustive]
pub enum Error {
    /// config.json (or a sentence-transformers settings file) does not parse or lacks a field.
    Config { file: &'static str, reason: String },

    /// The configuration names an architecture this encoder does not run.
    UnsupportedModel(String),

    /// tokenizer.json does not load.
    Tokenizer(String),

    /// The weights do not load or do not match the configuration.
    Weights(String),

    /// The bytes are not a packed model at all.
    NotPacked,

    /// The packed file is shorter than it says it is: an interrupted download or copy.
    Truncated { expected: u64, found: u64 },

    /// The packed file's checksum does not match its contents.
    Checksum { expected: u32, found: u32 },

    /// The packed file was written by a newer or much older ayuda.
    Version {
        found: u32,
        oldest: u32,
        current: u32,
    },

    /// The checksum holds but the contents are inconsistent: a bug in the writer, or a file
    /// forged to pass the checksum.
    Malformed(String),

    /// The forward pass failed.
    Inference(#[from] candle_core::Error),
}

impl Error {
    /// The error in both languages. What another library says (a configuration's parse error,
    /// the tokenizer's, the tensor library's) is kept as it said it, inside either sentence.
    pub fn said(&self) -> Said {
        match self {
            Error::Config { file, reason } => said!(
                en: "{file} is not a usable model configuration: {reason}",
                es: "{file} no es una configuración de modelo utilizable: {reason}"
            ),
            Error::UnsupportedModel(kind) => said!(
                en: "model_type \"{kind}\" is not supported: ayuda runs BERT-family encoders (model_type \"bert\")",
                es: "model_type \"{kind}\" no está admitido: ayuda usa codificadores de la familia BERT (model_type \"bert\")"
            ),
            Error::Tokenizer(why) => said!(
                en: "tokenizer.json could not be loaded: {why}",
                es: "no se ha podido cargar tokenizer.json: {why}"
            ),
            Error::Weights(why) => said!(
                en: "the model weights could not be loaded: {why}",
                es: "no se han podido cargar los pesos del modelo: {why}"
            ),
            Error::NotPacked => said!(
                en: "not an ayuda model file (it does not start with the AYUDAMDL signature); make one with `ayuda model pack MODEL_DIR -o FILE`",
                es: "no es un archivo de modelo de ayuda (no empieza por la firma AYUDAMDL); crea uno con `ayuda model pack MODEL_DIR -o FILE`"
            ),
            Error::Truncated { expected, found } => said!(
                en: "the model file is truncated ({found} bytes, expected {expected}); download or copy it again",
                es: "el archivo del modelo está incompleto ({found} bytes, se esperaban {expected}); descárgalo o cópialo de nuevo"
            ),
            Error::Checksum { expected, found } => said!(
                en: "the model file is corrupted (checksum {found:08x}, expected {expected:08x}); download or copy it again",
                es: "el archivo del modelo está dañado (suma de comprobación {found:08x}, se esperaba {expected:08x}); descárgalo o cópialo de nuevo"
            ),
            Error::Version {
                found,
                oldest,
                current,
            } => said!(
                en: "model file format version {found} is not supported: this build reads versions {oldest} to {current}; repack the model with this build (`ayuda model pack`)",
                es: "la versión {found} del formato de archivo de modelo no está admitida: esta versión de ayuda lee de la {oldest} a la {current}; vuelve a empaquetar el modelo con ella (`ayuda model pack`)"
            ),
            Error::Malformed(why) => said!(
                en: "the model file is malformed: {why}",
                es: "el archivo del modelo está mal formado: {why}"
            ),
            Error::Inference(e) => said!(
                en: "inference failed: {e}",
                es: "ha fallado la inferencia: {e}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_said_in_both_languages_with_its_english_as_before() {
        use crate::said::assert_said;
        let inference = candle_core::Error::Msg("shape mismatch".into());
        let inference_en = format!("inference failed: {inference}");
        for (err, en) in [
            (
                Error::Config {
                    file: "config.json",
                    reason: "missing field `hidden_size`".into(),
                },
                "config.json is not a usable model configuration: missing field `hidden_size`",
            ),
            (
                Error::UnsupportedModel("gpt2".into()),
                "model_type \"gpt2\" is not supported: ayuda runs BERT-family encoders (model_type \"bert\")",
            ),
            (
                Error::Tokenizer("expected value".into()),
                "tokenizer.json could not be loaded: expected value",
            ),
            (
                Error::Weights("no tensor".into()),
                "the model weights could not be loaded: no tensor",
            ),
            (
                Error::NotPacked,
                "not an ayuda model file (it does not start with the AYUDAMDL signature); make one with `ayuda model pack MODEL_DIR -o FILE`",
            ),
            (
                Error::Truncated {
                    expected: 100,
                    found: 40,
                },
                "the model file is truncated (40 bytes, expected 100); download or copy it again",
            ),
            (
                Error::Checksum {
                    expected: 0xabc,
                    found: 0x12,
                },
                "the model file is corrupted (checksum 00000012, expected 00000abc); download or copy it again",
            ),
            (
                Error::Version {
                    found: 9,
                    oldest: 1,
                    current: 2,
                },
                "model file format version 9 is not supported: this build reads versions 1 to 2; repack the model with this build (`ayuda model pack`)",
            ),
            (
                Error::Malformed("tensor out of range".into()),
                "the model file is malformed: tensor out of range",
            ),
            (Error::Inference(inference), &inference_en),
        ] {
            assert_said(&err, &err.said(), en);
        }
    }
}
