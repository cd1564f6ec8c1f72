//! Structure-aware fuzzing of the two files every visitor downloads: valid frames (checksum
//! right, so the parsers get past it, as a crafted file would) whose manifests have numbers
//! replaced by hostile ones, or whose data has bytes changed. Loading must refuse or succeed,
//! never panic; a file that loads must then answer without panicking. `make fuzz` runs many
//! more cases (PROPTEST_CASES) than CI.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use ayuda::kb::Bundle;
use ayuda::model::Encoder;
use proptest::prelude::*;
use serde_json::Value;

use crate::util::{bundle_of, fixture, fuzz_cases, packed_bytes, reframe, with_manifest};

fn bundle_bytes() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| bundle_of(&fixture("faq.csv")).to_bytes())
}

/// Numbers a crafted manifest would try.
fn hostile() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::from(0)),
        Just(Value::from(1)),
        Just(Value::from(-1)),
        Just(Value::from(u32::MAX)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(1u64 << 31)),
        Just(Value::from(1u64 << 53)),
        Just(Value::from(f64::MAX)),
        Just(Value::from(1e-30)),
        any::<u16>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
    ]
}

/// The JSON pointer of every number in `v`, depth first.
fn numbers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Number(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                numbers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                numbers(item, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
}

/// Replaces the numbers of `v` at `picks` (indexes modulo how many there are).
fn replace_numbers(v: &mut Value, picks: &[(usize, Value)]) {
    let mut paths = Vec::new();
    numbers(v, String::new(), &mut paths);
    if paths.is_empty() {
        return;
    }
    for (at, value) in picks {
        if let Some(slot) = v.pointer_mut(&paths[at % paths.len()]) {
            *slot = value.clone();
        }
    }
}

/// `bytes` (a framed file) with numbers of its manifest replaced (and of the JSON string the
/// manifest holds under `nested`, as the model keeps its config.json), the frame's lengths and
/// checksum made right.
fn mutate_manifest(bytes: &[u8], picks: &[(usize, Value)], nested: Option<&str>) -> Vec<u8> {
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let edited = with_manifest(bytes, |text| {
        let mut manifest: Value = serde_json::from_str(text).unwrap();
        let inner = nested.and_then(|k| {
            let text = manifest.get(k)?.as_str()?;
            serde_json::from_str::<Value>(text).ok().map(|v| (k, v))
        });
        match inner {
            // Half of the picks in each, so both get hostile numbers.
            Some((k, mut inner)) => {
                let (outer, nested_picks) = picks.split_at(picks.len() / 2);
                replace_numbers(&mut manifest, outer);
                replace_numbers(&mut inner, nested_picks);
                manifest[k] = Value::String(inner.to_string());
            }
            None => replace_numbers(&mut manifest, picks),
        }
        manifest.to_string()
    });
    reframe(edited, version)
}

/// `bytes` with data bytes changed (after the manifest, before the checksum), checksum right.
fn mutate_data(bytes: &[u8], flips: &[(usize, u8)]) -> Vec<u8> {
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let manifest_len = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let (start, end) = (24 + manifest_len, bytes.len() - 4);
    let mut out = bytes.to_vec();
    if end > start {
        for (at, byte) in flips {
            out[start + at % (end - start)] = *byte;
        }
    }
    reframe(out, version)
}

/// Loads a bundle and, if it loads, asks it things: no panic either way.
fn exercise_bundle(bytes: &[u8]) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(bundle) = Bundle::from_bytes(bytes) {
            let dim = 384;
            for text in ["¿Hacéis envíos a Canarias?", "", "x"] {
                let _ = bundle.decide_early(text, Some("es"));
                let _ = bundle.decide(text, vec![0.05; dim], None);
                let _ = bundle.decide(text, vec![f32::NAN; dim], Some("en"));
            }
        }
    }));
    assert!(outcome.is_ok(), "a mutated bundle panicked");
}

fn exercise_model(bytes: &[u8]) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(encoder) = Encoder::from_packed(bytes) {
            let _ = encoder.embed("hola, ¿abrís los domingos?");
        }
    }));
    assert!(outcome.is_ok(), "a mutated model panicked");
}

proptest! {
    #![proptest_config(fuzz_cases(256))]

    #[test]
    fn fuzz_a_bundle_with_hostile_manifest_numbers_never_panics(
        picks in prop::collection::vec((any::<usize>(), hostile()), 1..4)
    ) {
        exercise_bundle(&mutate_manifest(bundle_bytes(), &picks, None));
    }

    #[test]
    fn fuzz_a_bundle_with_changed_data_never_panics(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..16)
    ) {
        exercise_bundle(&mutate_data(bundle_bytes(), &flips));
    }
}

proptest! {
    // Each loaded model costs tens of milliseconds: fewer cases in CI.
    #![proptest_config(fuzz_cases(48))]

    #[test]
    fn fuzz_a_model_with_hostile_manifest_numbers_never_panics(
        picks in prop::collection::vec((any::<usize>(), hostile()), 1..4)
    ) {
        exercise_model(&mutate_manifest(packed_bytes(), &picks, Some("config")));
    }

    #[test]
    fn fuzz_a_model_with_changed_data_never_panics(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..16)
    ) {
        exercise_model(&mutate_data(packed_bytes(), &flips));
    }
}
