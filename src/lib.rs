//! ayuda: a customer-service assistant that answers from a business's own FAQ inside the
//! visitor's browser. See ARCHITECTURE.md for the map, the data flow and the invariants.
//!
//! Core concepts, one module each:
//! - [`model`]: text in, the sentence embedding sentence-transformers would give out; the packed
//!   model file format. Pure: bytes in, vectors out, no IO.
//! - `web` (wasm32 only): the wasm-bindgen surface the browser worker calls.
//! - `native` (native only): the filesystem edge that reads model directories and files.
//!
//! Flow so far: model directory -> `ayuda model pack` -> packed file -> worker -> [`model::Encoder`].

pub mod kb;
pub mod model;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;

#[cfg(target_arch = "wasm32")]
pub mod web;
