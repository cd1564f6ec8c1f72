//! The owner's language: everything the CLI says to the owner (progress, reports, warnings,
//! hints, errors) is written in Spanish and English side by side with [`say!`], and this
//! module picks which one is printed. Chosen once, from `AYUDA_LANG`, else the POSIX locale
//! (`LC_ALL`, then `LC_MESSAGES`, then `LANG`), else English; a language other than the two
//! is English. The library's messages for the owner (FAQ source errors, lint findings, why a
//! model or the default thresholds were chosen) come in both languages ([`ayuda::said::Said`]);
//! [`pick`] takes the owner's, and [`library_error`] finds them among an error's causes (a bad
//! bundle, model file, build or contact settings), with a Spanish rendering of the commonest
//! file errors. It never prints, and never touches machine-readable output (JSON, `--json`,
//! CSV): that is the same in every language.
//!
//! clap's `--help` is said in Spanish by `help_es`, from a table a test keeps in step with the
//! doc comments clap reads; clap's usage errors stay English.

use std::sync::OnceLock;

/// A language the CLI speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
}

/// The owner's language, decided on first use from this process's environment.
pub fn lang() -> Lang {
    // The binary's unit tests read the English texts whatever the machine's locale; the choice
    // itself is tested through `from_env`, and the integration tests run both languages.
    if cfg!(test) {
        return Lang::En;
    }
    static LANG: OnceLock<Lang> = OnceLock::new();
    *LANG.get_or_init(|| from_env(|name| std::env::var(name).ok()))
}

/// The language `get` (an environment) asks for: `AYUDA_LANG` when set, else the first of
/// `LC_ALL`, `LC_MESSAGES` and `LANG` that is set, as POSIX orders them (a set `LC_ALL` wins
/// even when it names a language we lack: it is what the owner's other programs speak).
/// Empty values count as unset, as POSIX says.
pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Lang {
    ["AYUDA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|name| get(name).filter(|v| !v.trim().is_empty()))
        .map_or(Lang::En, |value| parse(&value))
}

/// `es`, `es-MX`, `es_ES.UTF-8`, `es_ES@euro` (any case) are Spanish; anything else (`en_GB`,
/// `C`, `POSIX`, `fr_FR`) is English.
fn parse(value: &str) -> Lang {
    let primary = value
        .trim()
        .split(['_', '-', '.', '@'])
        .next()
        .unwrap_or("");
    if primary.eq_ignore_ascii_case("es") {
        Lang::Es
    } else {
        Lang::En
    }
}

/// A message in the owner's language, from its English and Spanish texts, written side by
/// side so neither is added without the other. Both are `format!` strings over the same
/// arguments (inline `{name}` captures too), and each must use every argument:
///
/// ```ignore
/// eprintln!("{}", say!(en: "ayuda: built {out}", es: "ayuda: creado {out}"));
/// bail!(say!(en: "{} is not a folder", es: "{} no es una carpeta", dir.display()));
/// ```
macro_rules! say {
    (en: $en:literal, es: $es:literal $(,)?) => {
        match $crate::say::lang() {
            $crate::say::Lang::En => format!($en),
            $crate::say::Lang::Es => format!($es),
        }
    };
    (en: $en:literal, es: $es:literal, $($arg:tt)+) => {
        match $crate::say::lang() {
            $crate::say::Lang::En => format!($en, $($arg)+),
            $crate::say::Lang::Es => format!($es, $($arg)+),
        }
    };
}
pub(crate) use say;

/// Whether the owner reads Spanish.
pub fn is_spanish() -> bool {
    lang() == Lang::Es
}

/// One of the library's bilingual messages in the owner's language.
pub fn pick(said: &ayuda::said::Said) -> &str {
    said.pick(is_spanish())
}

/// `n` and the word for one or for several of a thing, in the owner's language: `count(2,
/// ["entry", "entries"], ["entrada", "entradas"])` is "2 entries" or "2 entradas".
pub fn count(n: usize, en: [&str; 2], es: [&str; 2]) -> String {
    let words = match lang() {
        Lang::En => en,
        Lang::Es => es,
    };
    format!("{n} {}", words[usize::from(n != 1)])
}

/// The Spanish text of one of the library's errors, when the owner reads Spanish and `cause`
/// is one said in both languages (a FAQ source's, a bundle's, a model's, a build's, the
/// contact settings' and their hours') or a file that cannot be read for a usual reason; None
/// leaves the English (its `Display`), as for other libraries' errors.
pub fn library_error(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if lang() != Lang::Es {
        return None;
    }
    spanish(cause)
}

fn spanish(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    use ayuda::kb::{BuildError, BundleError, SourceError};
    use ayuda::native::{LoadError, SourceLoadError};
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        return io_error(io);
    }
    if let Some(err) = cause.downcast_ref::<SourceLoadError>() {
        return match err {
            SourceLoadError::Io { path, source } => {
                Some(format!("{}: {}", path.display(), io_error(source)?))
            }
            SourceLoadError::Source(err) => Some(err.said().es),
        };
    }
    if let Some(err) = cause.downcast_ref::<LoadError>() {
        return match err {
            // The system's words, when a usual reason has Spanish ones.
            LoadError::Io { path, source } => io_error(source)
                .map(|why| format!("{}: {why}", path.display()))
                .or_else(|| Some(err.said().es)),
            _ => Some(err.said().es),
        };
    }
    let said = if let Some(err) = cause.downcast_ref::<SourceError>() {
        err.said()
    } else if let Some(err) = cause.downcast_ref::<BuildError>() {
        err.said()
    } else if let Some(err) = cause.downcast_ref::<BundleError>() {
        err.said()
    } else if let Some(err) = cause.downcast_ref::<ayuda::model::Error>() {
        err.said()
    } else if let Some(err) = cause.downcast_ref::<ayuda::escalate::SettingsError>() {
        err.said()
    } else {
        cause.downcast_ref::<ayuda::dialog::HoursError>()?.said()
    };
    Some(said.es)
}

