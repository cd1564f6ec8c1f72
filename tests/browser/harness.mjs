// Shared set-up for the browser tests: the real `ayuda serve` on a free loopback port, and one
// headless Chromium (Debian's, driven by playwright-core) with a fresh profile per context.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Starts `ayuda serve` on 127.0.0.1 with an OS-chosen port; resolves to {url, stop}. */
export async function serve(dir, mounts = {}) {
  const bin = path.join(root, 'target/debug/ayuda');
  const args = ['serve', dir, '--listen', '127.0.0.1:0'];
  for (const [prefix, folder] of Object.entries(mounts)) args.push('--mount', `${prefix}=${folder}`);
  const child = spawn(bin, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`ayuda serve exited with ${code}: ${err}`)));
  });
  return { url, stop: () => child.kill() };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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
