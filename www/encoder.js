// The page's handle on the encoder worker: each request gets an id and a Promise, and progress
// messages go to the caller's callback. No state but the pending requests.

// load's second argument: the progress callback alone (as before knowledge bases), or
// {kb, onProgress}.
function loadOptions(options) {
  return typeof options === 'function' ? { onProgress: options } : (options ?? {});
}

function absolute(url) {
  return new URL(url, location.href).href;
}

export class EncoderClient {
  constructor(workerUrl = new URL('./encoder-worker.js', import.meta.url)) {
    this.worker = new Worker(workerUrl, { type: 'module' });
    this.nextId = 1;
    this.pending = new Map();
    this.worker.onmessage = (event) => {
      const msg = event.data;
      const req = this.pending.get(msg.id);
      if (!req) return;
      if (msg.type === 'progress') { req.onProgress?.(msg.loaded, msg.total); return; }
      this.pending.delete(msg.id);
      if (msg.type === 'error') req.reject(new Error(msg.message));
      else req.resolve(msg);
    };
    this.worker.onerror = (event) => {
      const error = new Error(`encoder worker failed: ${event.message || 'could not start'}`);
      for (const req of this.pending.values()) req.reject(error);
      this.pending.clear();
    };
  }

  request(message, onProgress) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, ...message });
    });
  }

  /**
   * Loads a packed model file, and with {kb} a knowledge base built with that model; resolves to
   * {ms, dim, fingerprint, bytes, memory, entries, kbFingerprint}. The second argument may also
   * be just the progress callback.
   */
  load(modelUrl, options) {
    const { kb, onProgress } = loadOptions(options);
    return this.request({ op: 'load', model: absolute(modelUrl), ...(kb && { kb: absolute(kb) }) },
      onProgress);
  }

  /**
   * Loads a knowledge base and the model it names (`ayuda build` records it), looked for in the
   * folder modelBase; options and result as for load.
   */
  loadFor(kb, modelBase, onProgress) {
    return this.request({ op: 'load', kb: absolute(kb), modelBase: absolute(modelBase) }, onProgress);
  }

  /** Loads a sentence-transformers folder at full precision; options as for load. */
  loadDir(dirUrl, options) {
    const { kb, onProgress } = loadOptions(options);
    return this.request({ op: 'load', modelDir: absolute(dirUrl), ...(kb && { kb: absolute(kb) }) },
      onProgress);
  }

  /**
   * Loads the knowledge base's early tier: answers from a question's words alone, while the
   * model is still downloading (start it beside load/loadFor). Resolves to {entries}; rejects
   * for a bundle from before the early tier.
   */
  early(kb) {
    return this.request({ op: 'early', kb: absolute(kb) });
  }

  /** Resolves to {vector: Float32Array, ms}. */
  embed(text) {
    return this.request({ op: 'embed', text });
  }

  /**
   * Resolves to the knowledge base's reply, as `ayuda ask --json` prints it: {outcome: 'answer',
   * entry}, {outcome: 'suggest', entries} or {outcome: 'escalate'}. `lang`, the visitor's
   * language tag, puts the entries in that language first (`ayuda ask --lang`).
   */
  async ask(text, { lang } = {}) {
    return (await this.turn(text, { lang })).reply;
  }

  /** ask, with what the words ask of the conversation: resolves to {reply, signals:
   *  {wantsPerson, urgent}, offerPerson, tier} (offerPerson: the owner's misses in a row
   *  reached). With `early`, answered at once: by the early tier (tier 'early') while the
   *  model is still on its way, by the model (tier 'full') once it is in. */
  async turn(text, { lang, early = false } = {}) {
    const { reply, signals, offerPerson, tier } = await this.request({ op: 'ask', text, lang, early });
    return { reply, signals, offerPerson, tier };
  }

  /** The way to a person now: resolves to the offer {lane: 'open'|'closed'|'urgent',
   *  closesAt?, opensAt? (ms), phone?, chat?, replyWithinHours?, urgentPhone?, delivery}.
   *  `kb`: the bundle to read it from while the load is still under way (or failed). */
  async contact({ now = Date.now(), urgent = false, kb } = {}) {
    return (await this.request({ op: 'contact', now, urgent, ...(kb && { kb: absolute(kb) }) })).offer;
  }

  /** Checks an escalation form: resolves to {ok: true, message, body, form} (exactly what will
   *  be sent) or {ok: false, problems: [{field, code, limit?}]}. */
  async prepare(draft) {
    const { ok, message, body, form, problems } = await this.request({ op: 'prepare', draft });
    return ok ? { ok, message, body, form } : { ok, problems };
  }

  terminate() {
    this.worker.terminate();
  }
}
