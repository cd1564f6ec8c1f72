// The page's handle on the encoder worker: each request gets an id and a Promise, and progress
// messages go to the caller's callback. No state but the pending requests.
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

  /** Loads a packed model file; resolves to {ms, dim, fingerprint, bytes}. */
  load(modelUrl, onProgress) {
    return this.request({ op: 'load', model: new URL(modelUrl, location.href).href }, onProgress);
  }

  /** Loads a sentence-transformers folder at full precision. */
  loadDir(dirUrl, onProgress) {
    return this.request({ op: 'load', modelDir: new URL(dirUrl, location.href).href }, onProgress);
  }

  /** Resolves to {vector: Float32Array, ms}. */
  embed(text) {
    return this.request({ op: 'embed', text });
  }

  terminate() {
    this.worker.terminate();
  }
}
