//! The knowledge base: owns the FAQ entry (what the owner wrote: phrasings, answer, link,
//! flags) and reading the owner's existing content into entries. It never does IO: sources
//! arrive as a file name and its bytes, and errors name that file and the line.
//!
//! Flow: source bytes -> [`sources::read`] -> entries per file -> [`merge`] -> one list, where
//! rows sharing an id are phrasings of one entry. The compiled bundle, the linter and the
//! retrieval built on these entries come with the rest of issue 3.

mod entry;
#[cfg(not(target_arch = "wasm32"))]
pub mod sources;

pub use entry::{merge, Entry, Origin, SourceError};
