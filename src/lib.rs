//! ayuda: a customer-service assistant that answers from a business's own FAQ inside the
//! visitor's browser. See ARCHITECTURE.md for the map, the data flow and the invariants.
//!
//! Core concepts, one module each:
//! - [`model`]: text in, the sentence embedding sentence-transformers would give out; the packed
//!   model file format. Pure: bytes in, vectors out, no IO.
//! - [`kb`]: the owner's FAQ entries, the sources they are read from, the linter and the
//!   compiled bundle.
//! - [`retrieve`]: finding the entries a question is about and the answer policy.
//! - [`dialog`]: what the visitor's words ask of the conversation (a person, urgency).
//! - [`escalate`]: the message a visitor sends to a person, its checks and its delivery.
//! - `web` (wasm32 only): the wasm-bindgen surface the browser worker calls for the model; the
//!   early tier's surface is the `ayuda-early` crate (early/), this library without `web`.
//! - `exact`: float sums, dot products and `exp` with the same bits on every target.
//! - [`said`]: a message for the owner in English and Spanish; the caller picks which.
//! - `native` (native only): the filesystem edge that reads model directories and files.
//!
//! Flow: model directory -> `ayuda model pack` -> packed file; FAQ sources -> `ayuda build`
//! -> bundle; in the worker, question -> [`model::Encoder`] -> [`kb::Bundle::decide`] -> reply.

mod container;
pub mod dialog;
pub mod escalate;
pub(crate) mod exact;
pub mod kb;
pub mod model;
pub mod retrieve;
pub mod said;
mod text;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;

#[cfg(all(target_arch = "wasm32", feature = "web"))]
pub mod web;