/// Why a file could not be read, for the usual reasons; None for the rest (the system's words).
fn io_error(err: &std::io::Error) -> Option<String> {
    use std::io::ErrorKind;
    Some(
        match err.kind() {
            ErrorKind::NotFound => "no existe ese archivo ni esa carpeta",
            ErrorKind::PermissionDenied => "no tienes permiso para leerlo",
            ErrorKind::IsADirectory => "es una carpeta, no un archivo",
            _ => return None,
        }
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn ayuda_lang_then_lc_all_then_lc_messages_then_lang() {
        let es = "es_ES.UTF-8";
        let en = "en_US.UTF-8";
        assert_eq!(from_env(env(&[])), Lang::En);
        assert_eq!(from_env(env(&[("LANG", es)])), Lang::Es);
        assert_eq!(
            from_env(env(&[("LANG", en), ("LC_MESSAGES", es)])),
            Lang::Es
        );
        assert_eq!(
            from_env(env(&[("LC_MESSAGES", en), ("LANG", es)])),
            Lang::En
        );
        assert_eq!(
            from_env(env(&[("LC_ALL", es), ("LC_MESSAGES", en), ("LANG", en)])),
            Lang::Es
        );
        assert_eq!(
            from_env(env(&[("LC_ALL", "C"), ("LC_MESSAGES", es), ("LANG", es)])),
            Lang::En
        );
        assert_eq!(
            from_env(env(&[("AYUDA_LANG", "es"), ("LC_ALL", en)])),
            Lang::Es
        );
        assert_eq!(
            from_env(env(&[("AYUDA_LANG", "en"), ("LC_ALL", es), ("LANG", es)])),
            Lang::En
        );
        // Empty is unset; a language we lack is English, not the next variable's.
        assert_eq!(from_env(env(&[("LC_ALL", ""), ("LANG", es)])), Lang::Es);
        assert_eq!(
            from_env(env(&[("AYUDA_LANG", " "), ("LANG", es)])),
            Lang::Es
        );
        assert_eq!(
            from_env(env(&[("AYUDA_LANG", "fr"), ("LANG", es)])),
            Lang::En
        );
    }

    #[test]
    fn spanish_is_es_with_any_region_encoding_or_case() {
        for v in ["es", "ES", "es-MX", "es_ES.UTF-8", "es_ES@euro", "es.utf8"] {
            assert_eq!(parse(v), Lang::Es, "{v}");
        }
        for v in [
            "en",
            "en_GB.UTF-8",
            "C",
            "POSIX",
            "C.UTF-8",
            "fr_FR",
            "est",
            "eu_ES",
        ] {
            assert_eq!(parse(v), Lang::En, "{v}");
        }
    }

    #[test]
    fn count_picks_one_or_several() {
        let count = |n| count(n, ["entry", "entries"], ["entrada", "entradas"]);
        assert_eq!(count(1), "1 entry");
        assert_eq!(count(2), "2 entries");
        assert_eq!(count(0), "0 entries");
    }

    #[test]
    fn the_commonest_library_errors_read_in_spanish() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.csv");
        let err = ayuda::native::read_source_rows(std::slice::from_ref(&missing)).unwrap_err();
        assert_eq!(
            spanish(&err).unwrap(),
            format!(
                "{}: no existe ese archivo ni esa carpeta",
                missing.display()
            )
        );
        // A source's errors are said in both languages by the library.
        let sheet = dir.path().join("faq.csv");
        std::fs::write(&sheet, "pregunta frecuente,texto\n¿Abrís?,Sí\n").unwrap();
        let err = ayuda::native::read_source_rows(std::slice::from_ref(&sheet)).unwrap_err();
        let text = spanish(&err).expect("a source error is said in Spanish");
        assert!(
            text.ends_with(":1: la cabecera necesita las columnas pregunta y respuesta (o question y answer), y puede tener id, enlace, categoría, idioma y handoff; tiene: pregunta frecuente, texto"),
            "{text}"
        );
        std::fs::write(&sheet, "question,answer\n,Sí\n").unwrap();
        let err = ayuda::native::read_source_rows(std::slice::from_ref(&sheet)).unwrap_err();
        assert_eq!(
            spanish(&err).unwrap(),
            format!("{}:2: la pregunta está vacía", sheet.display()),
            "{err}"
        );
        // Rows that contradict each other, found when merging.
        std::fs::write(
            &sheet,
            "id,question,answer\na,¿Abrís?,Sí\na,¿Abrís hoy?,No\n",
        )
        .unwrap();
        let rows = ayuda::native::read_source_rows(std::slice::from_ref(&sheet)).unwrap();
        let err = anyhow::Error::from(ayuda::kb::merge(rows).unwrap_err());
        let text = spanish(err.as_ref()).unwrap();
        assert!(
            text.contains(":3: la entrada \"a\" tiene aquí una respuesta distinta a la de ")
                && text
                    .ends_with(":2; las filas con el mismo id deben coincidir (o dejarlo vacío)"),
            "{text}"
        );
        // Other errors keep the library's English.
        let io = std::io::Error::other("disk on fire");
        assert_eq!(spanish(&io), None);
    }
}
