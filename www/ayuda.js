// The one script tag. A classic script, so a plain
//   <script src="/ayuda/ayuda.js" data-kb="/ayuda/kb.bin" defer></script>
// works on any static site; it loads the <ayuda-chat> element (ayuda-chat.js, an ES module
// that sites with a bundler may import directly) and adds one chat to the page, configured by
// the tag's data attributes: data-kb (required), data-model, data-lang, data-position,
// data-contact, data-endpoint (see README). It never sends anything anywhere.
(function () {
  // `ayuda site` writes here the folder's file names (code: the widget's hashed folder; kb and
  // model: the hashed bundle and model) and the owner's ayuda.toml settings, as defaults for
  // the tag's attributes; files copied by hand leave it empty. Paths are relative to this script.
  const SITE = {};
  const script = document.currentScript;
  if (!script) return; // imported as a module: the page places <ayuda-chat> itself
  const here = new URL('./', script.src);
  const base = new URL(SITE.code || './', here).href;
  const attributes = ['kb', 'model', 'lang', 'position', 'contact', 'endpoint'];
  const setting = (name) => {
    const value = SITE[name];
    return value && (name === 'kb' || name === 'model') ? new URL(value, here).href : value;
  };
  import(new URL('ayuda-chat.js', base).href).then(() => {
    const mount = () => {
      if (document.querySelector('ayuda-chat')) return;
      const chat = document.createElement('ayuda-chat');
      chat.setAttribute('base', base);
      for (const name of attributes) {
        const value = script.dataset[name] || setting(name);
        if (value) chat.setAttribute(name, value);
      }
      document.body.append(chat);
    };
    if (document.body) mount();
    else document.addEventListener('DOMContentLoaded', mount, { once: true });
  }, (error) => console.error('ayuda: could not load the chat widget', error));
})();
