//! Trigger phrases: "quiero hablar con alguien", "human please", "es urgente". Matched as
//! whole words in order, accents and case folded, so "AGENTE" and "agénte" match "agente" but
//! "agentes de viaje" does not match "agente" only because it starts the same.

use crate::text::fold;

/// What a visitor's message asks of the conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// They want a person, in words.
    pub wants_person: bool,
    /// They say it is urgent: the urgent lane is offered at once.
    pub urgent: bool,
}

/// The phrases that signal each kind, Spanish and English built in; the owner may add urgent
/// terms of their own (a clinic's "dolor", a locksmith's "cerrado fuera").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triggers {
    person: Vec<Vec<String>>,
    urgent: Vec<Vec<String>>,
    not_urgent: Vec<Vec<String>>,
}

const PERSON: &[&str] = &[
    // Spanish
    "hablar con alguien",
    "hablar con una persona",
    "hablar con un humano",
    "hablar con un agente",
    "hablar con una agente",
    "hablar con el encargado",
    "hablar con la encargada",
    "persona real",
    "una persona",
    "un humano",
    "agente",
    "operador",
    "operadora",
    "atencion al cliente",
    "que me llamen",
    "llamadme",
    "contactar con vosotros",
    // English
    "talk to someone",
    "speak to someone",
    "talk to a person",
    "speak to a person",
    "talk to a human",
    "speak to a human",
    "real person",
    "a human",
    "human please",
    "human",
    "agent",
    "representative",
    "operator",
    "customer service",
    "call me",
    "contact you",
];

const URGENT: &[&str] = &[
    // Spanish
    "urgente",
    "urgencia",
    "emergencia",
    "cuanto antes",
    "ya mismo",
    "inmediatamente",
    "es grave",
    // English
    "urgent",
    "urgently",
    "emergency",
    "asap",
    "right now",
    "immediately",
    "as soon as possible",
];

/// Where "urgent" names a product, not the visitor's situation ("¿cuánto cuesta el envío
/// urgente?"): these are removed before urgency is looked for.
const NOT_URGENT: &[&str] = &[
    "envio urgente",
    "envios urgentes",
    "entrega urgente",
    "pedido urgente",
    "urgent delivery",
    "urgent shipping",
    "urgent order",
];

/// Lower-case, accent-folded words.
fn words(text: &str) -> Vec<String> {
    fold(&text.to_lowercase())
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `words` with every occurrence of `phrases` cut out (a gap left, so no new phrase forms).
fn without(words: &[String], phrases: &[Vec<String>]) -> Vec<String> {
    let mut out = words.to_vec();
    for p in phrases.iter().filter(|p| !p.is_empty()) {
        let mut i = 0;
        while i + p.len() <= out.len() {
            if out[i..i + p.len()] == p[..] {
                out.splice(i..i + p.len(), [String::new()]);
            }
            i += 1;
        }
    }
    out
}

fn contains(haystack: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && haystack.windows(phrase.len()).any(|w| w == phrase)
}

impl Default for Triggers {
    fn default() -> Self {
        Triggers {
            person: PERSON.iter().map(|p| words(p)).collect(),
            urgent: URGENT.iter().map(|p| words(p)).collect(),
            not_urgent: NOT_URGENT.iter().map(|p| words(p)).collect(),
        }
    }
}

impl Triggers {
    /// The built-in phrases plus the owner's urgent terms (blank ones are ignored).
    pub fn with_urgent_terms<S: AsRef<str>>(terms: &[S]) -> Triggers {
        let mut t = Triggers::default();
        t.urgent.extend(
            terms
                .iter()
                .map(|s| words(s.as_ref()))
                .filter(|w| !w.is_empty()),
        );
        t
    }

    pub fn detect(&self, text: &str) -> Signals {
        let w = words(text);
        Signals {
            wants_person: self.person.iter().any(|p| contains(&w, p)),
            urgent: self
                .urgent
                .iter()
                .any(|p| contains(&without(&w, &self.not_urgent), p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(text: &str) -> Signals {
        Triggers::default().detect(text)
    }

    #[test]
    fn asking_for_a_person_in_spanish_or_english() {
        for text in [
            "Quiero hablar con alguien",
            "¿Puedo hablar con una persona, por favor?",
            "AGENTE",
            "pásame con un operador",
            "human please",
            "Can I talk to someone?",
            "I need a real person",
            "customer service",
        ] {
            assert!(detect(text).wants_person, "{text}");
        }
    }

    #[test]
    fn ordinary_questions_are_not_requests_for_a_person() {
        for text in [
            "¿Abrís los domingos?",
            "¿Hacéis envíos a Canarias?",
            "Do you deliver on Sundays?",
            "¿Trabajáis con agentes de viaje?",
            "Is the bread humanely made?",
            "",
        ] {
            assert_eq!(detect(text), Signals::default(), "{text}");
        }
    }

    #[test]
    fn urgency_in_both_languages_with_accents_and_case_folded() {
        assert!(detect("¡Es URGENTE, el pedido no ha llegado!").urgent);
        assert!(detect("Necesito la tarta inmediatamente").urgent);
        assert!(detect("This is an emergency").urgent);
        assert!(detect("please reply asap").urgent);
        // "Envío urgente" is a kind of delivery, not an emergency.
        assert_eq!(
            detect("¿Cuánto tarda el envío urgente?"),
            Signals::default()
        );
        assert!(!detect("Do you offer urgent delivery?").urgent);
        assert!(detect("Es urgente: ¿hacéis envío urgente?").urgent);
        assert!(!detect("How long does delivery take?").urgent);
    }

    #[test]
    fn both_signals_at_once() {
        let s = detect("Es urgente, quiero hablar con alguien ya mismo");
        assert!(s.wants_person && s.urgent);
    }

    #[test]
    fn owners_add_their_own_urgent_terms() {
        let t = Triggers::with_urgent_terms(&["alergia grave", " ", "anafilaxia"]);
        assert!(t.detect("Mi hijo tiene una alergia grave").urgent);
        assert!(t.detect("ANAFILÁXIA").urgent);
        assert!(
            !Triggers::default()
                .detect("Mi hijo tiene una alergia grave")
                .urgent
        );
    }
}
