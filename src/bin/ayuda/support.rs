//! What several subcommands share: writing output files safely, progress bars, and opening a
//! knowledge base together with the model it was built with.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ayuda::kb::Bundle;
use ayuda::model::Encoder;
use ayuda::native::{load_bundle, load_encoder, model_candidates};
use indicatif::{ProgressBar, ProgressStyle};

/// Writes beside the target and renames, so an interrupted or failed write never leaves a
/// half-written file where a good one is expected.
pub fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let result = std::fs::write(&tmp, bytes)
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A progress bar on stderr for `len` items, hidden when there are too few to wait for.
pub fn progress(len: usize, unit: &str, show_from: usize) -> ProgressBar {
    if len <= show_from {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}"
        ))
        .expect("valid template"),
    );
    bar
}

/// Opens `kb` for its early tier alone (no model needed); refuses a bundle from before it.
pub fn open_kb_early(kb: &Path) -> Result<Bundle> {
    let bundle = load_bundle(kb)?;
    if bundle.early().is_none() {
        bail!(
            "{}: built before the early tier; rebuild it with `ayuda build`",
            kb.display()
        );
    }
    Ok(bundle)
}

/// Opens `kb` and its model: `model` if given, else `$AYUDA_MODEL`, else the model file the
/// bundle names, looked for beside it. Refuses a model other than the bundle's.
pub fn open_kb(kb: &Path, model: Option<&Path>) -> Result<(Bundle, Encoder)> {
    let bundle = load_bundle(kb)?;
    let model = match model
        .map(Path::to_owned)
        .or_else(|| std::env::var_os("AYUDA_MODEL").map(PathBuf::from))
    {
        Some(m) => m,
        None => {
            let candidates = model_candidates(kb, &bundle);
            match candidates.iter().find(|p| p.is_file()) {
                Some(found) => found.clone(),
                None => bail!(
                    "{}: the model it was built with ({}) was not found{}; pass it with --model FILE",
                    kb.display(),
                    bundle.model_file().unwrap_or("file name not recorded"),
                    if candidates.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (looked in {})",
                            candidates
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
            }
        }
    };
    let encoder = load_encoder(&model)?;
    bundle
        .check_model(&encoder)
        .with_context(|| format!("{} with {}", kb.display(), model.display()))?;
    Ok((bundle, encoder))
}
