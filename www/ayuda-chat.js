// <ayuda-chat>: the chat a visitor sees. Owns the launcher, the panel, the conversation and its
// accessibility; the model and the knowledge base run in the worker (encoder.js). It never
// sends what the visitor types anywhere: questions go to the worker, on this device.
//
// Attributes (mirrored by properties): kb (bundle URL, required), model (packed model URL,
// default <base>models/all-MiniLM-L6-v2.ayuda), base (where ayuda's files are; default: this
// file's folder), lang (es, en; default: the page's, else the browser's), position (right or
// left), contact (URL of the site's contact page, offered with "talk to a person").
// Events (composed, bubbling): ayuda-ready, ayuda-reply {detail: reply}, ayuda-escalate
// {detail: {reason}} (visitor, asked, urgent, no-answer, suggest, handoff); the escalation
// flow listens for the last.
import { EncoderClient } from './encoder.js';
import { STRINGS, pickLanguage } from './ayuda-i18n.js';

const HERE = new URL('./', import.meta.url);
const MODEL = 'models/all-MiniLM-L6-v2.ayuda';
/** Longest question kept; the model reads about 256 tokens anyway, and a pasted page should
 *  not freeze the tab while its words are counted. */
const MAX_QUESTION = 2000;

// Styles in a constructed sheet: allowed under a Content-Security-Policy without
// 'unsafe-inline', shared by every instance.
const sheet = new CSSStyleSheet();
sheet.replaceSync(`
:host {
  --ayuda-accent: #8a3b12; --ayuda-on-accent: #fff; --ayuda-bg: #fff; --ayuda-fg: #1d1b19;
  --ayuda-muted: #5d5750; --ayuda-bubble: #f3ede7; --ayuda-border: #d8cfc6;
  --ayuda-focus: #1a5fb4; --ayuda-radius: 12px; --ayuda-font: system-ui, sans-serif;
  position: fixed; bottom: 1rem; right: 1rem; z-index: 2147483000;
  font: 16px/1.45 var(--ayuda-font); color: var(--ayuda-fg);
}
:host([position="left"]) { right: auto; left: 1rem; }
@media (prefers-color-scheme: dark) {
  :host { --ayuda-accent: #f0a36b; --ayuda-on-accent: #1d1b19; --ayuda-bg: #1f1c1a;
    --ayuda-fg: #f2ede8; --ayuda-muted: #c4bbb1; --ayuda-bubble: #2e2925; --ayuda-border: #4a423b;
    --ayuda-focus: #8ab4f8; }
}
* { box-sizing: border-box; }
button, textarea { font: inherit; color: inherit; }
:focus-visible { outline: 3px solid var(--ayuda-focus); outline-offset: 2px; }
.launcher { display: block; margin-left: auto; border: 0; border-radius: 999px; padding: .75rem 1.25rem;
  background: var(--ayuda-accent); color: var(--ayuda-on-accent); font-weight: 600; cursor: pointer;
  box-shadow: 0 2px 8px rgb(0 0 0 / .25); }
:host([position="left"]) .launcher { margin-left: 0; }
.panel { display: flex; flex-direction: column; width: min(24rem, calc(100vw - 2rem));
  height: min(36rem, calc(100vh - 6rem)); margin-bottom: .75rem; background: var(--ayuda-bg);
  border: 1px solid var(--ayuda-border); border-radius: var(--ayuda-radius);
  box-shadow: 0 8px 24px rgb(0 0 0 / .25); overflow: hidden; }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; gap: .5rem; padding: .5rem .75rem;
  background: var(--ayuda-accent); color: var(--ayuda-on-accent); }
header h2 { flex: 1; margin: 0; font-size: 1rem; }
header button { border: 0; background: transparent; color: inherit; cursor: pointer; padding: .25rem .5rem;
  border-radius: 6px; }
header .human { border: 1px solid currentColor; }
.log { flex: 1; overflow-y: auto; padding: .75rem; display: flex; flex-direction: column; gap: .5rem; }
.msg { max-width: 90%; padding: .5rem .75rem; border-radius: var(--ayuda-radius); overflow-wrap: anywhere; }
.msg p { margin: 0 0 .5rem; } .msg p:last-child { margin-bottom: 0; }
.msg ul, .msg ol { margin: 0 0 .5rem; padding-left: 1.25rem; }
.visitor { align-self: flex-end; background: var(--ayuda-accent); color: var(--ayuda-on-accent); white-space: pre-wrap; }
.bot { align-self: flex-start; background: var(--ayuda-bubble); }
.bot a { color: inherit; }
.who { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.choices { display: flex; flex-direction: column; gap: .25rem; margin-top: .5rem; }
.choices button, .feedback button, .action { text-align: left; border: 1px solid var(--ayuda-border);
  background: var(--ayuda-bg); border-radius: 8px; padding: .375rem .625rem; cursor: pointer; }
.feedback { display: flex; flex-wrap: wrap; align-items: center; gap: .375rem; margin-top: .5rem;
  font-size: .875rem; color: var(--ayuda-muted); }
.feedback button[aria-pressed="true"] { background: var(--ayuda-accent); color: var(--ayuda-on-accent); }
.source { display: block; margin-top: .375rem; font-size: .875rem; }
.status { padding: 0 .75rem; font-size: .875rem; color: var(--ayuda-muted); min-height: 1.25rem; }
form { display: flex; gap: .5rem; padding: .5rem .75rem .75rem; border-top: 1px solid var(--ayuda-border); }
textarea { flex: 1; resize: none; min-height: 2.5rem; max-height: 6rem; padding: .5rem;
  border: 1px solid var(--ayuda-border); border-radius: 8px; background: var(--ayuda-bg); }
form button { border: 0; border-radius: 8px; padding: 0 1rem; background: var(--ayuda-accent);
  color: var(--ayuda-on-accent); font-weight: 600; cursor: pointer; }
@media (prefers-reduced-motion: no-preference) {
  .panel:not([hidden]) { animation: rise .18s ease-out; }
  @keyframes rise { from { opacity: 0; transform: translateY(.5rem); } }
}
`);

