// The durable outbox: owns keeping an escalation message on this device (IndexedDB) from the
// moment the visitor presses send until the owner's endpoint acknowledges it, and sending it,
// exactly as previewed, with retries and backoff across offline spells and reloads. It holds
// nothing but messages the visitor chose to send, and deletes each once delivered.
//
// An item: {key, url, contentType, body, state: 'queued' | 'failed', attempts, nextAt, reason?}.
// Outcomes reported to listeners: {key, state: 'sending' | 'sent' | 'queued' | 'failed', reason?}.
// The key doubles as the Idempotency-Key: two tabs, or a retry after a lost acknowledgement,
// may send the same message twice, and the endpoint stores it once.

const DB = 'ayuda-outbox';
const STORE = 'messages';
/** Retry delays grow from 2 s to at most 5 minutes, with jitter so a fleet of tabs coming back
 *  online does not hit the endpoint in one burst. */
const FIRST_DELAY = 2000;
const MAX_DELAY = 5 * 60 * 1000;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb() {
  const open = indexedDB.open(DB, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'key' });
  return request(open);
}

/** Whether this device already has an outbox, without creating one: a visitor who never
 *  escalated gets no storage at all. */
async function exists() {
  if (!globalThis.indexedDB) return false;
  if (!indexedDB.databases) return true; // cannot tell: opening an empty one is harmless
  return (await indexedDB.databases()).some((d) => d.name === DB);
}

export class Outbox {
  constructor() {
    this.listeners = new Set();
    this.timer = null;
    this.sending = new Set();
    this.db = null;
    addEventListener('online', () => this.flush({ now: true }));
  }

  /** Reports every state change to `fn`; returns a function that stops it. */
  listen(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(change) {
    for (const fn of this.listeners) fn(change);
  }

  async store() {
    this.db ??= await openDb();
    return this.db.transaction(STORE, 'readwrite').objectStore(STORE);
  }

  /** Messages still on this device: queued ones and failed ones the visitor has not dismissed. */
  async pending() {
    if (!this.db && !(await exists())) return [];
    return request((await this.store()).getAll());
  }

  /** Keeps the message, then sends it. Resolves once it is safely stored. */
  async add({ key, url, contentType, body }) {
    const item = { key, url, contentType, body, state: 'queued', attempts: 0, nextAt: 0 };
    await request((await this.store()).put(item));
    this.flush({ now: true });
    return item;
  }

  /** Forgets a failed message (after the visitor copied it). */
  async dismiss(key) {
    await request((await this.store()).delete(key));
  }

  /** Sends every queued message that is due, and schedules the next retry. */
  async flush({ now = false } = {}) {
    clearTimeout(this.timer);
    const items = await this.pending();
    const due = items.filter((i) => i.state === 'queued' && (now || i.nextAt <= Date.now()));
    await Promise.all(due.map((item) => this.send(item)));
    const waiting = (await this.pending()).filter((i) => i.state === 'queued');
    if (waiting.length) {
      const next = Math.min(...waiting.map((i) => i.nextAt));
      this.timer = setTimeout(() => this.flush(), Math.max(250, next - Date.now()));
    }
  }

  async send(item) {
    if (this.sending.has(item.key)) return;
    this.sending.add(item.key);
    this.emit({ key: item.key, state: 'sending' });
    try {
      let response;
      try {
        response = await fetch(item.url, {
          method: 'POST',
          headers: { 'Content-Type': item.contentType, 'Idempotency-Key': item.key },
          body: item.body,
          credentials: 'omit',
          referrerPolicy: 'no-referrer',
        });
      } catch {
        return await this.retry(item, null);
      }
      if (response.ok) {
        await request((await this.store()).delete(item.key));
        this.emit({ key: item.key, state: 'sent' });
      } else if (response.status >= 500 || response.status === 408 || response.status === 429) {
        await this.retry(item, response);
      } else {
        // The endpoint refused this message: resending cannot help. Keep it for the visitor to copy.
        const reason = await describe(response);
        await request((await this.store()).put({ ...item, state: 'failed', reason }));
        this.emit({ key: item.key, state: 'failed', reason });
      }
    } finally {
      this.sending.delete(item.key);
    }
  }

  async retry(item, response) {
    const attempts = item.attempts + 1;
    const after = Number(response?.headers.get('retry-after')) * 1000 || 0;
    const backoff = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** (attempts - 1));
    const delay = Math.max(after, backoff * (0.75 + Math.random() / 2));
    await request((await this.store()).put({ ...item, attempts, nextAt: Date.now() + delay }));
    this.emit({ key: item.key, state: 'queued' });
  }
}

/** A refused message's reason, from the endpoint's JSON {error} or its text, kept short. */
async function describe(response) {
  let text = '';
  try { text = await response.text(); } catch { /* no body */ }
  try { text = JSON.parse(text).error || text; } catch { /* not JSON */ }
  return `${response.status} ${text || response.statusText}`.trim().slice(0, 500);
}

let shared = null;
/** One outbox per page, shared by every chat on it. */
export function outbox() {
  shared ??= new Outbox();
  return shared;
}
