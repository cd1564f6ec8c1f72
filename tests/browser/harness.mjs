// Shared set-up for the browser tests: the real `ayuda serve` on a free loopback port, and one
// headless Chromium (Debian's, driven by playwright-core) with a fresh profile per context.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const AYUDA = path.join(root, 'target/debug/ayuda');

// Every `ayuda` the tests start inherits this: it speaks English whatever the machine's locale
// (the tests read its words, such as the "on http://" line of `serve` and `inbox`).
process.env.AYUDA_LANG = 'en';

/** Starts `ayuda serve` on 127.0.0.1 with an OS-chosen port; resolves to {url, stop}.
 *  `args` are further options (for example ['--inbox-db', file]). */
export async function serve(dir, mounts = {}, args = []) {
  const all = ['serve', dir, '--listen', '127.0.0.1:0', ...args];
  for (const [prefix, folder] of Object.entries(mounts)) all.push('--mount', `${prefix}=${folder}`);
  return start(all);
}

/** python3's http.server on a free loopback port: a host that compresses nothing. */
export async function staticServer(root) {
  const child = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', root],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/port (\d+)/);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.on('exit', (code) => reject(new Error(`http.server exited with ${code}: ${out}`)));
  });
  return { url, stop: () => child.kill() };
}

/** Starts `ayuda inbox` on `listen` (default: an OS-chosen port), with `args` besides;
 *  resolves to {url, stop}. */
export async function inbox(db, { listen = '127.0.0.1:0', allowOrigins = [], args = [] } = {}) {
  const all = ['inbox', '--listen', listen, '--db', db, ...args];
  for (const origin of allowOrigins) all.push('--allow-origin', origin);
  return start(all);
}

/** Runs the `ayuda` binary until it prints the address it listens on. */
async function start(args) {
  const child = spawn(AYUDA, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`ayuda ${args[0]} exited with ${code}: ${err}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { url, stop: async () => { child.kill(); await exited; } };
}

/** Headless Chromium. The chat's shadow root is closed (other scripts on a page must not read
 *  the conversation), and Playwright's locators enter only open ones; so each context opens it,
 *  unless created with `{ closedShadow: true }` (isolation.test.mjs checks the real one). */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async ({ closedShadow = false, ...options } = {}) => {
    const context = await newContext(options);
    if (!closedShadow) await context.addInitScript(openShadowRoots);
    return context;
  };
  return browser;
}

function openShadowRoots() {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: 'open' }); };
}

/** sentence-transformers' embeddings of 145 varied texts. */
export function reference() {
  const file = path.join(root, '../shared/reference/all-MiniLM-L6-v2.jsonl');
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

export function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

/** A fresh browser context on the worker test page (pages/encoder.html, which exposes
 *  EncoderClient), recording every request it makes. */
export async function openTestPage(browser, server) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => { throw e; });
  await page.goto(`${server.url}/tests/encoder.html`);
  await page.waitForFunction(() => document.title === 'ready');
  return { page, requests, close: () => context.close() };
}

/** Opens the chat with the launcher and returns helpers bound to its controls. */
export async function openChat(page, { launcher, input, send }) {
  await page.getByRole('button', { name: launcher, exact: true }).click();
  const box = page.getByRole('textbox', { name: input });
  await assert.doesNotReject(box.waitFor());
  const log = page.getByRole('log');
  const ask = async (text) => {
    const before = await log.locator('.msg').count();
    await box.fill(text);
    await page.getByRole('button', { name: send, exact: true }).click();
    // The visitor's bubble, then the reply (a notice that the answer is coming counts only if
    // nothing follows).
    await page.waitForFunction(
      ([n]) => {
        const log = document.querySelector('ayuda-chat').shadowRoot.querySelector('[role=log]');
        const msgs = log.querySelectorAll('.msg');
        return msgs.length >= n + 2
          && !/Un momento|One moment|Aún no estoy seguro|I am not sure yet/.test(msgs[msgs.length - 1].textContent);
      },
      [before], { timeout: 60_000 });
    return log.locator('.msg').last();
  };
  return { box, log, ask };
}

/** Waits until the full model has taken over from the early tier. */
export async function modelReady(page) {
  await page.waitForFunction(() => document.querySelector('ayuda-chat').state === 'ready', null,
    { timeout: 60_000 });
}

export const ES = { launcher: 'Ayuda', input: 'Escribe tu pregunta', send: 'Enviar' };
export const EN = { launcher: 'Help', input: 'Type your question', send: 'Send' };
