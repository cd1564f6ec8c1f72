// The first answer on a phone's network, for a new visitor of the demo (issue: "the first
// answer in seconds on a phone"). For each network profile, in headless Chromium with an empty
// cache and Chromium's own network emulation (CDP Network.emulateNetworkConditions, which also
// throttles the chat's Web Worker): the bytes the page fetches before the chat is opened (all,
// and ayuda's files under /ayuda/), then the time from opening the chat and asking until the
// right answer shows, and the bytes fetched by then (the early tier answers from the bundle's
// words while the model downloads); then the time until the model has taken over, and whether
// it answers a paraphrase the words alone cannot. Service workers are blocked: requests a
// service worker makes are not throttled, which would flatter the numbers.
// Prints one JSON line per profile and page.
// Usage: node tools/net_bench.mjs URL_OF_DEMO_SITE [PROFILE...]   (profiles: fast4g slow4g)
import { chromium } from 'playwright-core';

// Download / upload in kbit/s, round-trip latency in ms: Chrome DevTools' "Fast 4G", and
// Lighthouse's mobile throttling ("Slow 4G").
const PROFILES = {
  fast4g: { downKbps: 9000, upKbps: 1500, latencyMs: 60 },
  slow4g: { downKbps: 1600, upKbps: 750, latencyMs: 150 },
};

// The demo's Spanish home page and its English twin, each with the question a visitor asks and
// words of the right answer.
const PAGES = [
  { path: '', locale: 'es-ES', launcher: 'Ayuda', input: 'Escribe tu pregunta',
    question: '¿Abrís los domingos?', answer: 'festivos de 8:00',
    paraphrase: '¿Hasta qué hora estáis?' },
  { path: 'en/', locale: 'en-GB', launcher: 'Help', input: 'Type your question',
    question: 'Are you open on Sundays?', answer: 'public holidays from 8:00',
    paraphrase: 'What time do you close?' },
];

const [base, ...wanted] = process.argv.slice(2);
if (!base) {
  console.error('usage: node tools/net_bench.mjs URL_OF_DEMO_SITE [fast4g|slow4g]...');
  process.exit(2);
}
const profiles = wanted.length ? wanted : Object.keys(PROFILES);
for (const p of profiles) {
  if (!PROFILES[p]) {
    console.error(`net_bench: unknown profile ${p} (known: ${Object.keys(PROFILES).join(', ')})`);
    process.exit(2);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function visit(profileName, pageSpec) {
  const profile = PROFILES[profileName];
  const context = await browser.newContext({ locale: pageSpec.locale, serviceWorkers: 'block' });
  // The chat's shadow root is closed; Playwright's locators enter only open ones (as in
  // tests/browser/harness.mjs).
  await context.addInitScript(() => {
    const attach = Element.prototype.attachShadow;
    Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: 'open' }); };
  });
  // The chat's shadow root is closed; Playwright's locators enter only open ones. Opening it
  // changes nothing on the network.
  await context.addInitScript(() => {
    const attach = Element.prototype.attachShadow;
    Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: 'open' }); };
  });
  const page = await context.newPage();
  // Every finished request, page's and worker's, with what crossed the wire.
  const fetched = [];
  context.on('requestfinished', async (request) => {
    const sizes = await request.sizes().catch(() => null);
    if (sizes) {
      fetched.push({ url: request.url(), bytes: sizes.responseBodySize + sizes.responseHeadersSize });
    }
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: profile.latencyMs,
    downloadThroughput: (profile.downKbps * 1000) / 8,
    uploadThroughput: (profile.upKbps * 1000) / 8,
  });
  const sum = (rows) => rows.reduce((n, r) => n + r.bytes, 0);
  const ayuda = (rows) => rows.filter((r) => new URL(r.url).pathname.startsWith('/ayuda/'));

  const loadStart = Date.now();
  await page.goto(new URL(pageSpec.path, base).href, { waitUntil: 'load', timeout: 300_000 });
  await page.waitForLoadState('networkidle', { timeout: 300_000 });
  const loadMs = Date.now() - loadStart;
  const before = [...fetched];

  const t0 = Date.now();
  await page.getByRole('button', { name: pageSpec.launcher, exact: true }).click();
  const box = page.getByRole('textbox', { name: pageSpec.input });
  await box.fill(pageSpec.question);
  await box.press('Enter');
  await page.getByRole('log').getByText(pageSpec.answer, { exact: false }).first()
    .waitFor({ timeout: 600_000 });
  const answerMs = Date.now() - t0;
  const by = [...fetched];
  // The model takes over; a paraphrase only it answers is then answered.
  await page.waitForFunction(() => document.querySelector('ayuda-chat').state === 'ready', null,
    { timeout: 900_000 });
  const modelMs = Date.now() - t0;
  const answers = page.getByRole('log').getByText(pageSpec.answer, { exact: false });
  const shown = await answers.count();
  await box.fill(pageSpec.paraphrase);
  await box.press('Enter');
  const paraphraseAnswered = await page.waitForFunction((n) => {
    const log = document.querySelector('ayuda-chat').shadowRoot.querySelector('[role=log]');
    return [...log.querySelectorAll('.msg')].filter((m) => m.textContent.includes(n[1])).length > n[0];
  }, [shown, pageSpec.answer], { timeout: 60_000 }).then(() => true, () => false);
  await context.close();
  return {
    profile: profileName,
    down_kbps: profile.downKbps,
    latency_ms: profile.latencyMs,
    page: '/' + pageSpec.path,
    question: pageSpec.question,
    page_load_ms: loadMs,
    bytes_before_open: sum(before),
    ayuda_bytes_before_open: sum(ayuda(before)),
    answer_ms: answerMs,
    bytes_by_answer: sum(by),
    ayuda_bytes_by_answer: sum(ayuda(by)),
    model_ready_ms: modelMs,
    paraphrase: pageSpec.paraphrase,
    paraphrase_answered_by_model: paraphraseAnswered,
    largest_by_answer: by.sort((a, b) => b.bytes - a.bytes).slice(0, 3)
      .map((r) => `${new URL(r.url).pathname} ${r.bytes}`),
  };
}

for (const p of profiles) {
  for (const spec of PAGES) {
    console.log(JSON.stringify(await visit(p, spec)));
  }
}
await browser.close();
