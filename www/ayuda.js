// The one script tag. A classic script, so a plain
//   <script src="/ayuda/ayuda.js" data-kb="/ayuda/kb.bin" defer></script>
// works on any static site; it loads the <ayuda-chat> element (ayuda-chat.js, an ES module
// that sites with a bundler may import directly) and adds one chat to the page, configured by
// the tag's data attributes: data-kb (required), data-model, data-lang, data-position,
// data-contact, data-endpoint (see README). It never sends anything anywhere.
(function () {
  const script = document.currentScript;
  if (!script) return; // imported as a module: the page places <ayuda-chat> itself
  const base = new URL('./', script.src).href;
  const attributes = ['kb', 'model', 'lang', 'position', 'contact', 'endpoint'];
  import(new URL('ayuda-chat.js', base).href).then(() => {
    const mount = () => {
      if (document.querySelector('ayuda-chat')) return;
      const chat = document.createElement('ayuda-chat');
      chat.setAttribute('base', base);
      for (const name of attributes) {
        const value = script.dataset[name];
        if (value) chat.setAttribute(name, value);
      }
      document.body.append(chat);
    };
    if (document.body) mount();
    else document.addEventListener('DOMContentLoaded', mount, { once: true });
  }, (error) => console.error('ayuda: could not load the chat widget', error));
})();
