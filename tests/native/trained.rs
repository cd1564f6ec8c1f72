//! The answer model trained on the owner's phrasings (`ayuda build`): what the build decides
//! and prints, that it is reproducible, and that bundles with and without one load (or are
//! refused by name when its weights are damaged).

use ayuda::kb::{Bundle, BundleError};
use ayuda::retrieve::calibrate::Basis;

use crate::util::{
    banking_sample, build_packed, bundle_of, fixture, packed, reframe, with_manifest, without_field,
};

/// Where the manifest says the trained model's bytes start, within the whole file.
fn head_offset(bytes: &[u8]) -> usize {
    let manifest_len = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let manifest: serde_json::Value =
        serde_json::from_slice(&bytes[24..24 + manifest_len]).unwrap();
    24 + manifest_len
        + manifest["head"]["offset"]
            .as_u64()
            .expect("a trained model") as usize
}

#[test]
fn the_build_decides_by_cross_validation_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = banking_sample(tmp.path());
    let log = build_packed(&sample, &tmp.path().join("kb.bin"), &[]);
    assert!(
        log.contains("answer model trained on your phrasings"),
        "{log}"
    );
    let b = bundle_of(&sample);
    let Basis::KnowledgeBase { trained_tried, .. } = &b.calibration().basis else {
        panic!("{:?}", b.calibration());
    };
    assert!(
        trained_tried.len() > 2 && trained_tried[0].weight == 0.0,
        "{trained_tried:?}"
    );
    // The weight kept is one tried, and a trained model travels exactly when it counts.
    let weight = b.policy().trained_weight;
    assert!(trained_tried.iter().any(|t| t.weight == weight));
    assert_eq!(b.index().head().is_some(), weight > 0.0);

    // Too few paraphrases to cross-validate: no trained model, and nothing said about one.
    let log = build_packed(&fixture("faq.csv"), &tmp.path().join("small.bin"), &[]);
    assert!(!log.contains("answer model"), "{log}");
}

#[test]
fn training_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = banking_sample(tmp.path());
    let (a, b) = (tmp.path().join("a.bin"), tmp.path().join("b.bin"));
    build_packed(&sample, &a, &["--trained-weight", "0.5"]);
    let log = build_packed(&sample, &b, &["--trained-weight", "0.5"]);
    assert!(log.contains("set by you: trained_weight"), "{log}");
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(
        bytes,
        std::fs::read(&b).unwrap(),
        "same sources, same bundle bytes"
    );
    let bundle = Bundle::from_bytes(&bytes).unwrap();
    assert!(bundle.index().head().is_some());
    assert_eq!(bundle.policy().trained_weight, 0.5);
}

#[test]
fn a_bundle_from_before_trained_models_still_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("kb.bin");
    build_packed(&fixture("faq.csv"), &out, &[]);
    let current = Bundle::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert!(current.index().head().is_none());
    // A version 1 file has neither the head nor the policy's trained_weight.
    let v1 = with_manifest(&std::fs::read(&out).unwrap(), |m| {
        assert!(m.contains("\"trained_weight\":0.0"), "{m}");
        m.replace(",\"trained_weight\":0.0", "")
    });
    let old = Bundle::from_bytes(&reframe(v1, 1)).expect("version 1 still loads");
    assert_eq!(old.policy(), current.policy());
    let vector = packed()
        .embed("¿En cuántos días me llega el pedido?")
        .unwrap()
        .vector;
    assert_eq!(
        old.decide("¿En cuántos días me llega el pedido?", vector.clone(), None),
        current.decide("¿En cuántos días me llega el pedido?", vector, None)
    );
}

#[test]
fn damaged_trained_weights_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("kb.bin");
    build_packed(
        &banking_sample(tmp.path()),
        &out,
        &["--trained-weight", "1"],
    );
    let bytes = std::fs::read(&out).unwrap();
    let at = head_offset(&bytes);
    // A bias that is not a number: with a matching checksum, as a crafted file would have.
    let mut nan = bytes.clone();
    nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let err = Bundle::from_bytes(&reframe(nan, 2)).unwrap_err();
    assert!(matches!(err, BundleError::Malformed(_)));
    assert!(err.to_string().contains("trained answer model"), "{err}");
    // A policy counting a model the file does not have.
    let cut = with_manifest(&bytes, |m| without_field(m, "head"));
    let err = Bundle::from_bytes(&reframe(cut, 2)).unwrap_err();
    assert!(err.to_string().contains("trained answer model"), "{err}");
}
