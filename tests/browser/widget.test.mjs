// The chat widget as visitors meet it on the demo site (www/demo, served as `make demo` does:
// the site at the root, ayuda's files under /ayuda/), in headless Chromium, acting only
// through roles and labels. Needs `make build` (wasm, packed model, the demo's bundle).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { serve, launch, root, openChat, modelReady, ES, EN } from './harness.mjs';

let server, browser, origin;
before(async () => {
  server = await serve('www/demo', { '/ayuda': 'www', '/tests': 'tests/browser/pages' });
  origin = new URL(server.url).origin;
  browser = await launch();
});
after(async () => { await browser?.close(); server?.stop(); });

// The policy a strict site would send: no inline code or styles, no eval; wasm allowed.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
  "img-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** A fresh visitor (own profile) with `locale`, recording every request and CSP complaint. */
async function visitor({ locale = 'es-ES', csp = false, serviceWorkers = 'block' } = {}) {
  const context = await browser.newContext({ locale, serviceWorkers });
  const requests = [];
  const complaints = [];
  context.on('request', (r) => requests.push({ url: r.url(), body: r.postData() ?? '' }));
  if (csp) {
    await context.route('**/*', async (route) => {
      try {
        const response = await route.fetch();
        await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': CSP } });
      } catch {
        // The visitor left (the context closed) while the model was still downloading.
      }
    });
  }
  const page = await context.newPage();
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) complaints.push(m.text()); });
  page.on('pageerror', (e) => complaints.push(`page error: ${e.message}`));
  return { context, page, requests, complaints };
}

test('a Spanish visitor asks at once, while the model loads, and gets the owner\'s answers', async () => {
  const { context, page, requests } = await visitor();
  await page.goto(`${server.url}/`);
  const { ask } = await openChat(page, ES);
  // Paraphrases, not the FAQ's own wordings. Asked straight away: the model is still
  // downloading, so the first one is answered by the early tier or waits for the model.
  const hours = await ask('¿A qué hora cerráis?');
  assert.match(await hours.innerText(), /domingos y festivos de 8:00 a 14:00/);
  assert.ok(await page.getByRole('log').getByText(/Un momento|Aún no estoy seguro/).count() <= 1,
    'one notice at most while the answers get ready');
  const source = hours.getByRole('link', { name: 'Más información' });
  assert.match(await source.getAttribute('href'), /\/preguntas\//);
  // The answer's own link is kept, as a real link to the site.
  const own = hours.getByRole('link', { name: 'contacto', exact: true });
  assert.equal(new URL(await own.getAttribute('href')).pathname, '/contacto/');
  // (Locators are lazy: `hours` names the last message, so it is read before asking again.)
  assert.match(await (await ask('¿Cuánto cobráis por el envío?')).innerText(), /4,90 €/);
  await context.close();
  assertPrivate(requests, ['¿A qué hora cerráis?', '¿Cuánto cobráis por el envío?']);
});

test('an English visitor on the English pages gets the English answers', async () => {
  const { context, page, requests } = await visitor({ locale: 'en-US' });
  await page.goto(`${server.url}/en/`);
  const { ask } = await openChat(page, EN);
  assert.match(await (await ask('What time do you close?')).innerText(), /Sundays and public holidays from 8:00 to 14:00/);
  assert.match(await (await ask('What do you charge for delivery?')).innerText(), /€4\.90/);
  await context.close();
  assertPrivate(requests, ['What time do you close?', 'What do you charge for delivery?']);
});

test('an unrelated question gets an honest "I don\'t know" and the way to a person', async () => {
  const { context, page } = await visitor();
  await page.goto(`${server.url}/`);
  const { ask } = await openChat(page, ES);
  const reply = await ask('¿Cuál es la capital de Mongolia?');
  assert.match(await reply.innerText(), /No tengo una respuesta segura/);
  await reply.getByRole('button', { name: 'Hablar con una persona' }).click();
  // The bakery's contact settings give a message form, starting from the question.
  const message = page.getByRole('log').getByLabel('Tu mensaje');
  assert.equal(await message.inputValue(), '¿Cuál es la capital de Mongolia?');
  await context.close();
});

test('asking for a person in words opens the way to a person at once', async () => {
  const { context, page } = await visitor();
  await page.goto(`${server.url}/`);
  const { ask, log } = await openChat(page, ES);
  const reply = await ask('Quiero hablar con alguien, por favor');
  // Open or closed depends on the hour; the direct line and the form are always there.
  assert.match(await reply.innerText(), /Ahora estamos (atendiendo|cerrados)/);
  assert.match(await reply.innerText(), /Línea directa a cualquier hora: \+34 600 000 099/);
  await log.getByLabel('Tu email o teléfono, para responderte').waitFor();
  assert.equal(await log.getByText('No tengo una respuesta segura', { exact: false }).count(), 0);
  await context.close();
});

/** No request leaves the page's origin, and none carries anything the visitor typed. */
function assertPrivate(requests, typed) {
  assert.ok(requests.length > 0);
  for (const r of requests) {
    assert.equal(new URL(r.url).origin, origin, `request to another origin: ${r.url}`);
    for (const t of typed) {
      for (const form of [t, encodeURIComponent(t), t.split(' ')[1] ?? t]) {
        assert.ok(!r.url.includes(form) && !r.body.includes(form), `"${t}" left in ${r.url}`);
      }
    }
  }
}

test('the chat works under a strict Content-Security-Policy', async () => {
  const { context, page, complaints } = await visitor({ csp: true });
  await page.goto(`${server.url}/`);
  const { ask } = await openChat(page, ES);
  assert.match(await (await ask('¿Aceptáis Bizum?')).innerText(), /Bizum/);
  assert.deepEqual(complaints, []);
  // The policy is really in force: inline code is refused.
  const inline = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inline = 1';
    document.head.append(s);
    return window.__inline;
  });
  assert.equal(inline, undefined);
  await context.close();
});

