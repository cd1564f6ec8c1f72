//! The native filesystem edge: reads model directories and packed model files into the bytes
//! the pure [`crate::model`] takes. Never used in the browser build.

use std::path::{Path, PathBuf};

use crate::kb;
use crate::model::{self, Encoder, ModelFiles};

/// A model that could not be read from disk, with the path it was read from.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{dir} is not a complete model directory: {file} is missing (a sentence-transformers directory needs {needs})")]
    MissingFile {
        dir: PathBuf,
        file: &'static str,
        needs: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Model { path: PathBuf, source: model::Error },
    #[error("{path}: {source}")]
    Bundle {
        path: PathBuf,
        source: kb::BundleError,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, LoadError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LoadError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Reads a sentence-transformers model directory.
pub fn read_model_dir(dir: &Path) -> Result<ModelFiles, LoadError> {
    if !dir.exists() {
        return Err(LoadError::NotFound {
            path: dir.to_owned(),
        });
    }
    for file in ModelFiles::REQUIRED {
        if !dir.join(file).is_file() {
            return Err(LoadError::MissingFile {
                dir: dir.to_owned(),
                file,
                needs: ModelFiles::REQUIRED.join(", "),
            });
        }
    }
    Ok(ModelFiles {
        config_json: read(&dir.join("config.json"))?,
        tokenizer_json: read(&dir.join("tokenizer.json"))?,
        safetensors: read(&dir.join("model.safetensors"))?,
        sentence_bert_config_json: read_optional(&dir.join("sentence_bert_config.json"))?,
        pooling_config_json: read_optional(&dir.join("1_Pooling/config.json"))?,
    })
}

/// Loads an encoder from a model directory (full precision) or a packed model file.
pub fn load_encoder(path: &Path) -> Result<Encoder, LoadError> {
    let wrap = |source| LoadError::Model {
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        Encoder::from_files(&read_model_dir(path)?).map_err(wrap)
    } else if path.exists() {
        Encoder::from_packed(&read(path)?).map_err(wrap)
    } else {
        Err(LoadError::NotFound {
            path: path.to_owned(),
        })
    }
}

/// Reads a knowledge-base bundle file.
pub fn load_bundle(path: &Path) -> Result<kb::Bundle, LoadError> {
    if !path.exists() {
        return Err(LoadError::NotFound {
            path: path.to_owned(),
        });
    }
    kb::Bundle::from_bytes(&read(path)?).map_err(|source| LoadError::Bundle {
        path: path.to_owned(),
        source,
    })
}

/// Where to look for the model a bundle was built with when none is named: beside the bundle,
/// in a `models` folder beside it, and in this checkout's served and fetched model folders.
pub fn model_candidates(bundle_path: &Path, bundle: &kb::Bundle) -> Vec<PathBuf> {
    let Some(name) = bundle.model_file() else {
        return Vec::new();
    };
    let dir = bundle_path.parent().unwrap_or(Path::new("."));
    vec![
        dir.join(name),
        dir.join("models").join(name),
        Path::new("www/models").join(name),
        Path::new("models").join(name),
    ]
}

/// Reads FAQ sources and merges their rows into entries (rows sharing an id become one entry).
/// A path is a file (its extension names the format) or the folder of a built static site,
/// whose HTML pages contribute their FAQ data, each with its path on the site as source link.
/// Files over the size limit are refused before they are read.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<kb::Entry>, SourceLoadError> {
    Ok(kb::merge(read_source_rows(paths)?)?)
}

/// The rows of [`read_sources`], before rows sharing an id are merged.
pub fn read_source_rows(paths: &[PathBuf]) -> Result<Vec<kb::Entry>, SourceLoadError> {
    let mut rows = Vec::new();
    for path in paths {
        if path.is_dir() {
            rows.extend(read_site(path)?);
        } else {
            let name = path.display().to_string();
            rows.extend(kb::sources::read(&name, &read_limited(path)?)?);
        }
    }
    Ok(rows)
}

fn read_limited(path: &Path) -> Result<Vec<u8>, SourceLoadError> {
    let io = |source| SourceLoadError::Io {
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > kb::sources::MAX_SOURCE_BYTES as u64 {
        return Err(kb::sources::too_large(&path.display().to_string(), len).into());
    }
    std::fs::read(path).map_err(io)
}

fn read_site(root: &Path) -> Result<Vec<kb::Entry>, SourceLoadError> {
    let mut rows = Vec::new();
    let mut pages = 0;
    let walk = walkdir::WalkDir::new(root).sort_by_file_name().into_iter();
    for item in
        walk.filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
    {
        let item = item.map_err(|e| SourceLoadError::Io {
            path: e.path().unwrap_or(root).to_owned(),
            source: e.into(),
        })?;
        let path = item.path();
        let is_html = kb::sources::Format::from_name(&path.to_string_lossy())
            == Some(kb::sources::Format::Html);
        if !item.file_type().is_file() || !is_html {
            continue;
        }
        pages += 1;
        let rel = path
            .strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let url = match rel.strip_suffix("index.html") {
            Some(dir) => format!("/{dir}"),
            None => format!("/{rel}"),
        };
        let name = path.display().to_string();
        rows.extend(kb::sources::read_site_page(
            &name,
            &read_limited(path)?,
            &url,
        )?);
    }
    if rows.is_empty() {
        return Err(kb::SourceError::file(
            &root.display().to_string(),
            format!(
                "no FAQ data in its {pages} HTML pages: mark FAQ sections with data-ayuda-faq or add schema.org FAQPage data"
            ),
        )
        .into());
    }
    Ok(rows)
}

/// A source file that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum SourceLoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Source(#[from] kb::SourceError),
}
