//! The learned answer confidence (`ayuda build`): kept where cross-validation shows it answers
//! more, said so, the one deciding answers, reproducible, set aside by the owner's own
//! thresholds, and refused by name when a bundle's is damaged.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ayuda::kb::{Bundle, BundleError};
use ayuda::retrieve::calibrate::Basis;
use ayuda::retrieve::Outcome;

use crate::util::{
    banking_out_of_scope_kb, build_packed, fixture, packed, reframe, root, with_manifest,
};

/// BANKING77's out-of-scope variant, built once at default settings: (its folder, the
/// bundle, what the build printed). Thousands of phrasings: where the confidence pays. In
/// Cargo's folder for integration tests' files, since the tests share it.
fn built() -> &'static (PathBuf, PathBuf, String) {
    static BUILT: OnceLock<(PathBuf, PathBuf, String)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("confidence");
        std::fs::create_dir_all(&dir).unwrap();
        let kb = banking_out_of_scope_kb(&dir);
        let out = dir.join("kb.bin");
        let log = build_packed(&kb, &out, &[]);
        (dir, out, log)
    })
}

/// BANKING77 test questions of the sample's categories and of others (topics it lacks).
fn questions() -> Vec<String> {
    let test = root().join("../shared/data/banking77/test.csv");
    let mut reader = csv::Reader::from_path(&test).expect("../shared/data beside the repo");
    reader
        .records()
        .step_by(20)
        .map(|r| r.unwrap()[0].to_string())
        .collect()
}

#[test]
fn the_build_learns_a_confidence_where_it_answers_more_and_it_decides() {
    let (tmp, out, log) = built();
    assert!(
        log.contains("a confidence learned from your phrasings decides answers")
            && log.contains("answers when the best entry's learned confidence is >="),
        "{log}"
    );
    let bytes = std::fs::read(out).unwrap();
    let again = tmp.join("again.bin");
    build_packed(&tmp.join("banking-oos.csv"), &again, &[]);
    assert_eq!(
        bytes,
        std::fs::read(&again).unwrap(),
        "same sources, same bundle bytes"
    );

    let bundle = Bundle::from_bytes(&bytes).unwrap();
    let confidence = bundle.policy().confidence.expect("a learned confidence");
    let Basis::KnowledgeBase {
        expected_correct,
        expected_wrong,
        thresholds_alone: Some(alone),
        ..
    } = bundle.calibration().basis
    else {
        panic!("{:?}", bundle.calibration());
    };
    assert!(expected_correct > alone, "{expected_correct} vs {alone}");
    assert!(expected_wrong <= 0.05, "{expected_wrong}");

    // Every answer clears the confidence; a best entry sharing a word that does not clear it
    // is never answered.
    let (mut answered, mut held) = (0, 0);
    for q in questions() {
        let vector = packed().embed(&q).unwrap().vector;
        let (ranked, outcome) = bundle.rank_and_decide(&q, vector, None);
        let sure = confidence.answers(&ranked);
        match outcome {
            Outcome::Answer(_) => {
                assert!(sure, "{q}");
                answered += 1;
            }
            _ if ranked[0].lexical > 0.0 => {
                assert!(!sure, "{q}");
                held += 1;
            }
            _ => {}
        }
    }
    assert!(
        answered > 10 && held > 10,
        "{answered} answered, {held} held"
    );

    // Too few paraphrases to learn from: nothing learned, nothing said.
    let small = tempfile::tempdir().unwrap();
    let log = build_packed(&fixture("faq.csv"), &small.path().join("small.bin"), &[]);
    assert!(!log.contains("confidence"), "{log}");
}

#[test]
fn the_owners_thresholds_set_the_confidence_aside() {
    let (tmp, _, _) = built();
    let out = tmp.join("owner.bin");
    let log = build_packed(&tmp.join("banking-oos.csv"), &out, &["--answer-at", "0.7"]);
    assert!(
        log.contains("answers when the best entry scores >= 0.700")
            && log.contains("set by you: answer_at"),
        "{log}"
    );
    let bundle = Bundle::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(bundle.policy().confidence, None);
}

#[test]
fn a_damaged_confidence_is_refused_by_name() {
    let bytes = std::fs::read(&built().1).unwrap();
    let edit = |change: &dyn Fn(&mut serde_json::Value)| {
        let edited = with_manifest(&bytes, |m| {
            let mut v: serde_json::Value = serde_json::from_str(m).unwrap();
            change(&mut v["calibration"]["policy"]["confidence"]);
            v.to_string()
        });
        // With a matching checksum, as a crafted file would have.
        Bundle::from_bytes(&reframe(edited, 3)).unwrap_err()
    };
    // A bias past f32's range reads as infinity.
    let err = edit(&|c| c["bias"] = serde_json::json!(1e39));
    assert!(matches!(err, BundleError::Malformed(_)));
    assert!(
        err.to_string()
            .contains("a weight of the learned confidence is not a finite number"),
        "{err}"
    );
    let err = edit(&|c| c["answer_at"] = serde_json::json!(1.5));
    assert!(
        err.to_string()
            .contains("the learned confidence's answer_at must be between 0 and 1"),
        "{err}"
    );
    let err = edit(&|c| c["weights"] = serde_json::json!([1.0, 2.0]));
    assert!(err.to_string().contains("manifest"), "{err}");
}
