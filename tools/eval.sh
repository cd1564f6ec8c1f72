#!/usr/bin/env bash
# Answer quality on the dev sets (ARCHITECTURE.md, "Answer policy"): for each set, builds the
# knowledge base at default settings (the model `ayuda build` picks for it, the trained answer
# model as cross-validation decides) and scores its questions with `ayuda eval`, printing each
# command before its output, and its early tier (words alone, before the model arrives); then
# the same without the trained answer model (before/after), and with the other model; then one
# table of all. Sets: banking77, banking77-oos, stackfaq, covid, bitext
# (tools/datasets.py, from ../shared/data), demo-es and demo-en (the demo site's visitors,
# tests/eval), clinic-es, clinic-en and bikes (FAQs with one question per entry, tests/eval). The ceiling column is what one threshold picked on the questions themselves
# would give at <= 5% wrong: not a setting, the headroom left to calibration.
# Usage: tools/eval.sh [SET...]
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data
[ -d "$data" ] || { echo "eval: $data not found (../shared must sit beside the repo)" >&2; exit 1; }
cargo build --release --quiet --bin ayuda
python3 tools/datasets.py "$data" target/eval
ayuda=target/release/ayuda
english=www/models/all-MiniLM-L6-v2.ayuda
multi=www/models/multilingual-e5-small.ayuda
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(banking77 banking77-oos stackfaq covid bitext demo-es demo-en clinic-es clinic-en bikes)
run() { echo "$ ayuda ${*:2}" >&2; "$@"; }
# The build's log is read below ("ayuda: model FILE"): in English, whatever the locale.
export AYUDA_LANG=en
table=target/eval/table.tsv
: > "$table"
for s in "${sets[@]}"; do
  echo "== $s"
  dir=target/eval/$s
  case $s in
    demo-*) sources=(www/demo --contact www/demo-contact.toml); lang=(--lang "${s#demo-}") ;;
    # Asked with the page's language, as the widget asks.
    clinic-*) sources=("$dir/kb.csv"); lang=(--lang "${s#clinic-}") ;;
    bikes) sources=("$dir/kb.csv"); lang=(--lang es) ;;
    *) sources=("$dir/kb.csv"); lang=() ;;
  esac
  for model in default untrained "$english" "$multi"; do
    if [ "$model" = default ]; then
      run "$ayuda" build "${sources[@]}" --out "$dir/kb.bin" 2> "$dir/build.log" || { cat "$dir/build.log" >&2; exit 1; }
      cat "$dir/build.log" >&2
      chosen=$(sed -n 's/^ayuda: model \([^ ]*\) .*/\1/p' "$dir/build.log")
      name=$(basename "${chosen:-?}" .ayuda)
      label="default ($name)"
    elif [ "$model" = untrained ]; then
      # The default without the trained answer model: what it adds shows as the difference.
      grep -q "answer model trained on your phrasings counts" "$dir/build.log" || continue
      run "$ayuda" build "${sources[@]}" --model "$chosen" --trained-weight 0 --out "$dir/kb.bin"
      label="$name, no trained model"
    else
      # The default build already used this model: nothing new to learn.
      [ "$(basename "$model")" = "$(basename "${chosen:-}")" ] && continue
      run "$ayuda" build "${sources[@]}" --model "$model" --out "$dir/kb.bin"
      label=$(basename "$model" .ayuda)
    fi
    json=$(run "$ayuda" eval --kb "$dir/kb.bin" --queries "$dir/queries.csv" --oos-label oos "${lang[@]}" --json)
    echo "$json"
    printf '%s\t%s\t%s\n' "$s" "$label" "$json" >> "$table"
    if [ "$model" = default ]; then
      # The early tier of the same bundle: words alone, before the model has arrived.
      json=$(run "$ayuda" eval --kb "$dir/kb.bin" --queries "$dir/queries.csv" --oos-label oos "${lang[@]}" --early --json)
      echo "$json"
      printf '%s\t%s\t%s\n' "$s" "early tier (words alone)" "$json" >> "$table"
    fi
  done
done
python3 - "$table" <<'PY'
import json, sys
print(f"\n{'set':<14} {'model':<44} {'correct':>8} {'wrong':>7} {'suggest':>8} {'top-1':>7} {'trained':>8} {'answers':>8} {'ceiling':>8}")
for line in open(sys.argv[1], encoding="utf-8"):
    s, model, j = line.rstrip("\n").split("\t")
    r = json.loads(j)
    trained = f"{r.get('trained_weight', 0):.0%}" if r.get('trained_weight') else "-"
    answers = f"{r.get('answer_weight', 0):.0%}" if r.get('answer_weight') else "-"
    print(f"{s:<14} {model:<44} {r['correct_rate']:>8.1%} {r['wrong_rate']:>7.1%} {r['suggest_rate']:>8.1%} {r['top1_accuracy']:>7.1%} {trained:>8} {answers:>8} {r['ceiling_correct_rate']:>8.1%}")
PY
