//! The `ayuda` command line as a user runs it.

use std::process::{Command, Output};

use crate::util::{
    assert_fails, ayuda, ayuda_command, cosine, fixture, lines, model_dir, packed_file, piped,
    reference, stderr,
};

/// `ayuda model pack` of the real model into `file`.
fn pack_into(file: &std::path::Path) -> Output {
    let dir = model_dir();
    ayuda(
        &[
            "model",
            "pack",
            dir.to_str().unwrap(),
            "-o",
            file.to_str().unwrap(),
        ],
        b"",
    )
}

#[test]
fn pack_then_embed_text_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("m.ayuda");
    let out = pack_into(&file);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("MB"));

    let rows = &reference()[..3];
    let input: String = rows.iter().map(|r| format!("{}\n", r.text)).collect();
    let out = ayuda(
        &["embed", "--model", file.to_str().unwrap()],
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = lines(&out);
    assert_eq!(got.len(), 3);
    for (row, line) in rows.iter().zip(&got) {
        assert_eq!(line["text"], row.text.as_str());
        assert_eq!(line["tokens"], row.tokens);
        let v: Vec<f32> = serde_json::from_value(line["embedding"].clone()).unwrap();
        assert!(cosine(&v, &row.embedding) > 0.98);
    }
}

#[test]
fn embed_reads_jsonl_and_keeps_empty_texts() {
    let dir = model_dir();
    let input = "{\"text\": \"Where is my card?\"}\n{\"text\": \"\"}\n";
    let out = ayuda(
        &["embed", "--model", dir.to_str().unwrap()],
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = lines(&out);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["text"], "Where is my card?");
    assert_eq!(got[1]["tokens"], 2);
    assert_eq!(got[1]["embedding"].as_array().unwrap().len(), 384);
}

