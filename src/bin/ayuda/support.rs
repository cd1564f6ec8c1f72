//! What several subcommands share: writing output files safely, progress bars, choosing and
//! finding the model to build with, and opening a knowledge base together with the model it
//! was built with.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ayuda::kb::{choose_model, Bundle, Entry};
use ayuda::model::Encoder;
use ayuda::native::{load_bundle, load_encoder, model_candidates};
use indicatif::{ProgressBar, ProgressStyle};

use crate::say::say;

/// Writes beside the target and renames, so an interrupted or failed write never leaves a
/// half-written file where a good one is expected.
pub fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    check_folder(out)?;
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    // Errors name the file asked for: the .partial beside it is ours, not the user's.
    let writing = || say!(en: "writing {}", es: "escribiendo {}", out.display());
    let result = std::fs::write(&tmp, bytes)
        .with_context(writing)
        .and_then(|()| std::fs::rename(&tmp, out).with_context(writing));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Refuses an output path whose folder does not exist, naming the folder: creating folders
/// the user may have mistyped would hide the typo.
pub fn check_folder(out: &Path) -> Result<()> {
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => return Ok(()), // the current folder
    };
    if !folder.exists() {
        bail!(say!(
            en: "cannot write {}: the folder {} does not exist; create it first or choose another place",
            es: "no se puede escribir {}: la carpeta {} no existe; créala primero o elige otro sitio",
            out.display(),
            folder.display()
        ));
    }
    if !folder.is_dir() {
        bail!(say!(
            en: "cannot write {}: {} is a file, not a folder",
            es: "no se puede escribir {}: {} es un archivo, no una carpeta",
            out.display(),
            folder.display()
        ));
    }
    Ok(())
}

/// Warns about source files inside the folders among `sources` that are not read (a folder
/// is a built site: only its HTML pages are).
pub fn warn_ignored_sources(sources: &[PathBuf]) {
    let ignored = ayuda::native::sources_ignored_in_folders(sources);
    if ignored.is_empty() {
        return;
    }
    let shown: Vec<String> = ignored
        .iter()
        .take(10)
        .map(|p| p.display().to_string())
        .collect();
    let more = match ignored.len() - shown.len() {
        0 => String::new(),
        n => say!(en: " and {n} more", es: " y {n} más"),
    };
    let shown = shown.join(", ");
    eprintln!(
        "{}",
        say!(
            en: "ayuda: warning: a folder is read as a built site, for its HTML pages alone; not read: {shown}{more}. To use them, pass them by name too",
            es: "ayuda: aviso: una carpeta se lee como un sitio ya generado, solo sus páginas HTML; no se han leído: {shown}{more}. Para usarlos, indícalos también por su nombre"
        )
    );
}

