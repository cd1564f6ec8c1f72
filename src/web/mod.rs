//! The model's browser surface: two wasm-bindgen classes (Encoder, Knowledge), bytes in, plain
//! values out. It owns nothing but the translation between JavaScript and [`crate::model`] and
//! [`crate::kb`]; fetching, caching and messaging live in the worker, never here. What the chat
//! needs before the model arrives (the early tier, the way to a person, the message check) is
//! the early module's (early/), loaded first and a quarter of this one's size.

use wasm_bindgen::prelude::*;

use crate::kb::{self, Conversation, Tier};
use crate::model::{self, ModelFiles};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Which products this module runs ("relaxed-simd" or "simd128"), for the worker's report.
#[wasm_bindgen]
pub fn kernels() -> String {
    model::KERNELS.to_string()
}

/// False when this engine's relaxed dot product does not give the exact integers the kernels
/// need (the worker then loads the simd128 module; see `model::kernels_exact`).
#[wasm_bindgen(js_name = kernelsExact)]
pub fn kernels_exact() -> bool {
    model::kernels_exact()
}

/// Picks this module's int8 kernel ("fastest": timed here; "bytes" or "wide": forced) and
/// returns the one in use (see `model::tune_kernels`); `now` is `performance.now`.
#[wasm_bindgen(js_name = tuneKernels)]
pub fn tune_kernels(choice: &str, now: &js_sys::Function) -> Result<String, JsError> {
    let choice = match choice {
        "fastest" => model::Int8Kernel::Fastest,
        "bytes" => model::Int8Kernel::Bytes,
        "wide" => model::Int8Kernel::Wide,
        other => return Err(JsError::new(&format!("unknown kernel choice {other:?}"))),
    };
    let clock = || {
        now.call0(&JsValue::NULL)
            .ok()
            .and_then(|t| t.as_f64())
            .unwrap_or(0.0)
    };
    Ok(model::tune_kernels(choice, clock).to_string())
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

/// A knowledge-base bundle, checked against the encoder that will embed its questions.
#[wasm_bindgen]
pub struct Knowledge {
    inner: kb::Bundle,
    conversation: Conversation,
}

#[wasm_bindgen]
impl Knowledge {
    /// Loads a bundle (`ayuda build`); refuses one built with a model other than `encoder`'s.
    #[wasm_bindgen(constructor)]
    pub fn new(bundle: &[u8], encoder: &Encoder) -> Result<Knowledge, JsError> {
        let inner = kb::Bundle::from_bytes(bundle)?;
        inner.check_model(&encoder.inner)?;
        let conversation = Conversation::new(&inner);
        Ok(Knowledge {
            inner,
            conversation,
        })
    }

    /// The reply to `text` as JSON: {"outcome": "answer", "entry": {...}}, {"outcome":
    /// "suggest", "entries": [...]} or {"outcome": "escalate"} (see `kb::Reply`).
    /// With `lang` (the visitor's BCP 47 tag), only entries in that language or in none are
    /// considered, when the knowledge base has any in it.
    pub fn ask(
        &self,
        encoder: &Encoder,
        text: &str,
        lang: Option<String>,
    ) -> Result<String, JsError> {
        let outcome = self.inner.ask(&encoder.inner, text, lang.as_deref())?;
        Ok(serde_json::to_string(&self.inner.reply(&outcome))?)
    }

    /// One visitor turn, as JSON: {"reply": (as `ask`), "signals": {"wantsPerson", "urgent"},
    /// "offerPerson": bool, "tier": "full"}. Signals use the owner's urgent words too;
    /// `offerPerson` is true on the turn that reaches the owner's number of unanswered
    /// questions in a row.
    pub fn turn(
        &mut self,
        encoder: &Encoder,
        text: &str,
        lang: Option<String>,
    ) -> Result<String, JsError> {
        let outcome = self.inner.ask(&encoder.inner, text, lang.as_deref())?;
        let turn = self
            .conversation
            .turn(&self.inner, text, &outcome, Tier::Full);
        Ok(serde_json::to_string(&turn)?)
    }

    /// The way to a person at `now_ms` (the page's clock, milliseconds since the epoch), as
    /// JSON (see `escalate::Offer`): the lane, phones, next opening, where messages go.
    pub fn contact(&self, now_ms: f64, urgent: bool) -> Result<String, JsError> {
        let now = jiff::Timestamp::from_millisecond(now_ms as i64)?;
        Ok(serde_json::to_string(
            &self.inner.contact().offer(now, urgent),
        )?)
    }

    /// Number of entries.
    #[wasm_bindgen(getter)]
    pub fn entries(&self) -> usize {
        self.inner.entries().len()
    }

    #[wasm_bindgen(getter)]
    pub fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }
}
