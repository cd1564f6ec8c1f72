// The encoder worker: owns fetching and caching the wasm module and the model, and running the
// encoder off the page's main thread. It never sends anything anywhere: its only requests are
// GETs for the module and the model on the page's own origin.
//
// Messages in:  {id, op: 'load', model: URL}                     a packed model file
//               {id, op: 'load', modelDir: URL}                  a sentence-transformers folder (full precision)
//               {id, op: 'embed', text}
// Messages out: {id, type: 'progress', loaded, total}
//               {id, type: 'ready', ms, dim, fingerprint, bytes, memory}   (bytes fetched, wasm heap)
//               {id, type: 'result', vector: Float32Array, ms}
//               {id, type: 'error', message}
import init, { Encoder } from './pkg/ayuda.js';

const CACHE = 'ayuda-model-v1';
let encoder = null;
const wasmReady = init({ module_or_path: new URL('./pkg/ayuda_bg.wasm', import.meta.url) });
let wasmMemory = null;
wasmReady.then((exports) => { wasmMemory = exports.memory; }, () => {});

// Reads a response body to bytes, reporting progress when the size is known.
async function readBody(response, onProgress) {
  const total = Number(response.headers.get('content-length')) || 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return bytes;
}

// Fetches through the Cache API so the model survives reloads and works offline. A cached copy
// is revalidated (If-Modified-Since) when the network is there, so a redeployed model is seen.
async function cachedBytes(url, onProgress, { optional = false } = {}) {
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

async function load(msg) {
  const t0 = performance.now();
  const progress = (loaded, total) => postMessage({ id: msg.id, type: 'progress', loaded, total });
  await wasmReady;
  if (msg.model) {
    const bytes = await cachedBytes(new URL(msg.model, location.href).href, progress);
    encoder = new Encoder(bytes);
  } else if (msg.modelDir) {
    const base = new URL(msg.modelDir.endsWith('/') ? msg.modelDir : msg.modelDir + '/', location.href);
    const get = (name, opts) => cachedBytes(new URL(name, base).href, progress, opts);
    const [config, tokenizer, weights, sbert, pooling] = await Promise.all([
      get('config.json'), get('tokenizer.json'), get('model.safetensors'),
      get('sentence_bert_config.json', { optional: true }), get('1_Pooling/config.json', { optional: true }),
    ]);
    encoder = Encoder.fromFiles(config, tokenizer, weights, sbert ?? undefined, pooling ?? undefined);
  } else {
    throw new Error("load needs 'model' (a packed file URL) or 'modelDir'");
  }
  return { type: 'ready', ms: performance.now() - t0, dim: encoder.dim,
           fingerprint: encoder.fingerprint, bytes: fetchedBytes(),
           memory: wasmMemory ? wasmMemory.buffer.byteLength : 0 };
}

function embed(msg) {
  if (!encoder) throw new Error('the model is not loaded yet');
  if (typeof msg.text !== 'string') throw new Error('embed needs a text string');
  const t0 = performance.now();
  const vector = encoder.embed(msg.text);
  return { type: 'result', vector, ms: performance.now() - t0 };
}

// One request at a time, in arrival order: an embed sent before 'ready' waits for the load.
let queue = Promise.resolve();
self.onmessage = (event) => {
  const msg = event.data;
  queue = queue.then(async () => {
    try {
      const reply = msg.op === 'load' ? await load(msg)
        : msg.op === 'embed' ? embed(msg)
        : (() => { throw new Error(`unknown op ${msg.op}`); })();
      const transfer = reply.vector ? [reply.vector.buffer] : [];
      postMessage({ id: msg.id, ...reply }, transfer);
    } catch (error) {
      postMessage({ id: msg.id, type: 'error', message: String(error && error.message || error) });
    }
  });
};