test('after one visit the site and the chat answer with the network off', async () => {
  const { context, page, requests } = await visitor({ serviceWorkers: 'allow' });
  await page.goto(`${server.url}/`);
  // The service worker installs (precaching the pages and the widget) and takes control.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
  // A visitor who has not opened the chat has downloaded no model and no wasm.
  const heavy = () => requests.filter((r) => /\.(ayuda|wasm)$/.test(new URL(r.url).pathname));
  assert.deepEqual(heavy(), []);
  const first = await openChat(page, ES);
  assert.match(await (await first.ask('¿Abrís los domingos?')).innerText(), /domingos y festivos/);
  await modelReady(page);
  assert.ok(heavy().length > 0, 'the chat fetched its model');
  await context.setOffline(true);
  await page.reload();
  const { ask } = await openChat(page, ES);
  assert.match(await (await ask('¿Abrís los domingos?')).innerText(), /domingos y festivos/);
  await context.close();
});

test('bad input: a pasted page, emoji and right-to-left text, markup shown as text', async () => {
  const { context, page } = await visitor();
  await page.goto(`${server.url}/`);
  const { ask, log } = await openChat(page, ES);
  // Each gets a reply (any outcome) and the chat keeps working.
  await ask('pan '.repeat(25_000)); // 100 KB pasted
  await ask('🥐🥖 ¿tenéis cruasanes? مرحبا');
  const markup = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
  await ask(markup);
  const bubbles = log.locator('.visitor');
  assert.ok((await bubbles.last().innerText()).includes(markup), 'the markup is shown as typed');
  assert.equal(await log.locator('img, script').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await context.close();
});

for (const [what, attribute, url, person] of [
  ['a missing knowledge base', 'kb', '/ayuda/kb/missing.bin', 'the contact page'],
  ['a corrupt knowledge base', 'kb', '/ayuda/models/all-MiniLM-L6-v2.ayuda', 'the contact page'],
]) {
  test(`${what}: the chat says it cannot answer and offers a person (${person})`, async () => {
    const { context, page } = await visitor();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.querySelector('ayuda-chat'));
    await page.evaluate(([a, u]) => document.querySelector('ayuda-chat').setAttribute(a, u), [attribute, url]);
    const { ask } = await openChat(page, ES);
    const reply = await ask('¿Abrís los domingos?');
    assert.match(await reply.innerText(), /no puedo responder/);
    await reply.getByRole('button', { name: 'Hablar con una persona' }).click();
    const log = page.getByRole('log');
    if (person === 'the contact page') {
      // No knowledge base, so no contact settings: the site's contact page.
      const contact = log.getByRole('link', { name: 'contacto' }).last();
      assert.equal(new URL(await contact.getAttribute('href'), server.url).pathname, '/contacto/');
    }
    await context.close();
  });
}

