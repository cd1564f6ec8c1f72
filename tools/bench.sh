#!/usr/bin/env bash
# The browser benchmark, side by side: www/bench.html (ayuda, packed model) and the peer,
# transformers.js q8 (../shared/bench/peer-transformersjs), in one headless Chromium, one run.
# Prints each engine's line without its vectors, then ayuda's ratios to the peer.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=../shared/bench/peer-transformersjs
[ -d "$peer" ] || { echo "bench: $peer not found (../shared must sit beside the repo)" >&2; exit 1; }
if [ ! -d "$peer/node_modules/@huggingface/transformers" ]; then
  (cd "$peer" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi
log=$(mktemp)
target/debug/ayuda serve www --listen 127.0.0.1:0 --mount "/peer=$peer" 2>"$log" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q 'http://' "$log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$log" | head -n1)
# Each model with the module this Chromium picks (relaxed SIMD) and with the simd128 module older
# browsers get; the peer before and after.
q="queries=/peer/queries.json"
node "$peer/run.mjs" "$url/peer/peer.html?dtype=q8" "$url/bench.html?$q" \
  "$url/bench.html?$q&model=models/multilingual-e5-small.ayuda" \
  "$url/bench.html?$q&kernels=simd128" \
  "$url/bench.html?$q&model=models/multilingual-e5-small.ayuda&kernels=simd128" \
  "$url/peer/peer.html?dtype=q8" \
  | node tools/bench_summary.mjs

# Native: the same encoder on the CLI, full model folder against the packed file, 1000 BANKING77
# test questions in batches (what building a knowledge base does). Ratios, as the machine is noisy.
data=../shared/data/banking77/test.csv
if [ -f "$data" ]; then
  cargo build --release --quiet
  texts=$(mktemp)
  trap 'kill $server 2>/dev/null; rm -f "$log" "$texts"' EXIT
  python3 -c 'import csv,sys; rows=list(csv.DictReader(open(sys.argv[1]))); print("\n".join(r["text"].replace("\n"," ") for r in rows[:1000]))' "$data" > "$texts"
  # Prints the seconds spent embedding (`--timing`: loading the model and writing the vectors
  # left out, as the peer's time leaves out loading PyTorch) and the peak memory in KB.
  measure() {
    RAYON_NUM_THREADS=2 /usr/bin/time -f 'peak_kb %M' target/release/ayuda embed --timing --model "$1" < "$texts" 2>&1 >/dev/null \
      | python3 -c 'import json,sys; lines=sys.stdin.read().splitlines(); t=next(json.loads(l) for l in lines if l.startswith("{")); kb=next(l.split()[1] for l in lines if l.startswith("peak_kb")); print(t["embed_seconds"], kb)'
  }
  read -r full_s full_kb < <(measure models/all-MiniLM-L6-v2)
  read -r packed_s packed_kb < <(measure www/models/all-MiniLM-L6-v2.ayuda)
  read -r multi_s multi_kb < <(measure www/models/multilingual-e5-small.ayuda)
  # The packed models again on the SSE2 kernels every x86_64 has (AYUDA_SIMD caps the level the
  # program picks at run time): what the AVX2 / AVX-512 paths add, on the same numbers.
  read -r sse2_s _ < <(AYUDA_SIMD=sse2 measure www/models/all-MiniLM-L6-v2.ayuda)
  read -r multi_sse2_s _ < <(AYUDA_SIMD=sse2 measure www/models/multilingual-e5-small.ayuda)
  # And without the AMX tile unit (AVX-512 VNNI at most), where the processor has one.
  read -r vnni_s _ < <(AYUDA_SIMD=avx512vnni measure www/models/all-MiniLM-L6-v2.ayuda)
  # The native peer: sentence-transformers (PyTorch) on the same texts, model folder and two
  # threads, in a throwaway virtual environment under target/ (made once, several GB: PyTorch
  # from the package index brings its GPU libraries too). ayuda's vectors go along, so the
  # peer's line says how close the two engines' answers are.
  venv=target/bench-venv
  if ! "$venv/bin/python" -c 'import sentence_transformers' 2>/dev/null; then
    echo "bench: installing sentence-transformers into $venv (once, a few minutes)" >&2
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check sentence-transformers==6.3.0 torch==2.15.0 >&2
  fi
  vectors=$(mktemp)
  trap 'kill $server 2>/dev/null; rm -f "$log" "$texts" "$vectors"' EXIT
  RAYON_NUM_THREADS=2 target/release/ayuda embed --model www/models/all-MiniLM-L6-v2.ayuda < "$texts" > "$vectors"
  read -r peer_line < <("$venv/bin/python" tools/bench_native_peer.py models/all-MiniLM-L6-v2 "$texts" 2 "$vectors")
  echo "$peer_line"
  peer_rate=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sentence_transformers_1000"]["texts_per_s"])' "$peer_line")
  python3 -c 'import json,sys; fs,fk,ps,pk,ms,mk,ss,mss,st,vs=map(float,sys.argv[1:]); print(json.dumps({"native_embed_1000": {"full_texts_per_s": round(1000/fs,1), "packed_texts_per_s": round(1000/ps,1), "packed_to_full_speed": round(fs/ps,3), "full_peak_rss_mb": round(fk/1024,1), "packed_peak_rss_mb": round(pk/1024,1), "multilingual_texts_per_s": round(1000/ms,1), "multilingual_peak_rss_mb": round(mk/1024,1), "packed_to_sse2_speed": round(ss/ps,3), "packed_to_no_amx_speed": round(vs/ps,3), "multilingual_to_sse2_speed": round(mss/ms,3), "packed_to_sentence_transformers_speed": round(1000/ps/st,3)}}))' "$full_s" "$full_kb" "$packed_s" "$packed_kb" "$multi_s" "$multi_kb" "$sse2_s" "$multi_sse2_s" "$peer_rate" "$vnni_s"
fi

# The widget on the demo site: time from opening the chat and asking to the answer shown, for a
# new visitor (cold) and after a reload (warm, everything cached); medians of three.
kill $server 2>/dev/null || true
target/debug/ayuda serve www/demo --mount /ayuda=www --listen 127.0.0.1:0 2>"$log" &
server=$!
for _ in $(seq 50); do grep -q 'http://' "$log" && break; sleep 0.1; done
node tools/widget_bench.mjs "$(grep -o 'http://[0-9.:]*' "$log" | head -n1)/" 3

# The same demo for a new visitor on a phone's network (Chromium's emulation of fast 4G and
# slow 4G): bytes before the chat opens, time to the first answer, bytes by then; one JSON line
# per profile and page (tools/net_bench.mjs).
node tools/net_bench.mjs "$(grep -o 'http://[0-9.:]*' "$log" | head -n1)/" fast4g slow4g
