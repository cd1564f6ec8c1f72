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

/// `bytes` (a bundle whose trained model is the data's last part) as version 4 wrote it: the
/// model without its "none of them" row, the confidence without that feature's weight.
fn as_version_4(bytes: &[u8]) -> Vec<u8> {
    let manifest_len = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let manifest: serde_json::Value =
        serde_json::from_slice(&bytes[24..24 + manifest_len]).unwrap();
    let entries = manifest["entries"].as_array().unwrap().len();
    let dim = manifest["model"]["dim"].as_u64().unwrap() as usize;
    let (offset, len) = (
        manifest["head"]["offset"].as_u64().unwrap() as usize,
        manifest["head"]["len"].as_u64().unwrap() as usize,
    );
    let data = &bytes[24 + manifest_len..bytes.len() - 4];
    assert_eq!(offset + len, data.len(), "the trained model comes last");
    let rows = entries + 1;
    assert_eq!(len, rows * (8 + dim));
    let head = &data[offset..];
    let (bias, rest) = head.split_at(rows * 4);
    let (scales, codes) = rest.split_at(rows * 4);
    let mut older = data[..offset].to_vec();
    older.extend(&bias[..entries * 4]);
    older.extend(&scales[..entries * 4]);
    older.extend(&codes[..entries * dim]);
    let mut out = bytes[..24 + manifest_len].to_vec();
    out.extend(older);
    out.extend([0; 4]);
    let out = with_manifest(&out, |m| {
        let m = m.replace(
            &format!("\"len\":{len}}}"),
            &format!("\"len\":{}}}", entries * (8 + dim)),
        );
        // The confidence's last weight: 7 of them before version 5.
        match m.find("\"confidence\":{\"weights\":[") {
            Some(at) => {
                let close = at + m[at..].find(']').unwrap();
                let last = m[..close].rfind(',').unwrap();
                format!("{}{}", &m[..last], &m[close..])
            }
            None => m,
        }
    });
    reframe(out, 4)
}

#[test]
fn a_bundle_from_before_the_none_row_still_answers_and_a_mislabelled_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("kb.bin");
    let sample = banking_sample(tmp.path());
    build_packed(&sample, &out, &["--trained-weight", "0.5"]);
    let bytes = std::fs::read(&out).unwrap();
    let current = Bundle::from_bytes(&bytes).unwrap();
    let old = Bundle::from_bytes(&as_version_4(&bytes)).expect("version 4 still loads");
    assert_eq!(
        old.index().head().unwrap().rows(),
        ayuda::retrieve::HeadRows::Entries
    );
    assert_eq!(
        current.index().head().unwrap().rows(),
        ayuda::retrieve::HeadRows::EntriesAndNone
    );
    // Asked in the owner's words, the older model still answers with the entry.
    let entry = &old.entries()[3];
    let question = entry.phrasings[0].clone();
    let vector = packed().embed(&question).unwrap().vector;
    let (ranked, _) = old.rank_and_decide(&question, vector, None);
    assert_eq!(old.entries()[ranked[0].entry].id, entry.id);
    assert!(
        ranked[0].trained > 0.5 && ranked[0].none == 0.0,
        "{ranked:?}"
    );
    // Today's file called version 4: one row more than version 4 has, refused by name.
    let err = Bundle::from_bytes(&reframe(bytes, 4)).unwrap_err();
    assert!(matches!(err, BundleError::Malformed(_)));
    assert!(err.to_string().contains("trained answer model"), "{err}");
}