#[test]
fn timing_reports_the_embedding_alone_on_stderr() {
    let dir = model_dir();
    let out = ayuda(
        &["embed", "--model", dir.to_str().unwrap(), "--timing"],
        b"Where is my card?\nhello\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = lines(&out);
    assert_eq!(got.len(), 2, "the vectors still go to stdout alone");
    let err = stderr(&out);
    let timing: serde_json::Value =
        serde_json::from_str(err.lines().last().unwrap_or_default()).expect(&err);
    assert_eq!(timing["texts"], 2);
    let tokens: u64 = got.iter().map(|l| l["tokens"].as_u64().unwrap()).sum();
    assert_eq!(timing["tokens"], tokens, "{timing}");
    let seconds = timing["embed_seconds"].as_f64().unwrap();
    assert!(seconds > 0.0 && timing["texts_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn invalid_utf8_names_the_line_and_prints_nothing() {
    let dir = model_dir();
    let out = ayuda(
        &["embed", "--model", dir.to_str().unwrap()],
        b"fine\nbad \xff\xfe here\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("line 2") && err.contains("UTF-8"), "{err}");
}

#[test]
fn jsonl_without_text_names_the_line() {
    let dir = model_dir();
    let out = ayuda(
        &[
            "embed",
            "--model",
            dir.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        b"{\"text\": \"ok\"}\n{\"txt\": 1}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
}

#[test]
fn a_damaged_model_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("cut.ayuda");
    let out = pack_into(&file);
    assert!(out.status.success());
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let out = ayuda(&["embed", "--model", file.to_str().unwrap()], b"hello\n");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("truncated") && err.contains("cut.ayuda"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn packing_an_incomplete_directory_names_the_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        model_dir().join("config.json"),
        tmp.path().join("config.json"),
    )
    .unwrap();
    let out_file = tmp.path().join("m.ayuda");
    let out = ayuda(
        &[
            "model",
            "pack",
            tmp.path().to_str().unwrap(),
            "-o",
            out_file.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("tokenizer.json is missing"),
        "{}",
        stderr(&out)
    );
    assert!(!out_file.exists(), "no partial file left behind");
}

#[test]
fn a_missing_source_says_why_once() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.csv");
    let reason = std::fs::read(&missing).unwrap_err().to_string();
    let out_file = tmp.path().join("x.kb");
    let out = ayuda(
        &[
            "build",
            missing.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
        b"",
    );
    assert_fails(&out, "nope.csv");
    assert_eq!(stderr(&out).matches(&reason).count(), 1, "{}", stderr(&out));
}

#[test]
fn build_refuses_to_write_the_bundle_over_a_source() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("faq.csv");
    let text = "id,question,answer\nh,¿Horario?,De 9 a 5.\n";
    std::fs::write(&source, text).unwrap();
    // The same file by another path is still the source.
    let same = tmp.path().join(".").join("faq.csv");
    let out = ayuda(
        &[
            "build",
            source.to_str().unwrap(),
            "--out",
            same.to_str().unwrap(),
        ],
        b"",
    );
    assert_fails(&out, "would replace your FAQ");
    assert!(stderr(&out).contains("is the source"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&source).unwrap(), text);
}

#[test]
fn build_into_a_missing_folder_names_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("nonexistent");
    let out_file = folder.join("x.kb");
    let out = ayuda(
        &[
            "build",
            fixture("faq.csv").to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
        b"",
    );
    assert_fails(
        &out,
        &format!("the folder {} does not exist", folder.display()),
    );
    assert!(!stderr(&out).contains(".partial"), "{}", stderr(&out));
}

#[test]
fn languages_must_be_language_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let out_file = tmp.path().join("x.kb");
    let out = ayuda(
        &[
            "build",
            fixture("faq.csv").to_str().unwrap(),
            "--languages",
            "en,Español",
            "--out",
            out_file.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"Español\" is not a language code; use es, en"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn lint_names_the_line_of_a_quote_left_open() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("unbal2.csv");
    std::fs::write(
        &file,
        "id,question,answer\na1,¿Abrís los domingos?,\"No abrimos.\na2,¿Hacéis envíos?,Sí.\na3,¿Aceptáis tarjeta?,Sí.\n",
    )
    .unwrap();
    let out = ayuda(&["lint", file.to_str().unwrap()], b"");
    assert_fails(
        &out,
        "unbal2.csv:2: a quote opened on this line is never closed",
    );
}

#[test]
fn a_folder_of_sources_names_the_files_it_does_not_read() {
    let out = ayuda(&["lint", fixture("").to_str().unwrap()], b"");
    let err = stderr(&out);
    assert!(err.contains("for its HTML pages alone"), "{err}");
    for name in ["faq.csv", "faq.json", "faq.md"] {
        assert!(err.contains(name), "{name} in: {err}");
    }
    assert!(!err.contains("index.html"), "{err}");
}

#[test]
fn build_warns_of_what_lint_calls_an_error_and_reads_a_spanish_spreadsheet() {
    let tmp = tempfile::tempdir().unwrap();
    // Semicolons and Spanish column names, as a spreadsheet set to Spanish saves them, and one
    // question under two entries.
    let file = tmp.path().join("horario.csv");
    std::fs::write(
        &file,
        "Pregunta;Respuesta;id\n¿Abrís los domingos?;No abrimos los domingos.;a1\n¿Abrís los domingos?;\"Sí; de 9 a 14.\";a2\n",
    )
    .unwrap();
    let kb = tmp.path().join("kb.bin");
    let out = ayuda(
        &[
            "build",
            file.to_str().unwrap(),
            "--model",
            crate::util::packed_file().to_str().unwrap(),
            "--out",
            kb.to_str().unwrap(),
        ],
        b"",
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("horario.csv:3: the question \"¿Abrís los domingos?\" belongs to entries")
            && err.contains("1 problem(s) `ayuda lint` reports as errors"),
        "{err}"
    );
    let bundle = ayuda::kb::Bundle::from_bytes(&std::fs::read(&kb).unwrap()).unwrap();
    let answers: Vec<&str> = bundle.entries().iter().map(|e| e.answer.as_str()).collect();
    assert_eq!(answers, ["No abrimos los domingos.", "Sí; de 9 a 14."]);
}

/// The owner's language: Spanish when `AYUDA_LANG` or the locale says so, English otherwise,
/// for reports, warnings and errors alike.
#[test]
fn the_cli_speaks_the_owners_language() {
    let faq = fixture("faq.csv");
    let lint = |command: &mut Command| piped(command.arg("lint").arg(&faq), b"");
    let stdout = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let spanish = "4 entradas, 6 formas de preguntar: 0 errores, 0 avisos";
    let english = "4 entries, 6 phrasings: 0 errors, 0 warnings";

    let asked = lint(ayuda_command().env("AYUDA_LANG", "es"));
    assert!(asked.status.success(), "{}", stderr(&asked));
    assert!(stdout(&asked).contains(spanish), "{}", stdout(&asked));
    assert!(
        stderr(&asked).contains("sin --model no se han comprobado"),
        "{}",
        stderr(&asked)
    );

    // A Spanish machine's locale, with no AYUDA_LANG.
    let locale = lint(
        ayuda_command()
            .env_remove("AYUDA_LANG")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "es_ES.UTF-8"),
    );
    assert!(stdout(&locale).contains(spanish), "{}", stdout(&locale));

    // AYUDA_LANG wins over the locale; an English or unknown locale is English.
    let en = lint(ayuda_command().env("LC_ALL", "es_ES.UTF-8"));
    assert!(stdout(&en).contains(english), "{}", stdout(&en));
    let other = lint(
        ayuda_command()
            .env_remove("AYUDA_LANG")
            .env("LC_ALL", "fr_FR.UTF-8")
            .env("LANG", "es_ES.UTF-8"),
    );
    assert!(stdout(&other).contains(english), "{}", stdout(&other));

    // An error, the library's included, and a build's report.
    let tmp = tempfile::tempdir().unwrap();
    let missing = piped(
        ayuda_command()
            .env("AYUDA_LANG", "es")
            .current_dir(tmp.path())
            .args(["lint", "nope.csv"]),
        b"",
    );
    assert_fails(
        &missing,
        "ayuda: error: nope.csv: no existe ese archivo ni esa carpeta",
    );
    let kb = tmp.path().join("kb.bin");
    let built = piped(
        ayuda_command().env("AYUDA_LANG", "es").args([
            "build",
            faq.to_str().unwrap(),
            "--model",
            packed_file().to_str().unwrap(),
            "--out",
            kb.to_str().unwrap(),
        ]),
        b"",
    );
    assert!(built.status.success(), "{}", stderr(&built));
    assert!(
        stderr(&built).contains("ayuda: creada ")
            && stderr(&built).contains("(4 entradas, 6 formas de preguntar,"),
        "{}",
        stderr(&built)
    );
    assert!(
        !stderr(&built).contains("ayuda: built"),
        "{}",
        stderr(&built)
    );
}

#[test]
fn a_spanish_owner_reads_the_librarys_findings_errors_and_reasons_in_spanish() {
    let tmp = tempfile::tempdir().unwrap();
    let in_tmp = |lang: &str| {
        let mut command = ayuda_command();
        command.env("AYUDA_LANG", lang).current_dir(tmp.path());
        command
    };
    let stdout = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    // No answer, one question under two entries, two entries with one answer.
    std::fs::write(
        tmp.path().join("faq.csv"),
        "id,question,answer\npay,Can I pay by card?,\ncard,can I pay by card,Yes.\nhours,Opening hours?,Yes.\n",
    )
    .unwrap();
    let spanish = piped(in_tmp("es").args(["lint", "faq.csv"]), b"");
    let said = stdout(&spanish);
    for line in [
        "faq.csv:2: error: la entrada \"pay\" no tiene respuesta; escríbela o quita la entrada",
        "faq.csv:3: error: la pregunta \"can I pay by card\" está en las entradas \"pay\" (faq.csv:2) y \"card\"; déjala solo en una",
        "faq.csv:4: aviso: las entradas \"card\" y \"hours\" (faq.csv:3) tienen la misma respuesta; dales un mismo id para que sus preguntas sean formas de preguntar de una sola entrada",
    ] {
        assert!(said.lines().any(|l| l == line), "{line:?} in:\n{said}");
    }
    assert!(
        !said.contains("entry") && !said.contains("warning"),
        "{said}"
    );
    // The English is as it was.
    let english = piped(in_tmp("en").args(["lint", "faq.csv"]), b"");
    assert!(
        stdout(&english).lines().any(|l| l
            == "faq.csv:2: error: entry \"pay\" has no answer; write one, or remove the entry"),
        "{}",
        stdout(&english)
    );

    // A source that cannot be read.
    std::fs::write(tmp.path().join("empty.csv"), "question,answer\n,Sí\n").unwrap();
    let broken = piped(in_tmp("es").args(["lint", "empty.csv"]), b"");
    assert_fails(
        &broken,
        "ayuda: error: empty.csv:2: la pregunta está vacía\n",
    );
    let broken = piped(in_tmp("en").args(["lint", "empty.csv"]), b"");
    assert_fails(
        &broken,
        "ayuda: error: empty.csv:2: the question is empty\n",
    );

    // A build refused for an entry without an answer.
    let models = packed_file().parent().unwrap();
    let refused = piped(
        in_tmp("es")
            .env("AYUDA_MODELS", models)
            .args(["build", "faq.csv", "--out", "faq.kb"]),
        b"",
    );
    assert_fails(
        &refused,
        "ayuda: error: creando faq.kb: faq.csv:2: la entrada \"pay\" no tiene respuesta; escríbela o quita la entrada\n",
    );

    // A build: the findings it warns of, why the model, why the default thresholds.
    std::fs::write(
        tmp.path().join("faq.csv"),
        "id,question,answer\npay,Can I pay by card?,Yes.\ncard,can I pay by card,Any card.\nhours,Opening hours?,9 to 5.\n",
    )
    .unwrap();
    let built = piped(
        in_tmp("es")
            .env("AYUDA_MODELS", models)
            .args(["build", "faq.csv", "--out", "faq.kb"]),
        b"",
    );
    let said = stderr(&built);
    assert!(built.status.success(), "{said}");
    for part in [
        "ayuda: aviso: faq.csv:3: la pregunta \"can I pay by card\" está en las entradas \"pay\" (faq.csv:2) y \"card\"; déjala solo en una\n",
        "(las 3 entradas están en inglés)\n",
        "ayuda: umbrales por defecto: ",
        " entradas tienen dos o más formas de preguntar; para calibrar todos los umbrales hacen falta ",
    ] {
        assert!(said.contains(part), "{part:?} in:\n{said}");
    }
    assert!(!said.contains("entries"), "{said}");
}

/// A bad bundle, a bad model file and bad contact settings are said in the owner's language;
/// the English is as it was.
#[test]
fn a_spanish_owner_reads_bad_bundles_models_and_contact_settings_in_spanish() {
    let tmp = tempfile::tempdir().unwrap();
    let in_tmp = |lang: &str| {
        let mut command = ayuda_command();
        command
            .env("AYUDA_LANG", lang)
            .env("AYUDA_MODELS", packed_file().parent().unwrap())
            .current_dir(tmp.path());
        command
    };
    let says = |o: &Output, spanish: &str, english: &str| {
        assert_fails(o, spanish);
        assert!(!stderr(o).contains(english), "{}", stderr(o));
    };

    // A bundle cut short, and a file that is no bundle at all.
    std::fs::write(tmp.path().join("cut.kb"), b"AYUDAKB\0").unwrap();
    std::fs::write(tmp.path().join("notes.kb"), b"my notes").unwrap();
    let ask = |lang: &str, kb: &str| {
        piped(
            in_tmp(lang).args(["ask", "--early", "--kb", kb, "¿Abrís?"]),
            b"",
        )
    };
    says(
        &ask("es", "cut.kb"),
        "ayuda: error: cut.kb: la base de conocimiento está incompleta (8 bytes, se esperaban ",
        "truncated",
    );
    assert_fails(
        &ask("en", "cut.kb"),
        "ayuda: error: cut.kb: the knowledge base is truncated (8 bytes, expected ",
    );
    says(
        &ask("es", "notes.kb"),
        "notes.kb: no es una base de conocimiento de ayuda (no empieza por la firma AYUDAKB); crea una con `ayuda build",
        "not an ayuda knowledge base",
    );

    // A model file that is not one.
    std::fs::write(tmp.path().join("notes.ayuda"), b"my notes").unwrap();
    let embed = |lang: &str| {
        piped(
            in_tmp(lang).args(["embed", "--model", "notes.ayuda"]),
            b"hola\n",
        )
    };
    says(
        &embed("es"),
        "notes.ayuda: no es un archivo de modelo de ayuda (no empieza por la firma AYUDAMDL)",
        "not an ayuda model file",
    );
    assert_fails(
        &embed("en"),
        "notes.ayuda: not an ayuda model file (it does not start with the AYUDAMDL signature)",
    );

    // Contact settings with a bad phone, and with hours in a time zone that does not exist.
    let faq = fixture("faq.csv");
    let build = |lang: &str, contact: &str| {
        piped(
            in_tmp(lang).args([
                "build",
                faq.to_str().unwrap(),
                "--contact",
                contact,
                "--out",
                "faq.kb",
            ]),
            b"",
        )
    };
    std::fs::write(tmp.path().join("phone.toml"), "[open]\nphone = \"12\"\n").unwrap();
    says(
        &build("es", "phone.toml"),
        "ayuda: error: datos de contacto phone.toml: open.phone: \"12\" no es un número de teléfono (de 6 a 15 cifras, espacios, guiones y un + delante)\n",
        "phone number",
    );
    assert_fails(
        &build("en", "phone.toml"),
        "ayuda: error: contact settings phone.toml: open.phone: \"12\" is not a phone number (6 to 15 digits, spaces, dashes, a leading +)\n",
    );
    std::fs::write(
        tmp.path().join("zone.toml"),
        "time_zone = \"Mars/Olympus\"\n[hours]\nmonday = \"09:00-14:00\"\n",
    )
    .unwrap();
    says(
        &build("es", "zone.toml"),
        "ayuda: error: datos de contacto zone.toml: horario: la zona horaria \"Mars/Olympus\" no está en la base de datos de zonas horarias de la IANA (por ejemplo Europe/Madrid, America/Mexico_City)\n",
        "time zone database",
    );
    std::fs::write(
        tmp.path().join("hours.toml"),
        "time_zone = \"Europe/Madrid\"\n[hours]\nmonday = \"mornings\"\n",
    )
    .unwrap();
    says(
        &build("es", "hours.toml"),
        "horario: monday: \"mornings\" no es un horario; escríbelo como \"09:00-14:00, 17:00-20:30\" o \"cerrado\"\n",
        "is not opening hours",
    );
}

/// `--help` is said in the owner's language, clap's own words included; the English is as it
/// was.
#[test]
fn the_help_speaks_the_owners_language() {
    let help = |lang: &str, args: &[&str]| {
        let out = piped(ayuda_command().env("AYUDA_LANG", lang).args(args), b"");
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let es = help("es", &["build", "--help"]);
    for part in [
        "Crea una base de conocimiento a partir de las fuentes de preguntas frecuentes con un modelo\n",
        "Uso: ayuda build [OPTIONS] --out <OUT> <SOURCES>...\n",
        "\nArgumentos:\n",
        "\nOpciones:\n",
        "Dónde escribir la base de conocimiento\n",
        "Muestra la ayuda\n",
    ] {
        assert!(es.contains(part), "{part:?} in:\n{es}");
    }
    for english in [
        "Usage",
        "Options",
        "Print help",
        "Where to write the bundle",
    ] {
        assert!(!es.contains(english), "{english:?} in:\n{es}");
    }
    let es = help("es", &["model", "pack", "--help"]);
    assert!(
        es.contains("[por defecto: q4] [valores posibles: f32, q8, q4]"),
        "{es}"
    );
    let es = help("es", &["--help"]);
    assert!(
        es.contains("Muestra este mensaje o la ayuda de los subcomandos indicados")
            && es.contains("\nComandos:\n"),
        "{es}"
    );

    let en = help("en", &["build", "--help"]);
    for part in [
        "Build a knowledge-base bundle from FAQ sources with a model\n",
        "Usage: ayuda build [OPTIONS] --out <OUT> <SOURCES>...\n",
        "\nArguments:\n",
        "\nOptions:\n",
        "Where to write the bundle\n",
        "Print help\n",
    ] {
        assert!(en.contains(part), "{part:?} in:\n{en}");
    }
}
