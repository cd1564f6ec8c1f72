//! CSV: a header with question and answer (any order, any case; `pregunta` and `respuesta`
//! too), optionally id, url, category, lang and handoff. Rows sharing an id are phrasings of
//! one entry; without ids, each row is an entry named after its question. Columns are
//! separated by commas, or by semicolons when the header has semicolons and no comma, as
//! spreadsheets set to Spanish (and most European languages) save CSV.

use crate::kb::{Entry, Origin, SourceError};
use crate::said;
use crate::said::Said;

use super::{flag, non_empty, slug, Lines};

pub(super) fn read(name: &str, text: &str) -> Result<Vec<Entry>, SourceError> {
    let separator = separator(text);
    // The csv crate ends a quoted field left open at the end of the file quietly, with every
    // row after the quote inside it: one entry whose answer is the rest of the file.
    if let Some(open) = unclosed_quote(text, separator) {
        return Err(SourceError {
            file: name.to_string(),
            line: Some(Lines::new(text).line_of(open)),
            message: said!(
                en: "a quote opened on this line is never closed, so every row after it would be read as part of this field; close the quote (a quote inside a quoted field is written \"\")",
                es: "unas comillas abiertas en esta línea no se cierran nunca, así que todas las filas que vienen detrás se leerían como parte de este campo; ciérralas (unas comillas dentro de un campo entre comillas se escriben \"\")"
            ),
        });
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(separator)
        .from_reader(text.as_bytes());
    let at = |line: usize, message: Said| SourceError {
        file: name.to_string(),
        line: Some(line),
        message,
    };
    // The csv crate's positions point just past the previous record, before any blank lines,
    // and its line count skips them; the record starts at the next non-blank byte.
    let lines = Lines::new(text);
    let line = |p: Option<&::csv::Position>| {
        p.map_or(1, |p| {
            let from = p.byte() as usize;
            let skip = text.as_bytes()[from.min(text.len())..]
                .iter()
                .take_while(|b| matches!(b, b'\n' | b'\r'))
                .count();
            lines.line_of(from + skip)
        })
    };
    let headers = reader
        .headers()
        .map_err(|e| {
            at(
                1,
                said!(en: "unreadable header: {e}", es: "no se puede leer la cabecera: {e}"),
            )
        })?
        .clone();
    // A column by any of its names, in English or Spanish, in any case and with or without
    // accents.
    let column = |names: &[&str]| {
        headers.iter().position(|h| {
            let h = crate::text::fold(h.trim().trim_start_matches('\u{feff}'));
            names.iter().any(|n| h.eq_ignore_ascii_case(n))
        })
    };
    let (Some(q), Some(a)) = (
        column(&["question", "pregunta"]),
        column(&["answer", "respuesta"]),
    ) else {
        let found: Vec<&str> = headers.iter().collect();
        return Err(at(
            1,
            said!(
                en: "the header needs question and answer columns (or pregunta and respuesta), and may have id, url, category, lang and handoff; found: {}",
                es: "la cabecera necesita las columnas pregunta y respuesta (o question y answer), y puede tener id, enlace, categoría, idioma y handoff; tiene: {}",
                found.join(", ")
            ),
        ));
    };
    let (i, url, category, lang, handoff) = (
        column(&["id"]),
        column(&["url", "enlace"]),
        column(&["category", "categoria"]),
        column(&["lang", "idioma"]),
        column(&["handoff"]),
    );

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = line(e.position());
            match e.kind() {
                ::csv::ErrorKind::UnequalLengths { expected_len, len, .. } => at(
                    line,
                    if separator == b';' {
                        said!(
                            en: "this row has {len} fields but the header has {expected_len} (a semicolon or line break inside a field needs \"quotes\")",
                            es: "esta fila tiene {len} campos pero la cabecera tiene {expected_len} (un punto y coma o un salto de línea dentro de un campo necesita \"comillas\")"
                        )
                    } else {
                        said!(
                            en: "this row has {len} fields but the header has {expected_len} (a comma or line break inside a field needs \"quotes\")",
                            es: "esta fila tiene {len} campos pero la cabecera tiene {expected_len} (una coma o un salto de línea dentro de un campo necesita \"comillas\")"
                        )
                    },
                ),
                _ => at(
                    line,
                    said!(en: "{e}", es: "no se puede leer la fila: {e}"),
                ),
            }
        })?;
        let line = line(record.position());
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).and_then(non_empty);
        let Some(question) = cell(Some(q)) else {
            if record.iter().all(|c| c.trim().is_empty()) {
                continue; // a blank line
            }
            return Err(at(
                line,
                said!(en: "the question is empty", es: "la pregunta está vacía"),
            ));
        };
        let handoff = match handoff.and_then(|i| record.get(i)) {
            None => false,
            Some(v) => flag(v).ok_or_else(|| {
                at(
                    line,
                    said!(
                        en: "handoff must be yes or no (or true/false, 1/0), not \"{v}\"",
                        es: "handoff tiene que ser sí o no (o true/false, 1/0), no \"{v}\""
                    ),
                )
            })?,
        };
        rows.push(Entry {
            id: cell(i).unwrap_or_else(|| slug(&question)),
            answer: cell(Some(a)).unwrap_or_default(),
            phrasings: vec![question],
            url: cell(url),
            category: cell(category),
            lang: cell(lang),
            handoff,
            origin: Origin {
                file: name.to_string(),
                line,
            },
        });
    }
    Ok(rows)
}

