//! Text to token ids, exactly as the model's own tokenizer.json does it, but with
//! sentence-transformers' window instead of whatever padding the file was saved with.

use super::{Error, Result};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

pub(crate) struct TextTokenizer {
    inner: Tokenizer,
}

impl TextTokenizer {
    pub(crate) fn new(json: &[u8], max_len: usize) -> Result<Self> {
        let mut inner =
            Tokenizer::from_bytes(json).map_err(|e| Error::Tokenizer(e.to_string()))?;
        // tokenizer.json files are often saved padding to a fixed length (128 for
        // all-MiniLM-L6-v2): that would change the embedding of a single text and make it
        // several times slower. Padding is done per batch by the encoder instead.
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(TextTokenizer { inner })
    }

    /// Token ids of one text, special tokens included, cut to the window.
    pub(crate) fn ids(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode_fast(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }
}
