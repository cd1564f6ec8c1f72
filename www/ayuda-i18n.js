// The widget's words, one flat table per language (Spanish and English; add a language by
// adding a table with the same keys). {n} placeholders are filled by the widget. Never holds
// anything the visitor typed.
export const STRINGS = {
  es: {
    launcher: 'Ayuda',
    title: 'Preguntas frecuentes',
    close: 'Cerrar el chat',
    log: 'Conversación',
    input: 'Escribe tu pregunta',
    placeholder: 'Escribe tu pregunta…',
    send: 'Enviar',
    human: 'Hablar con una persona',
    greeting: '¡Hola! Pregúntame lo que quieras saber. Respondo con las preguntas frecuentes de este sitio, sin enviar nada de lo que escribes.',
    loading: 'Preparando las respuestas… {n}',
    loadingNoSize: 'Preparando las respuestas…',
    queued: 'Un momento: respondo en cuanto termine de prepararme.',
    ready: 'Listo.',
    unavailable: 'Ahora mismo no puedo responder preguntas. Puedes hablar con una persona.',
    source: 'Más información',
    suggest: '¿Te refieres a alguna de estas?',
    escalate: 'No tengo una respuesta segura para eso. ¿Quieres hablar con una persona?',
    handoff: 'De esto se encarga una persona del equipo.',
    helpfulQuestion: '¿Te ha servido?',
    helpful: 'Sí, me ha servido',
    notHelpful: 'No me ha servido',
    thanks: 'Gracias por decírnoslo.',
    contact: 'Para hablar con una persona, usa la página de contacto: ',
    contactLink: 'contacto',
    contactNone: 'Para hablar con una persona, escribe o llama a la tienda: encontrarás los datos en la página de contacto del sitio.',
    you: 'Tú',
    bot: 'Asistente',
  },
  en: {
    launcher: 'Help',
    title: 'Frequently asked questions',
    close: 'Close the chat',
    log: 'Conversation',
    input: 'Type your question',
    placeholder: 'Type your question…',
    send: 'Send',
    human: 'Talk to a person',
    greeting: 'Hi! Ask me anything. I answer from this site\'s FAQ, without sending anything you type.',
    loading: 'Getting the answers ready… {n}',
    loadingNoSize: 'Getting the answers ready…',
    queued: 'One moment: I will answer as soon as I am ready.',
    ready: 'Ready.',
    unavailable: 'I cannot answer questions right now. You can talk to a person.',
    source: 'More information',
    suggest: 'Do you mean one of these?',
    escalate: 'I do not have a reliable answer to that. Would you like to talk to a person?',
    handoff: 'A person on the team takes care of this.',
    helpfulQuestion: 'Was this helpful?',
    helpful: 'Yes, it helped',
    notHelpful: 'No, it did not help',
    thanks: 'Thank you for telling us.',
    contact: 'To talk to a person, use the contact page: ',
    contactLink: 'contact',
    contactNone: 'To talk to a person, write to or call the shop: the details are on the site\'s contact page.',
    you: 'You',
    bot: 'Assistant',
  },
};

/** The table for the first tag among `tags` with one (BCP 47 tags or null), else English. */
export function pickLanguage(...tags) {
  for (const tag of tags) {
    const primary = (tag || '').toLowerCase().split(/[-_]/)[0];
    if (STRINGS[primary]) return primary;
  }
  return 'en';
}
