//! Reading the owner's existing content into entries: CSV, JSON (entry lists and schema.org
//! FAQPage JSON-LD), JSONL, Markdown, and HTML pages (FAQPage JSON-LD or microdata, and
//! sections marked `data-ayuda-faq`). Each reader takes a file name (for messages and to
//! pick the format) and its bytes; none touches the filesystem. Answers leave here holding only
//! the markup the chat shows ([`markup`]).

mod csv;
mod faqpage;
mod html;
mod json;
mod markdown;
mod markup;
mod nesting;

use super::{Entry, Origin, SourceError};
use crate::said;
use crate::said::Said;

/// Sources larger than this are refused: an FAQ is rarely over a megabyte, and a file this
/// large is almost always the wrong file (a database dump, a whole site export).
pub const MAX_SOURCE_BYTES: usize = 16 * 1024 * 1024;

/// The formats, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Jsonl,
    Markdown,
    Html,
}

impl Format {
    pub fn from_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => Format::Csv,
            "json" | "jsonld" => Format::Json,
            "jsonl" | "ndjson" => Format::Jsonl,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" => Format::Html,
            _ => return None,
        })
    }
}

/// Reads one source file's rows (not yet merged: see [`super::merge`]).
pub fn read(name: &str, bytes: &[u8]) -> Result<Vec<Entry>, SourceError> {
    let format = Format::from_name(name).ok_or_else(|| {
        SourceError::file(
            name,
            said!(
                en: "unknown source type: use .csv, .json, .jsonl, .md or .html (or a folder)",
                es: "tipo de fuente desconocido: usa .csv, .json, .jsonl, .md o .html (o una carpeta)"
            ),
        )
    })?;
    if bytes.len() > MAX_SOURCE_BYTES {
        return Err(too_large(name, bytes.len() as u64));
    }
    let text = match format {
        Format::Html => shallow_page(name, decode_page(name, bytes)?)?,
        _ => decode(name, bytes)?,
    };
    let rows = cleaned(match format {
        Format::Csv => csv::read(name, &text)?,
        Format::Json => json::read(name, &text)?,
        Format::Jsonl => json::read_lines(name, &text)?,
        Format::Markdown => markdown::read(name, &text),
        Format::Html => html::read_page(name, &text, None)?,
    })?;
    if rows.is_empty() {
        return Err(SourceError::file(
            name,
            match format {
                Format::Html => said!(
                    en: "no FAQ data: the page has no schema.org FAQPage (JSON-LD or microdata) and no section marked data-ayuda-faq",
                    es: "no hay datos de FAQ: la página no tiene schema.org FAQPage (JSON-LD o microdatos) ni ninguna sección marcada con data-ayuda-faq"
                ),
                Format::Markdown => said!(
                    en: "no FAQ entries: write each question as a heading with its answer below",
                    es: "no hay entradas de FAQ: escribe cada pregunta como un título, con su respuesta debajo"
                ),
                _ => said!(
                    en: "no FAQ entries found",
                    es: "no se ha encontrado ninguna entrada de FAQ"
                ),
            },
        ));
    }
    Ok(rows)
}

/// One page of a built site: its entries, possibly none. `url` is the page's path on the site.
/// A page whose encoding cannot be told (not UTF-8, none declared: an old page its server
/// labelled) is refused only if it holds FAQ data; otherwise it has nothing to lose, and one
/// legal notice from another era does not stop a site's build.
pub fn read_site_page(name: &str, bytes: &[u8], url: &str) -> Result<Vec<Entry>, SourceError> {
    if bytes.len() > MAX_SOURCE_BYTES {
        return Err(too_large(name, bytes.len() as u64));
    }
    let text = match decode_page(name, bytes) {
        Ok(text) => shallow_page(name, text)?,
        Err(err) => {
            let lossy = shallow_page(name, String::from_utf8_lossy(bytes).into_owned())?;
            return match html::read_page(name, &lossy, Some(url)) {
                Ok(rows) if rows.is_empty() => Ok(rows),
                _ => Err(err),
            };
        }
    };
    cleaned(html::read_page(name, &text, Some(url))?)
}

