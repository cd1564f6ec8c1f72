// Reaching a person, as visitors do it on the demo (www/demo with its contact settings,
// www/demo-contact.toml: Europe/Madrid, 07:30-20:30 Monday to Saturday, Sunday 08:00-14:00),
// in headless Chromium against a real `ayuda inbox` on 127.0.0.1: the lanes by the clock, the
// form and its preview, delivery through the outbox, and what reaches the inbox. The page's
// clock is set with Playwright's clock; the inbox is read back with `ayuda inbox list --json`,
// and mails it to the owner through a real SMTP server on 127.0.0.1 (aiosmtpd, into a Maildir).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve, inbox, launch, root, AYUDA } from './harness.mjs';

let server, browser, dir, db, smtpd, maildir;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ayuda-escalation-'));
  db = path.join(dir, 'demo-inbox.db');
  maildir = path.join(dir, 'owner-mail');
  const smtpPort = await freePort();
  smtpd = spawn('aiosmtpd', ['-n', '-l', `127.0.0.1:${smtpPort}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir],
    { stdio: 'ignore' });
  await listening(smtpPort);
  // As `INBOX_ARGS="--smtp ... --notify ..." make demo` runs it: the site, ayuda under /ayuda/,
  // the inbox under /inbox/, mailing the owner.
  server = await serve('www/demo', { '/ayuda': 'www', '/tests': 'tests/browser/pages', '/built': dir },
    ['--inbox-db', db, '--smtp', `smtp://127.0.0.1:${smtpPort}`, '--notify', 'owner@example.com']);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  smtpd?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves once something accepts connections on `port`. */
async function listening(port) {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** The owner's mails whose text contains `needle` (headers and decoded plain-text body). */
function mailsWith(needle) {
  let files = [];
  try { files = readdirSync(path.join(maildir, 'new')); } catch { return []; }
  return files.map((f) => readFileSync(path.join(maildir, 'new', f), 'utf8')).map((raw) => {
    const [head, ...rest] = raw.split(/\r?\n\r?\n/);
    let body = rest.join('\n\n');
    if (/^Content-Transfer-Encoding: quoted-printable/mi.test(head)) {
      body = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
    } else if (/^Content-Transfer-Encoding: base64/mi.test(head)) {
      body = Buffer.from(body, 'base64').toString('utf8');
    }
    // A header with its folded lines joined and its RFC 2047 encoded words decoded.
    const header = (name) => {
      const m = head.match(new RegExp(`^${name}: (.*(?:\\r?\\n[ \\t].*)*)`, 'mi'));
      if (!m) return undefined;
      return m[1].replace(/\r?\n[ \t]/g, ' ').replace(/\?=\s+=\?/g, '?==?').replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, enc, text) =>
        (enc.toLowerCase() === 'b' ? Buffer.from(text, 'base64')
          : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, h) => String.fromCharCode(parseInt(h, 16))), 'latin1')).toString('utf8'));
    };
    return { head, body, replyTo: header('Reply-To'), subject: header('Subject') };
  }).filter((m) => m.body.includes(needle));
}

/** Every message in an inbox database, as `ayuda inbox list --json` prints them. */
function stored(file = db) {
  return JSON.parse(execFileSync(AYUDA, ['inbox', 'list', '--db', file, '--json'], { encoding: 'utf8' }));
}

/** The stored message without what the inbox adds (its id and time of arrival). */
function content(row) {
  const { id, received_at, deliveries, ...message } = row;
  assert.ok(id && received_at, 'the inbox numbers and dates each message');
  return message;
}

/** A visitor at a fixed instant (the page's clock) in `timezoneId`, recording every request. */
async function visitor({ at, timezoneId = 'Europe/Madrid', locale = 'es-ES' } = {}) {
  const context = await browser.newContext({ locale, timezoneId, serviceWorkers: 'block' });
  const requests = [];
  context.on('request', (r) => requests.push({ method: r.method(), url: r.url(), body: r.postData() ?? '' }));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (at) await page.clock.setFixedTime(new Date(at));
  return { context, page, requests, errors };
}

