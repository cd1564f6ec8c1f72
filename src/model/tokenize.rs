//! Text to token ids, exactly as the model's own tokenizer.json does it, but with
//! sentence-transformers' window instead of whatever padding the file was saved with.

use super::{Error, Result};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

pub(crate) struct TextTokenizer {
    inner: Tokenizer,
    max_len: usize,
}

/// Bytes of a long text tokenised first; the prefix grows fourfold until it fills the window.
const FIRST_PREFIX: usize = 4096;

impl TextTokenizer {
    pub(crate) fn new(json: &[u8], max_len: usize) -> Result<Self> {
        let mut inner = Tokenizer::from_bytes(json).map_err(|e| Error::Tokenizer(e.to_string()))?;
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
        Ok(TextTokenizer { inner, max_len })
    }

    /// Token ids of one text, special tokens included, cut to the window.
    ///
    /// A pasted page of text would be tokenised whole only to keep the first 256 tokens, so
    /// long texts are tokenised by growing prefixes, each cut at ASCII whitespace. BERT's
    /// pre-tokeniser splits at whitespace, so a prefix's tokens begin the whole text's tokens:
    /// once a prefix fills the window, the rest of the text cannot change the result.
    pub(crate) fn ids(&self, text: &str) -> Result<Vec<u32>> {
        let mut want = FIRST_PREFIX;
        while want < text.len() {
            let Some(cut) = text.as_bytes()[want..]
                .iter()
                .position(u8::is_ascii_whitespace)
            else {
                break;
            };
            let ids = self.encode(&text[..want + cut])?;
            if ids.len() >= self.max_len {
                return Ok(ids);
            }
            want *= 4;
        }
        self.encode(text)
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode_fast(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        // A tokenizer without special tokens gives nothing for the empty text, and a mean over
        // no tokens is NaN (a trap in wasm): refused as a broken tokenizer instead.
        if enc.get_ids().is_empty() {
            return Err(Error::Tokenizer(
                "the text gave no tokens at all (a tokenizer without [CLS]/[SEP] special tokens?)"
                    .into(),
            ));
        }
        Ok(enc.get_ids().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokenizer of the model models/fetch.sh downloads (make test fetches it first).
    fn tokenizer(max_len: usize) -> TextTokenizer {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/all-MiniLM-L6-v2/tokenizer.json"
        );
        let json = std::fs::read(path).expect("run models/fetch.sh first");
        TextTokenizer::new(&json, max_len).unwrap()
    }

    #[test]
    fn long_texts_give_the_same_ids_as_tokenising_them_whole() {
        let t = tokenizer(256);
        let words = [
            "refund",
            "¿dónde",
            "está",
            "mi",
            "pedido?",
            "card,",
            "declined!",
            "naïve",
            "😀",
            "x",
        ];
        let mut text = String::new();
        for i in 0..40_000 {
            text.push_str(words[i * 7 % words.len()]);
            text.push(if i % 11 == 0 { '\n' } else { ' ' });
        }
        let whole = t
            .inner
            .encode_fast(text.as_str(), true)
            .unwrap()
            .get_ids()
            .to_vec();
        assert_eq!(t.ids(&text).unwrap(), whole);
        assert_eq!(whole.len(), 256);
        // A text that is one long word, then ordinary ones: no early cut fills the window.
        let odd = format!("{} {}", "a".repeat(10_000), "where is my card ".repeat(400));
        let whole = t
            .inner
            .encode_fast(odd.as_str(), true)
            .unwrap()
            .get_ids()
            .to_vec();
        assert_eq!(t.ids(&odd).unwrap(), whole);
    }

    #[test]
    fn short_texts_are_tokenised_whole() {
        let t = tokenizer(256);
        assert_eq!(t.ids("").unwrap().len(), 2);
        assert_eq!(t.ids("hello world").unwrap().len(), 4);
    }
}
