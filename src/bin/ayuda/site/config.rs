//! `ayuda.toml`: the site owner's settings for `ayuda site`, read from the project's root.
//! Owns parsing and checking them (unknown keys refused by name and line, values checked
//! before any work); never reads the site or writes anything.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ayuda::escalate::Settings;
use serde::Deserialize;

use crate::say::say;

/// The file name looked for in the current folder when `--config` is not given.
pub const FILE_NAME: &str = "ayuda.toml";

/// Every key `ayuda.toml` may hold; all optional. See the README's "ayuda.toml" table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// FAQ sources besides the site's pages (any format `ayuda build` reads), relative to the
    /// file's folder.
    #[serde(default)]
    pub sources: Vec<PathBuf>,
    /// The languages visitors write in (BCP 47): any but English picks the multilingual model.
    #[serde(default)]
    pub languages: Vec<String>,
    /// The chat's language, `es` or `en`; default: the page's, else the browser's.
    pub lang: Option<Lang>,
    /// Which corner the chat sits in.
    pub position: Option<Position>,
    /// The site's contact page, offered when there is no other way to reach a person.
    pub contact_page: Option<String>,
    /// Where visitors' messages go as JSON (an `ayuda inbox`), overriding `[contact]`'s delivery.
    pub endpoint: Option<String>,
    /// Overrides of the calibrated thresholds, as `ayuda build`'s options of the same names.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// How visitors reach a person: the contact settings `ayuda build --contact` reads.
    pub contact: Option<Settings>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Es,
    En,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    Left,
    Right,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub answer_at: Option<f32>,
    pub margin: Option<f32>,
    pub suggest_at: Option<f32>,
    pub lexical_weight: Option<f32>,
    pub trained_weight: Option<f32>,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }
}

impl Position {
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Left => "left",
            Position::Right => "right",
        }
    }
}

/// Where the settings came from and what they say; `None` when there is no file.
pub struct Loaded {
    pub path: PathBuf,
    pub config: SiteConfig,
}

/// Reads `explicit`, or `ayuda.toml` in the current folder when it exists.
pub fn load(explicit: Option<&Path>) -> Result<Option<Loaded>> {
    let path = match explicit {
        Some(p) => p.to_owned(),
        None if Path::new(FILE_NAME).is_file() => PathBuf::from(FILE_NAME),
        None => return Ok(None),
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| say!(en: "reading {}", es: "leyendo {}", path.display()))?;
    let config = parse(&text).with_context(|| format!("{}", path.display()))?;
    Ok(Some(Loaded { path, config }))
}

/// Parses and checks the file's text. TOML's own messages name the line, column and key.
pub fn parse(text: &str) -> Result<SiteConfig> {
    let mut config: SiteConfig = toml::from_str(text)?;
    if let Some(contact) = &config.contact {
        contact.check().context("[contact]")?;
    }
    for (name, value) in [
        ("answer_at", config.thresholds.answer_at),
        ("margin", config.thresholds.margin),
        ("suggest_at", config.thresholds.suggest_at),
        ("lexical_weight", config.thresholds.lexical_weight),
        ("trained_weight", config.thresholds.trained_weight),
    ] {
        if let Some(v) = value {
            if !(0.0..=1.0).contains(&v) {
                bail!(say!(
                    en: "[thresholds] {name} = {v}: must be between 0 and 1",
                    es: "[thresholds] {name} = {v}: debe estar entre 0 y 1"
                ));
            }
        }
    }
    for url in [&config.contact_page, &config.endpoint]
        .into_iter()
        .flatten()
    {
        if url.trim().is_empty() || url.chars().any(|c| c.is_whitespace() || c == '"') {
            bail!(say!(
                en: "{url:?} is not a URL (contact_page and endpoint are URLs or paths on the site)",
                es: "{url:?} no es una URL (contact_page y endpoint son URL o rutas del sitio)"
            ));
        }
    }
    config.languages.retain(|l| !l.trim().is_empty());
    if let Some(bad) = config
        .languages
        .iter()
        .find(|l| !ayuda::kb::is_language_code(l.trim()))
    {
        bail!(
            "languages: {}",
            crate::say::pick(&ayuda::kb::not_a_language_code(bad))
        );
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_is_refused_by_name_and_line() {
        let err =
            parse("lang = \"es\"\nposition = \"left\"\nsourcse = [\"faq.csv\"]\n").unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("sourcse"), "{text}");
        let err = parse("[thresholds]\nanswer = 0.5\n").unwrap_err();
        assert!(format!("{err:#}").contains("answer"), "{err:#}");
    }

    #[test]
    fn values_are_checked() {
        assert!(parse("lang = \"fr\"").is_err());
        assert!(parse("position = \"top\"").is_err());
        assert!(parse("[thresholds]\nmargin = 1.5\n").is_err());
        let err = parse("languages = [\"es\", \"english\"]").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("languages: \"english\" is not a language code; use es, en"),
            "{err}"
        );
        assert!(parse("[contact]\nhours = { monday = \"9-14\" }\n").is_err());
        let ok = parse(
            "sources = [\"faq.csv\"]\nlanguages = [\"es\", \"en\"]\nlang = \"es\"\nposition = \"left\"\ncontact_page = \"/contacto/\"\n[thresholds]\nanswer_at = 0.8\n[contact]\ntime_zone = \"Europe/Madrid\"\n",
        )
        .unwrap();
        assert_eq!(ok.lang, Some(Lang::Es));
        assert_eq!(ok.thresholds.answer_at, Some(0.8));
        assert_eq!(
            ok.contact.unwrap().time_zone.as_deref(),
            Some("Europe/Madrid")
        );
    }
}
