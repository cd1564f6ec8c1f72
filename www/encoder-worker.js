// The encoder worker: owns fetching and caching the wasm module, the model and the knowledge
// base, and running the encoder and retrieval off the page's main thread. It never sends
// anything anywhere: its only requests are GETs for the module, the model and the bundle on the
// page's own origin, and the visitor's questions never leave it.
//
// Messages in:  {id, op: 'load', model: URL, kb?: URL}           a packed model file (and a bundle)
//               {id, op: 'load', modelBase: URL, kb: URL}        the model the bundle names, in modelBase
//               {id, op: 'load', modelDir: URL, kb?: URL}        a sentence-transformers folder (full precision)
//               {id, op: 'embed', text}
//               {id, op: 'early', kb}                            the bundle's early tier alone (words, no
//                                                                model): answers before the load is done
//               {id, op: 'ask', text, lang?, early?}             needs a load with kb; lang: the visitor's;
//                                                                early: answered at once, by the early tier
//                                                                until the model is in (out of turn)
//               {id, op: 'contact', now, urgent, kb}             the way to a person at `now` (ms), from
//                                                                the loaded bundle, else from kb's bytes
//               {id, op: 'prepare', draft}                       check an escalation form (escalate::Draft)
// Messages out: {id, type: 'progress', loaded, total}            (summed over the files of a load)
//               {id, type: 'ready', ms, dim, fingerprint, bytes, memory, entries, kbFingerprint}
//                   (bytes fetched, wasm heap; entries and kbFingerprint are null without kb)
//               {id, type: 'result', vector: Float32Array, ms}
//               {id, type: 'early-ready', entries}
//               {id, type: 'reply', reply, signals, offerPerson, tier, ms}
//                   reply: what `ayuda ask --json` prints; signals: {wantsPerson, urgent};
//                   offerPerson: this turn reached the owner's number of misses in a row;
//                   tier: 'full' (the model) or 'early' (the words alone)
//               {id, type: 'contact', offer}                     escalate::Offer (lane, phones, delivery)
//               {id, type: 'prepared', ok, message, body, form}  or {ok: false, problems}
//               {id, type: 'error', message}
// A load either replaces the model and the knowledge base together or, on any error, leaves
// both as they were, so a bad file never leaves an encoder paired with a bundle it does not fit.
//
// Two wasm modules: the early tier's (pkg/ayuda_early: the bundle's words, the way to a person,
// the message check; a quarter of the size) starts with the worker, and the model's
// (pkg/ayuda: the encoder) only when a load needs it, after the bundle is in, so the first
// answer never shares the network with the model's bytes.
import initWords, { Words, bundleModelFile, contactOffer, prepareMessage } from './pkg/ayuda_early.js';

const CACHE = 'ayuda-model-v1';
let encoder = null;
let knowledge = null;
let early = null;       // the bundle's early tier (a Words), until the model is in
let downloading = null; // {url, bytes: Promise}: the bundle download under way
const wordsReady = initWords({ module_or_path: new URL('./pkg/ayuda_early_bg.wasm', import.meta.url) });
let modelModule = null; // the model's module, once a load has asked for it
let wasmMemory = null;
let kernels = null;     // which build and int8 kernel run: 'simd128', 'relaxed-simd/bytes', ...
let retuned = false;    // whether the relaxed module's second timing has run

// The model's module comes in two builds with the same vectors: pkg/ayuda_relaxed uses relaxed
// SIMD's byte dot product (Chromium 114+, Firefox 120+), pkg/ayuda simd128 alone (every browser
// with wasm SIMD). A browser gets the first when it validates this probe, a function doing one
// i32x4.relaxed_dot_i8x16_i7x16_add_s, and the module then finds the engine's products exact.
// The relaxed module then times its two int8 kernels (a few milliseconds; same vectors either
// way) and keeps the faster for this processor: once as it starts, and again once the first
// model is loaded, when the engine has optimised the timed code and the start-up work is over
// (the first timing alone was seen to pick the slower one). Later loads keep that choice.
// `?kernels=simd128` on the worker's URL forces the simd128 module; `relaxed-bytes` and
// `relaxed-wide` force the relaxed module's int8 kernel (tests, benchmarks).
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //        type: () -> v128
  0x03, 0x02, 0x01, 0x00, //                          one function of that type
  0x0a, 0x13, 0x01, 0x11, 0x00, //                    its body, no locals:
  0x41, 0x00, 0xfd, 0x0f, 0x41, 0x00, 0xfd, 0x0f, 0x41, 0x00, 0xfd, 0x0f, // three i8x16.splat 0
  0xfd, 0x93, 0x02, 0x0b, //                          the dot product, end
]);
const forcedKernels = new URL(import.meta.url).searchParams.get('kernels');

