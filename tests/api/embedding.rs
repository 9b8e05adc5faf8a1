//! The embeddings come from the real model: meaning, not words, decides similarity, across English and French.

use rappel::embed::{cosine, TextRole};

use crate::helpers::embedder;

#[test]
fn paraphrases_score_clearly_higher_than_unrelated_sentences_in_both_languages() {
    let model = embedder();
    assert_eq!(model.dimension(), 384);
    let v = model
        .embed(
            &[
                "my parcel never arrived",
                "the delivery is missing",
                "how do I change my password",
                "I love the new dark mode theme",
                "mon colis n'est jamais arrivé",
            ],
            TextRole::Query,
        )
        .unwrap();
    let paraphrase = cosine(&v[0], &v[1]);
    let french = cosine(&v[0], &v[4]);
    let unrelated = cosine(&v[0], &v[2]).max(cosine(&v[0], &v[3]));
    assert!(
        paraphrase - unrelated > 0.05 && french - unrelated > 0.05,
        "paraphrase {paraphrase}, French {french}, unrelated {unrelated}"
    );
    for vector in &v {
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "vectors are unit length, got {norm}");
    }
}

#[test]
fn a_text_gets_nearly_the_same_vector_alone_or_in_a_batch() {
    let model = embedder();
    let text = "the invoice shows a charge I do not recognise";
    let alone = model.embed(&[text], TextRole::Passage).unwrap();
    let batch = model
        .embed(
            &[
                "short",
                text,
                "a much longer sentence about the Lumen Hub losing its wifi connection every single evening",
            ],
            TextRole::Passage,
        )
        .unwrap();
    // Padding is masked out; dynamic int8 quantisation scales activations per batch, so vectors move a little.
    assert!(cosine(&alone[0], &batch[1]) > 0.99, "padding must not change a vector");
    assert!(model.embed(&[], TextRole::Passage).unwrap().is_empty());
}

#[test]
fn texts_of_mixed_lengths_over_several_batches_keep_their_order() {
    let model = embedder();
    // Longer and shorter texts interleaved, more of them than one inference batch (16): the embedder batches
    // them by length and must hand each vector back in its caller's place.
    let topics = [
        "refund",
        "wifi",
        "invoice",
        "password",
        "livraison",
        "facture",
        "écran",
        "battery",
    ];
    let details = [
        "since Monday",
        "after the update",
        "on my phone",
        "chez moi",
        "twice a day",
    ];
    // 40 distinct topic and detail pairs; every third text is long.
    let texts: Vec<String> = (0..40)
        .map(|i| {
            let sentence = format!("{} {}. ", topics[i % 8], details[i % 5]);
            sentence.repeat(if i % 3 == 0 { 12 } else { 1 })
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let together = model.embed(&refs, TextRole::Passage).unwrap();
    let alone: Vec<Vec<f32>> = refs
        .iter()
        .map(|t| model.embed(&[t], TextRole::Passage).unwrap().remove(0))
        .collect();
    for (i, vector) in together.iter().enumerate() {
        let own = cosine(vector, &alone[i]);
        assert!(own > 0.99, "text {i}: {own} against its own vector");
        for (j, other) in alone.iter().enumerate().filter(|(j, _)| *j != i) {
            assert!(
                own > cosine(vector, other),
                "text {i} is nearer text {j}'s vector than its own"
            );
        }
    }
}

#[test]
fn queries_and_stored_texts_get_the_model_prefixes() {
    let model = embedder();
    let q = model.embed(&["refund for a broken lock"], TextRole::Query).unwrap();
    let p = model.embed(&["refund for a broken lock"], TextRole::Passage).unwrap();
    let sim = cosine(&q[0], &p[0]);
    assert!(
        sim < 0.999 && sim > 0.8,
        "the e5 prefixes differ but keep the meaning: {sim}"
    );
}
