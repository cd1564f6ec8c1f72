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
node "$peer/run.mjs" "$url/peer/peer.html?dtype=q8" "$url/bench.html?queries=/peer/queries.json" \
  | node tools/bench_summary.mjs
