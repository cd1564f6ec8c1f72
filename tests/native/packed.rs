//! The packed model file: small, close to the full model, and refused clearly when damaged.

use ayuda::model::{self, Encoder, Error, ModelFiles, PackOptions, WeightEncoding};
use ayuda::native::{load_encoder, read_model_dir, LoadError};

use crate::util::{model_dir, packed, packed_bytes, parity, reference};

#[test]
fn packed_model_is_at_most_25_mb() {
    let len = packed_bytes().len();
    println!(
        "packed all-MiniLM-L6-v2: {len} bytes ({:.2} MB)",
        len as f64 / 1e6
    );
    assert!(len <= 25_000_000, "{len} bytes");
}

#[test]
fn packed_model_stays_close_to_sentence_transformers() {
    let enc = packed();
    let vectors: Vec<Vec<f32>> = reference()
        .iter()
        .map(|r| {
            let e = enc.embed(&r.text).unwrap();
            assert_eq!(e.tokens, r.tokens, "token count for {:?}", r.text);
            e.vector
        })
        .collect();
    let (mean, min) = parity(&vectors);
    println!("packed (default options): mean cosine {mean:.5}, min {min:.5}");
    assert!(mean >= 0.995, "mean cosine {mean}");
    assert!(min >= 0.985, "min cosine {min}");
}

#[test]
fn packing_with_f32_everywhere_is_lossless() {
    let files = read_model_dir(&model_dir()).unwrap();
    let options = PackOptions {
        word_embeddings: WeightEncoding::F32,
        matrices: WeightEncoding::F32,
    };
    let enc = Encoder::from_packed(&model::pack(&files, options).unwrap()).unwrap();
    let full = Encoder::from_files(&files).unwrap();
    let text = "Can I get a refund on a card payment?";
    assert_eq!(enc.embed(text).unwrap(), full.embed(text).unwrap());
}

#[test]
fn fingerprints_tell_models_apart() {
    let full = crate::util::full();
    assert_ne!(packed().fingerprint(), full.fingerprint());
    let again = Encoder::from_packed(packed_bytes()).unwrap();
    assert_eq!(packed().fingerprint(), again.fingerprint());
}

#[test]
fn a_truncated_file_says_so() {
    let bytes = packed_bytes();
    for cut in [bytes.len() - 1, bytes.len() / 2, 30, 10] {
        match Encoder::from_packed(&bytes[..cut]) {
            Err(Error::Truncated { expected, found }) => {
                assert_eq!(found, cut as u64);
                assert!(expected > found);
            }
            Err(other) => panic!("cut at {cut}: wrong error {other}"),
            Ok(_) => panic!("cut at {cut}: loaded"),
        }
    }
}