async function startModule(name) {
  const module = await import(`./pkg/${name}.js`);
  const exports = await module.default({ module_or_path: new URL(`./pkg/${name}_bg.wasm`, import.meta.url) });
  return { module, exports };
}

/** Picks the relaxed module's int8 kernel (forced by the worker's URL, else the faster here). */
function tuneKernels(module) {
  const choice = { 'relaxed-bytes': 'bytes', 'relaxed-wide': 'wide' }[forcedKernels] ?? 'fastest';
  kernels = `relaxed-simd/${module.tuneKernels(choice, () => performance.now())}`;
}

/** The model's module ({Encoder, Knowledge}), fetched and started on first use. */
function model() {
  modelModule ??= (async () => {
    let started = null;
    if (forcedKernels !== 'simd128' && WebAssembly.validate(RELAXED_PROBE)) {
      // Any failure here (an engine that validates the probe but not the module, products not
      // exact) leaves the simd128 module to try.
      started = await startModule('ayuda_relaxed').catch(() => null);
      if (started && !started.module.kernelsExact()) started = null;
      if (started) tuneKernels(started.module);
    }
    if (!started) {
      started = await startModule('ayuda');
      kernels = started.module.kernels();
    }
    wasmMemory = started.exports.memory;
    return started.module;
  })();
  return modelModule;
}

// Reads a response body to bytes, reporting progress when the size is known.
async function readBody(response, onProgress) {
  const total = Number(response.headers.get('content-length')) || 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  return collect(response.body, (loaded) => onProgress(loaded, total));
}

/** Reads `stream` to its end into one array; `onChunk(loaded)` sees each step and may throw
 *  to stop it. */
async function collect(stream, onChunk) {
  const reader = stream.getReader();
  const chunks = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      loaded += value.length;
      onChunk(loaded);
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return bytes;
}

// `ayuda site` stores the model and the bundle gzip-compressed, because static hosts do not
// compress application/octet-stream on the wire; they are unpacked here by the browser's own
// DecompressionStream, up to a bound no file ayuda writes comes near. Plain files pass as they are.
const MAX_UNPACKED = 256 * 1024 * 1024;

