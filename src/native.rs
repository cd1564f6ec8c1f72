//! The native filesystem edge: reads model directories and packed model files into the bytes
//! the pure [`crate::model`] takes. Never used in the browser build.

use std::path::{Path, PathBuf};

use crate::kb;
use crate::model::{self, Encoder, ModelFiles};
use crate::said;
use crate::said::Said;

/// A model or a bundle that could not be read from disk, with the path it was read from.
/// `Display` is the English; [`LoadError::said`] has both languages.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.said().en)]
pub enum LoadError {
    NotFound {
        path: PathBuf,
    },
    MissingFile {
        dir: PathBuf,
        file: &'static str,
        needs: String,
    },
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    Model {
        path: PathBuf,
        source: model::Error,
    },
    Bundle {
        path: PathBuf,
        source: kb::BundleError,
    },
}

impl LoadError {
    /// The error in both languages, each ending with its cause's text in the same language
    /// (so a chain of causes can say each once). The system's words for a file it could not
    /// read stay as it said them.
    pub fn said(&self) -> Said {
        match self {
            LoadError::NotFound { path } => said!(
                en: "{}: no such file or directory",
                es: "{}: no existe",
                path.display()
            ),
            LoadError::MissingFile { dir, file, needs } => said!(
                en: "{} is not a complete model directory: {file} is missing (a sentence-transformers directory needs {needs})",
                es: "{} no es una carpeta de modelo completa: falta {file} (una carpeta de sentence-transformers necesita {needs})",
                dir.display()
            ),
            LoadError::Io { path, source } => said!(
                en: "{}: {source}",
                es: "{}: {source}",
                path.display()
            ),
            LoadError::Model { path, source } => at(path, source.said()),
            LoadError::Bundle { path, source } => at(path, source.said()),
        }
    }
}