/** Opens the chat and asks `question`; resolves once the reply is shown. */
async function ask(page, question) {
  if (await page.getByRole('button', { name: 'Ayuda', exact: true }).getAttribute('aria-expanded') !== 'true') {
    await page.getByRole('button', { name: 'Ayuda', exact: true }).click();
  }
  const log = page.getByRole('log');
  const before = await log.locator('.msg').count();
  await page.getByRole('textbox', { name: 'Escribe tu pregunta' }).fill(question);
  await page.getByRole('button', { name: 'Enviar', exact: true }).click();
  await page.waitForFunction(([n]) => {
    const msgs = document.querySelector('ayuda-chat').shadowRoot.querySelectorAll('[role=log] .msg');
    return msgs.length >= n + 2 && !/Un momento/.test(msgs[msgs.length - 1].textContent);
  }, [before], { timeout: 60_000 });
}

/** Fills the form, previews, and returns the exact text the preview says will be sent. */
async function writeAndPreview(page, { reply, message, transcript = false }) {
  const form = page.getByRole('log');
  if (message !== undefined) await form.getByLabel('Tu mensaje').fill(message);
  await form.getByLabel('Tu email o teléfono, para responderte').fill(reply);
  if (transcript) await form.getByLabel(/Incluir esta conversación/).check();
  await form.getByRole('button', { name: 'Revisar antes de enviar' }).click();
  await form.getByText('Esto es exactamente lo que se enviará', { exact: false }).waitFor();
  return form.locator('pre.raw').last().textContent();
}

async function sendAndWait(page, status) {
  await page.getByRole('log').getByRole('button', { name: 'Enviar', exact: true }).click();
  await page.getByRole('log').getByText(status, { exact: false }).waitFor({ timeout: 30_000 });
}

/** Only the escalation POST carries anything the visitor typed. */
function onlyTheEscalationCarries(requests, typed, inboxUrl) {
  const carrying = requests.filter((r) => typed.some((t) => r.url.includes(encodeURIComponent(t))
    || r.url.includes(t) || r.body.includes(t)));
  assert.ok(carrying.length >= 1, 'the message was sent');
  for (const r of carrying) {
    assert.equal(r.method, 'POST', `${r.method} ${r.url} carries typed text`);
    assert.equal(r.url, inboxUrl);
  }
}

test('in opening hours: live contact, then the inbox stores exactly the previewed message, once', async () => {
  const before = stored().length;
  // Tuesday 24 November 2026, 10:00 in Valencia.
  const { context, page, requests, errors } = await visitor({ at: '2026-11-24T09:00:00Z' });
  await page.goto(`${server.url}/`);
  const question = '¿Podéis hacer una tarta con forma de dinosaurio para el sábado?';
  await ask(page, question);
  await page.getByRole('button', { name: 'Hablar con una persona' }).first().click();
  const log = page.getByRole('log');
  await log.getByText('Ahora estamos atendiendo.').waitFor();
  assert.equal(await log.getByRole('link', { name: '+34 600 000 000' }).getAttribute('href'), 'tel:+34600000000');
  await log.getByText('te respondemos en unas 2 horas', { exact: false }).waitFor();
  // The direct line is shown in every lane.
  assert.equal(await log.getByRole('link', { name: '+34 600 000 099' }).count(), 1);
  // The message starts as the last question, editable.
  assert.equal(await log.getByLabel('Tu mensaje').inputValue(), question);

  const raw = await writeAndPreview(page, { reply: 'ana.garcia@example.es', transcript: true });
  const previewed = JSON.parse(raw);
  assert.equal(previewed.message, question);
  assert.deepEqual(previewed.reply_to, { email: 'ana.garcia@example.es' });
  assert.equal(previewed.lane, 'open');
  assert.equal(previewed.lang, 'es');
  assert.ok(previewed.transcript.some((l) => l.from === 'visitor' && l.text === question), raw);
  await log.getByText(`se enviará a ${new URL(server.url).host}`, { exact: false }).waitFor();

  await sendAndWait(page, 'Enviado. Te responderemos pronto.');
  const rows = stored();
  assert.equal(rows.length, before + 1, 'one message per escalation');
  assert.deepEqual(content(rows.at(-1)), previewed, 'the inbox has exactly what the preview showed');
  onlyTheEscalationCarries(requests, [question, 'ana.garcia@example.es'], `${server.url}/inbox/messages`);
  assert.deepEqual(errors, []);
  await context.close();
  // The owner gets it by mail, once: "Reply" answers the visitor, the lane is in the subject.
  for (let i = 0; i < 100 && mailsWith(question).length === 0; i++) await new Promise((r) => setTimeout(r, 200));
  const mails = mailsWith(question);
  assert.equal(mails.length, 1, 'one mail per escalation');
  assert.equal(mails[0].replyTo, 'ana.garcia@example.es');
  assert.equal(mails[0].subject, `[en horario] Mensaje de un visitante: ${question.slice(0, 60)}`);
  assert.match(mails[0].body, /Un visitante te ha escrito desde el chat de tu sitio \(en horario\)/);
  assert.equal(stored().at(-1).deliveries.mail.state, 'sent');
});

