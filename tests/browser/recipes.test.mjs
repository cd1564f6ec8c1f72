// The README's recipes on real site generators: Hugo (Debian's package) and Eleventy (npm),
// each building the small site in tests/fixtures/sites, then `ayuda site`, then a plain static
// file server (python3's, not `ayuda serve`), and a visitor in headless Chromium who asks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AYUDA, root, launch, openChat, modelReady, staticServer, ES, EN } from './harness.mjs';

let dir, browser;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ayuda-recipes-'));
  browser = await launch();
});
after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a command in `cwd` and insists that it succeeds. */
function run(cwd, command, args) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.error ?? ''}${r.stderr}`);
  return r;
}

/** A copy of a fixture site to build in. */
function project(name) {
  const at = path.join(dir, name);
  cpSync(path.join(root, 'tests/fixtures/sites', name), at, { recursive: true });
  return at;
}

/** Serves `folder`, opens `url` and asks `question` once the model is in; returns the reply. */
async function askOn(folder, url, labels, locale, question) {
  const server = await staticServer(folder);
  const context = await browser.newContext({ locale, serviceWorkers: 'block' });
  try {
    const tab = await context.newPage();
    await tab.goto(`${server.url}${url}`);
    const { ask } = await openChat(tab, labels);
    await modelReady(tab);
    return await (await ask(question)).innerText();
  } finally {
    await context.close();
    server.stop();
  }
}

test('Hugo: the tag in the layout, `ayuda site public --out static`, hugo again, any static host', { timeout: 180_000 }, async () => {
  const site = project('hugo');
  run(site, 'hugo', ['--quiet']);
  // Written into Hugo's static folder, so every later `hugo` (and `hugo server`) carries it.
  run(site, AYUDA, ['site', 'public', '--out', 'static']);
  run(site, 'hugo', ['--quiet']);
  const page = readFileSync(path.join(site, 'public/preguntas/index.html'), 'utf8');
  assert.match(page, /<script src="\/ayuda\/ayuda\.js" defer><\/script>/);
  const reply = await askOn(path.join(site, 'public'), '/preguntas/', ES, 'es-ES', '¿Qué horario tenéis?');
  assert.match(reply, /de 17:00 a 20:00/);
  // `hugo server` serves it too, from the static folder.
  const dev = spawn('hugo', ['server', '--bind', '127.0.0.1', '--port', String(await freePort()),
    '--disableLiveReload'], { cwd: site, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      dev.stderr.on('data', (d) => { out += d; });
      dev.stdout.on('data', (d) => {
        out += d;
        // It names the port under localhost; it listens on 127.0.0.1 only.
        const m = out.match(/Web Server is available at http:\/\/[^\s/:]+:(\d+)/);
        if (m) resolve(`http://127.0.0.1:${m[1]}`);
      });
      dev.on('exit', (code) => reject(new Error(`hugo server exited with ${code}: ${out}`)));
    });
    const loader = await (await fetch(`${url}/ayuda/ayuda.js`)).text();
    const kb = loader.match(/"kb":"(kb\.[0-9a-f]{12}\.bin)"/);
    assert.ok(kb, loader.slice(0, 800));
    assert.equal((await fetch(`${url}/ayuda/${kb[1]}`)).status, 200);
  } finally {
    dev.kill();
  }
});

/** A port nothing listens on now. */
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

test('Eleventy: eleventy, `ayuda site _site --inject`, any static host', { timeout: 180_000 }, async () => {
  const site = project('eleventy');
  run(site, path.join(root, 'node_modules/.bin/eleventy'), ['--quiet']);
  run(site, AYUDA, ['site', '_site', '--inject']);
  const reply = await askOn(path.join(site, '_site'), '/faq/', EN, 'en-US', 'how much does renting an e-bike cost');
  assert.match(reply, /35 a day/);
});