/// `text`, a page's, unless it nests deeper than any real page (see [`nesting`]): parsing that
/// would take hours.
fn shallow_page(name: &str, text: String) -> Result<String, SourceError> {
    let depth = nesting::deepest(&text);
    if depth > nesting::MAX_NESTING {
        return Err(SourceError::file(
            name,
            said!(
                en: "the page nests its elements {depth} deep; no real page goes past {} (browsers stop there): is it the right file?",
                es: "la página anida sus elementos a {depth} niveles; ninguna página real pasa de {} (los navegadores se detienen ahí): ¿es el archivo correcto?",
                nesting::MAX_NESTING
            ),
        ));
    }
    Ok(text)
}

/// Rows whose answers hold only the markup the chat shows (see [`markup`]) and whose language,
/// when given, is a language code (a blank one, as in `<html lang="">`, is no language).
fn cleaned(mut rows: Vec<Entry>) -> Result<Vec<Entry>, SourceError> {
    for row in &mut rows {
        let depth = nesting::deepest(&row.answer);
        if depth > nesting::MAX_NESTING {
            return Err(SourceError::at(
                &row.origin,
                said!(
                    en: "the answer nests HTML elements {depth} deep; at most {} are read: simplify its markup",
                    es: "la respuesta anida elementos HTML a {depth} niveles; se leen {} como mucho: simplifica su marcado",
                    nesting::MAX_NESTING
                ),
            ));
        }
        row.answer = markup::clean(&row.answer);
        row.lang = row
            .lang
            .as_deref()
            .map(str::trim)
            .and_then(|l| (!l.is_empty()).then(|| l.to_string()));
        if let Some(lang) = row.lang.as_deref().filter(|l| !super::is_language_code(l)) {
            let message = super::not_a_language_code(lang).map(|m, _| format!("lang {m}"));
            return Err(SourceError::at(&row.origin, message));
        }
    }
    Ok(rows)
}

/// The error for a source of `len` bytes, over [`MAX_SOURCE_BYTES`].
pub fn too_large(name: &str, len: u64) -> SourceError {
    SourceError::file(
        name,
        said!(
            en: "the file is {:.1} MB; sources may be at most {} MB (split it, or keep only the FAQ content)",
            es: "el archivo ocupa {:.1} MB; una fuente puede ocupar {} MB como mucho (divídela, o deja solo el contenido de las FAQ)",
            len as f64 / 1e6,
            MAX_SOURCE_BYTES / (1024 * 1024)
        ),
    )
}

/// The text of a source: UTF-8 (a byte-order mark is dropped) or UTF-16 with its mark.
/// Anything else is refused with the line of the first bad byte, since guessing an encoding
/// would put wrong characters in front of visitors.
pub(crate) fn decode(name: &str, bytes: &[u8]) -> Result<String, SourceError> {
    let utf16 = |bytes: &[u8], from: fn([u8; 2]) -> u16| {
        let units = bytes
            .chunks(2)
            .map(|c| from([c[0], *c.get(1).unwrap_or(&0)]));
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| {
                SourceError::file(
                    name,
                    said!(
                        en: "invalid UTF-16 text; save the file as UTF-8",
                        es: "texto UTF-16 no válido; guarda el archivo como UTF-8"
                    ),
                )
            })
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => utf8(name, rest),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => utf8(name, bytes),
    }
}

/// The text of an HTML page: in the encoding it declares, where that is not UTF-8 and no
/// byte-order mark says otherwise, else as [`decode`] reads any source. Old sites are often
/// ISO-8859-1 or Windows-1252 and say so; browsers show them right, and the chat must too, so
/// this is reading the page as written, not guessing (a page that declares nothing is still
/// refused, with the hint to save it as UTF-8).
fn decode_page(name: &str, bytes: &[u8]) -> Result<String, SourceError> {
    use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
    let marked = Encoding::for_bom(bytes).is_some();
    // A page declaring UTF-16 in ASCII bytes is UTF-8, as browsers take it.
    let Some(encoding) = html::declared_encoding(bytes)
        .filter(|&e| !marked && e != UTF_8 && e != UTF_16LE && e != UTF_16BE)
    else {
        return decode(name, bytes);
    };
    let (text, bad) = encoding.decode_without_bom_handling(bytes);
    if bad {
        return Err(SourceError::file(
            name,
            said!(
                en: "not valid {} text, the encoding the page declares: save it as UTF-8",
                es: "no es texto {} válido, la codificación que declara la página: guárdala como UTF-8",
                encoding.name()
            ),
        ));
    }
    Ok(text.into_owned())
}

