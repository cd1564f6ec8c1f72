//! `ayuda model pack`: a model directory to one packed file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use ayuda::model::{self, PackOptions, WeightEncoding};
use ayuda::native::read_model_dir;
use clap::{Subcommand, ValueEnum};

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Pack MODEL_DIR (config.json, tokenizer.json, model.safetensors) into one versioned,
    /// checksummed file with compressed weights.
    Pack {
        /// A sentence-transformers model directory (BERT family).
        model_dir: PathBuf,
        /// Where to write the packed file.
        #[arg(short, long)]
        out: PathBuf,
        /// Encoding of the word-embedding table.
        #[arg(long, value_enum, default_value_t = Encoding::Q4)]
        word_embeddings: Encoding,
        /// Encoding of every other weight matrix.
        #[arg(long, value_enum, default_value_t = Encoding::Q8)]
        matrices: Encoding,
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
        } => {
            let files = read_model_dir(&model_dir)?;
            let options = PackOptions {
                word_embeddings: word_embeddings.into(),
                matrices: matrices.into(),
            };
            let bytes = model::pack(&files, options)
                .with_context(|| format!("packing {}", model_dir.display()))?;
            crate::support::write_atomically(&out, &bytes)?;
            eprintln!(
                "ayuda: packed {} into {} ({:.1} MB)",
                model_dir.display(),
                out.display(),
                bytes.len() as f64 / 1e6
            );
            Ok(())
        }
    }
}
