#!/usr/bin/env python3
"""Builds the browser modules (the model's and the early tier's): cargo (wasm32) -> wasm-bindgen
-> wasm-opt, with the settings in wasm-pack.toml. Steps after cargo are skipped when their output is newer than their input."""
import os
import subprocess
import sys
import tomllib

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(root)


def run(cmd):
    print("build_wasm:", " ".join(cmd), file=sys.stderr)
    try:
        subprocess.run(cmd, check=True)
    except FileNotFoundError:
        sys.exit(f"build_wasm: {cmd[0]} not found; run tools/ensure.sh first")
    except subprocess.CalledProcessError as e:
        sys.exit(f"build_wasm: {cmd[0]} failed with exit code {e.returncode}")


with open("wasm-pack.toml", "rb") as f:
    settings = tomllib.load(f)
build = settings["build"]
profile, out_dir, out_name = build["profile"], build["out-dir"], build["out-name"]
opt_args = settings.get("profile", {}).get("release", {}).get("wasm-opt", [])


# The model's module (this crate's library, with its `web` surface) twice: for every browser
# with simd128, and with relaxed SIMD too (its byte dot product; src/model/kernels_relaxed.rs),
# which the worker picks when the browser validates it. The relaxed build has its own target
# folder, so the two do not rebuild each other. And the early tier's (early/: the same library
# without the model, loaded first). Built one at a time: cargo unifies features across packages
# built together, which would put the model's code in the early one.
RELAXED = ["--config", 'target.wasm32-unknown-unknown.rustflags=["-C", "target-feature=+relaxed-simd"]',
           "--target-dir", "target/wasm-relaxed"]
MODULES = [
    (["--lib"], "target", "ayuda", out_name, []),
    (["--lib", *RELAXED], "target/wasm-relaxed", "ayuda", f"{out_name}_relaxed", ["--enable-relaxed-simd"]),
    (["-p", "ayuda-early", "--lib"], "target", "ayuda_early", f"{out_name}_early", []),
]

for select, target_dir, artifact, name, features in MODULES:
    run(["cargo", "build", "--quiet", *select, "--target", "wasm32-unknown-unknown", "--profile", profile])
    raw = f"{target_dir}/wasm32-unknown-unknown/{profile}/{artifact}.wasm"
    bindgen_out = f"{out_dir}/{name}_bg.wasm"
    stamp = f"{out_dir}/.{name}.built-from"
    current = f"{os.path.getmtime(raw)} {opt_args + features}"
    if os.path.exists(bindgen_out) and os.path.exists(stamp) and open(stamp).read() == current:
        continue
    run(["target/tools/bin/wasm-bindgen", raw, "--target", build["target"], "--out-dir", out_dir,
         "--out-name", name, "--no-typescript"])
    if opt_args:
        run(["node_modules/.bin/wasm-opt", bindgen_out, *opt_args, *features, "-o", bindgen_out])
    with open(stamp, "w") as f:
        f.write(current)
    print(f"build_wasm: {bindgen_out} {os.path.getsize(bindgen_out) / 1e6:.2f} MB", file=sys.stderr)
