#!/usr/bin/env bash
# Answer quality on the dev sets (ARCHITECTURE.md, "Answer policy"): for each set, builds the
# knowledge base with the packed model at default settings and scores its questions with
# `ayuda eval`, printing each command before its output. Sets: banking77, banking77-oos,
# stackfaq, covid, bitext (tools/datasets.py). Needs ../shared/data. Usage: tools/eval.sh [SET...]
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data
[ -d "$data" ] || { echo "eval: $data not found (../shared must sit beside the repo)" >&2; exit 1; }
cargo build --release --quiet --bin ayuda
python3 tools/datasets.py "$data" target/eval
model=www/models/all-MiniLM-L6-v2.ayuda
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(banking77 banking77-oos stackfaq covid bitext)
run() { echo "$ ayuda ${*:2}" >&2; "$@"; }
for s in "${sets[@]}"; do
  echo "== $s"
  dir=target/eval/$s
  run target/release/ayuda build "$dir/kb.csv" --model "$model" --out "$dir/kb.bin"
  run target/release/ayuda eval --kb "$dir/kb.bin" --model "$model" --queries "$dir/queries.csv" --oos-label oos --json
done