/** `html` (the owner's answer: HTML or Markdown-style links) as safe DOM: text, paragraphs,
 *  lists, emphasis and links with http(s), mailto, tel or same-site addresses. Nothing else
 *  survives: no attributes but href, no scripts, no event handlers, no styles. */
function renderAnswer(html, doc = document) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  const out = doc.createDocumentFragment();
  const KEEP = new Set(['P', 'BR', 'UL', 'OL', 'LI', 'STRONG', 'EM', 'B', 'I']);
  const copy = (node, into) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        appendWithLinks(child.textContent, into, doc);
      } else if (child.nodeType === Node.ELEMENT_NODE) {
        if (child.tagName === 'A') {
          const a = safeLink(child.getAttribute('href'), doc);
          if (a) { appendWithLinks(child.textContent, a, doc); into.append(a); }
          else appendWithLinks(child.textContent, into, doc);
        } else if (KEEP.has(child.tagName)) {
          const el = doc.createElement(child.tagName.toLowerCase());
          copy(child, el);
          into.append(el);
        } else if (!['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT'].includes(child.tagName)) {
          copy(child, into);
        }
      }
    }
  };
  copy(parsed.body, out);
  return out;
}

/** Text with Markdown links `[text](url)` turned into safe anchors. */
function appendWithLinks(text, into, doc) {
  const re = /\[([^\]]+)\]\(([^)\s]+)\)/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    into.append(text.slice(at, m.index));
    const a = safeLink(m[2], doc);
    if (a) { a.textContent = m[1]; into.append(a); } else into.append(m[1]);
    at = m.index + m[0].length;
  }
  into.append(text.slice(at));
}

function safeLink(href, doc) {
  if (!href) return null;
  let url;
  try { url = new URL(href, doc.baseURI); } catch { return null; }
  if (!['http:', 'https:', 'mailto:', 'tel:'].includes(url.protocol)) return null;
  const a = doc.createElement('a');
  a.href = url.href;
  if (url.origin !== location.origin && /^https?:/.test(url.protocol)) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  return a;
}

/** An element: `props` are properties, `on…` listeners, aria-* and unknown names attributes;
 *  `children` are nodes or text (appended as text, never parsed). */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && !k.startsWith('aria')) el[k] = v;
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

// Helpful / not helpful, counted per entry on this device only; no identifiers, nothing sent.
const FEEDBACK_KEY = 'ayuda-feedback';
function recordFeedback(entryId, helpful) {
  try {
    const all = JSON.parse(localStorage.getItem(FEEDBACK_KEY) || '{}');
    const counts = all[entryId] || { helpful: 0, notHelpful: 0 };
    counts[helpful ? 'helpful' : 'notHelpful'] += 1;
    all[entryId] = counts;
    localStorage.setItem(FEEDBACK_KEY, JSON.stringify(all));
  } catch { /* storage off or full: the thanks still shows */ }
}

