// `ayuda site` the way a site owner deploys it: the release archive (tools/dist.sh, as
// `make dist` makes it, here around the debug build) unpacked outside the checkout, a small
// built site (as a generator writes it), `ayuda site PUBLIC --inject` run from the archive with
// nothing on PATH, a plain static file server that
// compresses nothing (python3 -m http.server, not `ayuda serve`), and a visitor in headless
// Chromium who gets answers, first from the words and then from the model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AYUDA, root, launch, openChat, modelReady, staticServer, EN } from './harness.mjs';

const FAQ = [
  ['When are you open?', 'Monday to Saturday from 9:00 to 18:00; closed on Sundays.'],
  ['How much is shipping?', 'Shipping costs 4.90 and is free over 40.'],
  ['Can I return a product?', 'Yes, within 30 days with the receipt.'],
  ['Do you take credit cards?', 'We take cards and cash.'],
];

function page(title, body, head = '') {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head>\n<body>${body}</body></html>\n`;
}

let dir, server, browser, release;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ayuda-site-'));
  const pub = path.join(dir, 'public');
  mkdirSync(path.join(pub, 'faq'), { recursive: true });
  writeFileSync(path.join(pub, 'index.html'), page('Shop', '<h1>Shop</h1><a href="faq/">FAQ</a>'));
  const data = { '@context': 'https://schema.org', '@type': 'FAQPage', mainEntity: FAQ.map(([q, a]) =>
    ({ '@type': 'Question', name: q, acceptedAnswer: { '@type': 'Answer', text: a } })) };
  writeFileSync(path.join(pub, 'faq/index.html'),
    page('FAQ', '<h1>FAQ</h1>', `<script type="application/ld+json">${JSON.stringify(data)}</script>`));
  const dist = spawnSync('bash', ['tools/dist.sh', AYUDA, path.join(dir, 'dist')], { cwd: root, encoding: 'utf8' });
  assert.equal(dist.status, 0, dist.stderr);
  const archive = dist.stdout.trim();
  mkdirSync(path.join(dir, 'opt'));
  assert.equal(spawnSync('tar', ['-xzf', archive, '-C', path.join(dir, 'opt')]).status, 0);
  release = path.join(dir, 'opt', path.basename(archive, '.tar.gz'));
  const installed = path.join(release, 'ayuda');
  // No PATH: the command starts no other program; its models are the archive's own.
  const run = spawnSync(installed, ['site', 'public', '--inject'], { cwd: dir, env: { PATH: '', HOME: dir }, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, new RegExp(`model ${path.dirname(installed)}/models/`), run.stderr);
  server = await staticServer(pub);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the injected tag on a plain static host: the chat answers, then the model takes over', async () => {
  const context = await browser.newContext({ locale: 'en-US', serviceWorkers: 'block' });
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  const tab = await context.newPage();
  const errors = [];
  tab.on('pageerror', (e) => errors.push(e.message));
  await tab.goto(`${server.url}/faq/`);
  const { ask } = await openChat(tab, EN);
  assert.match(await (await ask('How much is shipping?')).innerText(), /4\.90/);
  await modelReady(tab);
  // A paraphrase the words alone are not sure of: the model's.
  assert.match(await (await ask('are you open on sundays')).innerText(), /Monday to Saturday/);
  // Everything came from the site itself, by the hashed names the loader carries.
  const origin = new URL(server.url).origin;
  assert.deepEqual(requests.filter((u) => new URL(u).origin !== origin), []);
  assert.ok(requests.some((u) => /\/ayuda\/models\/all-MiniLM-L6-v2\.[0-9a-f]{12}\.ayuda$/.test(u)), requests.join('\n'));
  assert.ok(requests.some((u) => /\/ayuda\/kb\.[0-9a-f]{12}\.bin$/.test(u)), requests.join('\n'));
  assert.deepEqual(errors, []);
  await context.close();
});

test('a page that never opens the chat fetches only the small scripts', async () => {
  const context = await browser.newContext({ locale: 'en-US', serviceWorkers: 'block' });
  const requests = [];
  context.on('request', (r) => requests.push(new URL(r.url()).pathname));
  const tab = await context.newPage();
  await tab.goto(`${server.url}/`);
  await tab.getByRole('button', { name: EN.launcher, exact: true }).waitFor();
  assert.deepEqual(requests.filter((p) => /\.(wasm|ayuda|bin)$/.test(p)), []);
  // The home page's tag is relative: it works wherever the site is served.
  const html = readFileSync(path.join(dir, 'public/index.html'), 'utf8');
  assert.match(html, /<script src="ayuda\/ayuda\.js" defer><\/script>\n<\/head>/);
  await context.close();
});

test('the npm package installs offline and `npx ayuda site` runs its own program', async () => {
  const pack = spawnSync('bash', ['tools/npm_pack.sh', release, path.join(dir, 'npm')], { cwd: root, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  const tarball = pack.stdout.trim();
  const scratch = path.join(dir, 'scratch');
  mkdirSync(scratch);
  writeFileSync(path.join(scratch, 'package.json'), '{"name": "scratch", "private": true}\n');
  // Offline, with a registry nobody answers at: the tarball must need nothing else.
  const env = { ...process.env, npm_config_offline: 'true', npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const install = spawnSync('npm', ['install', tarball], { cwd: scratch, env, encoding: 'utf8' });
  assert.equal(install.status, 0, install.stderr);
  cpSync(path.join(dir, 'public'), path.join(scratch, 'public'), { recursive: true });
  rmSync(path.join(scratch, 'public/ayuda'), { recursive: true });
  const run = spawnSync('npx', ['ayuda', 'site', 'public'], { cwd: scratch, env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /node_modules\/ayuda\/vendor\/[a-z0-9]+-[a-z0-9]+\/models\//, run.stderr);
  assert.ok(existsSync(path.join(scratch, 'public/ayuda/ayuda.js')));
  assert.equal(run.stdout.trim(), '<script src="/ayuda/ayuda.js" defer></script>');
  // Arguments and exit codes pass through.
  const bad = spawnSync('npx', ['ayuda', 'site', 'missing'], { cwd: scratch, env, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no such folder/);
});