fn utf8(name: &str, bytes: &[u8]) -> Result<String, SourceError> {
    std::str::from_utf8(bytes).map(str::to_string).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        // Spreadsheets on Windows save CSV in Windows-1252 unless asked: say where to ask.
        let how = match Format::from_name(name) {
            Some(Format::Csv) => said!(
                en: " (in Excel: Save As, \"CSV UTF-8 (Comma delimited)\"; in LibreOffice: Save As, Edit filter settings, Character set \"Unicode (UTF-8)\")",
                es: " (en Excel: Guardar como, «CSV UTF-8 (delimitado por comas)»; en LibreOffice: Guardar como, «Editar la configuración de filtros», Juego de caracteres «Unicode (UTF-8)»)"
            ),
            _ => Said::default(),
        };
        SourceError {
            file: name.to_string(),
            line: Some(line),
            message: said!(
                en: "not valid UTF-8 (byte 0x{:02X}; the file may be Latin-1 or Windows-1252): save it as UTF-8",
                es: "no es UTF-8 válido (byte 0x{:02X}; puede que el archivo esté en Latin-1 o Windows-1252): guárdalo como UTF-8",
                bytes[at]
            )
            .map(|message, es| format!("{message}{}", how.pick(es))),
        }
    })
}

/// An id from a question: lower-case ASCII letters and digits joined by '-', at most 64
/// characters, accents dropped (¿Cuánto cuesta? -> cuanto-cuesta).
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().map(crate::text::fold_char) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 64 {
            break;
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "entry".to_string()
    } else {
        out
    }
}

/// An entry for one question read from a page: its id from the question, no link, language,
/// category or flags until the reader sets them.
pub(crate) fn question_entry(question: String, answer: String, origin: Origin) -> Entry {
    Entry {
        id: slug(&question),
        phrasings: vec![question],
        answer,
        url: None,
        category: None,
        lang: None,
        handoff: false,
        origin,
    }
}

/// "yes"/"no" style flags in CSV cells and JSON strings, in English and Spanish.
pub(crate) fn flag(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "" | "0" | "false" | "no" | "n" => Some(false),
        "1" | "true" | "yes" | "y" | "x" | "si" | "sí" | "s" => Some(true),
        _ => None,
    }
}

/// A trimmed cell, or None when blank.
pub(crate) fn non_empty(value: &str) -> Option<String> {
    // Zero-width characters too: a cell holding only those looks empty to the owner, and an
    // answer made of them would show the visitor nothing.
    let v = value.trim_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
            )
    });
    (!v.is_empty()).then(|| v.to_string())
}

