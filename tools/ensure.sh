#!/usr/bin/env bash
# Installs what the build and the tests need, each piece only when it is missing, so a second
# run takes seconds. Used by `make demo` and `make test`; safe to run by hand.
#   rust wasm32 target, the wasm-bindgen CLI pinned to Cargo.lock's version, npm dev packages
#   (playwright-core, binaryen's wasm-opt, Eleventy), Chromium and ChromeDriver, Hugo, aiosmtpd,
#   PostgreSQL, and the models.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "ensure: $*" >&2; }
fail() { echo "ensure: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    fail "need root to run: $* (install it by hand, or run as root)"; fi
}

apt_install() {
  command -v apt-get >/dev/null || fail "apt-get not found: install $* by hand"
  say "installing $* (apt)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_rust() {
  command -v cargo >/dev/null || fail "cargo not found: install Rust with rustup first"
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >&2
  fi
}

# The CLI must be exactly the wasm-bindgen version in Cargo.lock, or the generated glue does not
# match the module. Installed under target/ so it is cached with the build. Not --locked: the
# registry mirror here lacks one of its locked dependency versions.
ensure_wasm_bindgen() {
  local version bin
  version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
  [ -n "$version" ] || fail "no wasm-bindgen version in Cargo.lock"
  bin=target/tools/bin/wasm-bindgen
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q " $version\$"; then return; fi
  say "building wasm-bindgen-cli $version (about 3 minutes, once)"
  cargo install --quiet --force wasm-bindgen-cli --version "=$version" --root target/tools >&2
}

ensure_node_packages() {
  if ! command -v npm >/dev/null; then apt_install nodejs npm; fi
  # npm ci only when package-lock.json changed since the last install.
  if [ ! -f node_modules/.ayuda-stamp ] || [ package-lock.json -nt node_modules/.ayuda-stamp ]; then
    say "installing npm dev packages"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
    touch node_modules/.ayuda-stamp
  fi
}

ensure_chromium() {
  local chromium=${CHROMIUM:-/usr/bin/chromium}
  if [ -x "$chromium" ] && command -v chromedriver >/dev/null; then return; fi
  apt_install chromium chromium-driver
}

# The site generator of the README's Hugo recipe, which the tests run (Eleventy comes with the
# npm dev packages).
ensure_hugo() {
  command -v hugo >/dev/null || apt_install hugo
}

# A real SMTP server for the inbox's mail tests (Debian's aiosmtpd, writing a Maildir).
ensure_smtpd() {
  command -v aiosmtpd >/dev/null || apt_install python3-aiosmtpd
}

# A real PostgreSQL server for the inbox's tests on PostgreSQL (Debian's package; each test
# starts its own server in a scratch folder, on a free loopback port).
ensure_postgres() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
}

ensure_model() {
  bash models/fetch.sh
  bash models/fetch-multilingual.sh
}

what=${1:-all}
case "$what" in
  all) ensure_rust; ensure_wasm_bindgen; ensure_node_packages; ensure_chromium; ensure_hugo; ensure_smtpd; ensure_postgres; ensure_model ;;
  build) ensure_rust; ensure_wasm_bindgen; ensure_node_packages; ensure_model ;;
  *) fail "usage: tools/ensure.sh [all|build]" ;;
esac