#[test]
fn a_flipped_byte_fails_the_checksum() {
    let mut bytes = packed_bytes().to_vec();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    let err = Encoder::from_packed(&bytes).err().expect("refused");
    assert!(matches!(err, Error::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("corrupted"));
}

#[test]
fn other_files_are_not_taken_for_models() {
    for bytes in [&b""[..], b"{\"not\": \"a model\"}", &[0u8; 4096][..]] {
        let err = Encoder::from_packed(bytes).err().expect("refused");
        assert!(matches!(err, Error::NotPacked), "{err}");
        assert!(err.to_string().contains("ayuda model pack"));
    }
}

#[test]
fn a_newer_format_version_names_the_versions_read() {
    let mut bytes = packed_bytes().to_vec();
    bytes[8..12].copy_from_slice(&99u32.to_le_bytes());
    let err = Encoder::from_packed(&bytes).err().expect("refused");
    assert!(matches!(err, Error::Version { found: 99, .. }), "{err}");
}

#[test]
fn a_model_directory_missing_a_file_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(model_dir().join(file), tmp.path().join(file)).unwrap();
    }
    let err = read_model_dir(tmp.path()).err().expect("refused");
    assert!(
        matches!(
            err,
            LoadError::MissingFile {
                file: "model.safetensors",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("model.safetensors is missing"));
    let err = load_encoder(&tmp.path().join("nope"))
        .err()
        .expect("refused");
    assert!(matches!(err, LoadError::NotFound { .. }), "{err}");
}

#[test]
fn unsupported_architectures_are_refused_by_name() {
    let mut files: ModelFiles = read_model_dir(&model_dir()).unwrap();
    let config = String::from_utf8(files.config_json.clone()).unwrap();
    files.config_json = config
        .replace(
            "\"model_type\": \"bert\"",
            "\"model_type\": \"xlm-roberta\"",
        )
        .into_bytes();
    let err = Encoder::from_files(&files).err().expect("refused");
    assert!(
        matches!(err, Error::UnsupportedModel(ref t) if t == "xlm-roberta"),
        "{err}"
    );
}

#[test]
fn broken_weights_and_tokenizer_are_reported() {
    let mut files: ModelFiles = read_model_dir(&model_dir()).unwrap();
    files.safetensors.truncate(files.safetensors.len() / 2);
    let err = Encoder::from_files(&files).err().expect("refused");
    assert!(matches!(err, Error::Weights(_)), "{err}");

    let mut files: ModelFiles = read_model_dir(&model_dir()).unwrap();
    files.tokenizer_json = b"{\"version\": 1".to_vec();
    let err = Encoder::from_files(&files).err().expect("refused");
    assert!(matches!(err, Error::Tokenizer(_)), "{err}");
}

/// The packed model with its config's `from` (as written in the manifest) replaced by `to`,
/// checksum made right: a crafted file, not a damaged one.
fn crafted(from: &str, to: &str) -> Vec<u8> {
    let bytes = crate::util::with_manifest(packed_bytes(), |m| {
        assert!(m.contains(from), "{from} not in the manifest");
        m.replace(from, to)
    });
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    crate::util::reframe(bytes, version)
}

#[test]
fn a_crafted_config_with_huge_dimensions_is_refused_before_allocating() {
    for (from, to, name) in [
        (
            r#"\"num_hidden_layers\": 6"#,
            r#"\"num_hidden_layers\": 2147483648"#,
            "num_hidden_layers",
        ),
        (
            r#"\"hidden_size\": 384"#,
            r#"\"hidden_size\": 4294967296"#,
            "hidden_size",
        ),
        (
            r#"\"vocab_size\": 30522"#,
            r#"\"vocab_size\": 0"#,
            "vocab_size",
        ),
        (
            r#"\"intermediate_size\": 1536"#,
            r#"\"intermediate_size\": 99999999"#,
            "intermediate_size",
        ),
    ] {
        let Err(err) = Encoder::from_packed(&crafted(from, to)) else {
            panic!("{to} was accepted");
        };
        assert!(err.to_string().contains(name), "{err}");
        assert!(
            err.to_string().contains("not a model ayuda can run"),
            "{err}"
        );
    }
}

#[test]
fn a_tokenizer_without_special_tokens_is_refused_on_an_empty_text_not_nan() {
    let mut files = read_model_dir(&model_dir()).unwrap();
    let mut tokenizer: serde_json::Value = serde_json::from_slice(&files.tokenizer_json).unwrap();
    tokenizer["post_processor"] = serde_json::Value::Null;
    files.tokenizer_json = serde_json::to_vec(&tokenizer).unwrap();
    let encoder = Encoder::from_files(&files).unwrap();
    let Err(err) = encoder.embed("") else {
        panic!("an empty text with no tokens was embedded");
    };
    assert!(err.to_string().contains("no tokens"), "{err}");
    // Text with tokens still embeds, to finite numbers.
    assert!(encoder
        .embed("hello")
        .unwrap()
        .vector
        .iter()
        .all(|x| x.is_finite()));
}

#[test]
fn a_crafted_tensor_shape_that_overflows_is_refused() {
    // 2^32 x 2^32 elements wrap to 0 in 64-bit arithmetic unchecked.
    let bytes = crate::util::with_manifest(packed_bytes(), |m| {
        let at = m.find(r#""shape":["#).expect("a tensor shape");
        let end = at + m[at..].find(']').unwrap() + 1;
        format!("{}\"shape\":[4294967296,4294967296]{}", &m[..at], &m[end..])
    });
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let Err(err) = Encoder::from_packed(&crate::util::reframe(bytes, version)) else {
        panic!("accepted");
    };
    assert!(err.to_string().contains("wrong size"), "{err}");
}

/// What `ayuda build` computes in batches is what the browser computes for one question: each
/// text attends to its own tokens, so its vector does not depend on its batch, bit for bit.
pub fn assert_batches_give_the_single_vectors(enc: &Encoder) {
    let texts: Vec<&str> = reference().iter().map(|r| r.text.as_str()).collect();
    let batch = enc.embed_batch(&texts).unwrap();
    for (text, e) in texts.iter().zip(&batch) {
        assert_eq!(e, &enc.embed(text).unwrap(), "{text:?}");
    }
}

#[test]
fn a_batch_gives_each_text_its_vector_alone_bit_for_bit() {
    assert_batches_give_the_single_vectors(packed());
}