/// The 1-based line of byte `offset` in `text`.
/// Line numbers of byte offsets in one text: the line starts found once, then a binary search
/// per lookup, so a source with n entries costs n log n, not n² (40k headings took seconds).
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        Lines { starts }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_from_one() {
        let lines = Lines::new("a\nbc\n\nd");
        let got: Vec<usize> = [0, 1, 2, 4, 5, 6, 99]
            .iter()
            .map(|&o| lines.line_of(o))
            .collect();
        assert_eq!(got, vec![1, 1, 2, 2, 3, 4, 4]);
    }

    #[test]
    fn slugs_are_ascii_and_stable() {
        assert_eq!(slug("¿Cuánto cuesta el envío?"), "cuanto-cuesta-el-envio");
        assert_eq!(
            slug("  What's your refund policy?  "),
            "what-s-your-refund-policy"
        );
        assert_eq!(slug("¿?"), "entry");
    }

    #[test]
    fn latin1_is_refused_with_its_line() {
        let err = read("faq.csv", b"question,answer,id\nCaf\xe9?,Yes,1\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.to_string().contains("save it as UTF-8"), "{err}");
        // A spreadsheet's CSV says where the setting is, in the owner's language.
        assert!(
            err.to_string().contains("\"CSV UTF-8 (Comma delimited)\""),
            "{err}"
        );
        assert!(
            err.said().es.contains("«CSV UTF-8 (delimitado por comas)»"),
            "{err}"
        );
        let md = read("faq.md", b"## Caf\xe9?\n\nYes.\n")
            .unwrap_err()
            .to_string();
        assert!(md.ends_with("save it as UTF-8"), "{md}");
    }

    fn deep_page(depth: usize) -> Vec<u8> {
        format!(
            "<html><body><section data-ayuda-faq><h2>¿Horario?</h2>{}De 9 a 2.{}</section></body></html>",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        )
        .into_bytes()
    }

    fn deep_answer(depth: usize) -> Vec<u8> {
        format!(
            "question,answer\n¿Horario?,\"{}De 9 a 2.{}\"\n",
            "<b>".repeat(depth),
            "</b>".repeat(depth)
        )
        .into_bytes()
    }

    #[test]
    fn html_nested_deeper_than_any_real_page_is_refused_before_it_is_parsed() {
        // 200,000 deep (1.2 MB) kept html5ever's tree builder busy for minutes.
        let err = read("faq.html", &deep_page(200_000))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nests its elements 200001 deep"), "{err}");
        let err = read_site_page("faq.html", &deep_page(200_000), "/faq/").unwrap_err();
        assert!(err.to_string().contains("200001 deep"), "{err}");
        let err = read("faq.csv", &deep_answer(200_000)).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.to_string().contains("answer nests"), "{err}");
        // As deep as browsers go is read.
        let rows = read("faq.html", &deep_page(nesting::MAX_NESTING - 10)).unwrap();
        assert_eq!(rows[0].phrasings, ["¿Horario?"]);
        assert!(read("faq.csv", &deep_answer(100)).is_ok());
    }

    #[test]
    fn pages_are_read_in_the_encoding_they_declare() {
        let faq: &[u8] = b"<section data-ayuda-faq><h2>\xbfCu\xe1nto cuesta el env\xedo?</h2><p>4,95 \x80.</p></section>";
        let page = |head: &[u8], body: &[u8]| {
            [
                b"<html><head>",
                head,
                b"</head><body>",
                body,
                b"</body></html>",
            ]
            .concat()
        };
        for head in [
            &b"<meta charset=\"iso-8859-1\">"[..],
            b"<meta charset=windows-1252>",
            b"<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=ISO-8859-1\">",
        ] {
            let bytes = page(head, faq);
            for rows in [
                read("faq.html", &bytes).unwrap(),
                read_site_page("faq.html", &bytes, "/faq/").unwrap(),
            ] {
                assert_eq!(rows[0].phrasings, ["¿Cuánto cuesta el envío?"]);
                // Browsers read ISO-8859-1 as Windows-1252, where 0x80 is the euro sign.
                assert!(rows[0].answer.contains("4,95 €"), "{}", rows[0].answer);
            }
        }
        // Declared UTF-8, or nothing declared: the same bytes are not guessed at.
        for head in [&b"<meta charset=\"utf-8\">"[..], b""] {
            let err = read("faq.html", &page(head, faq)).unwrap_err().to_string();
            assert!(err.contains("save it as UTF-8"), "{err}");
        }
        // A site's page that declares nothing is refused only if it holds FAQ data.
        let legal = b"<html><body><p>Informaci\xf3n legal.</p></body></html>";
        assert_eq!(
            read_site_page("aviso.html", legal, "/aviso.html").unwrap(),
            []
        );
        let err = read_site_page("faq.html", &page(b"", faq), "/faq/").unwrap_err();
        assert!(err.to_string().contains("save it as UTF-8"), "{err}");
        // A byte-order mark outranks the page's word.
        let bom = [
            &b"\xef\xbb\xbf"[..],
            &page(
                b"<meta charset=\"iso-8859-1\">",
                "<section data-ayuda-faq><h2>¿Envío?</h2><p>Sí.</p></section>".as_bytes(),
            ),
        ]
        .concat();
        assert_eq!(read("faq.html", &bom).unwrap()[0].phrasings, ["¿Envío?"]);
    }

    #[test]
    fn utf16_and_bom_are_read() {
        let text = "question,answer,id\n¿Envío?,Sí,1\n";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(read("faq.csv", &le).unwrap()[0].answer, "Sí");
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(read("faq.csv", &bom).unwrap()[0].phrasings, ["¿Envío?"]);
    }

    #[test]
    fn a_lang_that_is_not_a_language_code_is_refused_with_its_line() {
        let csv =
            "id,question,answer,lang\nh,¿Horario?,De 9 a 5.,es-ES\nd,¿Domingos?,No.,Español\n";
        assert_eq!(
            read("faq.csv", csv.as_bytes()).unwrap_err().to_string(),
            "faq.csv:3: lang \"Español\" is not a language code; use es, en, ... (two letters, optionally a region: es-MX)"
        );
        let json = r#"[{"question": "Hours?", "answer": "9 to 5.", "lang": "english"}]"#;
        let err = read("faq.json", json.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains(r#"lang "english" is not a language code"#),
            "{err}"
        );
        let page = r#"<html lang="castellano"><body><section data-ayuda-faq><h2>¿Horario?</h2><p>De 9 a 5.</p></section></body></html>"#;
        let err = read("faq.html", page.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(r#"lang "castellano""#), "{err}");
        for ok in ["es", "ES", "es_ES", "en"] {
            let csv = format!("id,question,answer,lang\nh,¿Horario?,De 9 a 5.,{ok}\n");
            assert_eq!(
                read("faq.csv", csv.as_bytes()).unwrap()[0].lang.as_deref(),
                Some(ok)
            );
        }
        let blank = r#"<html lang=""><body><section data-ayuda-faq><h2>Hours?</h2><p>9 to 5.</p></section></body></html>"#;
        assert_eq!(read("faq.html", blank.as_bytes()).unwrap()[0].lang, None);
    }

    #[test]
    fn every_source_error_is_said_in_both_languages() {
        let bad: &[(&str, &[u8])] = &[
            ("faq.xlsx", b""),
            ("faq.csv", b"question,answer\nCaf\xe9?,Yes\n"),
            ("faq.csv", &[0xFF, 0xFE, 0x00, 0xD8]),
            ("faq.csv", b"text,category\nhi,greeting\n"),
            ("faq.csv", b"question,answer\n\"open,Yes\n"),
            ("faq.csv", b"question,answer\na?,b,c\n"),
            ("faq.csv", b"question,answer\n;x;,Yes\n,Yes\n"),
            ("faq.csv", b"question,answer,handoff\na?,b,maybe\n"),
            ("faq.csv", b"question,answer,lang\na?,b,spa\n"),
            ("faq.csv", b"question,answer,lang\na?,b,Espanol\n"),
            ("faq.csv", b"question,answer\n"),
            ("faq.json", b"[{\"question\": \"a?\", \"answer\": "),
            ("faq.json", b"{\"a\": 1}"),
            ("faq.json", b"[{\"q\": \"a?\"}]"),
            ("faq.json", b"[{\"answer\": \"b\"}]"),
            (
                "faq.json",
                b"[{\"question\": \"a?\", \"handoff\": \"maybe\"}]",
            ),
            ("faq.jsonl", b"{\"question\": 1}\n"),
            ("faq.md", b"no headings\n"),
            ("faq.html", b"<p>nothing</p>"),
            (
                "faq.html",
                b"<script type=\"application/ld+json\">{</script>",
            ),
            ("faq.html", b"<meta charset=\"shift_jis\"><p>\x81\x20</p>"),
            ("faq.html", &deep_page(600)),
            ("faq.csv", &deep_answer(600)),
        ];
        for (name, bytes) in bad {
            let err = read(name, bytes).unwrap_err();
            let said = err.said();
            assert_eq!(said.en, err.to_string());
            assert!(
                !err.message.en.is_empty() && !err.message.es.is_empty() && said.es != said.en,
                "{name}: {said:?}"
            );
        }
        let big = too_large("faq.csv", 20_000_000).message;
        assert!(big.es.contains("20.0 MB") && big.es != big.en, "{big:?}");
    }

    #[test]
    fn oversized_and_unknown_sources_are_refused() {
        let big = vec![b'a'; MAX_SOURCE_BYTES + 1];
        assert!(read("faq.csv", &big)
            .unwrap_err()
            .to_string()
            .contains("at most 16 MB"));
        assert!(read("faq.xlsx", b"")
            .unwrap_err()
            .to_string()
            .contains("unknown source type"));
    }
}
