// What the chat keeps to itself, in headless Chromium on the demo site (www/demo, ayuda under
// /ayuda/): other scripts on the page (a session-replay tool, an analytics tag) cannot read the
// conversation, because the chat's shadow root is closed; the owner's answers are plain data,
// sanitised before any markup is parsed, so a hostile or careless answer runs nothing, loads
// nothing and makes a strict Content-Security-Policy report nothing; an endpoint's refusal is
// shown as text. Needs `make build`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve, launch, root, AYUDA, openChat, ES } from './harness.mjs';

// Answers an owner might paste from anywhere, or an attacker might slip into a bundle: each
// must show its words and nothing else. The questions share no words, so each is answered by
// the words alone, before the model has arrived.
const PAYLOADS = [
  ['imagen', '<img src="/ayuda/probe-img" onerror="window.__pwned=1">Texto de imagen.'],
  ['estilo', '<p style="background:url(/ayuda/probe-style)">Texto de estilo.</p><style>*{background:url(/ayuda/probe-sheet)}</style>'],
  ['enlace', '<a href="javascript:window.__pwned=3">Texto de enlace</a> y <a href="/contacto/" onclick="window.__pwned=4">contacto</a>.'],
  ['marco', '<iframe src="/ayuda/probe-frame"></iframe><object data="/ayuda/probe-object"></object><svg><image href="/ayuda/probe-svg"/></svg>Texto de marco.'],
  ['mutacion', '<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned=5"></style></mglyph></table></mtext></math>Texto de mutación.'],
  ['formulario', '<form action="https://ayuda.invalid/"><input name=q><button>Enviar</button></form><meta http-equiv="refresh" content="0;url=https://ayuda.invalid/"><link rel="stylesheet" href="/ayuda/probe-link">Texto de formulario.'],
];
const HOSTILE = 'id,question,answer,lang\n' +
  PAYLOADS.map(([word, answer]) => `${word},¿Pregunta ${word}?,"${answer.replaceAll('"', '""')}",es\n`).join('');

let server, browser, dir, refuser;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ayuda-isolation-'));
  writeFileSync(path.join(dir, 'hostile.csv'), HOSTILE);
  execFileSync(AYUDA, ['build', path.join(dir, 'hostile.csv'), '--model', 'www/models/all-MiniLM-L6-v2.ayuda',
    '--out', path.join(dir, 'hostile.bin')], { cwd: root, stdio: 'ignore' });
  server = await serve('www/demo', { '/ayuda': 'www', '/built': dir });
  // An endpoint that refuses every message with markup as its reason.
  refuser = createServer((req, res) => {
    res.writeHead(req.method === 'OPTIONS' ? 204 : 422, {
      'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type',
      'content-type': 'application/json',
    });
    res.end(req.method === 'OPTIONS' ? '' : JSON.stringify({ error: '<img src=x onerror="window.__pwned=9">rechazado' }));
  });
  await new Promise((resolve) => refuser.listen(0, '127.0.0.1', resolve));
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  refuser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The policy a strict site sends (as in widget.test.mjs), with a reporting endpoint.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
  "img-src 'self'; connect-src 'self' http://127.0.0.1:*; worker-src 'self'; object-src 'none'; " +
  "frame-src 'none'; base-uri 'none'; form-action 'self'; report-uri /csp-report";

/** A fresh visitor under the strict policy, recording requests, reports and complaints;
 *  `closed` keeps the widget's shadow root closed, as in a real browser (the harness opens it
 *  for Playwright's locators). */
async function visitor({ closedShadow = false } = {}) {
  const context = await browser.newContext({ locale: 'es-ES', closedShadow });
  const requests = [];
  const complaints = [];
  context.on('request', (r) => requests.push(r.url()));
  await context.route('**/*', async (route) => {
    try {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': CSP } });
    } catch {
      // The visitor left while the model was still downloading.
    }
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation',
      (e) => console.error(`Refused to (event): ${e.violatedDirective} ${e.blockedURI}`), true);
  });
  const page = await context.newPage();
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) complaints.push(m.text()); });
  page.on('pageerror', (e) => complaints.push(`page error: ${e.message}`));
  return { context, page, requests, complaints };
}

/** No payload ran, nothing was fetched for one, and the policy reported nothing. */
async function nothingRanLoadedOrReported(page, requests, complaints) {
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(complaints, []);
  assert.deepEqual(requests.filter((u) => /probe|ayuda\.invalid|csp-report/.test(u)), [], 'nothing loaded, nothing reported');
}

