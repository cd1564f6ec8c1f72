// The encoder in headless Chromium: the wasm32 build, in its worker, gives sentence-transformers'
// vectors, from the model folder and from the packed file, and fails clearly on bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, reference, cosine, openTestPage } from './harness.mjs';

let server, browser;
const rows = reference();

before(async () => {
  server = await serve('www', {
    '/tests': 'tests/browser/pages',
    '/fullmodel': 'models/all-MiniLM-L6-v2',
  });
  browser = await launch();
});
after(async () => { await browser?.close(); server?.stop(); });

/** A fresh page on the worker test page (own cache, own worker), recording its requests. */
const openPage = () => openTestPage(browser, server);

async function embedAll(page, load, texts) {
  return page.evaluate(async ({ load, texts }) => {
    const client = new window.EncoderClient();
    await (load.dir ? client.loadDir(load.dir) : client.load(load.file));
    const out = [];
    for (const t of texts) out.push(Array.from((await client.embed(t)).vector));
    client.terminate();
    return out;
  }, { load, texts });
}

function parity(vectors) {
  const cos = rows.map((r, i) => cosine(r.embedding, vectors[i]));
  return { cos, mean: cos.reduce((a, b) => a + b) / cos.length, min: Math.min(...cos) };
}

test('full precision in the browser matches sentence-transformers on every reference row', async () => {
  const { page, requests, close } = await openPage();
  const vectors = await embedAll(page, { dir: '/fullmodel/' }, rows.map((r) => r.text));
  const { cos, mean, min } = parity(vectors);
  console.log(`browser, full precision: mean cosine ${mean.toFixed(6)}, min ${min.toFixed(6)}`);
  cos.forEach((c, i) => assert.ok(c >= 0.9999, `cosine ${c} for ${JSON.stringify(rows[i].text.slice(0, 60))}`));
  const origin = new URL(server.url).origin;
  assert.deepEqual(requests.filter((u) => new URL(u).origin !== origin), [], 'no request leaves the origin');
  await close();
});

test('the packed model in the browser stays close to sentence-transformers', async () => {
  const { page, close } = await openPage();
  const vectors = await embedAll(page, { file: '/models/all-MiniLM-L6-v2.ayuda' }, rows.map((r) => r.text));
  const { mean, min } = parity(vectors);
  console.log(`browser, packed: mean cosine ${mean.toFixed(5)}, min ${min.toFixed(5)}`);
  assert.ok(mean >= 0.995, `mean cosine ${mean}`);
  assert.ok(min >= 0.985, `min cosine ${min}`);
  await close();
});

test('empty, huge, right-to-left and markup texts all embed to unit vectors', async () => {
  const { page, close } = await openPage();
  const texts = ['', 'x'.repeat(1 << 20), 'مرحبا، أين طلبي؟ 📦', '<script>alert(1)</script>'];
  const vectors = await embedAll(page, { file: '/models/all-MiniLM-L6-v2.ayuda' }, texts);
  for (const v of vectors) {
    assert.equal(v.length, 384);
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
  }
  await close();
});

test('a damaged or missing model is a clear error, and the worker keeps answering', async () => {
  const { page, close } = await openPage();
  const result = await page.evaluate(async () => {
    const client = new window.EncoderClient();
    const errors = {};
    try { await client.embed('hola'); } catch (e) { errors.early = e.message; }
    try { await client.load('/tests/encoder.html'); } catch (e) { errors.notModel = e.message; }
    try { await client.load('/models/missing.ayuda'); } catch (e) { errors.missing = e.message; }
    // An interrupted download: the first half of the real file, as a blob URL.
    const bytes = new Uint8Array(await (await fetch('/models/all-MiniLM-L6-v2.ayuda')).arrayBuffer());
    const cut = URL.createObjectURL(new Blob([bytes.slice(0, bytes.length >> 1)]));
    try { await client.load(cut); } catch (e) { errors.truncated = e.message; }
    const ready = await client.load('/models/all-MiniLM-L6-v2.ayuda');
    const { vector } = await client.embed('still works');
    return { errors, dim: ready.dim, len: vector.length };
  });
  assert.match(result.errors.early, /not loaded/);
  assert.match(result.errors.notModel, /not an ayuda model file/);
  assert.match(result.errors.missing, /HTTP 404/);
  assert.match(result.errors.truncated, /truncated/);
  assert.equal(result.dim, 384);
  assert.equal(result.len, 384);
  await close();
});
