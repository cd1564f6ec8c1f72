//! The BERT forward pass and pooling: token ids to one unit-length vector per text.

use candle_core::{DType, Device};

use std::collections::HashMap;

use super::bert::Bert;
use super::config::{parse_bert_config, BertConfig, Pooling, Settings};
use super::tokenize::TextTokenizer;
use super::weights::Weight;
use super::{pack, Error, ModelFiles, Result};

/// One text's sentence embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// Unit length (L2-normalised), so a dot product is the cosine similarity.
    pub vector: Vec<f32>,
    /// Tokens the model saw, special tokens included, after truncation to the window.
    pub tokens: usize,
}

/// A loaded sentence encoder. Cheap to call repeatedly; loading is the expensive part.
pub struct Encoder {
    model: Bert,
    tokenizer: TextTokenizer,
    settings: Settings,
    dim: usize,
    fingerprint: String,
    multilingual: bool,
}

/// Texts per forward pass when embedding many; larger batches stop paying off on two cores.
/// Texts are sorted by length first, so the batches, taken longest first, end together.
const BATCH: usize = 32;

/// One batch's vectors, one per text.
type BatchVectors = Vec<Vec<f32>>;

/// Each batch's vectors, in order. Natively, batches run side by side, one per core: between its
/// matrix products a forward pass is a chain of small steps (attention, norms) that one batch
/// alone runs on one core. Longest first, each core taking the next batch when done, so no core
/// waits long at the end. Each batch is computed as it would be alone: the same vectors.
#[cfg(not(target_arch = "wasm32"))]
fn batches_side_by_side(
    chunks: &[&[usize]],
    forward: impl Fn(&[usize]) -> Result<BatchVectors> + Sync,
) -> Result<Vec<BatchVectors>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let done: Vec<Mutex<Option<Result<BatchVectors>>>> =
        chunks.iter().map(|_| Mutex::new(None)).collect();
    rayon::broadcast(|_| loop {
        let taken = next.fetch_add(1, Ordering::Relaxed);
        let Some(i) = chunks.len().checked_sub(taken + 1) else {
            break;
        };
        let vectors = forward(chunks[i]);
        *done[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(vectors);
    });
    done.into_iter()
        .map(|d| {
            d.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every batch taken")
        })
        .collect()
}

/// In the browser, one thread.
#[cfg(target_arch = "wasm32")]
fn batches_side_by_side(
    chunks: &[&[usize]],
    forward: impl Fn(&[usize]) -> Result<BatchVectors>,
) -> Result<Vec<BatchVectors>> {
    chunks.iter().map(|c| forward(c)).collect()
}

/// Everything an [`Encoder`] is built from, whichever file it came from.
pub(crate) struct Parts {
    pub config: BertConfig,
    pub tokenizer_json: Vec<u8>,
    pub settings: Settings,
    /// Weights under canonical names (`embeddings.…`, `encoder.…`).
    pub tensors: HashMap<String, Weight>,
    pub fingerprint: String,
    /// Whether the model relates texts across languages (see [`Encoder::multilingual`]).
    pub multilingual: bool,
}

impl Encoder {
    /// Loads a sentence-transformers directory's files at full precision.
    pub fn from_files(files: &ModelFiles) -> Result<Encoder> {
        Encoder::from_parts(Parts::from_files(files)?)
    }

    /// Loads a packed model file (see [`pack`](super::pack)).
    pub fn from_packed(bytes: &[u8]) -> Result<Encoder> {
        Encoder::from_parts(pack::unpack(bytes)?)
    }

    pub(crate) fn from_parts(parts: Parts) -> Result<Encoder> {
        let Parts {
            config,
            tokenizer_json,
            settings,
            tensors,
            fingerprint,
            multilingual,
        } = parts;
        let tokenizer = TextTokenizer::new(&tokenizer_json, settings.max_seq_length)?;
        let model = Bert::load(&config, tensors)?;
        Ok(Encoder {
            model,
            tokenizer,
            settings,
            dim: config.hidden_size,
            fingerprint,
            multilingual,
        })
    }

    /// Length of every vector this encoder returns.
    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Whether a question and an entry in different languages get comparable scores
    /// (multilingual-e5); English models give unrelated Spanish texts high scores instead.
    pub fn multilingual(&self) -> bool {
        self.multilingual
    }

    /// Identifies the exact weights: embeddings from encoders with different fingerprints must
    /// not be compared.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Embeds one text. The empty text is valid: it embeds the special tokens alone. Text past
    /// the window is ignored, as sentence-transformers does.
    pub fn embed(&self, text: &str) -> Result<Embedding> {
        let ids = self.tokenizer.ids(text)?;
        let tokens = ids.len();
        let vector = self.forward(&[&ids])?.pop().expect("one row per input");
        Ok(Embedding { vector, tokens })
    }

