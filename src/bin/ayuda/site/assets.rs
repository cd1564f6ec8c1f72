//! The browser side of ayuda carried inside this binary: the widget's scripts and the wasm
//! modules it was built with (the early tier's, and the model's in its simd128 and relaxed-SIMD
//! builds) (`include_bytes!` of www/, so `ayuda site` needs no checkout, no
//! Rust and no Node). Owns which files the chat needs and the loader's settings slot; never
//! writes files.

/// One file of the widget, at its path under the widget's folder.
pub struct Asset {
    pub path: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal) => {
        Asset {
            path: $path,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/www/", $path)),
        }
    };
}

/// The widget's module files, all loaded relative to each other (the worker and the wasm
/// module included), so they can live in one content-hashed folder.
#[cfg(ayuda_web)]
pub const CODE: Option<&[Asset]> = Some(&[
    asset!("ayuda-chat.js"),
    asset!("ayuda-i18n.js"),
    asset!("outbox.js"),
    asset!("encoder.js"),
    asset!("encoder-worker.js"),
    asset!("pkg/ayuda_early.js"),
    asset!("pkg/ayuda_early_bg.wasm"),
    asset!("pkg/ayuda.js"),
    asset!("pkg/ayuda_bg.wasm"),
    asset!("pkg/ayuda_relaxed.js"),
    asset!("pkg/ayuda_relaxed_bg.wasm"),
]);

/// The model's module in its two builds (simd128, relaxed SIMD), each its script and its wasm: a
/// visitor's browser fetches one of them (www/encoder-worker.js picks).
pub const MODEL_MODULES: [[&str; 2]; 2] = [
    ["pkg/ayuda.js", "pkg/ayuda_bg.wasm"],
    ["pkg/ayuda_relaxed.js", "pkg/ayuda_relaxed_bg.wasm"],
];
#[cfg(not(ayuda_web))]
pub const CODE: Option<&[Asset]> = None;

/// The loader the site's tag names (www/ayuda.js): a stable name, with the settings slot below.
#[cfg(ayuda_web)]
pub const LOADER: Option<&str> = Some(include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/www/ayuda.js"
)));
#[cfg(not(ayuda_web))]
pub const LOADER: Option<&str> = None;

/// The line of the loader that `ayuda site` replaces with the folder's file names and settings.
pub const SETTINGS_SLOT: &str = "const SITE = {};";

/// What to tell the owner when this binary was compiled before the browser build existed.
pub fn missing() -> String {
    crate::say::say!(
        en: "this ayuda was compiled without its browser files (the wasm module had not been built yet): run `make build` in the ayuda checkout (it builds the wasm module first), or use a release archive from `make dist`",
        es: "este ayuda se compiló sin sus archivos para el navegador (aún no se había creado el módulo wasm): ejecuta `make build` en la copia de ayuda (crea primero el módulo wasm) o usa un archivo de versión de `make dist`"
    )
}

/// The loader with `settings` (a JSON object) in its slot.
pub fn loader_with(loader: &str, settings: &serde_json::Value) -> Option<String> {
    loader
        .contains(SETTINGS_SLOT)
        .then(|| loader.replacen(SETTINGS_SLOT, &format!("const SITE = {settings};"), 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(ayuda_web)]
    #[test]
    fn the_loader_has_its_settings_slot() {
        let settings = serde_json::json!({"kb": "kb/abc.bin"});
        let written = loader_with(LOADER.unwrap(), &settings).expect("slot present");
        assert!(written.contains(r#"const SITE = {"kb":"kb/abc.bin"};"#));
        assert!(!written.contains(SETTINGS_SLOT));
    }
}
