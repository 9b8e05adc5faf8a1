//! The trained sentiment classifier: multinomial logistic regression over a message window's embedding and a
//! few lexical features (lexicon score, cues, punctuation, length), plus a binary head for frustration. Weights
//! are trained by `rappel train sentiment` ([`crate::domain::learn`], deterministic) and committed per embedding
//! model under `heads/`.

use serde::{Deserialize, Serialize};

use super::cues::Cue;
use super::lexicon::analyse;
pub use crate::domain::learn::TrainOptions;
use crate::domain::learn::{fit_binary, fit_softmax, sigmoid, softmax, standardise};
use crate::domain::text::Lang;

/// Lexical features after the embedding: lexicon score, one flag per cue, question, exclamations, length,
/// capitals.
pub const FEATURES_LEXICAL: usize = 1 + Cue::ALL.len() + 4;

/// Heads trained for the models Rappel knows, by model name.
const HEADS: &[(&str, &str)] = &[(
    crate::embed::MULTILINGUAL_E5_SMALL,
    include_str!("heads/multilingual-e5-small.json"),
)];

/// The features of one window of a message: its embedding, then the lexical features (the cues and length are
/// the whole message's, so every window knows the message ends in a threat).
pub fn features(window: &str, message: &str, lang: Lang, vector: &[f32], cues: &[Cue]) -> Vec<f32> {
    let mut x = Vec::with_capacity(vector.len() + FEATURES_LEXICAL);
    x.extend_from_slice(vector);
    x.push(analyse(window, lang).score);
    x.extend(Cue::ALL.iter().map(|c| if cues.contains(c) { 1.0 } else { 0.0 }));
    x.push(if window.trim_end().ends_with('?') { 1.0 } else { 0.0 });
    x.push(window.matches('!').count().min(3) as f32 / 3.0);
    x.push((1.0 + message.split_whitespace().count() as f32).ln() / 5.0);
    let (upper, letters) = message
        .chars()
        .filter(|c| c.is_alphabetic())
        .fold((0usize, 0usize), |(u, n), c| (u + usize::from(c.is_uppercase()), n + 1));
    x.push(if letters == 0 {
        0.0
    } else {
        upper as f32 / letters as f32
    });
    x
}

/// A trained classifier for one embedding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentHead {
    /// The embedding model whose vectors it reads.
    pub model: String,
    /// Number of features (embedding dimension + [`FEATURES_LEXICAL`]).
    pub features: usize,
    /// Feature means (standardisation).
    pub mean: Vec<f32>,
    /// Feature scales (1 / standard deviation).
    pub scale: Vec<f32>,
    /// One weight row per class (negative, neutral, positive).
    pub weights: Vec<Vec<f32>>,
    /// One bias per class.
    pub bias: Vec<f32>,
    /// Frustration weights.
    pub frustration_weights: Vec<f32>,
    /// Frustration bias.
    pub frustration_bias: f32,
    /// What it was trained on, in words (sets and sizes).
    pub trained_on: String,
}

impl SentimentHead {
    /// The committed head for an embedding model, if one was trained for it.
    pub fn for_model(model: &str) -> Option<Self> {
        HEADS
            .iter()
            .find(|(name, _)| *name == model)
            .and_then(|(_, json)| Self::from_json(json).ok())
    }

    /// Reads a head from its JSON form, checking its shapes.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let head: Self = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let n = head.features;
        let ok = head.mean.len() == n
            && head.scale.len() == n
            && head.weights.len() == 3
            && head.weights.iter().all(|w| w.len() == n)
            && head.bias.len() == 3
            && head.frustration_weights.len() == n;
        ok.then_some(head)
            .ok_or_else(|| "sentiment head: inconsistent shapes".into())
    }

    /// Class probabilities (negative, neutral, positive) and the probability of frustration. A feature vector of
    /// the wrong length reads as neutral.
    pub fn predict(&self, x: &[f32]) -> ([f32; 3], f32) {
        if x.len() != self.features {
            return ([0.0, 1.0, 0.0], 0.0);
        }
        let z: Vec<f32> = x
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((v, m), s)| (v - m) * s)
            .collect();
        let logits: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| b + super::super::dot(w, &z))
            .collect();
        let p = softmax(&logits);
        let f = sigmoid(self.frustration_bias + super::super::dot(&self.frustration_weights, &z));
        ([p[0], p[1], p[2]], f)
    }
}

/// One training example: a window's features, its message's class and, where labelled, frustration.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Features from [`features`].
    pub x: Vec<f32>,
    /// Class index (negative 0, neutral 1, positive 2).
    pub label: usize,
    /// Frustrated, where the set labels it.
    pub frustrated: Option<bool>,
    /// Weight of the example (windows of one message share its weight).
    pub weight: f32,
}

/// Trains a head: standardises the features, then fits the class head on every sample and the frustration head
/// on the samples that label it. Deterministic.
pub fn train(model: &str, samples: &[Sample], opts: TrainOptions, trained_on: String) -> SentimentHead {
    let weighted: Vec<(&[f32], f32)> = samples.iter().map(|s| (s.x.as_slice(), s.weight)).collect();
    let (standardiser, z) = standardise(&weighted);
    let rows: Vec<(&[f32], usize, f32)> = samples
        .iter()
        .zip(&z)
        .map(|(s, z)| (z.as_slice(), s.label, s.weight))
        .collect();
    let classes = fit_softmax(&rows, 3, opts);
    let labelled: Vec<(&[f32], bool, f32)> = samples
        .iter()
        .zip(&z)
        .filter_map(|(s, z)| s.frustrated.map(|f| (z.as_slice(), f, s.weight)))
        .collect();
    let frustration = fit_binary(&labelled, opts);
    SentimentHead {
        model: model.to_owned(),
        features: standardiser.len(),
        mean: standardiser.mean,
        scale: standardiser.scale,
        weights: classes.iter().map(|c| c.weights.clone()).collect(),
        bias: classes.iter().map(|c| c.bias).collect(),
        frustration_weights: frustration.weights,
        frustration_bias: frustration.bias,
        trained_on,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(x: [f32; 2], label: usize) -> Sample {
        Sample {
            x: x.to_vec(),
            label,
            frustrated: Some(label == 0 && x[1] > 0.5),
            weight: 1.0,
        }
    }

    #[test]
    fn training_separates_classes_deterministically_and_round_trips_through_json() {
        let samples: Vec<Sample> = (0..60)
            .map(|i| {
                let t = i as f32 / 60.0;
                match i % 3 {
                    0 => sample([-1.0 - t, t], 0),
                    1 => sample([0.0 + t * 0.1, 0.2], 1),
                    _ => sample([1.0 + t, 0.1], 2),
                }
            })
            .collect();
        let opts = TrainOptions::default();
        let a = train("m", &samples, opts, "toy".into());
        let b = train("m", &samples, opts, "toy".into());
        assert_eq!(a, b, "same data, same weights");
        let (p, _) = a.predict(&[-1.5, 0.3]);
        assert!(p[0] > 0.8, "{p:?}");
        let (p, _) = a.predict(&[1.5, 0.1]);
        assert!(p[2] > 0.8, "{p:?}");
        let (_, f) = a.predict(&[-1.9, 0.9]);
        assert!(f > 0.5, "frustration {f}");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(SentimentHead::from_json(&json).unwrap(), a);
        assert_eq!(a.predict(&[1.0]).0, [0.0, 1.0, 0.0], "wrong length reads as neutral");
    }
}