async function unpacked(bytes, url) {
  if (!bytes || bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  if (typeof DecompressionStream === 'undefined') {
    throw new Error(`${url} is compressed and this browser cannot unpack it (no DecompressionStream)`);
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  try {
    return await collect(stream, (length) => {
      if (length > MAX_UNPACKED) throw new Error(`${url} unpacks to more than ${MAX_UNPACKED >> 20} MB`);
    });
  } catch (error) {
    throw new Error(`${url} is not a whole compressed file: ${error.message}`);
  }
}

// A model or bundle file's bytes, through the Cache API (which keeps them as stored), unpacked.
async function cachedBytes(url, onProgress, options) {
  return unpacked(await storedBytes(url, onProgress, options), url);
}

// Fetches through the Cache API so the model survives reloads and works offline. A cached copy
// is revalidated (If-Modified-Since) when the network is there, so a redeployed model is seen.
async function storedBytes(url, onProgress, { optional = false } = {}) {
  // The Cache API takes http(s) only; blob: and data: URLs are already local.
  const cache = 'caches' in self && /^https?:/.test(url) ? await caches.open(CACHE) : null;
  const cached = cache ? await cache.match(url) : undefined;
  let response;
  try {
    const headers = {};
    const lastModified = cached && cached.headers.get('last-modified');
    if (lastModified) headers['if-modified-since'] = lastModified;
    response = await fetch(url, { headers, cache: 'no-store' });
  } catch (networkError) {
    if (cached) return readBody(cached, onProgress);
    throw new Error(`could not download ${url}: ${networkError.message}`);
  }
  if (response.status === 304 && cached) return readBody(cached, onProgress);
  if (!response.ok) {
    if (optional && response.status === 404) return null;
    if (cached) return readBody(cached, onProgress);
    throw new Error(`could not download ${url}: HTTP ${response.status}`);
  }
  const bytes = await readBody(response, onProgress);
  if (cache) {
    await cache.put(url, new Response(bytes, {
      headers: { 'content-type': 'application/octet-stream',
                 'last-modified': response.headers.get('last-modified') || '' },
    }));
  }
  return bytes;
}

function fetchedBytes() {
  return performance.getEntriesByType('resource')
    .reduce((n, e) => n + (e.encodedBodySize || 0), 0);
}

// One progress callback per file, reporting the sum over every file of the load: the files are
// fetched at once, and the page wants one bar, not several interleaved ones.
function progressSum(id) {
  const files = new Map();
  return (url) => (loaded, total) => {
    files.set(url, { loaded, total });
    let l = 0, t = 0;
    for (const f of files.values()) { l += f.loaded; t += f.total; }
    postMessage({ id, type: 'progress', loaded: l, total: t });
  };
}

async function newEncoder(msg, progress, kbBytes) {
  if (!msg.model && !msg.modelDir && msg.modelBase && kbBytes) {
    // The bundle names the model it was built with (English or multilingual): one small
    // download first, then the model.
    await wordsReady;
    const name = bundleModelFile(await kbBytes);
    msg = { ...msg, model: new URL(name, new URL(msg.modelBase, location.href)).href };
  }
  // With a bundle, the model's bytes wait for it (and for the early tier's module): on a slow
  // network they would otherwise slow the first answer down by sharing the line.
  if (kbBytes) await Promise.all([kbBytes, wordsReady]);
  // The model's module downloads beside the model, not before it.
  const module = model();
  module.catch(() => {}); // awaited below; a model error may come first
  if (msg.model) {
    const url = new URL(msg.model, location.href).href;
    const bytes = await cachedBytes(url, progress(url));
    return new (await module).Encoder(bytes);
  }
  if (msg.modelDir) {
    const base = new URL(msg.modelDir.endsWith('/') ? msg.modelDir : msg.modelDir + '/', location.href);
    const get = (name, opts) => {
      const url = new URL(name, base).href;
      return cachedBytes(url, progress(url), opts);
    };
    const [config, tokenizer, weights, sbert, pooling] = await Promise.all([
      get('config.json'), get('tokenizer.json'), get('model.safetensors'),
      get('sentence_bert_config.json', { optional: true }), get('1_Pooling/config.json', { optional: true }),
    ]);
    return (await module).Encoder.fromFiles(config, tokenizer, weights, sbert ?? undefined, pooling ?? undefined);
  }
  throw new Error("load needs 'model' (a packed file URL), 'modelDir', or 'modelBase' with 'kb'");
}

async function load(msg) {
  const t0 = performance.now();
  const progress = progressSum(msg.id);
  // The bundle downloads beside the model rather than after it; it is checked against the new
  // encoder, since it holds vectors only the model it was built with can be compared to.
  const kbUrl = msg.kb ? new URL(msg.kb, location.href).href : null;
  const kbBytes = kbUrl ? bundleBytes(kbUrl, progress(kbUrl)) : null;
  kbBytes?.catch(() => {}); // awaited below; a model error may come first
  const nextEncoder = await newEncoder(msg, progress, kbBytes);
  if (!retuned && kernels?.startsWith('relaxed-simd')) {
    tuneKernels(await model());
    retuned = true;
  }
  let nextKnowledge = null;
  try {
    if (kbBytes) nextKnowledge = new (await model()).Knowledge(await kbBytes, nextEncoder);
  } catch (error) {
    nextEncoder.free();
    throw error;
  }
  // Freed now rather than whenever the garbage collector runs: the wasm heap never shrinks, but
  // the next load can reuse the memory the old model held (18 MB packed, ~90 MB full precision).
  encoder?.free();
  knowledge?.free();
  encoder = nextEncoder;
  knowledge = nextKnowledge;
  // The model answers from now on.
  early?.free();
  early = null;
  return { type: 'ready', ms: performance.now() - t0, dim: encoder.dim,
           fingerprint: encoder.fingerprint, bytes: fetchedBytes(),
           memory: wasmMemory ? wasmMemory.buffer.byteLength : 0, kernels,
           entries: knowledge ? knowledge.entries : null,
           kbFingerprint: knowledge ? knowledge.fingerprint : null };
}

// The bundle at `url`: the download under way for it if there is one (a load, the early tier
// and the way to a person started together share it), else a new one.
function bundleBytes(url, onProgress) {
  if (downloading?.url === url) return downloading.bytes;
  const bytes = cachedBytes(url, onProgress);
  const current = { url, bytes };
  downloading = current;
  const done = () => { if (downloading === current) downloading = null; };
  bytes.then(done, done);
  return bytes;
}

async function loadEarly(msg) {
  if (typeof msg.kb !== 'string') throw new Error('early needs a kb URL');
  await wordsReady;
  const next = new Words(await bundleBytes(new URL(msg.kb, location.href).href, () => {}));
  if (knowledge) { next.free(); return { type: 'early-ready', entries: knowledge.entries }; }
  early?.free();
  early = next;
  return { type: 'early-ready', entries: early.entries };
}

function embed(msg) {
  if (!encoder) throw new Error('the model is not loaded yet');
  if (typeof msg.text !== 'string') throw new Error('embed needs a text string');
  const t0 = performance.now();
  const vector = encoder.embed(msg.text);
  return { type: 'result', vector, ms: performance.now() - t0 };
}

// Whether `msg` is answered by the early tier: it asks for it, and the model is not in yet.
function answeredEarly(msg) {
  return msg.op === 'ask' && Boolean(msg.early) && !knowledge && early !== null;
}

function ask(msg) {
  const byWords = answeredEarly(msg);
  if (!knowledge && !byWords) {
    throw new Error(encoder ? "no knowledge base is loaded: send 'load' with a kb URL first"
      : "the model and the knowledge base are not loaded yet: send 'load' with a kb URL first");
  }
  if (typeof msg.text !== 'string') throw new Error('ask needs a text string');
  const t0 = performance.now();
  // Rust hands back the same JSON `ayuda ask --json` prints; parsed here so the page gets an
  // object and the native and browser outcomes can be compared as they are.
  const lang = typeof msg.lang === 'string' && msg.lang ? msg.lang : undefined;
  // A turn also reads the words (asking for a person, urgency: the page offers a person at
  // once) and counts misses in a row.
  const turn = JSON.parse(byWords ? early.turn(msg.text, lang)
    : knowledge.turn(encoder, msg.text, lang));
  return { type: 'reply', ...turn, ms: performance.now() - t0 };
}

// The page's clock, not the worker's: it is the one the visitor (and a test) sees. Answered out
// of turn (see onmessage) and from the bundle alone when the model is still downloading, or
// failed: the way to a person must not wait for 18 MB.
async function contact(msg) {
  const now = Number(msg.now);
  const urgent = Boolean(msg.urgent);
  if (knowledge) return { type: 'contact', offer: JSON.parse(knowledge.contact(now, urgent)) };
  if (early) return { type: 'contact', offer: JSON.parse(early.contact(now, urgent)) };
  if (!msg.kb) throw new Error('contact needs a kb URL while no knowledge base is loaded');
  await wordsReady;
  const url = new URL(msg.kb, location.href).href;
  const bytes = await bundleBytes(url, () => {});
  return { type: 'contact', offer: JSON.parse(contactOffer(bytes, now, urgent)) };
}

function prepare(msg) {
  return { type: 'prepared', ...JSON.parse(prepareMessage(JSON.stringify(msg.draft))) };
}

async function handle(msg) {
  try {
    const reply = msg.op === 'load' ? await load(msg)
      : msg.op === 'embed' ? embed(msg)
      : msg.op === 'ask' ? ask(msg)
      : msg.op === 'early' ? await loadEarly(msg)
      : msg.op === 'contact' ? await contact(msg)
      : msg.op === 'prepare' ? (await wordsReady, prepare(msg))
      : (() => { throw new Error(`unknown op ${msg.op}`); })();
    const transfer = reply.vector ? [reply.vector.buffer] : [];
    postMessage({ id: msg.id, ...reply }, transfer);
  } catch (error) {
    postMessage({ id: msg.id, type: 'error', message: String(error && error.message || error) });
  }
}

// One request at a time, in arrival order: an embed sent before 'ready' waits for the load.
// The way to a person (contact, prepare) and the early tier need no model and never wait
// behind it.
let queue = Promise.resolve();
self.onmessage = (event) => {
  const msg = event.data;
  if (msg.op === 'contact' || msg.op === 'prepare' || msg.op === 'early'
      || answeredEarly(msg)) handle(msg);
  else queue = queue.then(() => handle(msg));
};