/// The column separator: a semicolon when the header line has semicolons and no comma (a
/// spreadsheet set to Spanish saves CSV so), else a comma.
fn separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    if header.contains(';') && !header.contains(',') {
        b';'
    } else {
        b','
    }
}

/// The byte offset of a quote that opens a field and is still open at the end of `text`, read
/// the way the csv crate reads it: a quote opens a field only at its start, `""` inside one is
/// a quote, and line breaks inside one are the field's. Quoted fields spanning lines (answers
/// with line breaks) are fine as long as they close.
fn unclosed_quote(text: &str, separator: u8) -> Option<usize> {
    enum State {
        FieldStart,
        Unquoted,
        Quoted(usize),
        QuoteInQuoted(usize),
    }
    let mut state = State::FieldStart;
    for (i, b) in text.bytes().enumerate() {
        state = match (state, b) {
            (State::FieldStart, b'"') => State::Quoted(i),
            (State::FieldStart | State::Unquoted, b'\n' | b'\r') => State::FieldStart,
            (State::FieldStart | State::Unquoted, b) if b == separator => State::FieldStart,
            (State::FieldStart | State::Unquoted, _) => State::Unquoted,
            (State::Quoted(at), b'"') => State::QuoteInQuoted(at),
            (State::Quoted(at), _) => State::Quoted(at),
            // "" is a quote inside the field; anything else closed it.
            (State::QuoteInQuoted(at), b'"') => State::Quoted(at),
            (State::QuoteInQuoted(_), b'\n' | b'\r') => State::FieldStart,
            (State::QuoteInQuoted(_), b) if b == separator => State::FieldStart,
            (State::QuoteInQuoted(_), _) => State::Unquoted,
        };
    }
    match state {
        State::Quoted(at) => Some(at),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_in_any_order_with_optional_fields() {
        let text = "ID,Question,Answer,URL,handoff\n\
                    ship,How long is shipping?,\"Three days, or five to the islands.\",https://shop.example/envios,no\n\
                    \n\
                    legal,I want to file a complaint,,,yes\n";
        let rows = read("faq.csv", text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].answer, "Three days, or five to the islands.");
        assert_eq!(rows[0].url.as_deref(), Some("https://shop.example/envios"));
        assert_eq!(rows[0].origin.line, 2);
        assert!(rows[1].handoff && rows[1].answer.is_empty());
        assert_eq!(rows[1].origin.line, 4);
    }

    #[test]
    fn a_row_with_an_unquoted_comma_names_its_line() {
        let text = "question,answer,id\nok?,fine,1\nHow much?,10 EUR, or 12 USD,2\n";
        let err = read("faq.csv", text).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(
            err.message.en.contains("has 4 fields but the header has 3"),
            "{err}"
        );
    }

    #[test]
    fn a_header_without_the_needed_columns_lists_what_it_has() {
        let err = read("train.csv", "text,category\nhi,greeting\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "train.csv:1: the header needs question and answer columns (or pregunta and respuesta), and may have id, url, category, lang and handoff; found: text, category"
        );
    }

    #[test]
    fn a_quote_left_open_names_its_line_instead_of_swallowing_the_rows_after_it() {
        let text = "id,question,answer\n\
                    a1,¿Abrís los domingos?,\"No abrimos.\n\
                    a2,¿Hacéis envíos?,Sí.\n\
                    a3,¿Aceptáis tarjeta?,Sí.\n";
        let err = read("unbal2.csv", text).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(
            err.to_string().starts_with("unbal2.csv:2: a quote opened")
                && err.message.en.contains("close the quote"),
            "{err}"
        );
    }

    #[test]
    fn quoted_answers_over_several_lines_still_load() {
        // Markdown answers with line breaks, a list whose lines look like rows, an escaped
        // quote, and a quote inside an unquoted field (literal, as the csv crate reads it).
        let text = "id,question,answer\n\
                    envios,¿Hacéis envíos?,\"Sí:\n\n- a1,Península,2 días\n- Islas, 5 días\n\nVer \"\"tarifas\"\".\"\n\
                    pulgadas,¿Qué tamaño tiene?,27\" de diagonal\n\
                    pago,¿Tarjeta?,\"Sí,\r\nVisa.\"";
        let rows = read("faq.csv", text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0].answer,
            "Sí:\n\n- a1,Península,2 días\n- Islas, 5 días\n\nVer \"tarifas\"."
        );
        assert_eq!(rows[1].answer, "27\" de diagonal");
        assert_eq!(rows[1].origin.line, 8);
        assert_eq!(rows[2].answer, "Sí,\r\nVisa.");
    }

    #[test]
    fn a_spanish_spreadsheets_csv_reads_as_written() {
        // Semicolons between columns, Spanish column names with their accents, no id column.
        let text = "Pregunta;Respuesta;Categoría;Idioma\n\
                    ¿Abrís los domingos?;\"No; solo de lunes a sábado.\";Horario;es\n\
                    ¿Aceptáis tarjeta?;Sí, y Bizum.;Pagos;es\n";
        let rows = read("faq.csv", text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].id, slug("¿Abrís los domingos?"));
        assert_eq!(rows[0].answer, "No; solo de lunes a sábado.");
        assert_eq!(rows[0].category.as_deref(), Some("Horario"));
        assert_eq!(rows[1].answer, "Sí, y Bizum.");
        assert_eq!(rows[1].lang.as_deref(), Some("es"));
        // A quote left open is found with semicolons too.
        let err = read("faq.csv", "pregunta;respuesta\n¿Abrís?;\"No\n").unwrap_err();
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn cells_of_zero_width_characters_are_empty() {
        let err = read("faq.csv", "question,answer\n\u{200b},No abrimos.\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.en.contains("the question is empty"), "{err}");
        let rows = read("faq.csv", "question,answer\n¿Abrís?,\u{200b}\u{feff}\n").unwrap();
        assert_eq!(rows[0].answer, "");
        let rows = read("faq.csv", "question,answer\n\u{200b}¿Abrís?\u{200d},No.\n").unwrap();
        assert_eq!(rows[0].phrasings, ["¿Abrís?"]);
    }

    #[test]
    fn missing_ids_come_from_the_question() {
        let rows = read("faq.csv", "question,answer,id\n¿Hacéis envíos?,Sí,\n").unwrap();
        assert_eq!(rows[0].id, "haceis-envios");
    }
}
