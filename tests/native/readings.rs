//! Each entry read with its answer (`ayuda build`): every bundle carries one reading per entry,
//! calibration decides how much they count and says so, a FAQ with one question per entry
//! counts them and sets its answer threshold from its own simulation, and bundles from before
//! readings load while damaged ones are refused by name.

use ayuda::kb::{Bundle, BundleError};
use ayuda::retrieve::calibrate::Basis;

use crate::util::{
    banking_sample, build_packed, fixture, packed, reframe, root, with_manifest, without_field,
};

/// One BANKING77 training question per category (77 entries), as an FAQ written with one
/// question per entry.
fn one_question_per_entry(dir: &std::path::Path) -> std::path::PathBuf {
    let train = root().join("../shared/data/banking77/train.csv");
    let mut reader = csv::Reader::from_path(&train).expect("../shared/data beside the repo");
    let mut first: std::collections::BTreeMap<String, String> = Default::default();
    for r in reader.records() {
        let r = r.unwrap();
        first.entry(r[1].to_string()).or_insert(r[0].to_string());
    }
    let file = dir.join("one-question.csv");
    let mut w = csv::Writer::from_path(&file).unwrap();
    w.write_record(["id", "question", "answer"]).unwrap();
    for (category, question) in &first {
        let topic = category.replace('_', " ");
        w.write_record([category.as_str(), question, &format!("About {topic}.")])
            .unwrap();
    }
    w.flush().unwrap();
    file
}

#[test]
fn every_entry_is_read_and_calibration_decides_how_much_it_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = banking_sample(tmp.path());
    let out = tmp.path().join("kb.bin");
    let log = build_packed(&sample, &out, &[]);
    assert!(log.contains("your answers' text"), "{log}");
    let b = Bundle::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    let readings = b.index().readings().expect("readings");
    assert_eq!(readings.len(), b.entries().len());
    let Basis::KnowledgeBase { answer_tried, .. } = &b.calibration().basis else {
        panic!("{:?}", b.calibration());
    };
    assert_eq!(answer_tried[0].weight, 0.0, "{answer_tried:?}");
    assert!(answer_tried
        .iter()
        .any(|t| t.weight == b.policy().answer_weight));
}

#[test]
fn a_faq_with_one_question_per_entry_weighs_its_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let faq = one_question_per_entry(tmp.path());
    let out = tmp.path().join("kb.bin");
    let log = build_packed(&faq, &out, &[]);
    assert!(log.contains("default thresholds"), "{log}");
    assert!(log.contains("your answers' text counts 25%"), "{log}");
    let b = Bundle::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(b.policy().answer_weight, 0.25);
    // answer_at from the simulation: at most 20% of missing topics answered, by one standard
    // error, at the threshold kept; and more than that one step below it.
    let Basis::Defaults {
        unknown_answered: Some(u),
        ..
    } = b.calibration().basis
    else {
        panic!("{:?}", b.calibration());
    };
    assert!(u <= 0.2, "{u}");
    // Asked in the owner's words, each entry is its own best match and clears the threshold.
    let e = &b.entries()[5];
    let question = e.phrasings[0].clone();
    let vector = packed().embed(&question).unwrap().vector;
    let (ranked, _) = b.rank_and_decide(&question, vector, None);
    assert_eq!(b.entries()[ranked[0].entry].id, e.id);
    assert!(ranked[0].score >= b.policy().answer_at, "{ranked:?}");
}

#[test]
fn a_bundle_from_before_readings_still_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("kb.bin");
    build_packed(&fixture("faq.csv"), &out, &[]);
    let bytes = std::fs::read(&out).unwrap();
    let current = Bundle::from_bytes(&bytes).unwrap();
    assert_eq!(current.policy().answer_weight, 0.0);
    let v3 = with_manifest(&bytes, |m| without_field(m, "readings"));
    let old = Bundle::from_bytes(&reframe(v3, 3)).expect("version 3 still loads");
    assert!(old.index().readings().is_none());
    let question = "¿En cuántos días me llega el pedido?";
    let vector = packed().embed(question).unwrap().vector;
    assert_eq!(
        old.decide(question, vector.clone(), None),
        current.decide(question, vector, None)
    );
}

#[test]
fn damaged_readings_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("kb.bin");
    build_packed(&fixture("faq.csv"), &out, &[]);
    let bytes = std::fs::read(&out).unwrap();
    let counting = |m: &str| {
        m.replace(
            "\"trained_weight\":0.0",
            "\"trained_weight\":0.0,\"answer_weight\":0.5",
        )
    };
    // A policy counting readings loads with them...
    let ok = Bundle::from_bytes(&reframe(with_manifest(&bytes, counting), 4)).unwrap();
    assert_eq!(ok.policy().answer_weight, 0.5);
    // ...and is refused without them.
    let none = with_manifest(&bytes, |m| without_field(&counting(m), "readings"));
    let err = Bundle::from_bytes(&reframe(none, 4)).unwrap_err();
    assert!(matches!(err, BundleError::Malformed(_)));
    assert!(err.to_string().contains("readings"), "{err}");
    // Readings one entry short.
    let short = with_manifest(&bytes, |m| {
        let at = m.find("\"readings\":").unwrap();
        let len_at = at + m[at..].find("\"len\":").unwrap() + "\"len\":".len();
        let digits = m[len_at..].find(|c: char| !c.is_ascii_digit()).unwrap();
        let len: usize = m[len_at..len_at + digits].parse().unwrap();
        format!("{}{}{}", &m[..len_at], len - 388, &m[len_at + digits..])
    });
    let err = Bundle::from_bytes(&reframe(short, 4)).unwrap_err();
    assert!(err.to_string().contains("readings"), "{err}");
    // A share out of range.
    let wild = with_manifest(&bytes, |m| {
        m.replace(
            "\"trained_weight\":0.0",
            "\"trained_weight\":0.0,\"answer_weight\":1.5",
        )
    });
    let err = Bundle::from_bytes(&reframe(wild, 4)).unwrap_err();
    assert!(err.to_string().contains("answer_weight"), "{err}");
}
