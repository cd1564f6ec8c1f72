//! Any BERT-family sentence-transformers folder loads, not only all-MiniLM-L6-v2: a small
//! BERT with other sizes, a `bert.` prefix, old LayerNorm names, CLS pooling, a 64-token
//! window and an unused pooler, written here with random weights.

use std::collections::HashMap;

use ayuda::model::{self, Encoder, PackOptions};
use ayuda::native::read_model_dir;
use candle_core::{DType, Device, Tensor};

use crate::util::{cosine, model_dir};

const H: usize = 64;
const LAYERS: usize = 2;
const INTER: usize = 128;

fn small_bert(dir: &std::path::Path) {
    std::fs::copy(
        model_dir().join("tokenizer.json"),
        dir.join("tokenizer.json"),
    )
    .unwrap();
    std::fs::write(
        dir.join("config.json"),
        format!(
            r#"{{"model_type": "bert", "vocab_size": 30522, "hidden_size": {H}, "num_hidden_layers": {LAYERS},
               "num_attention_heads": 4, "intermediate_size": {INTER}, "hidden_act": "gelu",
               "max_position_embeddings": 128, "type_vocab_size": 2}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 64}"#,
    )
    .unwrap();
    std::fs::create_dir(dir.join("1_Pooling")).unwrap();
    std::fs::write(
        dir.join("1_Pooling/config.json"),
        r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#,
    )
    .unwrap();

    let dev = Device::Cpu;
    let randn = |dims: &[usize]| (Tensor::randn(0f32, 1f32, dims, &dev).unwrap() * 0.05).unwrap();
    let mut t: HashMap<String, Tensor> = HashMap::new();
    t.insert(
        "bert.embeddings.word_embeddings.weight".into(),
        randn(&[30522, H]),
    );
    t.insert(
        "bert.embeddings.position_embeddings.weight".into(),
        randn(&[128, H]),
    );
    t.insert(
        "bert.embeddings.token_type_embeddings.weight".into(),
        randn(&[2, H]),
    );
    t.insert(
        "bert.embeddings.LayerNorm.gamma".into(),
        Tensor::ones(H, DType::F32, &dev).unwrap(),
    );
    t.insert(
        "bert.embeddings.LayerNorm.beta".into(),
        Tensor::zeros(H, DType::F32, &dev).unwrap(),
    );
    for i in 0..LAYERS {
        let p = format!("bert.encoder.layer.{i}");
        for (name, out, inp) in [
            ("attention.self.query", H, H),
            ("attention.self.key", H, H),
            ("attention.self.value", H, H),
            ("attention.output.dense", H, H),
            ("intermediate.dense", INTER, H),
            ("output.dense", H, INTER),
        ] {
            t.insert(format!("{p}.{name}.weight"), randn(&[out, inp]));
            t.insert(format!("{p}.{name}.bias"), randn(&[out]));
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            t.insert(
                format!("{p}.{ln}.weight"),
                Tensor::ones(H, DType::F32, &dev).unwrap(),
            );
            t.insert(format!("{p}.{ln}.bias"), randn(&[H]));
        }
    }
    t.insert("bert.pooler.dense.weight".into(), randn(&[H, H]));
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).unwrap();
}

#[test]
fn another_bert_with_cls_pooling_and_a_short_window_loads_packs_and_embeds() {
    let tmp = tempfile::tempdir().unwrap();
    small_bert(tmp.path());
    let files = read_model_dir(tmp.path()).unwrap();
    let full = Encoder::from_files(&files).unwrap();
    assert_eq!(full.dim(), H);
    assert_eq!(full.settings().max_seq_length, 64);
    assert_eq!(full.settings().pooling, model::Pooling::Cls);

    let long = full.embed(&"where is my parcel ".repeat(100)).unwrap();
    assert_eq!(long.tokens, 64);

    let texts = [
        "Where is my parcel?",
        "Can I pay by card?",
        "",
        "a much longer question about refunds and returns",
    ];
    let batch = full.embed_batch(&texts).unwrap();
    for (text, b) in texts.iter().zip(&batch) {
        let one = full.embed(text).unwrap();
        assert!(
            cosine(&one.vector, &b.vector) > 0.9999,
            "batch differs for {text:?}"
        );
    }

    let packed =
        Encoder::from_packed(&model::pack(&files, PackOptions::default()).unwrap()).unwrap();
    for text in texts {
        let c = cosine(
            &packed.embed(text).unwrap().vector,
            &full.embed(text).unwrap().vector,
        );
        assert!(c > 0.99, "packed cosine {c} for {text:?}");
    }
}

#[test]
fn a_config_that_does_not_match_the_weights_names_the_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    small_bert(tmp.path());
    let mut files = read_model_dir(tmp.path()).unwrap();
    let config = String::from_utf8(files.config_json.clone()).unwrap();
    files.config_json = config
        .replace("\"intermediate_size\": 128", "\"intermediate_size\": 256")
        .into_bytes();
    let err = Encoder::from_files(&files)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("intermediate.dense.weight") && err.contains("256"),
        "{err}"
    );
}
