// What `make demo` serves today: the encoder page, used as a visitor would, by role and label.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch } from './harness.mjs';

let server, browser;
before(async () => { server = await serve('www'); browser = await launch(); });
after(async () => { await browser?.close(); server?.stop(); });

for (const [locale, ready, [firstLabel, secondLabel], button, similarity] of [
  ['en-US', /Model ready/, ['First sentence', 'Second sentence'], 'Compare', /Cosine similarity (0\.\d+)/],
  ['es-ES', /Modelo listo/, ['Primera frase', 'Segunda frase'], 'Comparar', /Similitud coseno (0\.\d+)/],
]) {
  test(`the encoder page loads the model and compares two sentences (${locale})`, async () => {
    const context = await browser.newContext({ locale });
    const page = await context.newPage();
    const origin = new URL(server.url).origin;
    const foreign = [];
    page.on('request', (r) => { if (new URL(r.url()).origin !== origin) foreign.push(r.url()); });
    await page.goto(server.url + '/');
    await page.getByRole('status').filter({ hasText: ready }).waitFor({ timeout: 60000 });
    await page.getByLabel(firstLabel).fill('How long does delivery take?');
    await page.getByLabel(secondLabel).fill('When will my order arrive?');
    await page.getByRole('button', { name: button }).click();
    const out = page.locator('output');
    await out.filter({ hasText: similarity }).waitFor();
    const close = Number((await out.textContent()).match(similarity)[1]);
    await page.getByLabel(secondLabel).fill('Do you sell gift cards for birthdays?');
    await page.getByRole('button', { name: button }).click();
    await out.filter({ hasNotText: String(close) }).waitFor();
    const far = Number((await out.textContent()).match(similarity)[1]);
    assert.ok(close > 0.5 && close > far + 0.2, `paraphrases ${close}, unrelated ${far}`);
    assert.deepEqual(foreign, []);
    await context.close();
  });
}
