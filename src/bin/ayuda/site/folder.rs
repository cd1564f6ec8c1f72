//! The output folder of `ayuda site`: owns writing `ayuda/` and the `_headers` block so that a
//! deployed site never sees a half-written chat, a second run with nothing changed rewrites
//! nothing, and two runs never write at once. Never decides what goes in the files.
//!
//! Order of writes: content-named files first (new names, each written beside and renamed),
//! then the loader `ayuda/ayuda.js` that points at them, then `_headers`, and only then the
//! files no longer named are removed. A run stopped anywhere leaves the old chat whole.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::say::say;
use crate::support::write_atomically;

/// The folder `ayuda site` owns inside the output folder; the tag names `ayuda/ayuda.js`.
pub const FOLDER: &str = "ayuda";
/// Hex digits of SHA-256 in content-hashed names: enough that two versions never meet.
const HASH_LEN: usize = 12;
const LOCK: &str = ".ayuda-site.lock";
const HEADERS: &str = "_headers";
const BEGIN: &str = "# ayuda site: begin (written by `ayuda site`; changes inside are replaced)";
const END: &str = "# ayuda site: end";

/// A short content hash for file and folder names.
pub fn short_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Lengths first, so ("ab","c") and ("a","bc") differ.
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let mut hex = hex::encode(h.finalize());
    hex.truncate(HASH_LEN);
    hex
}

fn is_hash(s: &str) -> bool {
    s.len() == HASH_LEN
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Held while a run writes into `out`; a second run refuses to start. The operating system
/// releases it if the run dies, so a crash never leaves the folder locked.
pub struct Lock {
    path: PathBuf,
    _file: File,
}

impl Lock {
    pub fn take(out: &Path) -> Result<Lock> {
        let path = out.join(LOCK);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| {
                say!(
                    en: "cannot write in {} (is it read-only?)",
                    es: "no se puede escribir en {} (¿es de solo lectura?)",
                    out.display()
                )
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Lock { path, _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(say!(
                en: "another `ayuda site` is writing into {} right now; wait for it to finish and run again",
                es: "otro `ayuda site` está escribiendo ahora mismo en {}; espera a que termine y vuelve a ejecutarlo",
                out.display()
            )),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| say!(en: "locking {}", es: "bloqueando {}", path.display()))
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a run did to the folder, for its report.
#[derive(Default)]
pub struct Tally {
    pub written: Vec<PathBuf>,
    pub unchanged: usize,
    pub removed: Vec<PathBuf>,
}

/// The output folder being written: `out/ayuda/` and `out/_headers`.
pub struct Folder {
    out: PathBuf,
    /// Paths under `ayuda/` this run names; everything else of ours there is stale.
    keep: BTreeSet<PathBuf>,
    /// Site paths (`/ayuda/...`) served with long caching: their names change with their bytes.
    immutable: Vec<String>,
    pub tally: Tally,
}

impl Folder {
    pub fn new(out: &Path) -> Result<Folder> {
        let dir = out.join(FOLDER);
        std::fs::create_dir_all(&dir)
            .with_context(|| say!(en: "creating {}", es: "creando {}", dir.display()))?;
        Ok(Folder {
            out: out.to_owned(),
            keep: BTreeSet::new(),
            immutable: Vec::new(),
            tally: Tally::default(),
        })
    }

    /// The file at `rel` under `ayuda/`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.out.join(FOLDER).join(rel)
    }

    /// Writes `bytes` at `rel` unless the file already holds exactly them.
    pub fn put(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(rel);
        self.keep.insert(PathBuf::from(rel));
        if same_bytes(&path, bytes) {
            self.tally.unchanged += 1;
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| say!(en: "creating {}", es: "creando {}", parent.display()))?;
        }
        write_atomically(&path, bytes)?;
        self.tally.written.push(path);
        Ok(())
    }

    /// A content-named file (its name holds its hash): written once, then left alone, and
    /// cached for a year by browsers. `make` runs only when the file is missing.
    pub fn put_named(&mut self, rel: &str, make: impl FnOnce() -> Result<Vec<u8>>) -> Result<()> {
        self.immutable.push(format!("/{FOLDER}/{rel}"));
        if self.path(rel).is_file() {
            self.keep.insert(PathBuf::from(rel));
            self.tally.unchanged += 1;
            return Ok(());
        }
        let bytes = make()?;
        self.put(rel, &bytes)
    }

    /// A content-hashed folder's files: cached for a year as a whole.
    pub fn put_code(&mut self, dir: &str, files: &[(&str, &[u8])]) -> Result<()> {
        for (name, bytes) in files {
            self.put(&format!("{dir}/{name}"), bytes)?;
        }
        self.immutable.push(format!("/{FOLDER}/{dir}/*"));
        Ok(())
    }

    /// Writes the `_headers` block (Netlify and Cloudflare Pages read the file at the site's
    /// root), keeping whatever else the owner has in the file.
    pub fn put_headers(&mut self) -> Result<()> {
        let path = self.out.join(HEADERS);
        let existing = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(e)
                    .with_context(|| say!(en: "reading {}", es: "leyendo {}", path.display()))
            }
        };
        let merged = merge_headers(&existing, &headers_block(&self.immutable));
        if merged == existing {
            self.tally.unchanged += 1;
            return Ok(());
        }
        write_atomically(&path, merged.as_bytes())?;
        self.tally.written.push(path);
        Ok(())
    }

    /// Removes what earlier runs wrote and this one no longer names: older hashed folders,
    /// models and bundles, and leftovers of interrupted writes. Files ayuda did not name this
    /// way are left alone.
    pub fn remove_stale(&mut self) -> Result<()> {
        let root = self.out.join(FOLDER);
        let mut stale = Vec::new();
        for item in std::fs::read_dir(&root)
            .with_context(|| say!(en: "reading {}", es: "leyendo {}", root.display()))?
        {
            let item = item?;
            let name = item.file_name().to_string_lossy().into_owned();
            let rel = PathBuf::from(&name);
            if self.keep.contains(&rel) {
                continue;
            }
            let ours = (is_hash(&name) && item.path().is_dir())
                || name.ends_with(".partial")
                || name
                    .strip_prefix("kb.")
                    .and_then(|n| n.strip_suffix(".bin"))
                    .is_some_and(is_hash);
            let is_kept_dir = self.keep.iter().any(|k| k.starts_with(&rel));
            if ours && !is_kept_dir {
                stale.push(item.path());
            }
        }
        let models = root.join("models");
        if models.is_dir() {
            for item in std::fs::read_dir(&models)? {
                let item = item?;
                let rel = Path::new("models").join(item.file_name());
                let name = item.file_name().to_string_lossy().into_owned();
                let hashed = name
                    .strip_suffix(".ayuda")
                    .and_then(|n| n.rsplit_once('.'))
                    .is_some_and(|(_, h)| is_hash(h));
                if !self.keep.contains(&rel) && (hashed || name.ends_with(".partial")) {
                    stale.push(item.path());
                }
            }
        }
        for path in stale {
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.with_context(|| {
                say!(
                    en: "removing the stale {}",
                    es: "borrando el obsoleto {}",
                    path.display()
                )
            })?;
            self.tally.removed.push(path);
        }
        Ok(())
    }
}

