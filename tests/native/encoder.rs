//! The full-precision encoder matches sentence-transformers and handles every input.

use crate::util::{cosine, full, parity, reference};

#[test]
fn full_precision_matches_sentence_transformers_on_every_reference_row() {
    let enc = full();
    let mut vectors = Vec::new();
    for row in reference() {
        let e = enc.embed(&row.text).unwrap();
        assert_eq!(e.tokens, row.tokens, "token count for {:?}", row.text);
        let c = cosine(&e.vector, &row.embedding);
        assert!(c >= 0.9999, "cosine {c} for {:?}", row.text);
        vectors.push(e.vector);
    }
    let (mean, min) = parity(&vectors);
    println!("full precision, one text at a time: mean cosine {mean:.6}, min {min:.6}");
}

#[test]
fn a_batch_gives_each_text_its_own_embedding() {
    let enc = full();
    let texts: Vec<&str> = reference().iter().map(|r| r.text.as_str()).collect();
    let batch = enc.embed_batch(&texts).unwrap();
    for (row, e) in reference().iter().zip(&batch) {
        assert_eq!(e.tokens, row.tokens);
        let c = cosine(&e.vector, &row.embedding);
        assert!(c >= 0.9999, "batched cosine {c} for {:?}", row.text);
    }
}

#[test]
fn vectors_are_unit_length() {
    let e = full().embed("¿Cuánto tarda el envío a Canarias?").unwrap();
    assert_eq!(e.vector.len(), full().dim());
    let norm: f32 = e.vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
}

#[test]
fn the_empty_text_embeds_the_special_tokens_alone() {
    let e = full().embed("").unwrap();
    assert_eq!(e.tokens, 2, "[CLS] [SEP]");
    assert!(e.vector.iter().all(|v| v.is_finite()));
    let norm: f32 = e.vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
}

#[test]
fn a_megabyte_of_text_is_cut_to_the_window() {
    let sentence = "My card was declined at the shop although my balance is fine. ";
    let text = sentence.repeat(1_000_000 / sentence.len() + 1);
    assert!(text.len() >= 1_000_000);
    let long = full().embed(&text).unwrap();
    assert_eq!(long.tokens, 256);
    // Only the first 256 tokens count, so a prefix a little longer than the window gives the
    // same vector.
    let prefix = full().embed(&sentence.repeat(40)).unwrap();
    assert_eq!(prefix.tokens, 256);
    assert!(cosine(&long.vector, &prefix.vector) > 0.99999);
}

#[test]
fn batches_side_by_side_give_the_same_vectors_on_any_number_of_threads() {
    let enc = crate::util::packed();
    // Enough texts for several batches of different lengths.
    let texts: Vec<String> = reference()
        .iter()
        .cycle()
        .take(200)
        .enumerate()
        .map(|(i, r)| format!("{} {}", r.text, "again ".repeat(i % 7)))
        .collect();
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let vectors = pool.install(|| {
            enc.embed_batch_with(&texts, &|n| {
                done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            })
            .unwrap()
        });
        assert_eq!(done.into_inner(), texts.len(), "progress heard every text");
        vectors
    };
    let one = on(1);
    assert_eq!(one, on(2));
    assert_eq!(one, on(3));
    // And each is its text's own vector.
    for (text, e) in texts.iter().zip(&one).step_by(37) {
        let alone = enc.embed(text).unwrap();
        assert!(cosine(&alone.vector, &e.vector) > 0.999, "{text:?}");
    }
}