for (const [what, url] of [['a corrupt model', '/ayuda/kb/demo.bin'], ['a missing model', '/ayuda/models/missing.ayuda']]) {
  test(`${what}: the words go on answering, and the way to a person stays open`, async () => {
    const { context, page } = await visitor();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.querySelector('ayuda-chat'));
    await page.evaluate((u) => document.querySelector('ayuda-chat').setAttribute('model', u), url);
    const { ask } = await openChat(page, ES);
    // The FAQ's own words: the early tier answers them without the model.
    assert.match(await (await ask('¿Abrís los domingos?')).innerText(), /domingos y festivos/);
    await page.waitForFunction(() => document.querySelector('ayuda-chat').state === 'wordsOnly');
    // What words alone cannot answer goes to a person, whose contact settings need only the bundle.
    const reply = await ask('¿Cuál es la capital de Mongolia?');
    assert.match(await reply.innerText(), /No tengo una respuesta segura/);
    await reply.getByRole('button', { name: 'Hablar con una persona' }).click();
    await page.getByRole('log').getByLabel('Tu email o teléfono, para responderte').waitFor();
    await context.close();
  });
}

test('on a slow network the early tier answers before the model arrives, then the model takes over', async () => {
  const { context, page, requests } = await visitor();
  // The model and the model's wasm module are held back until released: a phone still
  // downloading them. The first answer needs only the early tier's module and the bundle.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  for (const heavy of ['**/*.ayuda', '**/pkg/ayuda_bg.wasm', '**/pkg/ayuda_relaxed_bg.wasm']) {
    await context.route(heavy, async (route) => { await held; await route.continue(); });
  }
  await page.goto(`${server.url}/`);
  await page.evaluate(() => {
    window.tiers = [];
    document.addEventListener('ayuda-reply', (e) => window.tiers.push([e.detail.tier, e.detail.outcome]));
  });
  const { ask, log, box } = await openChat(page, ES);
  // In the FAQ's words: answered at once, from the bundle's words.
  assert.match(await (await ask('¿Abrís los domingos?')).innerText(), /domingos y festivos de 8:00/);
  // Words alone cannot tell: not "I don't know" yet, but a notice, and the model's reply later.
  await box.fill('¿Cuál es la capital de Mongolia?');
  await page.getByRole('button', { name: ES.send, exact: true }).click();
  await log.getByText('Aún no estoy seguro', { exact: false }).waitFor();
  assert.equal(await page.evaluate(() => document.querySelector('ayuda-chat').state), 'early');
  assert.ok(requests.some((r) => r.url.endsWith('.ayuda')), 'the model is on its way');
  assert.ok(requests.some((r) => r.url.endsWith('/pkg/ayuda_early_bg.wasm')), 'the early tier\'s module answered');
  release();
  await modelReady(page);
  // The waiting question is answered once, by the model (which does not know either).
  await page.waitForFunction(() => window.tiers.some(([tier]) => tier === 'full'), null, { timeout: 60_000 });
  const tiers = await page.evaluate(() => window.tiers);
  assert.deepEqual(tiers, [['early', 'answer'], ['full', 'escalate']], 'the deferred question shown once');
  await log.getByText('No tengo una respuesta segura', { exact: false }).waitFor();
  assert.equal(await log.getByText('No tengo una respuesta segura', { exact: false }).count(), 1);
  assert.equal(await log.getByText('Aún no estoy seguro', { exact: false }).count(), 1);
  // From now on the model answers.
  await ask('¿A qué hora cerráis?');
  assert.equal((await page.evaluate(() => window.tiers)).at(-1)[0], 'full');
  await context.close();
});

test('on an emulated slow 4G network the first answer comes from the words, in its own small module', async () => {
  const { context, page } = await visitor();
  const fetched = [];
  context.on('requestfinished', async (r) => {
    const sizes = await r.sizes().catch(() => null);
    fetched.push({ path: new URL(r.url()).pathname, bytes: sizes ? sizes.responseBodySize : 0 });
  });
  await page.goto(`${server.url}/`);
  await page.evaluate(() => {
    window.tiers = [];
    document.addEventListener('ayuda-reply', (e) => window.tiers.push(e.detail.tier));
  });
  // Lighthouse's mobile profile, applied to the page and its worker by Chromium itself.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions',
    { offline: false, latency: 150, downloadThroughput: 1600 * 1000 / 8, uploadThroughput: 750 * 1000 / 8 });
  const { ask } = await openChat(page, ES);
  assert.match(await (await ask('¿Abrís los domingos?')).innerText(), /domingos y festivos de 8:00/);
  assert.deepEqual(await page.evaluate(() => window.tiers), ['early']);
  const done = (name) => fetched.some((f) => f.path.endsWith(name));
  assert.ok(done('/pkg/ayuda_early_bg.wasm'), 'the early tier\'s module is in');
  // Neither the model (16-18 MB) nor its module (1.3 MB compressed), requested only once the
  // bundle was in, can have arrived at 1.6 Mbps: the answer did not wait for them.
  assert.ok(!done('.ayuda') && !done('/pkg/ayuda_bg.wasm') && !done('/pkg/ayuda_relaxed_bg.wasm'),
    JSON.stringify(fetched));
  await context.close();
});

