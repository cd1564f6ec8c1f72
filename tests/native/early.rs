//! The early tier as a visitor on a slow network meets it: answers from a question's words
//! alone, before the model has arrived, under thresholds the build calibrated for words
//! (`Bundle::decide_early`, `ayuda eval --early`).

use ayuda::kb::Bundle;
use ayuda::retrieve::calibrate::Basis;
use ayuda::retrieve::Outcome;

use crate::util::{ayuda, banking_sample, bundle_of, fixture, packed, packed_file, stderr};

fn early(b: &Bundle, text: &str) -> Outcome {
    b.decide_early(text, None).expect("an early tier").1
}

#[test]
fn words_alone_answer_a_clear_question_and_hold_back_the_rest() {
    let b = bundle_of(&fixture("faq.csv"));
    assert!(
        matches!(b.early().unwrap().basis, Basis::Defaults { .. }),
        "four entries"
    );
    // Every word of the question is in one entry's phrasing.
    match early(&b, "¿Cuánto tarda el envío?") {
        Outcome::Answer(s) => assert_eq!(b.entries()[s.entry].id, "envio-plazo"),
        other => panic!("{other:?}"),
    }
    // A paraphrase sharing no word is for the model, not for words alone; the full tier
    // answers it once the model is there.
    let paraphrase = "¿En cuántos días me llega el pedido?";
    assert!(!matches!(early(&b, paraphrase), Outcome::Answer(_)));
    let vector = packed().embed(paraphrase).unwrap().vector;
    assert!(matches!(
        b.decide(paraphrase, vector, None),
        Outcome::Answer(_)
    ));
    assert_eq!(
        early(&b, "What is the capital of Mongolia?"),
        Outcome::Escalate
    );
    // It travels in the bundle.
    let back = Bundle::from_bytes(&b.to_bytes()).unwrap();
    assert_eq!(back.early(), b.early());
}

#[test]
fn the_early_thresholds_are_calibrated_on_the_phrasings_for_words() {
    let tmp = tempfile::tempdir().unwrap();
    let b = bundle_of(&banking_sample(tmp.path()));
    let early = b.early().unwrap();
    let Basis::KnowledgeBase { expected_wrong, .. } = early.basis else {
        panic!("{early:?}");
    };
    assert!(expected_wrong <= 0.05, "{expected_wrong}");
    assert_eq!(early.policy.lexical_weight, 1.0, "words only");
    assert_ne!(early.policy, b.policy(), "its own thresholds");
}

#[test]
fn eval_scores_the_early_tier_without_a_model() {
    let tmp = tempfile::tempdir().unwrap();
    let kb = tmp.path().join("kb.bin");
    let o = ayuda(
        &[
            "build",
            fixture("faq.csv").to_str().unwrap(),
            "--model",
            packed_file().to_str().unwrap(),
            "--out",
            kb.to_str().unwrap(),
        ],
        b"",
    );
    assert!(
        stderr(&o).contains("before the model arrives"),
        "{}",
        stderr(&o)
    );
    let queries = tmp.path().join("q.csv");
    std::fs::write(
        &queries,
        "text,label\n¿Cuánto tarda el envío?,envio-plazo\nWhat is the capital of Mongolia?,oos\n",
    )
    .unwrap();
    // No model beside the bundle, none given: the early tier needs none.
    let o = ayuda(
        &[
            "eval",
            "--kb",
            kb.to_str().unwrap(),
            "--queries",
            queries.to_str().unwrap(),
            "--oos-label",
            "oos",
            "--early",
            "--json",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["tier"], "early");
    assert_eq!(r["correct_rate"], 1.0);
    assert_eq!(r["wrong_rate"], 0.0);
}
