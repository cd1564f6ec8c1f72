// The owner's page (`ayuda inbox --token`, /admin/) in headless Chromium, as the owner uses it:
// signing in with the token, reading the messages (urgent on top, then newest) with JavaScript
// off, replying by mail or phone, marking handled by keyboard; in Spanish and English; axe-clean;
// and a page on another origin of the same host cannot act for a signed-in owner.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inbox, launch, root } from './harness.mjs';

const TOKEN = 'owner-token-for-the-page-0123';
let box, browser, dir, forger;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ayuda-admin-'));
  box = await inbox(path.join(dir, 'inbox.db'), { args: ['--token', TOKEN] });
  // Three visitors, oldest first: an email in opening hours, an urgent phone, a late email.
  for (const [i, message, reply_to, lane, extra] of [
    [1, 'Quería encargar una tarta para el sábado.', { email: 'ana@example.es' }, 'open', {}],
    [2, 'Se me ha olvidado la cartera en la tienda, ¿podéis guardarla?', { phone: '+34 600 111 222' }, 'urgent', {}],
    [3, 'Do you deliver <b>on Sundays</b>?', { email: 'bob@example.com' }, 'closed',
      { lang: 'en', transcript: [{ from: 'visitor', text: 'sunday delivery?' }, { from: 'assistant', text: 'Not sure.' }] }],
  ]) {
    const response = await fetch(`${box.url}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: `admin-page-test-${i}-0123456789`, message, reply_to, lane,
        written_at: '2026-11-24T10:00:00Z', ...extra }),
    });
    assert.equal(response.status, 201);
  }
  // A page elsewhere on the same host (another port: same site, another origin) that tries
  // to mark a message handled for whoever visits it.
  forger = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><form method="post" action="${box.url}/admin/handled">
      <input name="id" value="1"><input name="handled" value="true"><input name="csrf" value="x">
      </form><script>document.forms[0].submit()</script>`);
  });
  await new Promise((resolve) => forger.listen(0, '127.0.0.1', resolve));
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await box?.stop();
  forger?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A browser context signed in as the owner through the form (with the keyboard). */
async function signedIn({ locale = 'es-ES', javaScriptEnabled = true, bypassCSP = false } = {}) {
  const context = await browser.newContext({ locale, javaScriptEnabled, bypassCSP });
  const page = await context.newPage();
  await page.goto(`${box.url}/admin/`);
  const label = locale.startsWith('es') ? 'Token del buzón' : 'Inbox token';
  await page.getByLabel(label).focus();
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: locale.startsWith('es') ? 'Salir' : 'Sign out' }).waitFor();
  return { context, page };
}

test('without the token: the sign-in form only, and a wrong token is told so', async () => {
  const context = await browser.newContext({ locale: 'es-ES', javaScriptEnabled: false });
  const page = await context.newPage();
  const first = await page.goto(`${box.url}/admin/`);
  assert.equal(first.status(), 200);
  assert.doesNotMatch(await page.content(), /tarta|cartera/);
  await page.getByLabel('Token del buzón').fill('not-the-token');
  await page.getByRole('button', { name: 'Entrar' }).click();
  assert.match(await page.getByRole('alert').innerText(), /no es el token/);
  assert.deepEqual(await context.cookies(), []);
  await context.close();
});

test('signed in, with JavaScript off: urgent first, then newest; reply links; mark handled by keyboard', async () => {
  const { context, page } = await signedIn({ javaScriptEnabled: false });
  const [cookie] = await context.cookies();
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  const waiting = page.getByRole('region', { name: /Por atender \(3\)/ });
  const headings = await waiting.getByRole('heading', { level: 3 }).allInnerTexts();
  assert.deepEqual(headings, ['Urgente: +34 600 111 222', 'bob@example.com', 'ana@example.es']);
  // Shown as typed, never as markup.
  assert.ok(await page.getByText('Do you deliver <b>on Sundays</b>?').isVisible());
  // Reply: a call for the phone, a mail to the address with the message quoted.
  assert.equal(await page.getByRole('link', { name: 'Llamar +34 600 111 222' }).getAttribute('href'), 'tel:+34600111222');
  const mail = await waiting.getByRole('listitem').filter({ hasText: 'ana@example.es' })
    .getByRole('link', { name: 'Responder por email' }).getAttribute('href');
  assert.match(mail, /^mailto:ana@example\.es\?subject=Re%3A%20Quer/);
  assert.match(decodeURIComponent(mail), /> Quería encargar una tarta/);
  // The conversation the visitor chose to include.
  await page.getByText('Conversación incluida (2)').click();
  assert.ok(await page.getByText('sunday delivery?').isVisible());
  // Mark the urgent one handled with the keyboard: it moves to the handled list.
  await page.getByRole('button', { name: 'Marcar como atendido' }).first().focus();
  await page.keyboard.press('Enter');
  await page.getByRole('region', { name: /Atendidos \(1\)/ })
    .getByRole('heading', { name: 'Urgente: +34 600 111 222' }).waitFor();
  assert.equal(await page.getByRole('region', { name: /Por atender \(2\)/ }).getByRole('article').count(), 2);
  // And back.
  await page.getByRole('button', { name: 'Volver a por atender' }).click();
  await page.getByRole('region', { name: /Por atender \(3\)/ }).waitFor();
  await context.close();
});

test('in English for an English browser, and axe finds nothing serious on either page', async () => {
  for (const locale of ['en-GB', 'es-ES']) {
    const context = await browser.newContext({ locale, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${box.url}/admin/`);
    for (const signed of [false, true]) {
      if (signed) {
        await page.getByLabel(locale === 'en-GB' ? 'Inbox token' : 'Token del buzón').fill(TOKEN);
        await page.getByRole('button', { name: locale === 'en-GB' ? 'Sign in' : 'Entrar' }).click();
        await page.getByRole('button', { name: locale === 'en-GB' ? 'Sign out' : 'Salir' }).waitFor();
        assert.equal(await page.getByRole('heading', { level: 1 }).innerText(),
          locale === 'en-GB' ? "Visitors' messages" : 'Mensajes de visitantes');
        assert.equal(await page.getAttribute('html', 'lang'), locale.slice(0, 2));
      }
      await page.addScriptTag({ path: path.join(root, 'node_modules/axe-core/axe.min.js') });
      const violations = await page.evaluate(async () => {
        const result = await window.axe.run(document, { resultTypes: ['violations'] });
        return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      });
      assert.deepEqual(violations, [], `${locale}, ${signed ? 'messages' : 'sign-in'}`);
    }
    await context.close();
  }
});

test('a page on another origin of the same host cannot act for the signed-in owner', async () => {
  const { context, page } = await signedIn();
  const forged = await context.newPage();
  const answered = forged.waitForResponse((r) => r.url().endsWith('/admin/handled'));
  await forged.goto(`http://127.0.0.1:${forger.address().port}/`);
  assert.equal((await answered).status(), 403);
  // Message 1 (Ana's) is still waiting.
  await page.reload();
  await page.getByRole('region', { name: /Por atender/ }).getByRole('heading', { name: 'ana@example.es' }).waitFor();
  assert.equal(await page.getByRole('region', { name: /Atendidos/ }).getByText('ana@example.es').count(), 0);
  await context.close();
});
