// <ayuda-chat>: the chat a visitor sees. Owns the launcher, the panel, the conversation and its
// accessibility; the model and the knowledge base run in the worker (encoder.js). It never
// sends what the visitor types anywhere: questions go to the worker, on this device.
//
// Attributes (mirrored by properties): kb (bundle URL, required), model (packed model URL,
// default: <base>models/ + the model the bundle names), base (where ayuda's files are; default: this
// file's folder), lang (es, en; default: the page's, else the browser's), position (right or
// left), contact (URL of the site's contact page, offered when the knowledge base gives no way
// to send a message), endpoint (where messages go as JSON; overrides the knowledge base's).
// Events (composed, bubbling): ayuda-ready, ayuda-reply {detail: reply and its tier, 'early' or
// 'full'}, ayuda-escalate
// {detail: {reason}} (visitor, asked, urgent, no-answer, suggest, handoff, misses, not-helpful),
// ayuda-message {detail: {key, state}} (sending, sent, queued, failed).
// The one thing that ever leaves the device is a message the visitor writes, previews and sends
// to a person; it goes through the outbox (outbox.js).
import { EncoderClient } from './encoder.js';
import { STRINGS, pickLanguage } from './ayuda-i18n.js';
import { outbox } from './outbox.js';

const HERE = new URL('./', import.meta.url);
/** Where the packed models are, under base; the bundle names which one it needs. */
const MODELS = 'models/';
/** Longest question kept; the model reads about 256 tokens anyway, and a pasted page should
 *  not freeze the tab while its words are counted. */
const MAX_QUESTION = 2000;
/** Longest transcript line a message may carry (escalate::MAX_TEXT): longer answers are cut,
 *  not refused. */
const MAX_LINE = 2000;

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
.person { display: flex; flex-direction: column; gap: .5rem; width: 100%; }
.person [hidden] { display: none; }
.person form { flex-direction: column; padding: 0; border: 0; gap: .375rem; }
.person label { font-size: .875rem; font-weight: 600; }
.person input[type="text"], .person textarea { width: 100%; padding: .4rem .5rem; border: 1px solid var(--ayuda-border);
  border-radius: 8px; background: var(--ayuda-bg); max-height: none; }
