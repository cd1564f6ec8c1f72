// The demo's service worker: after one visit, the pages and the chat widget come from this
// cache, and after one chat its wasm module, model and knowledge base too (cached as the chat
// first fetches them), so the chat answers with the network off. The 20 MB model is never
// precached: a visitor who does not open the chat does not download it.
// Pages and data are fetched fresh when the network is there (so a redeploy shows at once) and
// from the cache when it is not. Only same-origin GETs are handled.
const CACHE = 'panaderia-luna-v3';
const PRECACHE = [
  '/', '/preguntas/', '/productos/', '/envios/', '/contacto/',
  '/en/', '/en/faq/', '/en/products/', '/en/shipping/', '/en/contact/',
  '/site.css', '/site.js', '/icon.svg', '/manifest.webmanifest',
  '/ayuda/ayuda.js', '/ayuda/ayuda-chat.js', '/ayuda/ayuda-i18n.js', '/ayuda/outbox.js', '/ayuda/encoder.js',
  '/ayuda/encoder-worker.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request);
      // Keep whole successful responses (not 304s or ranges) for the next offline visit.
      if (response.status === 200) await cache.put(url.pathname, response.clone());
      return response;
    } catch (offline) {
      const cached = await cache.match(url.pathname);
      if (cached) return cached;
      throw offline;
    }
  })());
});
