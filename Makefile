# The two commands of the README: `make demo` and `make test`. Each installs what it needs first
# (tools/ensure.sh: only what is missing), then builds only what changed.
PORT ?= 8080
# Where the demo's reference inbox stores the messages visitors send to a person.
INBOX_DB ?= target/demo-inbox.db
# More options for the demo's inbox, e.g. mail to the owner:
#   INBOX_ARGS="--smtp smtp://127.0.0.1:2525 --notify owner@example.com" make demo
INBOX_ARGS ?=
MODEL := all-MiniLM-L6-v2
PACKED := www/models/$(MODEL).ayuda
# Spanish and English (and cross-language) sites: `ayuda build` picks it when entries are not all
# English. Its vocabulary is trimmed to the pieces Spanish and English words need.
MULTI := multilingual-e5-small
MULTI_PACKED := www/models/$(MULTI).ayuda
MULTI_WORDS := models/$(MULTI)/words-es.tsv models/$(MULTI)/words-en.tsv
AYUDA := target/debug/ayuda
# The demo site's knowledge base, built from the FAQPage data of its pages.
DEMO_KB := www/kb/demo.bin

.NOTPARALLEL:
.PHONY: demo test setup build native wasm pack demo-kb bench eval fuzz dist clean

# The demo site at the root, ayuda's files (widget, worker, wasm, model, bundle) under /ayuda/,
# and the reference inbox at /inbox/ storing visitors' messages in $(INBOX_DB)
# (read them with `target/debug/ayuda inbox list --db $(INBOX_DB)`).
demo: setup build
	$(AYUDA) serve www/demo --mount /ayuda=www --listen 127.0.0.1:$(PORT) --inbox-db $(INBOX_DB) $(INBOX_ARGS)

test: setup build
	cargo test --quiet
	node --test --test-concurrency=1 tests/browser/

setup:
	bash tools/ensure.sh

# The wasm module first: the native binary carries it and the widget's scripts (`ayuda site`).
build: wasm native pack demo-kb

native:
	cargo build --quiet

wasm:
	python3 tools/build_wasm.py

# The packed model the browser loads; rebuilt when the model or the packer changes.
pack: $(PACKED) $(MULTI_PACKED)
$(PACKED): models/$(MODEL)/model.safetensors $(wildcard src/model/*.rs) | native
	mkdir -p www/models
	$(AYUDA) model pack models/$(MODEL) -o $@
$(MULTI_PACKED): models/$(MULTI)/e5-small-q4.bin $(MULTI_WORDS) $(wildcard src/model/*.rs) | native
	mkdir -p www/models
	$(AYUDA) model pack models/$(MULTI)/e5-small-q4.bin $(addprefix --vocabulary ,$(MULTI_WORDS)) -o $@

demo-kb: $(DEMO_KB)
# No --model: the demo is Spanish and English, so the build picks the multilingual model.
$(DEMO_KB): $(shell find www/demo -name '*.html') www/demo-contact.toml $(PACKED) $(MULTI_PACKED) $(AYUDA) | native
	mkdir -p www/kb
	$(AYUDA) build www/demo --contact www/demo-contact.toml --out $@

# Side by side with transformers.js in one Chromium (DESIGN.md, peer benchmark), then the
# widget's time to first answer on the demo, on loopback and on emulated fast and slow 4G
# (tools/net_bench.mjs); prints one JSON line per engine and profile. Needs
# ../shared/bench/peer-transformersjs.
bench: setup build
	bash tools/bench.sh

# Answer quality on the dev sets at default settings (BANKING77, its out-of-scope variant,
# StackFAQ, COVID FAQ, Bitext, and in tests/eval the demo's Spanish and English visitors and
# two FAQs with one question per entry):
# one `ayuda eval --json` line per set. Needs ../shared/data.
eval: setup build
	bash tools/eval.sh

# Structure-aware fuzzing of the bundle and model readers, natively (tests/native/fuzz.rs) and
# in the wasm build (tests/browser/fuzz.test.mjs, in Node), and of the source readers, the
# tokenizer window and the visitor's message (tests/native/fuzz_text.rs), with far more cases
# than `make test` runs: 10,000 of each kind (FUZZ_CASES=...; about an hour).
FUZZ_CASES ?= 10000
fuzz: setup build
	PROPTEST_CASES=$(FUZZ_CASES) cargo test --quiet --test native fuzz
	FUZZ_CASES=$(FUZZ_CASES) FUZZ_MODEL_CASES=$(FUZZ_CASES) node --test tests/browser/fuzz.test.mjs

# The release archive target/dist/ayuda-VERSION-PLATFORM.tar.gz: the `ayuda` program (carrying
# the widget and the wasm module) and the packed models beside it; and the npm package
# target/dist/ayuda-VERSION.tgz shipping the same (`npx ayuda site ...`). See README.
dist: setup build
	cargo build --quiet --release --bin ayuda
	archive=$$(bash tools/dist.sh target/release/ayuda target/dist) && \
	  bash tools/npm_pack.sh "$${archive%.tar.gz}" target/dist

clean:
	rm -rf www/pkg www/models www/kb
