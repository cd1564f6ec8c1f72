//! Which sentence encoder a knowledge base needs: the small English model when every entry is
//! English, the multilingual one as soon as any entry is not (Spanish visitors of an English
//! FAQ, or a bilingual site). Decides from the entries alone; finding the model files is the
//! caller's job.

use super::Entry;
use crate::retrieve::{lexical, Lang};
use crate::said;
use crate::said::Said;

/// The models `ayuda build` chooses between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// all-MiniLM-L6-v2: 6 layers, English only.
    English,
    /// multilingual-e5-small: 12 layers, Spanish and English questions against entries in
    /// either language.
    Multilingual,
}

impl ModelKind {
    /// The packed model's file name, as `make` writes it and a bundle records it.
    pub fn file_name(self) -> &'static str {
        match self {
            ModelKind::English => "all-MiniLM-L6-v2.ayuda",
            ModelKind::Multilingual => "multilingual-e5-small.ayuda",
        }
    }
}

/// The model for `entries` whose visitors write in `visitor_languages` (BCP 47 tags the owner
/// gave; empty when not said), and why, in words for the owner.
pub fn choose_model(entries: &[Entry], visitor_languages: &[String]) -> (ModelKind, Said) {
    if let Some(other) = visitor_languages
        .iter()
        .find(|l| !l.to_ascii_lowercase().starts_with("en"))
    {
        return (
            ModelKind::Multilingual,
            said!(
                en: "visitors write in {other} too, as you said",
                es: "tus visitantes también escriben en {other}, como has indicado"
            ),
        );
    }
    let total = entries.len();
    let mut tagged = 0;
    let mut guessed = 0;
    let mut example = None;
    for e in entries {
        let english = match e.lang.as_deref() {
            Some(tag) => {
                let en = tag.to_ascii_lowercase().starts_with("en");
                if !en {
                    tagged += 1;
                }
                en
            }
            None => {
                let text = format!("{} {}", e.phrasings.join(" "), e.answer);
                let en = looks_english(&text);
                if !en {
                    guessed += 1;
                }
                en
            }
        };
        if !english && example.is_none() {
            example = Some(e.id.clone());
        }
    }
    let others = tagged + guessed;
    if others == 0 {
        return (
            ModelKind::English,
            Said {
                en: format!("all {total} entries are in English"),
                es: match total {
                    1 => "la entrada está en inglés".to_string(),
                    _ => format!("las {total} entradas están en inglés"),
                },
            },
        );
    }
    let how = match (tagged, guessed) {
        (_, 0) => said!(
            en: "by their pages' or rows' language",
            es: "por el idioma de sus páginas o filas"
        ),
        (0, _) => said!(en: "by their words", es: "por sus palabras"),
        _ => said!(
            en: "{tagged} by their language tag, {guessed} by their words",
            es: "{tagged} por su etiqueta de idioma, {guessed} por sus palabras"
        ),
    };
    let example = example.unwrap_or_default();
    (
        ModelKind::Multilingual,
        Said {
            en: format!(
                "{others} of {total} entries are not in English ({}; e.g. {example})",
                how.en
            ),
            es: format!(
                "{others} de {total} entradas no están en inglés ({}; p. ej. {example})",
                how.es
            ),
        },
    )
}

/// Whether a text without a language tag reads as English: nothing only other languages write
/// (¿, ¡, ñ, other scripts) is in it, and its function words are not mostly Spanish
/// ([`lexical::guess_language`]). Texts with neither kind of word ("Bizum") count as English:
/// they give no reason to switch.
fn looks_english(text: &str) -> bool {
    let foreign = text
        .chars()
        .any(|c| matches!(c, '¿' | '¡' | 'ñ' | 'Ñ') || (c.is_alphabetic() && c as u32 > 0x24F));
    !foreign && lexical::guess_language(text) != Some(Lang::Es)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, q: &str, a: &str, lang: Option<&str>) -> Entry {
        Entry {
            lang: lang.map(Into::into),
            ..crate::kb::entry::test_row(id, q, a, 2)
        }
    }

    #[test]
    fn english_entries_keep_the_english_model() {
        let e = [
            entry(
                "hours",
                "When are you open?",
                "Every day from 8 to 8.",
                None,
            ),
            entry("bizum", "Bizum", "Yes.", None),
        ];
        assert_eq!(choose_model(&e, &[]).0, ModelKind::English);
        let bilingual = choose_model(&e, &["en".into(), "es".into()]);
        assert_eq!(bilingual.0, ModelKind::Multilingual, "{}", bilingual.1);
    }

    #[test]
    fn one_spanish_entry_picks_the_multilingual_model_and_says_which() {
        let e = [
            entry(
                "hours",
                "When are you open?",
                "Every day from 8 to 8.",
                None,
            ),
            entry(
                "pago",
                "Puedo pagar con tarjeta",
                "Sí, con tarjeta o Bizum.",
                None,
            ),
        ];
        let (kind, why) = choose_model(&e, &[]);
        assert_eq!(kind, ModelKind::Multilingual);
        assert!(
            why.en.contains("pago") && why.en.contains("1 of 2"),
            "{why}"
        );
        assert!(
            why.es.contains("pago") && why.es.contains("1 de 2 entradas no están en inglés"),
            "{}",
            why.es
        );
        let tagged = [entry("x", "Opening hours", "8 to 8", Some("es-ES"))];
        assert_eq!(choose_model(&tagged, &[]).0, ModelKind::Multilingual);
    }
}