export class AyudaChat extends HTMLElement {
  static observedAttributes = ['kb', 'model', 'base', 'lang', 'position', 'contact'];

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.adoptedStyleSheets = [sheet];
    this.state = 'idle';       // idle | loading | ready | failed
    this.waiting = [];         // questions asked before the answers were ready
    this.client = null;
  }

  get kb() { return this.getAttribute('kb'); }
  set kb(v) { this.setAttribute('kb', v); }
  get model() { return this.getAttribute('model'); }
  set model(v) { this.setAttribute('model', v); }
  get base() { return this.getAttribute('base'); }
  set base(v) { this.setAttribute('base', v); }
  get position() { return this.getAttribute('position'); }
  set position(v) { this.setAttribute('position', v); }
  get contact() { return this.getAttribute('contact'); }
  set contact(v) { this.setAttribute('contact', v); }

  /** The interface language: the lang attribute, else the page's, else the browser's. */
  get language() {
    return pickLanguage(this.getAttribute('lang'), document.documentElement.lang, ...navigator.languages);
  }

  connectedCallback() {
    if (!this.panel) this.render();
  }

  disconnectedCallback() {
    this.client?.terminate();
    this.client = null;
    this.state = 'idle';
  }

  attributeChangedCallback(name) {
    if (!this.panel) return;
    if (name === 'lang') this.render();
    if ((name === 'kb' || name === 'model' || name === 'base') && this.state !== 'idle') {
      this.client?.terminate();
      this.client = null;
      this.state = 'idle';
      this.start();
    }
  }

  t(key, n) {
    return STRINGS[this.language][key].replace('{n}', n ?? '');
  }

  render() {
    const t = (k) => this.t(k);
    const lang = this.language;
    this.root.replaceChildren();
    this.panel = h('section', { className: 'panel', id: 'panel', hidden: true, role: 'dialog',
      'aria-labelledby': 'title', lang });
    this.log = h('div', { className: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t('log'),
      tabIndex: 0 });
    this.status = h('div', { className: 'status', role: 'status' });
    this.input = h('textarea', { id: 'question', rows: 1, placeholder: t('placeholder'),
      maxLength: MAX_QUESTION * 50, onkeydown: (e) => {
        if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); this.form.requestSubmit(); }
      } });
    this.form = h('form', { onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      h('label', { htmlFor: 'question', className: 'who' }, t('input')),
      this.input,
      h('button', { type: 'submit' }, t('send')));
    this.panel.append(
      h('header', {},
        h('h2', { id: 'title' }, t('title')),
        h('button', { type: 'button', className: 'human', onclick: () => this.escalate('visitor') }, t('human')),
        h('button', { type: 'button', 'aria-label': t('close'), onclick: () => this.close() }, '✕')),
      this.log, this.status, this.form);
    this.launcher = h('button', { type: 'button', className: 'launcher', 'aria-expanded': 'false',
      'aria-controls': 'panel', lang, onclick: () => (this.panel.hidden ? this.open() : this.close()) },
      t('launcher'));
    this.panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.close(); });
    this.root.append(this.panel, this.launcher);
    this.botSay(t('greeting'));
  }

  open() {
    this.panel.hidden = false;
    this.launcher.setAttribute('aria-expanded', 'true');
    this.input.focus();
    this.start();
  }

  close() {
    this.panel.hidden = true;
    this.launcher.setAttribute('aria-expanded', 'false');
    this.launcher.focus();
  }

  /** Starts loading the model and the knowledge base in the worker, once. */
  start() {
    if (this.state !== 'idle') return;
    this.state = 'loading';
    const base = new URL(this.base || HERE.href, location.href);
    const model = new URL(this.model || MODEL, base).href;
    const kb = this.kb ? new URL(this.kb, location.href).href : null;
    this.setStatus(this.t('loadingNoSize'));
    const fail = () => {
      this.state = 'failed';
      this.setStatus('');
      this.botSay(this.t('unavailable'), { human: true });
      this.waiting.length = 0; // the message above answers them
    };
    if (!kb) { fail(); return; }
    try {
      this.client = new EncoderClient(new URL('encoder-worker.js', base));
    } catch { fail(); return; }
    this.client.load(model, {
      kb,
      onProgress: (loaded, total) => {
        if (total) this.setStatus(this.t('loading', `${Math.min(99, Math.floor((100 * loaded) / total))}%`));
      },
    }).then(() => {
      this.state = 'ready';
      this.setStatus('');
      this.dispatchEvent(new CustomEvent('ayuda-ready', { bubbles: true, composed: true }));
      for (const q of this.waiting.splice(0)) this.answer(q);
    }, fail);
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  submit() {
    const text = this.input.value.trim().slice(0, MAX_QUESTION);
    if (!text) return;
    this.input.value = '';
    this.say('visitor', text);
    if (this.state === 'ready') this.answer(text);
    else if (this.state === 'failed') this.botSay(this.t('unavailable'), { human: true });
    else {
      this.waiting.push(text);
      this.start();
      if (this.waiting.length === 1) this.botSay(this.t('queued'));
    }
  }

  async answer(text) {
    let reply, signals;
    try {
      ({ reply, signals } = await this.client.turn(text, { lang: this.language }));
    } catch {
      this.botSay(this.t('unavailable'), { human: true });
      return;
    }
    this.dispatchEvent(new CustomEvent('ayuda-reply', { detail: reply, bubbles: true, composed: true }));
    // "Quiero hablar con alguien", "es urgente": the way to a person comes first, at once.
    if (signals?.wantsPerson || signals?.urgent) {
      this.escalate(signals.urgent ? 'urgent' : 'asked');
      return;
    }
    if (reply.outcome === 'answer') this.showAnswer(reply.entry);
    else if (reply.outcome === 'suggest') this.showSuggestions(reply.entries);
    else this.botSay(this.t('escalate'), { human: true, reason: 'no-answer' });
  }

  showAnswer(entry) {
    const msg = this.say('bot', renderAnswer(entry.answer));
    const source = entry.url && safeLink(entry.url, document);
    if (source) {
      source.textContent = this.t('source');
      source.className = 'source';
      msg.append(source);
    }
    if (entry.handoff) {
      msg.append(h('p', {}, this.t('handoff')));
      this.humanButton(msg, 'handoff');
    }
    const feedback = h('div', { className: 'feedback' }, this.t('helpfulQuestion'));
    for (const helpful of [true, false]) {
      const b = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => {
        for (const other of feedback.querySelectorAll('button')) other.disabled = true;
        b.setAttribute('aria-pressed', 'true');
        recordFeedback(entry.id, helpful);
        feedback.append(` ${this.t('thanks')}`);
      } }, this.t(helpful ? 'helpful' : 'notHelpful'));
      feedback.append(b);
    }
    msg.append(feedback);
  }

  showSuggestions(entries) {
    const msg = this.say('bot', this.t('suggest'));
    msg.append(h('div', { className: 'choices' }, ...entries.map((entry) =>
      h('button', { type: 'button', onclick: () => {
        this.say('visitor', entry.question);
        this.showAnswer(entry);
      } }, entry.question))));
    this.humanButton(msg, 'suggest');
  }

  humanButton(msg, reason) {
    msg.append(h('div', { className: 'choices' },
      h('button', { type: 'button', className: 'action', onclick: () => this.escalate(reason) },
        this.t('human'))));
  }

  /** The way to a person. The escalation flow (issue 5) replaces this message; today it
   *  points at the site's contact page. */
  escalate(reason) {
    this.open();
    this.dispatchEvent(new CustomEvent('ayuda-escalate', { detail: { reason }, bubbles: true, composed: true }));
    const contact = this.contact && safeLink(this.contact, document);
    if (contact) {
      contact.textContent = this.t('contactLink');
      const msg = this.say('bot', this.t('contact'));
      msg.append(contact);
    } else {
      this.botSay(this.t('contactNone'));
    }
  }

  botSay(text, { human = false, reason = 'visitor' } = {}) {
    const msg = this.say('bot', text);
    if (human) this.humanButton(msg, reason);
    return msg;
  }

  /** Appends a message; `content` is text (shown as text, never parsed) or safe nodes. */
  say(who, content) {
    const label = h('span', { className: 'who' }, `${this.t(who === 'visitor' ? 'you' : 'bot')}: `);
    const msg = h('div', { className: `msg ${who}` }, label, content);
    this.log.append(msg);
    this.log.scrollTop = this.log.scrollHeight;
    return msg;
  }
}

if (!customElements.get('ayuda-chat')) customElements.define('ayuda-chat', AyudaChat);
