//! The browser surface: two wasm-bindgen classes (Encoder, Knowledge), bytes in, plain values
//! out. It owns nothing but the translation between JavaScript and [`crate::model`] and
//! [`crate::kb`]; fetching, caching and messaging live in the worker, never here.

use wasm_bindgen::prelude::*;

use crate::model::{self, ModelFiles};
use crate::{dialog, escalate, kb};

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

/// A knowledge-base bundle, checked against the encoder that will embed its questions.
#[wasm_bindgen]
pub struct Knowledge {
    inner: kb::Bundle,
    /// Unanswered questions in a row, for offering a person unasked.
    misses: dialog::Misses,
}

#[wasm_bindgen]
impl Knowledge {
    /// Loads a bundle (`ayuda build`); refuses one built with a model other than `encoder`'s.
    #[wasm_bindgen(constructor)]
    pub fn new(bundle: &[u8], encoder: &Encoder) -> Result<Knowledge, JsError> {
        let inner = kb::Bundle::from_bytes(bundle)?;
        inner.check_model(&encoder.inner)?;
        let misses = dialog::Misses::new(inner.contact().misses_before_offer);
        Ok(Knowledge { inner, misses })
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

    /// A bundle for the early tier alone: answers from a question's words while the model is
    /// still downloading (see `retrieve::early`). Refuses a bundle from before the early tier.
    #[wasm_bindgen(js_name = wordsOnly)]
    pub fn words_only(bundle: &[u8]) -> Result<Knowledge, JsError> {
        let inner = kb::Bundle::from_bytes(bundle)?;
        if inner.early().is_none() {
            return Err(JsError::new(
                "the knowledge base was built before the early tier: rebuild it with `ayuda build`",
            ));
        }
        let misses = dialog::Misses::new(inner.contact().misses_before_offer);
        Ok(Knowledge { inner, misses })
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
        Ok(self.turn_json(text, &outcome, "full"))
    }

    /// A turn answered by the early tier, from the words alone, while the model downloads: as
    /// `turn`, with "tier": "early". A question it cannot answer is not counted as a miss: the
    /// model will be asked.
    #[wasm_bindgen(js_name = turnEarly)]
    pub fn turn_early(&mut self, text: &str, lang: Option<String>) -> String {
        let outcome = self
            .inner
            .decide_early(text, lang.as_deref())
            .map_or(crate::retrieve::Outcome::Escalate, |(_, outcome)| outcome);
        self.turn_json(text, &outcome, "early")
    }

    fn turn_json(&mut self, text: &str, outcome: &crate::retrieve::Outcome, tier: &str) -> String {
        let signals = self.inner.contact().triggers.detect(text);
        let answered = matches!(outcome, crate::retrieve::Outcome::Answer(_));
        let offer_person = if tier == "full" || answered {
            self.misses.record(answered)
        } else {
            false
        };
        serde_json::json!({
            "reply": self.inner.reply(outcome),
            "signals": {"wantsPerson": signals.wants_person, "urgent": signals.urgent},
            "offerPerson": offer_person,
            "tier": tier,
        })
        .to_string()
    }

    /// The way to a person at `now_ms` (the page's clock, milliseconds since the epoch), as
    /// JSON (see `escalate::Offer`): the lane, phones, next opening, where messages go.
    pub fn contact(&self, now_ms: f64, urgent: bool) -> Result<String, JsError> {
        offer_json(self.inner.contact(), now_ms, urgent)
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

/// The way to a person (as `Knowledge::contact`) from a bundle's bytes alone: the contact
/// settings need no model, so a visitor asking for a person never waits for its download.
/// The file name of the packed model a bundle was built with (`ayuda build` records it), so a
/// page that names no model loads the right one. An error when the bundle does not read or
/// predates the record.
#[wasm_bindgen(js_name = bundleModelFile)]
pub fn bundle_model_file(bundle: &[u8]) -> Result<String, JsError> {
    kb::Bundle::from_bytes(bundle)?
        .model_file()
        .map(str::to_string)
        .ok_or_else(|| {
            JsError::new("the knowledge base does not name its model: rebuild it with `ayuda build`, or give the page the model's URL")
        })
}

#[wasm_bindgen(js_name = contactOffer)]
pub fn contact_offer(bundle: &[u8], now_ms: f64, urgent: bool) -> Result<String, JsError> {
    offer_json(kb::Bundle::from_bytes(bundle)?.contact(), now_ms, urgent)
}

fn offer_json(contact: &escalate::Contact, now_ms: f64, urgent: bool) -> Result<String, JsError> {
    let now = jiff::Timestamp::from_millisecond(now_ms as i64)?;
    Ok(serde_json::to_string(&contact.offer(now, urgent))?)
}

/// Checks the escalation form (a `escalate::Draft` as JSON) and, when valid, gives back exactly
/// what will be sent: {"ok": true, "message": {...}, "body": "JSON text", "form": [[name,
/// value], ...]}; otherwise {"ok": false, "problems": [{"field", "code", "limit"?}, ...]}.
#[wasm_bindgen(js_name = prepareMessage)]
pub fn prepare_message(draft: &str) -> Result<String, JsError> {
    let draft: escalate::Draft = serde_json::from_str(draft)?;
    let value = match draft.prepare() {
        Ok(message) => serde_json::json!({
            "ok": true,
            "body": serde_json::to_string(&message)?,
            "form": message.form_fields(),
            "message": message,
        }),
        Err(escalate::Invalid(problems)) => serde_json::json!({
            "ok": false,
            "problems": problems.iter().map(|p| {
                let mut v = serde_json::to_value(p).expect("problems serialise");
                v["field"] = p.field().into();
                v
            }).collect::<Vec<_>>(),
        }),
    };
    Ok(value.to_string())
}