    /// Tokens the model sees for `text`, special tokens included, after truncation to the window.
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.tokenizer.ids(text)?.len())
    }

    /// Embeds many texts, in order. Texts share a batch end to end, each attending to its own
    /// tokens, so each result is what [`Encoder::embed`] gives for that text alone, bit for bit.
    pub fn embed_batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Embedding>> {
        self.embed_batch_with(texts, &|_| {})
    }

    /// [`Encoder::embed_batch`], telling `progress` how many more texts are embedded after each
    /// batch (from any thread, in no particular order).
    pub fn embed_batch_with<S: AsRef<str>>(
        &self,
        texts: &[S],
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<Embedding>> {
        let ids = texts
            .iter()
            .map(|t| self.tokenizer.ids(t.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let chunks: Vec<&[usize]> = order.chunks(BATCH).collect();
        let forward = |chunk: &[usize]| {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            let vectors = self.forward(&batch);
            progress(chunk.len());
            vectors
        };
        let vectors = batches_side_by_side(&chunks, forward)?;
        let mut out: Vec<Option<Embedding>> = vec![None; ids.len()];
        for (chunk, vectors) in chunks.iter().zip(vectors) {
            for (&i, vector) in chunk.iter().zip(vectors) {
                out[i] = Some(Embedding {
                    vector,
                    tokens: ids[i].len(),
                });
            }
        }
        Ok(out
            .into_iter()
            .map(|e| e.expect("every text embedded"))
            .collect())
    }

    /// Runs the model on a batch of id sequences (end to end, see [`Bert::forward`]) and pools
    /// each into one unit-length vector, in [`crate::exact`]'s order.
    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let h = self.dim;
        let lens: Vec<usize> = batch.iter().map(|ids| ids.len()).collect();
        let hidden = self.model.forward(&batch.concat(), &lens)?;
        let mut start = 0;
        Ok(lens
            .iter()
            .map(|&len| {
                let rows = &hidden[start * h..][..len * h];
                start += len;
                let mut pooled = vec![0f32; h];
                match self.settings.pooling {
                    Pooling::Mean => {
                        for row in rows.chunks_exact(h) {
                            for (p, &v) in pooled.iter_mut().zip(row) {
                                *p += v;
                            }
                        }
                        let count = len.max(1) as f32;
                        pooled.iter_mut().for_each(|p| *p /= count);
                    }
                    Pooling::Cls => {
                        if let Some(first) = rows.get(..h) {
                            pooled.copy_from_slice(first);
                        }
                    }
                }
                // F.normalize's epsilon, so an all-zero vector stays zero instead of NaN.
                let norm = crate::exact::sum_squares_about(&pooled, 0.0)
                    .sqrt()
                    .max(1e-12);
                pooled.iter_mut().for_each(|p| *p /= norm);
                pooled
            })
            .collect())
    }
}

impl Parts {
    pub(crate) fn from_files(files: &ModelFiles) -> Result<Parts> {
        let config = parse_bert_config(&files.config_json)?;
        let settings = Settings::parse(
            files.sentence_bert_config_json.as_deref(),
            files.pooling_config_json.as_deref(),
            config.max_position_embeddings,
        )?;
        let raw = candle_core::safetensors::load_buffer(&files.safetensors, &Device::Cpu)
            .map_err(|e| Error::Weights(format!("model.safetensors: {e}")))?;
        let mut tensors = HashMap::new();
        for (name, t) in raw {
            if let Some(name) = canonical_name(&name) {
                let t = t
                    .to_dtype(DType::F32)
                    .map_err(|e| Error::Weights(e.to_string()))?;
                tensors.insert(name, Weight::F32(t));
            }
        }
        if tensors.is_empty() {
            return Err(Error::Weights(
                "model.safetensors holds no BERT embeddings or encoder tensors".into(),
            ));
        }
        let fingerprint = format!(
            "st-{:08x}-{}",
            crc32fast::hash(&files.safetensors),
            files.safetensors.len()
        );
        Ok(Parts {
            config,
            tokenizer_json: files.tokenizer_json.clone(),
            settings,
            tensors,
            fingerprint,
            multilingual: false,
        })
    }
}

/// Maps a checkpoint's tensor name to the one candle's BERT loads, or None for tensors the
/// sentence encoder does not use (pooler, heads). Checkpoints differ in prefix (`bert.`,
/// `0.auto_model.`) and old ones name LayerNorm parameters gamma and beta.
pub(crate) fn canonical_name(name: &str) -> Option<String> {
    let start = ["embeddings.", "encoder."].iter().find_map(|root| {
        if name.starts_with(root) {
            Some(0)
        } else {
            name.find(&format!(".{root}")).map(|i| i + 1)
        }
    })?;
    let name = &name[start..];
    let name = if let Some(base) = name.strip_suffix(".gamma") {
        format!("{base}.weight")
    } else if let Some(base) = name.strip_suffix(".beta") {
        format!("{base}.bias")
    } else {
        name.to_string()
    };
    Some(name)
}
