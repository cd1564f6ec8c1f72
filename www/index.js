// The encoder's demo page: loads the packed model in the worker and compares two sentences.
import { EncoderClient } from './encoder.js';

const strings = {
  en: {
    title: 'The encoder, in your browser',
    intro: 'Two sentences are embedded on this device by the ayuda encoder (all-MiniLM-L6-v2 compiled to WebAssembly). Nothing you type leaves the page.',
    loading: 'Loading the model…',
    downloading: (mb, total) => `Downloading the model: ${mb} of ${total} MB`,
    ready: (ms) => `Model ready in ${ms} ms.`,
    failed: (why) => `The model could not be loaded: ${why}`,
    first: 'First sentence', second: 'Second sentence', compare: 'Compare',
    similarity: (s, ms) => `Cosine similarity ${s} (embedded in ${ms} ms)`,
  },
  es: {
    title: 'El codificador, en tu navegador',
    intro: 'El codificador de ayuda (all-MiniLM-L6-v2 compilado a WebAssembly) convierte dos frases en vectores en este dispositivo. Nada de lo que escribes sale de la página. Este modelo entiende sobre todo inglés.',
    loading: 'Cargando el modelo…',
    downloading: (mb, total) => `Descargando el modelo: ${mb} de ${total} MB`,
    ready: (ms) => `Modelo listo en ${ms} ms.`,
    failed: (why) => `No se pudo cargar el modelo: ${why}`,
    first: 'Primera frase', second: 'Segunda frase', compare: 'Comparar',
    similarity: (s, ms) => `Similitud coseno ${s} (calculada en ${ms} ms)`,
  },
};
const lang = (navigator.language || 'en').toLowerCase().startsWith('es') ? 'es' : 'en';
const t = strings[lang];
document.documentElement.lang = lang;
for (const el of document.querySelectorAll('[data-i18n]')) {
  const s = t[el.dataset.i18n];
  if (typeof s === 'string') el.textContent = s;
}

const status = document.getElementById('status');
const progress = document.getElementById('progress');
const client = new EncoderClient();
const ready = client.load('models/all-MiniLM-L6-v2.ayuda', (loaded, total) => {
  if (!total) return;
  progress.value = loaded / total;
  status.textContent = t.downloading((loaded / 1e6).toFixed(1), (total / 1e6).toFixed(1));
});
ready.then((r) => {
  progress.hidden = true;
  status.textContent = t.ready(Math.round(r.ms));
}, (e) => {
  progress.hidden = true;
  status.textContent = t.failed(e.message);
});

document.getElementById('compare').addEventListener('submit', async (event) => {
  event.preventDefault();
  await ready;
  const [a, b] = await Promise.all(['a', 'b'].map((id) => client.embed(document.getElementById(id).value)));
  let dot = 0;
  for (let i = 0; i < a.vector.length; i++) dot += a.vector[i] * b.vector[i];
  document.getElementById('result').textContent =
    t.similarity(dot.toFixed(3), Math.round(a.ms + b.ms));
});