test('helpful / not helpful is kept on the device, without cookies or identifiers', async () => {
  const { context, page, requests } = await visitor();
  await page.goto(`${server.url}/`);
  const { ask } = await openChat(page, ES);
  const answer = await ask('¿Abrís los domingos?');
  // The model may still be downloading after an early answer: counted once it is in.
  await modelReady(page);
  const sent = requests.length;
  await answer.getByRole('button', { name: 'Sí, me ha servido' }).click();
  assert.equal(await answer.getByRole('button', { name: 'Sí, me ha servido' }).getAttribute('aria-pressed'), 'true');
  await answer.getByText('Gracias por decírnoslo').waitFor();
  const stored = await page.evaluate(() => ({ cookie: document.cookie, keys: Object.keys(localStorage),
    feedback: JSON.parse(localStorage.getItem('ayuda-feedback')) }));
  assert.equal(stored.cookie, '');
  assert.deepEqual(stored.keys, ['ayuda-feedback']);
  assert.deepEqual(Object.values(stored.feedback), [{ helpful: 1, notHelpful: 0 }]);
  assert.equal(requests.length, sent, 'feedback sends nothing');
  await context.close();
});

test('axe-core finds no serious or critical accessibility violation', async () => {
  const { context, page } = await visitor();
  await page.goto(`${server.url}/`);
  const { ask } = await openChat(page, ES);
  await ask('¿Abrís los domingos?');
  await ask('¿Cuál es la capital de Mongolia?');
  await page.addScriptTag({ path: path.join(root, 'node_modules/axe-core/axe.min.js') });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(violations, []);
  await context.close();
});

test('the chat is usable by keyboard alone, with focus managed', async () => {
  const { context, page } = await visitor();
  await page.goto(`${server.url}/`);
  const launcher = page.getByRole('button', { name: 'Ayuda', exact: true });
  await launcher.waitFor();
  await launcher.focus();
  await page.keyboard.press('Enter');
  const box = page.getByRole('textbox', { name: 'Escribe tu pregunta' });
  assert.ok(await box.evaluate((el) => el.getRootNode().activeElement === el), 'opening focuses the question box');
  assert.equal(await launcher.getAttribute('aria-expanded'), 'true');
  await page.keyboard.type('¿Tenéis pan sin gluten?');
  await page.keyboard.press('Enter');
  await page.getByRole('log').getByText('jueves', { exact: false }).first().waitFor({ timeout: 60_000 });
  await page.keyboard.press('Escape');
  assert.equal(await launcher.getAttribute('aria-expanded'), 'false');
  assert.ok(await launcher.evaluate((el) => el.getRootNode().activeElement === el), 'closing returns focus to the launcher');
  await context.close();
});

test('sites with a bundler import the element and place it themselves', async () => {
  const { context, page } = await visitor({ locale: 'en-US' });
  await page.goto(`${server.url}/tests/module.html`);
  // data-lang's counterpart wins over the page's and the browser's language.
  const { ask } = await openChat(page, ES);
  assert.match(await (await ask('¿Cuánto cobráis por el envío?')).innerText(), /4,90 €/);
  await context.close();
});

test('the answers start loading on intent, and not before a question when the visitor saves data', async () => {
  const wasm = (requests) => requests.filter((r) => new URL(r.url).pathname.endsWith('.wasm'));
  {
    const { context, page, requests } = await visitor();
    await page.goto(`${server.url}/`);
    await page.waitForLoadState('networkidle');
    assert.deepEqual(wasm(requests), [], 'nothing before intent');
    await page.getByRole('button', { name: ES.launcher, exact: true }).hover();
    for (let i = 0; i < 100 && wasm(requests).length === 0; i++) await page.waitForTimeout(100);
    await context.close();
    assert.ok(wasm(requests).length > 0, 'pointing at the launcher starts the download');
  }
  {
    const { context, page, requests } = await visitor();
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'connection', { get: () => ({ saveData: true }) });
    });
    await page.goto(`${server.url}/`);
    const { ask } = await openChat(page, ES);
    await page.waitForLoadState('networkidle');
    assert.deepEqual(wasm(requests), [], 'opening the chat downloads nothing with Save-Data');
    assert.match(await (await ask('¿Abrís los domingos?')).innerText(), /domingos y festivos/);
    await context.close();
  }
});
