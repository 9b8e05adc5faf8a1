//! The embeddings come from the real model: meaning, not words, decides similarity.

use rappel::embed::cosine;

use crate::helpers::embedder;

#[test]
fn paraphrases_score_clearly_higher_than_unrelated_sentences() {
    let model = embedder();
    assert_eq!(model.dimension(), 384);
    let v = model
        .embed(&[
            "my parcel never arrived",
            "the delivery is missing",
            "how do I change my password",
            "I love the new dark mode theme",
        ])
        .unwrap();
    let paraphrase = cosine(&v[0], &v[1]);
    let unrelated = cosine(&v[0], &v[2]).max(cosine(&v[0], &v[3]));
    assert!(paraphrase > 0.45, "paraphrase similarity {paraphrase}");
    assert!(
        paraphrase - unrelated > 0.2,
        "paraphrase {paraphrase} vs unrelated {unrelated}"
    );
    for vector in &v {
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "vectors are unit length, got {norm}");
    }
}

#[test]
fn a_text_gets_the_same_vector_alone_or_in_a_batch() {
    let model = embedder();
    let alone = model.embed(&["the invoice shows a charge I do not recognise"]).unwrap();
    let batch = model
        .embed(&[
            "short",
            "the invoice shows a charge I do not recognise",
            "a much longer sentence about the Lumen Hub losing its wifi connection every single evening",
        ])
        .unwrap();
    assert!(cosine(&alone[0], &batch[1]) > 0.999, "padding must not change a vector");
    assert!(model.embed(&[]).unwrap().is_empty());
}
