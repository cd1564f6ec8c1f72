//! The knowledge base: owns the FAQ entry (what the owner wrote: phrasings, answer, link,
//! flags) and reading the owner's existing content into entries. It never does IO: sources
//! arrive as a file name and its bytes, and errors name that file and the line.
//!
//! Flow: source bytes -> [`sources::read`] -> entries per file -> [`merge`] -> one list, where
//! rows sharing an id are phrasings of one entry -> [`Bundle::build`] (embeddings, index,
//! calibrated policy) -> bundle file -> [`Bundle::ask`].

mod bundle;
mod entry;
pub mod lint;
mod model_choice;
#[cfg(not(target_arch = "wasm32"))]
pub mod sources;
mod turn;

pub use bundle::{
    embed_phrasings, AskError, BuildError, BuildOptions, Bundle, BundleError, Hit, Reply, Stage,
    FORMAT_VERSION,
};
pub use entry::{
    is_language_code, merge, merge_reporting, not_a_language_code, Entry, Origin, SourceError,
};
pub use model_choice::{choose_model, ModelKind};
pub use turn::{Conversation, Tier, Turn, TurnSignals};