/// `path: message`, in both languages.
fn at(path: &Path, message: Said) -> Said {
    let path = path.display().to_string();
    message.labelled(&path, &path)
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Gzip's first two bytes: `ayuda site` stores the model and the bundle compressed, because
/// static hosts do not compress `application/octet-stream` on the wire.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The largest file a gzip-stored model or bundle may unpack to: above the largest packed
/// model with room to spare, far below what a crafted file could claim.
pub const MAX_UNPACKED_BYTES: u64 = 256 << 20;

/// Reads a packed model or a bundle as stored: plain, or gzip-compressed (as `ayuda site`
/// writes them). A compressed file is unpacked up to [`MAX_UNPACKED_BYTES`].
pub fn read_stored(path: &Path) -> Result<Vec<u8>, LoadError> {
    let bytes = read(path)?;
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let io = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut out = Vec::new();
    let mut reader = std::io::Read::take(
        flate2::read::GzDecoder::new(&bytes[..]),
        MAX_UNPACKED_BYTES + 1,
    );
    std::io::Read::read_to_end(&mut reader, &mut out).map_err(io)?;
    if out.len() as u64 > MAX_UNPACKED_BYTES {
        return Err(io(std::io::Error::other(format!(
            "unpacks to more than {} MB; not a file ayuda wrote",
            MAX_UNPACKED_BYTES >> 20
        ))));
    }
    Ok(out)
}

/// The bytes of `bytes` gzip-compressed at the best level, the way [`read_stored`] reads them.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .expect("writing to memory cannot fail")
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

/// Loads an encoder from a model directory (full precision) or a packed model file (plain or
/// gzip-compressed).
pub fn load_encoder(path: &Path) -> Result<Encoder, LoadError> {
    let wrap = |source| LoadError::Model {
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        Encoder::from_files(&read_model_dir(path)?).map_err(wrap)
    } else if path.exists() {
        Encoder::from_packed(&read_stored(path)?).map_err(wrap)
    } else {
        Err(LoadError::NotFound {
            path: path.to_owned(),
        })
    }
}

/// Reads a knowledge-base bundle file (plain or gzip-compressed).
pub fn load_bundle(path: &Path) -> Result<kb::Bundle, LoadError> {
    if !path.exists() {
        return Err(LoadError::NotFound {
            path: path.to_owned(),
        });
    }
    kb::Bundle::from_bytes(&read_stored(path)?).map_err(|source| LoadError::Bundle {
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
    let site = read_site_pages(root)?;
    if site.rows.is_empty() {
        return Err(kb::SourceError::file(
            &root.display().to_string(),
            crate::said!(
                en: "no FAQ data in its {} HTML pages: mark FAQ sections with data-ayuda-faq or add schema.org FAQPage data",
                es: "no hay datos de FAQ en sus {} páginas HTML: marca las secciones de FAQ con data-ayuda-faq o añade datos schema.org FAQPage",
                site.pages
            ),
        )
        .into());
    }
    Ok(site.rows)
}

/// What a built site's pages hold for the knowledge base.
pub struct SitePages {
    /// The FAQ rows of every page, each with its path on the site as source link.
    pub rows: Vec<kb::Entry>,
    /// How many HTML pages were read (dot folders are skipped).
    pub pages: usize,
}

/// Reads every HTML page under `root` (a built static site) for its FAQ data; a site without
/// any is not an error here (its FAQ may come from other sources).
pub fn read_site_pages(root: &Path) -> Result<SitePages, SourceLoadError> {
    let mut rows = Vec::new();
    let mut pages = 0;
    for item in site_walk(root) {
        let item = item.map_err(|e| SourceLoadError::Io {
            path: e.path().unwrap_or(root).to_owned(),
            source: e.into(),
        })?;
        let path = item.path();
        if !item.file_type().is_file() || format_of(path) != Some(kb::sources::Format::Html) {
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
    Ok(SitePages { rows, pages })
}

/// The files and folders under a site folder, in name order, dot folders and files skipped.
fn site_walk(root: &Path) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
}

fn format_of(path: &Path) -> Option<kb::sources::Format> {
    kb::sources::Format::from_name(&path.to_string_lossy())
}

/// The CSV, JSON and Markdown files inside the folders among `paths`: a folder is read as a
/// built site, for its HTML pages alone, so these are not read; the CLI says so, since an
/// owner who passes the folder holding faq.csv expects it read.
pub fn sources_ignored_in_folders(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths
        .iter()
        .filter(|p| p.is_dir())
        .flat_map(|root| site_walk(root).filter_map(Result::ok))
        .filter(|item| item.file_type().is_file())
        .filter(|item| format_of(item.path()).is_some_and(|f| f != kb::sources::Format::Html))
        .map(walkdir::DirEntry::into_path)
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_load_error_is_said_in_both_languages_with_its_english_as_before() {
        use crate::said::assert_said;
        for (err, en) in [
            (
                LoadError::NotFound {
                    path: "faq.kb".into(),
                },
                "faq.kb: no such file or directory",
            ),
            (
                LoadError::MissingFile {
                    dir: "models/mini".into(),
                    file: "tokenizer.json",
                    needs: "config.json, tokenizer.json".into(),
                },
                "models/mini is not a complete model directory: tokenizer.json is missing (a sentence-transformers directory needs config.json, tokenizer.json)",
            ),
            (
                LoadError::Model {
                    path: "m.ayuda".into(),
                    source: model::Error::NotPacked,
                },
                "m.ayuda: not an ayuda model file (it does not start with the AYUDAMDL signature); make one with `ayuda model pack MODEL_DIR -o FILE`",
            ),
            (
                LoadError::Bundle {
                    path: "faq.kb".into(),
                    source: kb::BundleError::NotBundle,
                },
                "faq.kb: not an ayuda knowledge base (it does not start with the AYUDAKB signature); build one with `ayuda build SOURCE... --model MODEL --out KB`",
            ),
        ] {
            assert_said(&err, &err.said(), en);
        }
        // The system's words stay as it said them, in either language.
        let err = LoadError::Io {
            path: "faq.kb".into(),
            source: std::io::Error::other("disk on fire"),
        };
        assert_eq!(err.to_string(), "faq.kb: disk on fire");
        assert_eq!(err.said().es, "faq.kb: disk on fire");
    }
}