test('the owner\'s answers run nothing, load nothing and trip no strict policy', async () => {
  const { context, page, requests, complaints } = await visitor();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.querySelector('ayuda-chat'));
  await page.evaluate(() => document.querySelector('ayuda-chat').setAttribute('kb', '/built/hostile.bin'));
  const { ask, log } = await openChat(page, ES);
  for (const [word] of PAYLOADS) {
    const reply = await ask(`¿Pregunta ${word}?`);
    assert.match(await reply.innerText(), /Texto de/, `the words of "${word}" are shown`);
  }
  // Only the links survive, and only safe ones.
  const hrefs = await log.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(hrefs.every((h) => !/^javascript:/i.test(h)), `no script link: ${hrefs}`);
  assert.equal(await log.locator('img, style, iframe, object, svg, math, form, input, meta, link, [style], [onclick], [onerror]').count(), 0);
  await nothingRanLoadedOrReported(page, requests, complaints);
  await context.close();
});

test('a bundle not built by ayuda: its raw markup is never parsed, only its words shown', async () => {
  const { context, page, requests, complaints } = await visitor();
  await page.goto(`${server.url}/`);
  const shown = await page.evaluate(async (answers) => {
    const { renderAnswer } = await import('/ayuda/ayuda-chat.js');
    return answers.map((a) => {
      const box = document.createElement('div');
      box.append(renderAnswer(a));
      return { text: box.textContent, tags: [...box.querySelectorAll('*')].map((e) => e.outerHTML.match(/^<[^>]*>/)[0]) };
    });
  }, PAYLOADS.map(([, answer]) => answer));
  for (const { text, tags } of shown) {
    assert.match(text, /Texto de/);
    assert.ok(tags.every((t) => /^<(p|br|ul|ol|li|strong|em|b|i)>$|^<a href="(https?|mailto|tel):[^"]*"[^>]*>$/.test(t)), `only plain tags: ${tags}`);
  }
  await nothingRanLoadedOrReported(page, requests, complaints);
  await context.close();
});

test('other scripts on the page cannot read the conversation: the shadow root is closed', async () => {
  const { context, page } = await visitor({ closedShadow: true });
  // What a session-replay tool does: watch every change to the page, shadow roots included.
  await context.addInitScript(() => {
    window.__seen = [];
    const watch = (node) => new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) window.__seen.push(n.textContent ?? '');
    }).observe(node, { childList: true, subtree: true, characterData: true });
    watch(document);
    const attach = Element.prototype.attachShadow;
    Element.prototype.attachShadow = function (init) {
      const shadow = attach.call(this, init);
      window.__attached = init.mode;
      return shadow;
    };
  });
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.querySelector('ayuda-chat'));
  // The visitor uses the keyboard (Playwright's locators cannot enter a closed root either).
  for (let i = 0; i < 40 && !(await page.evaluate(() => document.activeElement?.localName === 'ayuda-chat')); i++) {
    await page.keyboard.press('Tab');
  }
  await page.keyboard.press('Enter');
  await page.keyboard.type('¿Abrís los domingos?');
  await page.keyboard.press('Enter');
  // The answer is on the screen: the accessibility tree (what a screen reader gets) has it.
  const cdp = await context.newCDPSession(page);
  let shown = '';
  for (let i = 0; i < 120 && !/domingos y festivos/.test(shown); i++) {
    await page.waitForTimeout(500);
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    shown = nodes.map((n) => n.name?.value ?? '').join('\n');
  }
  assert.match(shown, /domingos y festivos/, 'the visitor sees the answer');
  const seen = await page.evaluate(() => ({
    attached: window.__attached,
    shadowRoot: document.querySelector('ayuda-chat').shadowRoot,
    text: document.body.innerText + document.documentElement.outerHTML + window.__seen.join('\n'),
  }));
  assert.equal(seen.attached, 'closed');
  assert.equal(seen.shadowRoot, null);
  assert.doesNotMatch(seen.text, /domingos y festivos|Abrís los domingos/, 'the page never sees the conversation');
  await context.close();
});

test('an endpoint\'s refusal is shown as text, never as markup', async () => {
  const { context, page, complaints } = await visitor();
  await page.clock.setFixedTime(new Date('2026-11-24T09:00:00Z')); // a Tuesday, in opening hours
  const endpoint = `http://127.0.0.1:${refuser.address().port}/`;
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.querySelector('ayuda-chat'));
  await page.evaluate((e) => document.querySelector('ayuda-chat').setAttribute('endpoint', e), endpoint);
  const { ask, log } = await openChat(page, ES);
  await ask('Quiero hablar con una persona');
  await log.getByLabel('Tu mensaje').fill('Hola, una pregunta.');
  await log.getByLabel('Tu email o teléfono, para responderte').fill('ana@example.es');
  await log.getByRole('button', { name: 'Revisar antes de enviar' }).click();
  await log.getByRole('button', { name: 'Enviar', exact: true }).click();
  const failed = log.getByText('<img src=x onerror="window.__pwned=9">rechazado', { exact: false });
  await failed.waitFor();
  assert.equal(await log.locator('img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(complaints, []);
  await context.close();
});