fn same_bytes(path: &Path, bytes: &[u8]) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if meta.len() != bytes.len() as u64 {
        return false;
    }
    let mut old = Vec::with_capacity(bytes.len());
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut old))
        .is_ok_and(|_| old == bytes)
}

/// The `_headers` rules for ayuda's files: content-named ones cached for a year, the loader
/// revalidated on every visit so a new deploy is seen at once.
fn headers_block(immutable: &[String]) -> String {
    let mut block = format!("{BEGIN}\n/{FOLDER}/ayuda.js\n  Cache-Control: no-cache\n");
    for path in immutable {
        block.push_str(&format!(
            "{path}\n  Cache-Control: public, max-age=31536000, immutable\n"
        ));
    }
    block.push_str(END);
    block.push('\n');
    block
}

/// `existing` with ayuda's block replaced by `block` (or added at the end).
fn merge_headers(existing: &str, block: &str) -> String {
    if let (Some(start), Some(end)) = (existing.find(BEGIN), existing.find(END)) {
        if start < end {
            let mut after = end + END.len();
            if existing[after..].starts_with('\n') {
                after += 1;
            }
            return format!("{}{block}{}", &existing[..start], &existing[after..]);
        }
    }
    if existing.is_empty() {
        block.to_string()
    } else if existing.ends_with('\n') {
        format!("{existing}\n{block}")
    } else {
        format!("{existing}\n\n{block}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headers_block_is_replaced_and_the_owners_rules_kept() {
        let owner = "/*\n  X-Frame-Options: DENY\n";
        let first = merge_headers(
            owner,
            &headers_block(&["/ayuda/kb.0123456789ab.bin".into()]),
        );
        assert!(first.starts_with(owner));
        assert!(first.contains(
            "/ayuda/kb.0123456789ab.bin\n  Cache-Control: public, max-age=31536000, immutable"
        ));
        let second = merge_headers(
            &first,
            &headers_block(&["/ayuda/kb.ba9876543210.bin".into()]),
        );
        assert!(second.starts_with(owner));
        assert!(!second.contains("0123456789ab"));
        assert_eq!(second.matches(BEGIN).count(), 1);
        // Nothing changed: the same text, so nothing is rewritten.
        let block = headers_block(&["/ayuda/kb.ba9876543210.bin".into()]);
        assert_eq!(merge_headers(&second, &block), second);
    }

    #[test]
    fn hashes_name_content() {
        let a = short_hash(&[b"ab", b"c"]);
        assert_eq!(a.len(), HASH_LEN);
        assert!(is_hash(&a));
        assert_ne!(a, short_hash(&[b"a", b"bc"]));
        assert_eq!(a, short_hash(&[b"ab", b"c"]));
    }
}
