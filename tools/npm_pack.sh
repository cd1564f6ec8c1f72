#!/usr/bin/env bash
# The npm package (as Pagefind ships one): npm/ with the release folder's program and models
# under vendor/<platform>-<arch>/, packed by `npm pack` into OUT_DIR. Version from Cargo.toml.
#   tools/npm_pack.sh RELEASE_FOLDER [OUT_DIR]   (the unpacked ayuda-VERSION-PLATFORM folder)
set -euo pipefail
cd "$(dirname "$0")/.."
release=${1:?usage: tools/npm_pack.sh RELEASE_FOLDER [OUT_DIR]}
out=${2:-target/dist}
[ -x "$release/ayuda" ] && [ -d "$release/models" ] || { echo "npm_pack: $release is not an unpacked release folder" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
platform="$(uname -s | tr '[:upper:]' '[:lower:]')-$arch"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -r npm "$stage/package"
mkdir -p "$stage/package/vendor/$platform" "$out"
cp "$release/ayuda" "$stage/package/vendor/$platform/ayuda"
cp -r "$release/models" "$stage/package/vendor/$platform/models"
(cd "$stage/package" && npm pkg set version="$version" >/dev/null)
out=$(cd "$out" && pwd)
tarball=$(cd "$stage/package" && npm pack --silent --pack-destination "$out")
echo "npm_pack: $out/$tarball" >&2
echo "$out/$tarball"
