//! The early tier's browser surface: the chat's first module, loaded before the model's. It
//! owns nothing but the translation between JavaScript and the library's model-free parts:
//! answering from a bundle's words ([`ayuda::kb::Bundle::decide_early`]), the way to a person,
//! the message check, the model a bundle names. It must never reach the encoder: that is what
//! keeps it a quarter of the model's module (link-time optimisation drops every function
//! nothing here calls). Fetching and caching live in the worker.
#![cfg(target_arch = "wasm32")]

use ayuda::kb::{self, Conversation, Tier};
use ayuda::{escalate, retrieve};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// A knowledge base answered from its words alone, while the model downloads.
#[wasm_bindgen]
pub struct Words {
    bundle: kb::Bundle,
    conversation: Conversation,
}

#[wasm_bindgen]
impl Words {
    /// Loads a bundle (`ayuda build`); refuses one from before the early tier.
    #[wasm_bindgen(constructor)]
    pub fn new(bundle: &[u8]) -> Result<Words, JsError> {
        let bundle = kb::Bundle::from_bytes(bundle)?;
        if bundle.early().is_none() {
            return Err(JsError::new(
                "the knowledge base was built before the early tier: rebuild it with `ayuda build`",
            ));
        }
        let conversation = Conversation::new(&bundle);
        Ok(Words {
            bundle,
            conversation,
        })
    }

    /// One visitor turn from the words alone, as JSON: {"reply", "signals": {"wantsPerson",
    /// "urgent"}, "offerPerson", "tier": "early"} (see `kb::Turn`). With `lang` (the visitor's
    /// BCP 47 tag), entries in that language come first, as with the model.
    pub fn turn(&mut self, text: &str, lang: Option<String>) -> Result<String, JsError> {
        let outcome = self
            .bundle
            .decide_early(text, lang.as_deref())
            .map_or(retrieve::Outcome::Escalate, |(_, outcome)| outcome);
        let turn = self
            .conversation
            .turn(&self.bundle, text, &outcome, Tier::Early);
        Ok(serde_json::to_string(&turn)?)
    }

    /// The way to a person at `now_ms` (see [`contact_offer`]).
    pub fn contact(&self, now_ms: f64, urgent: bool) -> Result<String, JsError> {
        offer_json(self.bundle.contact(), now_ms, urgent)
    }

    /// Number of entries.
    #[wasm_bindgen(getter)]
    pub fn entries(&self) -> usize {
        self.bundle.entries().len()
    }
}

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

/// The way to a person at `now_ms` (the page's clock, milliseconds since the epoch) from a
/// bundle's bytes alone, as JSON (see `escalate::Offer`): the lane, phones, next opening, where
/// messages go. The contact settings need no model, so a visitor asking for a person never
/// waits for its download.
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
