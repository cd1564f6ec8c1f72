//! The browser surface: one wasm-bindgen class, bytes in, plain values out. It owns nothing but
//! the translation between JavaScript and [`crate::model`]; fetching, caching and messaging
//! live in the worker (www/encoder-worker.js), never here.

use wasm_bindgen::prelude::*;

use crate::model::{self, ModelFiles};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// A loaded sentence encoder.
#[wasm_bindgen]
pub struct Encoder {
    inner: model::Encoder,
}

#[wasm_bindgen]
impl Encoder {
    /// Loads a packed model file (`ayuda model pack`).
    #[wasm_bindgen(constructor)]
    pub fn new(packed: &[u8]) -> Result<Encoder, JsError> {
        Ok(Encoder {
            inner: model::Encoder::from_packed(packed)?,
        })
    }

    /// Loads a sentence-transformers directory's files at full precision.
    #[wasm_bindgen(js_name = fromFiles)]
    pub fn from_files(
        config_json: Vec<u8>,
        tokenizer_json: Vec<u8>,
        safetensors: Vec<u8>,
        sentence_bert_config_json: Option<Vec<u8>>,
        pooling_config_json: Option<Vec<u8>>,
    ) -> Result<Encoder, JsError> {
        let files = ModelFiles {
            config_json,
            tokenizer_json,
            safetensors,
            sentence_bert_config_json,
            pooling_config_json,
        };
        Ok(Encoder {
            inner: model::Encoder::from_files(&files)?,
        })
    }

    /// The unit-length embedding of `text` (a Float32Array).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, JsError> {
        Ok(self.inner.embed(text)?.vector)
    }

    /// Tokens the model sees for `text`, special tokens included, after truncation.
    #[wasm_bindgen(js_name = countTokens)]
    pub fn count_tokens(&self, text: &str) -> Result<usize, JsError> {
        Ok(self.inner.count_tokens(text)?)
    }

    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.inner.dim()
    }

    #[wasm_bindgen(getter)]
    pub fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }
}