.person .tick { display: flex; gap: .4rem; align-items: center; font-weight: 400; }
.person .error { color: #b00020; font-size: .875rem; margin: 0; }
@media (prefers-color-scheme: dark) { .person .error { color: #ff8a80; } }
.person [aria-invalid="true"] { border-color: #b00020; }
.person button { border: 0; border-radius: 8px; padding: .4rem 1rem; background: var(--ayuda-accent);
  color: var(--ayuda-on-accent); font-weight: 600; cursor: pointer; align-self: flex-start; }
.person button.secondary { background: var(--ayuda-bg); color: var(--ayuda-fg); border: 1px solid var(--ayuda-border); }
.person dl { margin: 0; } .person dt { font-weight: 600; font-size: .875rem; } .person dd { margin: 0 0 .375rem; white-space: pre-wrap; }
.person pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .75rem; margin: .25rem 0 0; }
.person .buttons { display: flex; gap: .5rem; }
@media (prefers-reduced-motion: no-preference) {
  .panel:not([hidden]) { animation: rise .18s ease-out; }
  @keyframes rise { from { opacity: 0; transform: translateY(.5rem); } }
}
`);

/** The answer markup the chat shows, in the one form `ayuda build` writes it
 *  (src/kb/sources/markup.rs): these tags without attributes, and links with only an href. */
const PLAIN_TAGS = ['p', 'br', 'ul', 'ol', 'li', 'strong', 'em', 'b', 'i'];
const ANSWER_TAGS = new RegExp(`</?(?:${PLAIN_TAGS.join('|')})>|<a(?: href="[^"]*")?>|</a>`, 'g');

/** `html` with every tag but [ANSWER_TAGS] removed and any other `<` or `>` escaped, before
 *  the browser parses it: its parser applies the page's Content-Security-Policy even in an
 *  inert document, so an inline style or handler in a bundle not built by ayuda (or tampered
 *  with) would make a strict site report violations, though nothing would run. */
function gateMarkup(html) {
  const text = (s) => s.replace(/<[^<>]*>/g, '').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  let out = '';
  let at = 0;
  for (const m of html.matchAll(ANSWER_TAGS)) {
    out += text(html.slice(at, m.index)) + m[0];
    at = m.index + m[0].length;
  }
  return out + text(html.slice(at));
}

/** `html` (the owner's answer: HTML or Markdown-style links) as safe DOM: text, paragraphs,
 *  lists, emphasis and links with http(s), mailto, tel or same-site addresses. Nothing else
 *  survives: no attributes but href, no scripts, no event handlers, no styles. Exported for
 *  sites that show an answer outside the chat. */
export function renderAnswer(html, doc = document) {
  const parsed = new DOMParser().parseFromString(`<body>${gateMarkup(html)}</body>`, 'text/html');
  const out = doc.createDocumentFragment();
  const KEEP = new Set(PLAIN_TAGS.map((t) => t.toUpperCase()));
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
  static observedAttributes = ['kb', 'model', 'base', 'lang', 'position', 'contact', 'endpoint'];

  constructor() {
    super();
    // Closed: other scripts on the page (session replay, analytics tags) cannot reach the
    // conversation through element.shadowRoot.
    this.root = this.attachShadow({ mode: 'closed' });
    this.root.adoptedStyleSheets = [sheet];
    // idle | loading | early (the bundle's early tier answers by words while the model
    // downloads) | ready | wordsOnly (the model failed; the early tier goes on) | failed
    this.state = 'idle';
    this.waiting = [];         // questions waiting for the answers (or for the model)
    this.client = null;
    this.transcript = [];      // {from, text}: sent only if the visitor ticks the box
    this.lastQuestion = '';
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
  get endpoint() { return this.getAttribute('endpoint'); }
  set endpoint(v) { this.setAttribute('endpoint', v); }

  /** The interface language: the lang attribute, else the page's, else the browser's. */
  get language() {
    return pickLanguage(this.getAttribute('lang'), document.documentElement.lang, ...navigator.languages);
  }

  connectedCallback() {
    if (!this.panel) this.render();
    // A message queued on an earlier visit is sent now, chat open or not.
    this.stopListening = outbox().listen((change) => this.dispatchEvent(
      new CustomEvent('ayuda-message', { detail: change, bubbles: true, composed: true })));
    outbox().flush({ now: true }).catch(() => {});
  }

  disconnectedCallback() {
    this.stopListening?.();
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

  /** A unique id inside this chat's shadow root, for label and error wiring. */
  uid(name) {
    this.nextUid = (this.nextUid || 0) + 1;
    return `${name}-${this.nextUid}`;
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
      'aria-controls': 'panel', lang, onclick: () => (this.panel.hidden ? this.open() : this.close()),
      // Reaching for the launcher is intent: the answers start getting ready before the click.
      onpointerenter: () => this.prefetch(), onfocus: () => this.prefetch() },
      t('launcher'));
    this.panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.close(); });
    this.root.append(this.panel, this.launcher);
    this.botSay(t('greeting'));
  }

  open({ focus = true } = {}) {
    const wasHidden = this.panel.hidden;
    this.panel.hidden = false;
    this.launcher.setAttribute('aria-expanded', 'true');
    if (focus) this.input.focus();
    this.prefetch();
    if (wasHidden) this.showPending();
  }

  /** Starts loading ahead of a question, unless the visitor's browser asks to save data
   *  (then nothing is downloaded until they ask something). */
  prefetch() {
    if (navigator.connection?.saveData) return;
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
    const model = this.model ? new URL(this.model, base).href : null;
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
    const onProgress = (loaded, total) => {
      if (total) this.setStatus(this.t('loading', `${Math.min(99, Math.floor((100 * loaded) / total))}%`));
    };
    const loading = model ? this.client.load(model, { kb, onProgress })
      : this.client.loadFor(kb, new URL(MODELS, base).href, onProgress);
    // The early tier answers from the bundle alone (a few dozen kilobytes) while the model
    // downloads; a bundle from before it just waits for the model.
    const early = this.client.early(kb).then(() => true, () => false);
    early.then((ok) => {
      if (!ok || this.state !== 'loading') return;
      this.state = 'early';
      // They were told to wait already: no second notice.
      for (const q of this.waiting.splice(0)) this.answer(q, { early: true, noticed: true });
    });
    loading.then(() => {
      this.state = 'ready';
      this.setStatus('');
      this.dispatchEvent(new CustomEvent('ayuda-ready', { bubbles: true, composed: true }));
      for (const q of this.waiting.splice(0)) this.answer(q);
    }, async () => {
      if (!(await early)) { fail(); return; }
      // No model (a failed download, a damaged file): the words go on answering, and what they
      // cannot answer goes to a person.
      this.state = 'wordsOnly';
      this.setStatus('');
      for (const q of this.waiting.splice(0)) this.answer(q, { early: true, noticed: true });
    });
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  submit() {
    const text = this.input.value.trim().slice(0, MAX_QUESTION);
    if (!text) return;
    this.input.value = '';
    this.lastQuestion = text;
    this.say('visitor', text);
    if (this.state === 'ready') this.answer(text);
    else if (this.state === 'early' || this.state === 'wordsOnly') this.answer(text, { early: true });
    else if (this.state === 'failed') this.botSay(this.t('unavailable'), { human: true });
    else {
      this.waiting.push(text);
      this.start();
      if (this.waiting.length === 1) this.botSay(this.t('queued'));
    }
  }

  /** Answers `text`; with `early`, at once from the early tier while the model downloads
   *  (`noticed`: the visitor was already told to wait for this one). */
  async answer(text, { early = false, noticed = false } = {}) {
    let reply, signals, offerPerson, tier;
    try {
      ({ reply, signals, offerPerson, tier } = await this.client.turn(text, { lang: this.language, early }));
    } catch {
      this.botSay(this.t('unavailable'), { human: true });
      return;
    }
    const wantsPerson = signals?.wantsPerson || signals?.urgent;
    if (tier === 'early' && reply.outcome !== 'answer' && !wantsPerson) {
      // Words alone are not sure: the model will be, once it is in. Early, only answers show;
      // a guess or "I don't know" would be a worse reply than the one a few seconds away.
      if (this.state === 'ready') { this.answer(text); return; }
      if (this.state === 'early') {
        this.waiting.push(text);
        if (this.waiting.length === 1 && !noticed) this.botSay(this.t('notSureYet'));
        return;
      }
    }
    this.dispatchEvent(new CustomEvent('ayuda-reply', { detail: { ...reply, tier }, bubbles: true, composed: true }));
    // "Quiero hablar con alguien", "es urgente": the way to a person comes first, at once.
    if (wantsPerson) {
      this.escalate(signals.urgent ? 'urgent' : 'asked');
      return;
    }
    if (reply.outcome === 'answer') this.showAnswer(reply.entry);
    else if (reply.outcome === 'suggest') this.showSuggestions(reply.entries);
    else this.botSay(this.t('escalate'), { human: true, reason: 'no-answer' });
    // Missed again (the owner sets how many in a row): offer a person without being asked.
    if (offerPerson && reply.outcome !== 'answer') this.escalate('misses');
  }

  showAnswer(entry) {
    const msg = this.say('bot', entry.answer.trim() ? renderAnswer(entry.answer) : this.t('handoff'));
    const source = entry.url && safeLink(entry.url, document);
    if (source) {
      source.textContent = this.t('source');
      source.className = 'source';
      msg.append(source);
    }
    if (entry.handoff) {
      // The owner hands this topic to a person: the way to one opens with the answer.
      if (entry.answer.trim()) msg.append(h('p', {}, this.t('handoff')));
      this.escalate('handoff');
    }
    const feedback = h('div', { className: 'feedback' }, this.t('helpfulQuestion'));
    for (const helpful of [true, false]) {
      const b = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => {
        for (const other of feedback.querySelectorAll('button')) other.disabled = true;
        b.setAttribute('aria-pressed', 'true');
        recordFeedback(entry.id, helpful);
        feedback.append(` ${this.t('thanks')}`);
        // Not helpful: the visitor may tell the owner, in a message they edit and preview
        // like any other; nothing is sent unless they do.
        if (!helpful) {
          const question = this.lastQuestion;
          feedback.append(h('button', { type: 'button', className: 'action', onclick: () =>
            this.escalate('not-helpful', { message: this.t('notAnswered', question) }) }, this.t('tellOwner')));
        }
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

  /** The way to a person: the lane the owner's hours give now (open, closed, urgent), its
   *  phones and links, and the message form. Without a knowledge base to say how, the site's
   *  contact page. */
  async escalate(reason, { message } = {}) {
    this.open({ focus: false });
    this.dispatchEvent(new CustomEvent('ayuda-escalate', { detail: { reason }, bubbles: true, composed: true }));
    let offer = null;
    try {
      // From the bundle alone: the way to a person does not wait for the model.
      offer = await this.client.contact({ now: Date.now(), urgent: reason === 'urgent', kb: this.kb });
    } catch { /* no knowledge base: no hours, no endpoint */ }
    if (this.endpoint) offer = { lane: 'open', ...offer, delivery: { kind: 'json', url: this.endpoint } };
    if (!offer) { this.contactPage(); return; }
    this.personPanel?.remove();
    const box = h('div', { className: 'person' });
    this.personPanel = this.say('bot', box, { record: false });
    for (const line of this.laneLines(offer)) box.append(line);
    if (offer.delivery.kind === 'none') {
      box.append(h('p', {}, this.t('noDelivery')));
      this.contactPage();
      return;
    }
    this.messageForm(box, offer, message);
  }

  /** The lane's words: open with live contact, closed with the next opening in the visitor's
   *  own time, urgent with the direct line first; the direct line is in every lane. */
  laneLines(offer) {
    const lines = [];
    const tel = (number) => {
      const a = safeLink(`tel:${number.replace(/[^\d+]/g, '')}`, document);
      a.textContent = number;
      return a;
    };
    if (offer.lane === 'urgent' && offer.urgentPhone) {
      lines.push(h('p', {}, h('strong', {}, this.t('urgentNow'), tel(offer.urgentPhone))));
    }
    if (offer.lane === 'closed') {
      lines.push(h('p', {}, this.t('closedNow')));
      if (offer.opensAt) lines.push(h('p', {}, this.t('opensAt', this.when(offer.opensAt))));
    } else {
      if (offer.phone || offer.chat) lines.push(h('p', {}, this.t('openNow')));
      if (offer.phone) lines.push(h('p', {}, this.t('callUs'), tel(offer.phone)));
      const chat = offer.chat && safeLink(offer.chat, document);
      if (chat) { chat.textContent = this.t('chatUs'); lines.push(h('p', {}, chat)); }
      lines.push(h('p', {}, offer.replyWithinHours ? this.t('replyWithin', offer.replyWithinHours) : this.t('replySoon')));
    }
    if (offer.lane !== 'urgent' && offer.urgentPhone) {
      lines.push(h('p', {}, this.t('urgentLine'), tel(offer.urgentPhone)));
    }
    return lines;
  }

  /** An instant (ms) in the visitor's own time zone and language, in their regional format
   *  when the browser's languages name one for it (en-GB: "Monday 30 November"). */
  when(ms) {
    const regional = navigator.languages.find((l) => l.toLowerCase().split('-')[0] === this.language);
    return new Intl.DateTimeFormat(regional || this.language, { weekday: 'long', day: 'numeric', month: 'long',
      hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
  }

  /** The form: the message (`text`, else the last question; editable), one way to reply, and
   *  the conversation only if ticked. Checked by the same rules the inbox applies, then
   *  previewed. */
  messageForm(box, offer, text) {
    const key = crypto.randomUUID();
    const ids = { message: this.uid('message'), reply: this.uid('reply'), transcript: this.uid('transcript') };
    const errors = {};
    const field = (name, control, label) => {
      errors[name] = h('p', { className: 'error', id: `${ids[name]}-error`, role: 'alert' });
      errors[name].hidden = true;
      control.id = ids[name];
      control.setAttribute('aria-describedby', errors[name].id);
      return [h('label', { htmlFor: ids[name] }, label), control, errors[name]];
    };
    const message = h('textarea', { rows: 3, value: text ?? this.lastQuestion });
    const reply = h('input', { type: 'text', autocomplete: 'email', spellcheck: false });
    const transcript = h('input', { type: 'checkbox', id: ids.transcript });
    const controls = { message, reply };
    const lines = this.transcript.slice();
    const form = h('form', { noValidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const draft = { key, message: message.value, reply: reply.value, lane: offer.lane,
        lang: this.language, transcript: transcript.checked ? lines : null,
        written_at: new Date().toISOString() };
      let prepared;
      try { prepared = await this.client.prepare(draft); } catch { prepared = null; }
      for (const [name, el] of Object.entries(errors)) {
        el.hidden = true;
        el.textContent = '';
        controls[name].removeAttribute('aria-invalid');
      }
      if (!prepared) { this.contactPage(); return; }
      if (!prepared.ok) {
        this.showProblems(prepared.problems, errors, controls);
        return;
      }
      form.hidden = true;
      this.preview(box, prepared, offer, () => { form.hidden = false; message.focus(); });
    } },
      ...field('message', message, this.t('formMessage')),
      ...field('reply', reply, this.t('formReply')),
      h('label', { className: 'tick', htmlFor: ids.transcript }, transcript,
        this.t('formTranscript', lines.length)),
      h('button', { type: 'submit' }, this.t('formReview')));
    box.append(form);
    (this.lastQuestion ? reply : message).focus();
  }

  showProblems(problems, errors, controls) {
    const words = {
      'message-empty': 'errMessageEmpty', 'message-too-long': 'errMessageTooLong',
      'reply-missing': 'errReplyMissing', 'email-invalid': 'errEmailInvalid', 'phone-invalid': 'errPhoneInvalid',
    };
    let first = null;
    for (const p of problems) {
      const el = errors[p.field] || errors.message;
      const text = words[p.code] ? this.t(words[p.code], p.limit) : this.t('errOther', p.code);
      el.textContent = el.textContent ? `${el.textContent} ${text}` : text;
      el.hidden = false;
      const control = controls[p.field] || controls.message;
      control.setAttribute('aria-invalid', 'true');
      first ??= control;
    }
    first?.focus();
  }

  /** Exactly what will be sent, field by field and as the raw text, before anything leaves. */
  preview(box, prepared, offer, edit) {
    const m = prepared.message;
    const target = offer.delivery.kind === 'email' ? offer.delivery.address
      : new URL(offer.delivery.url, location.href).host;
    const lane = { open: 'laneOpen', closed: 'laneClosed', urgent: 'laneUrgent' }[m.lane];
    const rows = [
      ['previewMessage', m.message],
      ['previewReply', m.reply_to.email ?? m.reply_to.phone],
      ['previewLane', this.t(lane)],
      ['previewLang', m.lang ?? ''],
      ['previewWritten', this.when(Date.parse(m.written_at))],
      ['previewTranscript', m.transcript
        ? m.transcript.map((l) => `${this.t(l.from === 'visitor' ? 'you' : 'bot')}: ${l.text}`).join('\n')
        : this.t('previewNoTranscript')],
    ];
    const raw = offer.delivery.kind === 'json' ? prepared.body
      : prepared.form.map(([k, v]) => `${k}: ${v}`).join('\n');
    const status = h('p', { role: 'status' });
    const view = h('div', { className: 'preview' },
      h('p', {}, this.t('previewIntro', target)),
      h('dl', {}, ...rows.flatMap(([k, v]) => [h('dt', {}, this.t(k)), h('dd', {}, v)])),
      h('details', {}, h('summary', {}, this.t('previewRaw')), h('pre', { className: 'raw' }, raw)));
    const buttons = h('div', { className: 'buttons' });
    const back = h('button', { type: 'button', className: 'secondary', onclick: () => { view.remove(); edit(); } },
      this.t('edit'));
    if (offer.delivery.kind === 'email') {
      const subject = `${this.t('title')}: ${m.message.slice(0, 60)}`;
      const mail = safeLink(`mailto:${offer.delivery.address}?subject=${encodeURIComponent(subject)}`
        + `&body=${encodeURIComponent(raw)}`, document);
      mail.textContent = this.t('sendByEmail');
      mail.addEventListener('click', () => { status.textContent = this.t('emailOpened'); });
      buttons.append(mail, back);
    } else {
      const send = h('button', { type: 'button', onclick: async () => {
        send.disabled = true;
        back.remove();
        this.track(m.key, status, raw);
        const json = offer.delivery.kind === 'json';
        await outbox().add({ key: m.key, url: new URL(offer.delivery.url, location.href).href,
          contentType: json ? 'application/json' : 'application/x-www-form-urlencoded',
          body: json ? prepared.body : new URLSearchParams(prepared.form).toString() });
      } }, this.t('send'));
      buttons.append(send, back);
    }
    view.append(buttons, status);
    box.append(view);
    this.log.scrollTop = this.log.scrollHeight;
    buttons.firstChild.focus();
  }

  /** Shows a message's delivery as it changes: sending, sent, queued (will retry by itself) or
   *  failed (with the reason, and the text to copy). */
  track(key, status, raw) {
    const stop = outbox().listen((change) => {
      if (change.key !== key) return;
      if (change.state === 'failed') {
        this.showFailed(key, status, raw, change.reason);
        stop();
        return;
      }
      status.textContent = this.t({ sending: 'sending', sent: 'sent', queued: 'queuedSend' }[change.state]);
      if (change.state === 'sent') stop();
    });
  }

  /** A refused message: the endpoint's reason, the whole text to copy, and a way to let it go
   *  (until then it stays on the device, across reloads). */
  showFailed(key, status, raw, reason) {
    status.replaceChildren(this.t('failed', reason),
      h('pre', { className: 'copy' }, raw),
      h('div', { className: 'buttons' },
        h('button', { type: 'button', className: 'secondary', onclick: async (e) => {
          try { await navigator.clipboard.writeText(raw); e.target.textContent = this.t('copied'); } catch { /* the text is selectable above */ }
        } }, this.t('copy')),
        h('button', { type: 'button', className: 'secondary', onclick: async () => {
          await outbox().dismiss(key).catch(() => {});
          status.replaceChildren(this.t('discarded'));
        } }, this.t('discard'))));
  }

  /** Messages from an earlier visit still waiting in the outbox, with their live state. */
  async showPending() {
    let items = [];
    try { items = await outbox().pending(); } catch { return; }
    for (const item of items) {
      if (this.shownPending?.has(item.key)) continue;
      (this.shownPending ??= new Set()).add(item.key);
      // The text as the preview showed it: the JSON body, or a form's fields one per line.
      const json = item.contentType === 'application/json';
      const form = new URLSearchParams(json ? '' : item.body);
      const raw = json ? item.body : [...form].map(([k, v]) => `${k}: ${v}`).join('\n');
      const message = json ? JSON.parse(item.body).message : form.get('message');
      const status = h('p', { role: 'status' }, this.t('queuedSend'));
      this.say('bot', h('div', { className: 'person' }, h('p', {}, this.t('pendingMessage')),
        h('blockquote', {}, message ?? ''), status), { record: false });
      if (item.state === 'failed') this.showFailed(item.key, status, raw, item.reason);
      else this.track(item.key, status, raw);
    }
  }

  /** The site's contact page, when there is no way to send a message from here. */
  contactPage() {
    const contact = this.contact && safeLink(this.contact, document);
    if (contact) {
      contact.textContent = this.t('contactLink');
      const msg = this.say('bot', this.t('contact'), { record: false });
      msg.append(contact);
    } else {
      this.say('bot', this.t('contactNone'), { record: false });
    }
  }

  botSay(text, { human = false, reason = 'visitor' } = {}) {
    const msg = this.say('bot', text);
    if (human) this.humanButton(msg, reason);
    return msg;
  }

  /** Appends a message; `content` is text (shown as text, never parsed) or safe nodes. It joins
   *  the transcript (kept in memory, sent only if the visitor ticks the box) unless `record` is
   *  false, as for the escalation form itself. */
  say(who, content, { record = true } = {}) {
    if (record) {
      const text = typeof content === 'string' ? content : content.textContent;
      if (text.trim()) this.transcript.push({ from: who === 'visitor' ? 'visitor' : 'assistant', text: text.slice(0, MAX_LINE) });
    }
    const label = h('span', { className: 'who' }, `${this.t(who === 'visitor' ? 'you' : 'bot')}: `);
    const msg = h('div', { className: `msg ${who}` }, label, content);
    this.log.append(msg);
    this.log.scrollTop = this.log.scrollHeight;
    return msg;
  }
}

if (!customElements.get('ayuda-chat')) customElements.define('ayuda-chat', AyudaChat);
