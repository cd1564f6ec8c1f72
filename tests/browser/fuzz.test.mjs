// The browser build's readers under structure-aware fuzzing, in Node (the same wasm module the
// worker runs, no page needed): valid frames (checksum right, as a crafted file would have)
// whose manifests carry hostile numbers or whose data has changed bytes. Each must load or be
// refused with an Error; a trap (RuntimeError: a Rust panic aborting in wasm) fails the test,
// and one that loads must answer. The wasm heap (which never shrinks) may grow by what a few
// files need, not per file. FUZZ_CASES and FUZZ_MODEL_CASES raise the counts (`make fuzz`).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root, AYUDA } from './harness.mjs';
import { initSync, Encoder, Knowledge } from '../../www/pkg/ayuda.js';
import { initSync as initWords, Words, contactOffer } from '../../www/pkg/ayuda_early.js';

const CASES = Number(process.env.FUZZ_CASES) || 300;
// Each model load costs about 0.1 s: a tenth as many as bundles unless FUZZ_MODEL_CASES says.
const MODEL_CASES = Number(process.env.FUZZ_MODEL_CASES) || Math.max(20, Math.floor(CASES / 10));
let bundle, model, encoder, wasm, wordsWasm;

before(() => {
  wasm = initSync({ module: readFileSync(path.join(root, 'www/pkg/ayuda_bg.wasm')) });
  wordsWasm = initWords({ module: readFileSync(path.join(root, 'www/pkg/ayuda_early_bg.wasm')) });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ayuda-fuzz-'));
  const out = path.join(dir, 'kb.bin');
  const packed = path.join(root, 'www/models/all-MiniLM-L6-v2.ayuda');
  execFileSync(AYUDA, ['build', path.join(root, 'tests/fixtures/kb/faq.csv'), '--model', packed, '--out', out],
    { stdio: 'ignore' });
  bundle = new Uint8Array(readFileSync(out));
  rmSync(dir, { recursive: true, force: true });
  model = new Uint8Array(readFileSync(packed));
  encoder = new Encoder(model);
});

// CRC32 (IEEE) for the frame's checksum: node's zlib.crc32 is missing from the Node versions
// Debian ships, and the table is ten lines.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A seeded generator, so a failure names a case that can be run again. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
}

const HOSTILE = [0, 1, -1, 2 ** 31, 2 ** 32 - 1, 2 ** 53, 1e300, 1e-30, 65535, 384, 1024 ** 3];

/** `bytes` with its manifest edited by `edit` (the frame's lengths and checksum made right). */
function reframe(bytes, edit) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const manifestLen = view.getUint32(20, true);
  const manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(24, 24 + manifestLen)));
  const data = bytes.subarray(24 + manifestLen, bytes.length - 4).slice();
  const text = new TextEncoder().encode(JSON.stringify(edit(manifest, data) ?? manifest));
  const out = new Uint8Array(24 + text.length + data.length + 4);
  out.set(bytes.subarray(0, 20));
  const o = new DataView(out.buffer);
  o.setBigUint64(12, BigInt(out.length), true);
  o.setUint32(20, text.length, true);
  out.set(text, 24);
  out.set(data, 24 + text.length);
  o.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** Every [holder, key] of a number in `v`. */
function numbers(v, out = []) {
  if (Array.isArray(v)) v.forEach((x, i) => (typeof x === 'number' ? out.push([v, i]) : numbers(x, out)));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) typeof x === 'number' ? out.push([v, k]) : numbers(x, out);
  }
  return out;
}

function mutated(bytes, random, nested) {
  return reframe(bytes, (manifest, data) => {
    if (random() < 0.5) {
      // Hostile numbers in the manifest (and in the config.json a model keeps inside it).
      const inner = nested && typeof manifest[nested] === 'string' ? JSON.parse(manifest[nested]) : null;
      const slots = numbers(manifest).concat(inner ? numbers(inner) : []);
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
        const [holder, key] = slots[Math.floor(random() * slots.length)];
        holder[key] = HOSTILE[Math.floor(random() * HOSTILE.length)];
      }
      if (inner) manifest[nested] = JSON.stringify(inner);
    } else {
      for (let n = 1 + Math.floor(random() * 16); n > 0; n--) {
        data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
      }
    }
    return manifest;
  });
}

/** Uses a wasm object and frees it at once: the garbage collector does not see the wasm
 *  heap, so hundreds of unfreed 20 MB models would exhaust it (a trap of the test's own making). */
function freed(object, use) {
  try {
    return use(object);
  } finally {
    object.free();
  }
}

/** Runs `f`; an Error is a refusal (fine), a RuntimeError is a trap (not). */
function noTrap(f, what) {
  try {
    f();
  } catch (error) {
    assert.ok(!(error instanceof WebAssembly.RuntimeError), `${what}: trapped: ${error.message}`);
  }
}

/** The wasm heaps' growth over `f` (the model's module and the early tier's), printed and held
 *  to `bound` bytes. */
function heapGrowth(what, bound, f) {
  const heaps = () => wasm.memory.buffer.byteLength + wordsWasm.memory.buffer.byteLength;
  const before = heaps();
  f();
  const grown = heaps() - before;
  console.log(`${what}: wasm heap ${(before / 2 ** 20).toFixed(1)} MiB -> grew ${(grown / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(grown <= bound, `${what}: the heap grew ${grown} bytes, over ${bound}`);
}

test(`${CASES} crafted bundles: refused or answering, never a trap`, () => heapGrowth(`${CASES} bundles`,
  // A file's worth of room: leaking per file would pass this within a few hundred cases.
  4 * 2 ** 20 + 8 * bundle.length, () => {
  const random = rng(20261129);
  for (let i = 0; i < CASES; i++) {
    const bytes = mutated(bundle, random, null);
    noTrap(() => freed(new Words(bytes), (words) => {
      words.turn('¿Hacéis envíos a Canarias?', 'es');
      words.turn('', null);
      words.contact(Date.now(), true);
    }), `bundle case ${i}`);
    noTrap(() => contactOffer(bytes, Date.now(), false), `bundle case ${i}, the way to a person`);
    noTrap(() => freed(new Knowledge(bytes, encoder), (kb) => {
      kb.ask(encoder, 'When does my order get here?', 'en');
      kb.contact(Date.now(), false);
    }), `bundle case ${i} with the model`);
  }
  // The module still works after all of them.
  assert.match(freed(new Knowledge(bundle, encoder), (kb) => kb.ask(encoder, '¿Cuándo llega mi pedido?', 'es')),
    /envio-plazo/);
}));

test(`${MODEL_CASES} crafted models: refused or embedding, never a trap`, () => heapGrowth(`${MODEL_CASES} models`,
  // Room for two models at once (the copy passed in and the one being built from it).
  4 * model.length, () => {
  const random = rng(7);
  for (let i = 0; i < MODEL_CASES; i++) {
    const bytes = mutated(model, random, 'config');
    noTrap(() => freed(new Encoder(bytes), (e) => e.embed('hola, ¿abrís los domingos?')), `model case ${i}`);
  }
  assert.equal(encoder.embed('hola').length, 384);
}));
