// The demo site's only script of its own: installs the service worker (sw.js) that makes the
// site, the chat and its model work offline after one visit, as a PWA.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error) => {
    console.warn('offline support unavailable:', error);
  });
}