/// A progress bar on stderr for `len` items (`unit`, in the owner's language), hidden when
/// there are too few to wait for.
pub fn progress(len: usize, unit: &str, show_from: usize) -> ProgressBar {
    if len <= show_from {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    let template = say!(
        en: "{{bar:40}} {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}",
        es: "{{bar:40}} {{pos}}/{{len}} {unit}, {{per_sec}}, quedan {{eta}}"
    );
    bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
    bar
}

/// Opens `kb` for its early tier alone (no model needed); refuses a bundle from before it.
pub fn open_kb_early(kb: &Path) -> Result<Bundle> {
    let bundle = load_bundle(kb)?;
    if bundle.early().is_none() {
        bail!(say!(
            en: "{}: built before the early tier; rebuild it with `ayuda build`",
            es: "{}: se creó antes de que existieran las respuestas tempranas; vuelve a crearla con `ayuda build`",
            kb.display()
        ));
    }
    Ok(bundle)
}

/// Opens `kb` and its model: `model` if given, else `$AYUDA_MODEL`, else the model file the
/// bundle names, looked for beside it, then where [`find_model`] looks. Refuses a model other
/// than the bundle's.
pub fn open_kb(kb: &Path, model: Option<&Path>) -> Result<(Bundle, Encoder)> {
    let bundle = load_bundle(kb)?;
    let model = match model
        .map(Path::to_owned)
        .or_else(|| std::env::var_os("AYUDA_MODEL").map(PathBuf::from))
    {
        Some(m) => m,
        None => {
            let candidates = model_candidates(kb, &bundle);
            // Beside the bundle first; then where `ayuda build` looks for models.
            let elsewhere = || bundle.model_file().and_then(|name| find_model(name).ok());
            match candidates
                .iter()
                .find(|p| p.is_file())
                .cloned()
                .or_else(elsewhere)
            {
                Some(found) => found,
                None => {
                    let name = match bundle.model_file() {
                        Some(name) => name.to_string(),
                        None => {
                            say!(en: "file name not recorded", es: "no consta el nombre del archivo")
                        }
                    };
                    let looked = candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let looked = if candidates.is_empty() {
                        String::new()
                    } else {
                        say!(en: " (looked in {looked})", es: " (buscado en {looked})")
                    };
                    bail!(say!(
                        en: "{}: the model it was built with ({name}) was not found{looked}; pass it with --model FILE",
                        es: "{}: no se encuentra el modelo con el que se creó ({name}){looked}; indícalo con --model ARCHIVO",
                        kb.display()
                    ))
                }
            }
        }
    };
    let encoder = load_encoder(&model)?;
    bundle
        .check_model(&encoder)
        .with_context(|| say!(en: "{} with {}", es: "{} con {}", kb.display(), model.display()))?;
    Ok((bundle, encoder))
}

/// The model to build with: `explicit` (`--model`) when given, else the one
/// [`choose_model`] picks for `entries` and `languages`, found by [`find_model`] and announced
/// with the reason.
pub fn model_for(
    explicit: Option<&Path>,
    entries: &[Entry],
    languages: &[String],
) -> Result<PathBuf> {
    if let Some(m) = explicit {
        return Ok(m.to_path_buf());
    }
    let (kind, why) = choose_model(entries, languages);
    let why = crate::say::pick(&why);
    let found = find_model(kind.file_name())?;
    // tools/eval.sh reads the English line ("ayuda: model FILE (...)"), with AYUDA_LANG=en.
    eprintln!(
        "{}",
        say!(en: "ayuda: model {} ({why})", es: "ayuda: modelo {} ({why})", found.display())
    );
    Ok(found)
}

/// Where a packed model `name` is when `--model` is not given: `$AYUDA_MODELS`, then this
/// folder's `www/models` (where `make` writes them), `models`, beside the program (a release
/// archive's `models/`), and the checkout this program was built from.
fn find_model(name: &str) -> Result<PathBuf> {
    let mut places: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("AYUDA_MODELS") {
        places.push(PathBuf::from(dir));
    }
    places.extend([PathBuf::from("www/models"), PathBuf::from("models")]);
    let exe = std::env::current_exe().ok();
    if let Some(dir) = exe.as_deref().and_then(Path::parent) {
        places.push(dir.join("models"));
        places.push(dir.to_owned());
    }
    // A program run from the checkout it was built in (target/...) finds that checkout's
    // models from any folder; a copy elsewhere (a release archive) only its own.
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    if exe.is_some_and(|e| e.starts_with(checkout)) {
        places.push(checkout.join("www/models"));
    }
    for dir in &places {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let looked = places
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    anyhow::bail!(say!(
        en: "the model {name} was not found (looked in {looked}); run `make pack` in the ayuda checkout, set AYUDA_MODELS to the folder holding it, or pass --model FILE",
        es: "no se encuentra el modelo {name} (buscado en {looked}); ejecuta `make pack` en la copia de ayuda, pon en AYUDA_MODELS la carpeta que lo contiene o indícalo con --model ARCHIVO"
    ))
}
