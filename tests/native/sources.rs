//! Reading the owner's FAQ files (tests/fixtures/kb: a small bakery's FAQ in CSV, Markdown and
//! JSON, Spanish and English) into merged entries.

use std::path::PathBuf;

use ayuda::native::read_sources;

use crate::util::root;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/kb").join(name)
}

#[test]
fn csv_markdown_and_json_merge_into_entries() {
    let entries =
        read_sources(&[fixture("faq.csv"), fixture("faq.md"), fixture("faq.json")]).unwrap();
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "envio-plazo",
            "shipping-time",
            "alergenos",
            "reclamacion",
            "puedo-cambiar-mi-pedido",
            "haceis-tartas-por-encargo",
            "can-i-change-my-order",
            "horario"
        ]
    );
    let envio = &entries[0];
    // Two CSV rows and one JSON object share the id: three ways to ask one thing.
    assert_eq!(
        envio.phrasings,
        [
            "¿Cuánto tarda el envío?",
            "¿Cuándo llega mi pedido?",
            "¿Cuántos días tarda un pedido?"
        ]
    );
    assert!(envio
        .answer
        .contains("[envíos](https://panaderia-luna.example/envios)"));
    assert_eq!(envio.lang.as_deref(), Some("es"));
    assert!(
        entries
            .iter()
            .find(|e| e.id == "reclamacion")
            .unwrap()
            .handoff
    );
    let change = entries
        .iter()
        .find(|e| e.id == "puedo-cambiar-mi-pedido")
        .unwrap();
    assert_eq!(change.category.as_deref(), Some("Pedidos"));
    assert!(change
        .answer
        .contains("[tu cuenta](https://panaderia-luna.example/cuenta)"));
    assert!(
        change.origin.to_string().ends_with("faq.md:5"),
        "{}",
        change.origin
    );
}

#[test]
fn a_50_mb_source_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("dump.csv");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(50_000_000)
        .unwrap();
    let err = read_sources(&[path]).unwrap_err().to_string();
    assert!(
        err.contains("dump.csv") && err.contains("50.0 MB") && err.contains("at most 16 MB"),
        "{err}"
    );
}

#[test]
fn a_missing_file_and_a_bad_row_name_the_file_and_line() {
    let err = read_sources(&[fixture("nope.csv")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope.csv"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("faq.csv");
    std::fs::write(&path, "question,answer,id\nok?,yes,1\n\nbad?,a, b,2\n").unwrap();
    let err = read_sources(&[path]).unwrap_err().to_string();
    assert!(
        err.contains("faq.csv:4:") && err.contains("4 fields"),
        "{err}"
    );
}

#[test]
fn conflicting_answers_across_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("other.json");
    std::fs::write(
        &path,
        r#"[{"id": "horario", "question": "¿Abrís los domingos?", "answer": "No."}]"#,
    )
    .unwrap();
    let err = read_sources(&[fixture("faq.json"), path])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("other.json:1") && err.contains("different answer"),
        "{err}"
    );
}

#[test]
fn a_saved_faqpage_page_is_read_with_its_canonical_link() {
    let entries = read_sources(&[fixture("site/envios/index.html")]).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].phrasings, ["¿Cuánto tarda el envío?"]);
    assert_eq!(entries[1].answer, "<p>4,90 €, gratis a partir de 40 €.</p>");
    assert_eq!(
        entries[0].url.as_deref(),
        Some("https://panaderia-luna.example/envios/")
    );
    assert_eq!(entries[0].lang.as_deref(), Some("es"));
    assert_eq!(entries[0].origin.line, 8, "where the JSON-LD data starts");
}

#[test]
fn a_built_site_folder_gives_every_page_s_faq_with_its_path() {
    let entries = read_sources(&[fixture("site")]).unwrap();
    let found: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|e| (e.phrasings[0].as_str(), e.url.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "¿Cuánto tarda el envío?",
                Some("https://panaderia-luna.example/envios/")
            ),
            (
                "¿Cuánto cuesta el envío?",
                Some("https://panaderia-luna.example/envios/")
            ),
            ("¿Tenéis pan sin gluten?", Some("/")),
            ("¿Abrís los domingos?", Some("/")),
        ]
    );
}

#[test]
fn html_without_faq_data_says_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("about.html");
    std::fs::write(
        &page,
        "<html><body><h1>About us</h1><p>Since 1987.</p></body></html>",
    )
    .unwrap();
    let err = read_sources(&[page]).unwrap_err().to_string();
    assert!(
        err.contains("about.html") && err.contains("no FAQ data"),
        "{err}"
    );
    let err = read_sources(&[tmp.path().to_path_buf()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no FAQ data in its 1 HTML pages"), "{err}");
}

/// The shortest of seven reads of `text` as the source `name`: the least disturbed by whatever
/// else the machine runs.
fn read_time(name: &str, text: &str) -> std::time::Duration {
    (0..7)
        .map(|_| {
            let started = std::time::Instant::now();
            let rows = ayuda::kb::sources::read(name, text.as_bytes()).unwrap();
            let entries = ayuda::kb::merge(rows).unwrap();
            assert!(!entries.is_empty());
            started.elapsed()
        })
        .min()
        .unwrap()
}

#[test]
fn sources_eight_times_as_long_take_about_eight_times_as_long_not_sixty_four() {
    // Each entry's line number used to be counted from the file's start (and an HTML entry's
    // text searched from it): n entries cost n², 40k marked sections 17 s.
    type Make = fn(usize) -> String;
    let kinds: [(&str, Make); 5] = [
        ("faq.md", |n| {
            (0..n)
                .map(|i| format!("## Question {i}?\n\nAnswer {i}.\n\n"))
                .collect()
        }),
        ("faq.csv", |n| {
            "id,question,answer\n".to_string()
                + &(0..n)
                    .map(|i| format!("q{i},Question {i}?,Answer {i}.\n"))
                    .collect::<String>()
        }),
        // Every row one entry's: its phrasings used to be searched one by one for a repeat.
        ("faq.csv", |n| {
            "id,question,answer\n".to_string()
                + &(0..n)
                    .map(|i| format!("same,Question {i}?,Answer.\n"))
                    .collect::<String>()
        }),
        ("faq.html", |n| {
            format!(
                "<html><body>{}</body></html>",
                (0..n)
                    .map(|i| format!("<section data-ayuda-faq><h3>Question {i}?</h3><p>Answer {i}.</p></section>"))
                    .collect::<String>()
            )
        }),
        ("faq.json", |n| {
            format!(
                "[{}]",
                (0..n)
                    .map(|i| format!(
                        "{{\"question\": \"Question {i}?\", \"answer\": \"Answer {i}.\"}}"
                    ))
                    .collect::<Vec<_>>()
                    .join(",\n")
            )
        }),
    ];
    for (name, make) in kinds {
        // Sizes whose reads take milliseconds, not microseconds a context switch can outweigh.
        let (small, large) = (make(5000), make(40000));
        // Linear is 8, quadratic 64; 24 leaves room for a loaded machine. Other tests run
        // beside this one, so one measurement can be unlucky (the larger read once took 9 times
        // as long with a limit of 8): up to three tries, where quadratic fails every one.
        let mut tries: Vec<f64> = Vec::new();
        while tries.len() < 3 && tries.last().is_none_or(|&ratio| ratio >= 24.0) {
            tries.push(
                read_time(name, &large).as_secs_f64()
                    / read_time(name, &small).as_secs_f64().max(1e-6),
            );
        }
        assert!(
            tries.last().is_some_and(|&r| r < 24.0),
            "{name}: 40k entries take x{tries:.1?} as long as 5k"
        );
    }
}
