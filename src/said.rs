//! Messages for the owner in both languages: owns a text's English and Spanish, written side
//! by side so neither is added without the other. It never picks the language (the caller
//! does, from what it knows of the owner) and never prints. `Display` is the English, so
//! messages read as they always have wherever no language is chosen.

use std::fmt;

/// One message in English and Spanish.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Said {
    pub en: String,
    pub es: String,
}

impl Said {
    /// The Spanish text.
    pub fn in_spanish(&self) -> &str {
        &self.es
    }

    /// The Spanish text when `es`, else the English.
    pub fn pick(&self, es: bool) -> &str {
        if es {
            &self.es
        } else {
            &self.en
        }
    }

    /// Both texts with `f` applied to each: a message around this one, in the same language.
    pub fn map(&self, f: impl Fn(&str, bool) -> String) -> Said {
        Said {
            en: f(&self.en, false),
            es: f(&self.es, true),
        }
    }

    /// This message after a label naming where it applies, in each language's words:
    /// `hours: ...`, `horario: ...`.
    pub fn labelled(&self, en: &str, es: &str) -> Said {
        self.map(|text, spanish| format!("{}: {text}", if spanish { es } else { en }))
    }
}

impl fmt::Display for Said {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

/// A [`Said`] from its English and Spanish texts: both are `format!` strings over the same
/// arguments (inline `{name}` captures too), each using every argument, which are evaluated
/// once per language.
///
/// ```
/// # use ayuda::said;
/// let n = 3;
/// let s = said!(en: "{n} entries", es: "{n} entradas");
/// assert_eq!((s.en.as_str(), s.es.as_str()), ("3 entries", "3 entradas"));
/// ```
#[macro_export]
macro_rules! said {
    (en: $en:literal, es: $es:literal $(,)?) => {
        $crate::said::Said {
            en: format!($en),
            es: format!($es),
        }
    };
    (en: $en:literal, es: $es:literal, $($arg:tt)+) => {
        $crate::said::Said {
            en: format!($en, $($arg)+),
            es: format!($es, $($arg)+),
        }
    };
}

/// Checks an error said in both languages: its `Display` is `en` (the English it has always
/// had), its [`Said`] English is the same text, and its Spanish is written and differs.
#[cfg(test)]
pub(crate) fn assert_said(err: &dyn fmt::Display, said: &Said, en: &str) {
    assert_eq!(err.to_string(), en);
    assert_eq!(said.en, en);
    assert!(
        !said.es.is_empty() && said.es != said.en,
        "{en}: {}",
        said.es
    );
}

#[cfg(test)]
mod tests {

    #[test]
    fn display_is_english_and_pick_chooses() {
        let what = "faq.csv";
        let s = said!(en: "{what} is empty", es: "{what} está vacío");
        assert_eq!(s.to_string(), "faq.csv is empty");
        assert_eq!(s.in_spanish(), "faq.csv está vacío");
        assert_eq!(s.pick(false), "faq.csv is empty");
        assert_eq!(s.pick(true), "faq.csv está vacío");
        let wrapped = s.map(|t, es| format!("{}: {t}", if es { "aviso" } else { "warning" }));
        assert_eq!(wrapped.en, "warning: faq.csv is empty");
        assert_eq!(wrapped.es, "aviso: faq.csv está vacío");
        assert_eq!(s.labelled("warning", "aviso"), wrapped);
    }
}