test('"not helpful" lets the visitor tell the owner, in a message they edit and preview, and sends nothing before', async () => {
  const before = stored().length;
  const { context, page, requests, errors } = await visitor({ at: '2026-11-24T09:00:00Z' });
  await page.goto(`${server.url}/`);
  const question = '¿Abrís los domingos?';
  await ask(page, question);
  const log = page.getByRole('log');
  await log.getByRole('button', { name: 'No me ha servido' }).last().click();
  await log.getByRole('button', { name: 'Contárselo a una persona del equipo' }).click();
  const proposed = `La respuesta del asistente no resolvía mi pregunta: «${question}»`;
  assert.equal(await log.getByLabel('Tu mensaje').inputValue(), proposed);
  assert.equal(stored().length, before, 'nothing is sent before the visitor sends it');
  const raw = await writeAndPreview(page, { reply: 'luis@example.es' });
  assert.equal(JSON.parse(raw).message, proposed);
  await sendAndWait(page, 'Enviado. Te responderemos pronto.');
  assert.equal(stored().length, before + 1);
  assert.equal(stored().at(-1).message, proposed);
  onlyTheEscalationCarries(requests, [proposed, 'luis@example.es'], `${server.url}/inbox/messages`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('out of hours: the next opening in the visitor\'s own time zone, and no transcript unless ticked', async () => {
  const before = stored().length;
  // Tuesday 22:00 in Valencia is 16:00 in New York; Valencia opens Wednesday 07:30 = 01:30 there.
  const { context, page } = await visitor({ at: '2026-11-24T21:00:00Z', timezoneId: 'America/New_York' });
  await page.goto(`${server.url}/`);
  await ask(page, '¿Hacéis envíos a Canarias?');
  await page.getByRole('button', { name: 'Hablar con una persona' }).first().click();
  const log = page.getByRole('log');
  await log.getByText('Ahora estamos cerrados. Déjanos un mensaje y te contactaremos.').waitFor();
  const opens = await log.getByText('Volvemos a abrir', { exact: false }).innerText();
  assert.match(opens, /miércoles, 25 de noviembre.*01:30 \(tu hora\)/, opens);
  assert.equal(await log.getByRole('link', { name: '+34 600 000 000' }).count(), 0, 'no live phone while closed');

  const raw = await writeAndPreview(page, { reply: '+34 611 22 33 44', message: 'Necesito un pedido para Tenerife.' });
  await log.getByText('No se incluye la conversación.').waitFor();
  const previewed = JSON.parse(raw);
  assert.equal(previewed.lane, 'closed');
  assert.equal(previewed.transcript, undefined);
  await sendAndWait(page, 'Enviado.');
  const rows = stored();
  assert.equal(rows.length, before + 1);
  assert.deepEqual(content(rows.at(-1)), previewed);
  assert.deepEqual(rows.at(-1).reply_to, { phone: '+34 611 22 33 44' });
  await context.close();
});

test('urgent words offer the direct line at once, at any hour, and the message is marked urgent', async () => {
  const before = stored().length;
  // Sunday 03:00 in Valencia: closed.
  const { context, page } = await visitor({ at: '2026-11-29T02:00:00Z' });
  await page.goto(`${server.url}/`);
  await ask(page, 'Mi hija ha tenido una reacción alérgica con vuestra tarta, ¡ayuda!');
  const log = page.getByRole('log');
  await log.getByText('Si es urgente, llama ahora a la línea directa:', { exact: false }).waitFor();
  assert.equal(await log.getByRole('link', { name: '+34 600 000 099' }).getAttribute('href'), 'tel:+34600000099');
  const previewed = JSON.parse(await writeAndPreview(page, { reply: 'padre@example.es' }));
  assert.equal(previewed.lane, 'urgent');
  await sendAndWait(page, 'Enviado.');
  assert.equal(stored().length, before + 1);
  assert.deepEqual(content(stored().at(-1)), previewed);
  await context.close();
});

test('the form says what is wrong, in the visitor\'s language, and sends nothing until it is right', async () => {
  const { context, page, requests } = await visitor({ at: '2026-11-24T09:00:00Z' });
  await page.goto(`${server.url}/`);
  await page.getByRole('button', { name: 'Ayuda', exact: true }).click();
  await page.getByRole('button', { name: 'Hablar con una persona' }).first().click();
  const log = page.getByRole('log');
  await log.getByRole('button', { name: 'Revisar antes de enviar' }).click();
  await log.getByText('Escribe tu mensaje.').waitFor();
  await log.getByText('Déjanos un email o un teléfono para poder responderte.').waitFor();
  assert.equal(await log.getByLabel('Tu mensaje').getAttribute('aria-invalid'), 'true');
  await log.getByLabel('Tu mensaje').fill('Hola');
  await log.getByLabel('Tu email o teléfono, para responderte').fill('ana@example');
  await log.getByRole('button', { name: 'Revisar antes de enviar' }).click();
  await log.getByText('Ese email no parece correcto', { exact: false }).waitFor();
  assert.equal(await log.getByText('Escribe tu mensaje.').isVisible(), false, 'fixed problems go away');
  assert.equal(requests.filter((r) => r.method === 'POST').length, 0);
  await context.close();
});

test('two unanswered questions in a row offer a person without being asked', async () => {
  const { context, page } = await visitor({ at: '2026-11-24T09:00:00Z' });
  await page.goto(`${server.url}/`);
  await ask(page, '¿Qué tiempo hará mañana?');
  const log = page.getByRole('log');
  assert.equal(await log.getByLabel('Tu mensaje').count(), 0, 'one miss only offers the button');
  await ask(page, '¿Quién ganó el partido de ayer?');
  await log.getByLabel('Tu mensaje').waitFor();
  assert.equal(await log.getByLabel('Tu mensaje').inputValue(), '¿Quién ganó el partido de ayer?');
  await context.close();
});

test('a refused message shows the reason and keeps the text to copy', async () => {
  // An endpoint that refuses posts: the static site itself (405 Method Not Allowed).
  const { context, page } = await visitor({ at: '2026-11-24T09:00:00Z' });
  await page.goto(`${server.url}/tests/chat.html?endpoint=/not-an-inbox/`);
  await ask(page, 'Quiero hablar con una persona');
  const raw = await writeAndPreview(page, { reply: 'ana@example.es', message: 'Un mensaje que no llegará.' });
  await sendAndWait(page, 'No se ha podido enviar (405');
  const log = page.getByRole('log');
  assert.equal(await log.locator('pre.copy').last().textContent(), raw, 'the whole text, ready to copy');
  await log.getByRole('button', { name: 'Copiar el mensaje' }).waitFor();
  // Kept on the device across a reload until the visitor discards it.
  await page.reload();
  await page.getByRole('button', { name: 'Ayuda', exact: true }).click();
  await log.getByText('Tienes un mensaje pendiente de enviar:').waitFor();
  await log.getByText('No se ha podido enviar (405', { exact: false }).waitFor();
  await log.getByRole('button', { name: 'Descartar' }).click();
  await log.getByText('Mensaje descartado.').waitFor();
  await page.reload();
  await page.getByRole('button', { name: 'Ayuda', exact: true }).click();
  await page.getByRole('log').getByText('¡Hola!', { exact: false }).waitFor();
  assert.equal(await page.getByRole('log').getByText('Tienes un mensaje pendiente').count(), 0);
  await context.close();
});

/** A free loopback port, so an inbox can be stopped and started again at the same address. */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

test('with the inbox down the message waits on the device, survives a reload, and arrives exactly once', async () => {
  const inboxDb = path.join(dir, 'self-hosted.db');
  const listen = `127.0.0.1:${await freePort()}`;
  const endpoint = `http://${listen}/messages`;
  const allowOrigins = [new URL(server.url).origin];
  // The inbox runs on its own origin, as a self-hoster would run it; start it once to create
  // its database, then stop it.
  let box = await inbox(inboxDb, { listen, allowOrigins });
  await box.stop();

  // The real clock: retries are scheduled by it.
  const { context, page, requests } = await visitor();
  const url = `${server.url}/tests/chat.html?endpoint=${encodeURIComponent(endpoint)}`;
  await page.goto(url);
  await ask(page, 'Quiero hablar con alguien');
  const previewed = JSON.parse(await writeAndPreview(page,
    { reply: 'ana@example.es', message: 'Mensaje escrito con la bandeja caída.' }));
  await sendAndWait(page, 'tu mensaje está guardado en este dispositivo');
  assert.equal(stored(inboxDb).length, 0);

  await page.reload();
  box = await inbox(inboxDb, { listen, allowOrigins });
  try {
    // Sent again by itself (on load, then with backoff), chat closed: nothing to click.
    const deadline = Date.now() + 30_000;
    while (stored(inboxDb).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const rows = stored(inboxDb);
    assert.equal(rows.length, 1, 'arrived');
    assert.deepEqual(content(rows[0]), previewed, 'exactly as previewed before the reload');
    // The outbox let go of it, and nothing sends it again.
    await page.waitForFunction(async () => {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open('ayuda-outbox');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const all = await new Promise((resolve) => {
        const req = db.transaction('messages').objectStore('messages').getAll();
        req.onsuccess = () => resolve(req.result);
      });
      db.close();
      return all.length === 0;
    }, null, { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(stored(inboxDb).length, 1, 'exactly once');
    const posts = requests.filter((r) => r.method === 'POST' && r.url === endpoint);
    // Every try, before and after the reload, carried the same bytes (the same key).
    assert.ok(posts.length >= 1);
    for (const p of posts) assert.equal(p.body, JSON.stringify(previewed));
  } finally {
    await box.stop();
    await context.close();
  }
});

/** Builds a small knowledge base from `csv` with `contact` settings into the test folder
 *  (served at /built/); returns its URL path. */
function build(name, csv, contact) {
  const file = (ext) => path.join(dir, `${name}.${ext}`);
  writeFileSync(file('csv'), csv);
  writeFileSync(file('json'), JSON.stringify(contact));
  execFileSync(AYUDA, ['build', file('csv'), '--contact', file('json'),
    '--model', 'www/models/all-MiniLM-L6-v2.ayuda', '--out', file('bin')], { cwd: root, stdio: 'ignore' });
  return `/built/${name}.bin`;
}

const FAQ = `id,question,answer,handoff
horario,¿A qué hora abrís?,Abrimos de 9:00 a 14:00.,no
envios,¿Hacéis envíos a domicilio?,Sí: a toda la Península en 48 horas.,no
abogado,¿Puedo hablar con vuestro abogado sobre una reclamación?,,yes
`;

test('an entry the owner hands to a person opens the form; a form backend gets the same fields', async () => {
  const before = stored().length;
  const kb = build('form', FAQ, { delivery: { form: '/inbox/messages' } });
  const { context, page, requests } = await visitor();
  await page.goto(`${server.url}/tests/chat.html?kb=${kb}`);
  const question = '¿Puedo hablar con vuestro abogado sobre una reclamación?';
  await ask(page, question);
  const log = page.getByRole('log');
  await log.getByText('De esto se encarga una persona del equipo.').waitFor();
  assert.equal(await log.getByLabel('Tu mensaje').inputValue(), question, 'the form opened by itself');
  const raw = await writeAndPreview(page, { reply: '+34 611 22 33 44' });
  assert.match(raw, /^key: [0-9a-f-]{36}\nmessage: ¿Puedo hablar/);
  await sendAndWait(page, 'Enviado.');
  const post = requests.find((r) => r.method === 'POST');
  assert.equal(post.url, `${server.url}/inbox/messages`);
  const fields = Object.fromEntries(new URLSearchParams(post.body));
  assert.equal(raw, Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n'),
    'the preview lists exactly the fields posted');
  const row = stored().at(-1);
  assert.equal(stored().length, before + 1);
  assert.equal(row.key, fields.key);
  assert.equal(row.message, question);
  assert.deepEqual(row.reply_to, { phone: '+34 611 22 33 44' });
  // No hours in these settings: always open.
  assert.equal(row.lane, 'open');
  await context.close();
});

test('without an endpoint, the message opens in the visitor\'s mail program and nothing is posted', async () => {
  const kb = build('mail', FAQ, { delivery: { email: 'hola@panaderia-luna.example' } });
  const { context, page, requests } = await visitor();
  await page.goto(`${server.url}/tests/chat.html?kb=${kb}`);
  await page.getByRole('button', { name: 'Ayuda', exact: true }).click();
  await page.getByRole('button', { name: 'Hablar con una persona' }).first().click();
  const raw = await writeAndPreview(page, { reply: 'ana@example.es', message: 'Quiero encargar 40 rosquilletas.' });
  const log = page.getByRole('log');
  await log.getByText('se enviará a hola@panaderia-luna.example', { exact: false }).waitFor();
  const href = await log.getByRole('link', { name: 'Abrir en tu programa de correo' }).getAttribute('href');
  const mail = new URL(href);
  assert.equal(mail.protocol + mail.pathname, 'mailto:hola@panaderia-luna.example');
  assert.equal(new URLSearchParams(mail.search).get('body'), raw, 'the mail carries exactly the preview');
  assert.equal(requests.filter((r) => r.method === 'POST').length, 0);
  await context.close();
});

test('an English visitor gets the way to a person in English, with the opening in their time', async () => {
  // Sunday 29 November 2026, 15:00 in Valencia (closed since 14:00), 14:00 in London.
  const { context, page } = await visitor({ at: '2026-11-29T14:00:00Z', timezoneId: 'Europe/London', locale: 'en-GB' });
  await page.goto(`${server.url}/en/`);
  await page.getByRole('button', { name: 'Help', exact: true }).click();
  await page.getByRole('button', { name: 'Talk to a person' }).first().click();
  const log = page.getByRole('log');
  await log.getByText('We are closed right now. Leave us a message and we will contact you.').waitFor();
  // Monday 07:30 in Valencia is 06:30 in London.
  assert.match(await log.getByText('We open again on', { exact: false }).innerText(), /Monday,? 30 November.* 06:30 \(your time\)/);
  await log.getByRole('button', { name: 'Review before sending' }).click();
  await log.getByText('Write your message.').waitFor();
  await log.getByText('Leave an email or a phone number so we can reply.').waitFor();
  await log.getByLabel('Your message').fill('Do you deliver to Gibraltar?');
  await log.getByLabel('Your email or phone, so we can reply').fill('sam@example.co.uk');
  await log.getByRole('button', { name: 'Review before sending' }).click();
  const previewed = JSON.parse(await log.locator('pre.raw').last().textContent());
  assert.equal(previewed.lang, 'en');
  assert.equal(previewed.lane, 'closed');
  await log.getByRole('button', { name: 'Send', exact: true }).last().click();
  await log.getByText('Sent. We will reply soon.').waitFor({ timeout: 30_000 });
  assert.deepEqual(content(stored().at(-1)), previewed);
  await context.close();
});
