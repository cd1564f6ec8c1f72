//! Cargo build script: tells the `ayuda` binary whether the browser build (the widget's scripts
//! and the wasm module in www/) is there to be carried inside it (`include_bytes!`, for
//! `ayuda site`). The wasm module is built by `tools/build_wasm.py`, after which the binary is
//! rebuilt; a fresh checkout compiles without it, and `ayuda site` then says how to get it.

use std::path::Path;

/// The files the chat needs in the browser, relative to www/ (the loader ayuda.js included).
const WEB: [&str; 12] = [
    "ayuda.js",
    "ayuda-chat.js",
    "ayuda-i18n.js",
    "outbox.js",
    "encoder.js",
    "encoder-worker.js",
    "pkg/ayuda_early.js",
    "pkg/ayuda_early_bg.wasm",
    "pkg/ayuda.js",
    "pkg/ayuda_bg.wasm",
    "pkg/ayuda_relaxed.js",
    "pkg/ayuda_relaxed_bg.wasm",
];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ayuda_web)");
    println!("cargo::rerun-if-changed=build.rs");
    // The wasm build writes these files: watching them there would rebuild it on every run.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        return;
    }
    let mut all = true;
    for file in WEB {
        let path = Path::new("www").join(file);
        println!("cargo::rerun-if-changed={}", path.display());
        all &= path.is_file();
    }
    if all {
        println!("cargo::rustc-cfg=ayuda_web");
    }
}
