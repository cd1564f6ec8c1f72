// Time to first answer in the demo, as a visitor sees it: from opening the chat and asking
// until the answer shows. Cold = a new visitor (nothing cached); warm = the same visitor after
// a reload (model, wasm and bundle in the Cache API / HTTP cache). Prints one JSON line.
// Usage: node tools/widget_bench.mjs URL_OF_DEMO_SITE [runs]
import { chromium } from 'playwright-core';

const [url, runs = '3'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function firstAnswer(page) {
  await page.goto(url);
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Ayuda', exact: true }).click();
  const box = page.getByRole('textbox', { name: 'Escribe tu pregunta' });
  await box.fill('¿Abrís los domingos?');
  await box.press('Enter');
  await page.getByRole('log').getByText('festivos de 8:00', { exact: false }).first().waitFor({ timeout: 120_000 });
  return Date.now() - t0;
}

const cold = [], warm = [];
for (let i = 0; i < Number(runs); i++) {
  const context = await browser.newContext({ locale: 'es-ES', serviceWorkers: 'block' });
  // The chat's shadow root is closed; Playwright's locators enter only open ones (as in
  // tests/browser/harness.mjs).
  await context.addInitScript(() => {
    const attach = Element.prototype.attachShadow;
    Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: 'open' }); };
  });
  const page = await context.newPage();
  cold.push(await firstAnswer(page));
  warm.push(await firstAnswer(page));
  await context.close();
}
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({ engine: 'ayuda widget', cold_ms: median(cold), warm_ms: median(warm), cold, warm }));
