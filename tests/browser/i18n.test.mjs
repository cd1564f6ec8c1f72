// The widget's words (www/ayuda-i18n.js): every one in Spanish and in English, with the same
// placeholders, so no visitor ever meets a missing or half-translated string. Plain Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STRINGS, pickLanguage } from '../../www/ayuda-i18n.js';

test('every widget string exists in Spanish and English, with the same placeholders', () => {
  assert.deepEqual(Object.keys(STRINGS.en).sort(), Object.keys(STRINGS.es).sort());
  for (const key of Object.keys(STRINGS.es)) {
    for (const lang of ['es', 'en']) {
      assert.ok(typeof STRINGS[lang][key] === 'string' && STRINGS[lang][key].trim(), `${lang}.${key} is empty`);
    }
    assert.equal(STRINGS.es[key].includes('{n}'), STRINGS.en[key].includes('{n}'), `${key}: placeholders differ`);
  }
});

test('a visitor gets their language when the widget has it, else English', () => {
  assert.equal(pickLanguage('es-MX'), 'es');
  assert.equal(pickLanguage(null, 'en-GB'), 'en');
  assert.equal(pickLanguage('fr-FR'), 'en');
});
