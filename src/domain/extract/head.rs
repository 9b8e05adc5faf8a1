//! The typed-memory classifier: one logistic unit per kind (issue, resolution, commitment, preference, fact)
//! over a message window's embedding, the author's role and the rules' verdicts, so that rules count where they
//! are precise and meaning decides where they are not. Trained by `rappel train extraction` and committed per
//! embedding model under `heads/`.

use serde::{Deserialize, Serialize};

use super::{due, extract};
use crate::domain::interaction::AuthorRole;
use crate::domain::learn::{fit_binary, sigmoid, standardise, Linear, Standardiser, TrainOptions};
use crate::domain::memory::MemoryKind;
use crate::domain::sentiment::cues::normalise;
use crate::domain::text::Lang;

/// The kinds the classifier decides, in feature order.
pub const KINDS: [MemoryKind; 5] = [
    MemoryKind::Issue,
    MemoryKind::Resolution,
    MemoryKind::Commitment,
    MemoryKind::Preference,
    MemoryKind::Fact,
];

/// Features after the embedding: role (customer, agent or bot), one rule verdict per kind, question, a due
/// phrase, length.
pub const FEATURES_EXTRA: usize = 2 + KINDS.len() + 3;

/// Heads trained for the models Rappel knows, by model name.
const HEADS: &[(&str, &str)] = &[(
    crate::embed::MULTILINGUAL_E5_SMALL,
    include_str!("heads/multilingual-e5-small.json"),
)];

/// Whether an author of this role can state this kind: customers report issues and state preferences, agents
/// and bots promise; anyone may state a fix or a fact.
pub fn role_allows(role: AuthorRole, kind: MemoryKind) -> bool {
    match kind {
        MemoryKind::Issue | MemoryKind::Preference => role == AuthorRole::Customer,
        MemoryKind::Commitment => role != AuthorRole::Customer,
        _ => true,
    }
}

/// The features of one window of a message.
pub fn features(window: &str, role: AuthorRole, lang: Lang, vector: &[f32]) -> Vec<f32> {
    let mut x = Vec::with_capacity(vector.len() + FEATURES_EXTRA);
    x.extend_from_slice(vector);
    x.push(if role == AuthorRole::Customer { 1.0 } else { 0.0 });
    x.push(if role == AuthorRole::Customer { 0.0 } else { 1.0 });
    let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let found = extract(window, role, at, lang);
    x.extend(
        KINDS
            .iter()
            .map(|k| if found.iter().any(|f| f.kind == *k) { 1.0 } else { 0.0 }),
    );
    x.push(if window.trim_end().ends_with('?') { 1.0 } else { 0.0 });
    x.push(if due(&normalise(window), at).is_some() {
        1.0
    } else {
        0.0
    });
    x.push((1.0 + window.split_whitespace().count() as f32).ln() / 5.0);
    x
}

/// One kind's unit and the probability from which it says yes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindUnit {
    /// The kind.
    pub kind: MemoryKind,
    /// Its logistic unit.
    pub unit: Linear,
    /// Probability at or above which the kind is present.
    pub threshold: f32,
}

/// A trained classifier for one embedding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindHead {
    /// The embedding model whose vectors it reads.
    pub model: String,
    /// Feature standardisation.
    pub standardiser: Standardiser,
    /// One unit per kind.
    pub kinds: Vec<KindUnit>,
    /// What it was trained on.
    pub trained_on: String,
}

impl KindHead {
    /// The committed head for an embedding model, if one was trained for it.
    pub fn for_model(model: &str) -> Option<Self> {
        HEADS
            .iter()
            .find(|(name, _)| *name == model)
            .and_then(|(_, json)| serde_json::from_str(json).ok())
    }

    /// The threshold of a kind (1 for a kind the head does not know).
    pub fn threshold(&self, kind: MemoryKind) -> f32 {
        self.kinds.iter().find(|k| k.kind == kind).map_or(1.0, |k| k.threshold)
    }

    /// The probability of each kind, in [`KINDS`] order (0 for a kind the role cannot state, or a feature vector of
    /// the wrong length).
    pub fn predict(&self, x: &[f32], role: AuthorRole) -> Vec<(MemoryKind, f32, bool)> {
        let z = (x.len() == self.standardiser.len()).then(|| self.standardiser.apply(x));
        self.kinds
            .iter()
            .map(|k| {
                let p = match &z {
                    Some(z) if role_allows(role, k.kind) => sigmoid(k.unit.logit(z)),
                    _ => 0.0,
                };
                (k.kind, p, p >= k.threshold)
            })
            .collect()
    }
}

/// One training example: a window's features, its author's role and its message's kinds.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Features from [`features`].
    pub x: Vec<f32>,
    /// The author's role.
    pub role: AuthorRole,
    /// The kinds its message expresses.
    pub kinds: Vec<MemoryKind>,
    /// Weight (windows of one message share it).
    pub weight: f32,
}

/// Trains one unit per kind on the samples whose role can state it, with the given thresholds.
pub fn train(
    model: &str,
    samples: &[Sample],
    opts: TrainOptions,
    thresholds: &[f32; 5],
    trained_on: String,
) -> KindHead {
    let weighted: Vec<(&[f32], f32)> = samples.iter().map(|s| (s.x.as_slice(), s.weight)).collect();
    let (standardiser, z) = standardise(&weighted);
    let kinds = KINDS
        .iter()
        .zip(thresholds)
        .map(|(kind, threshold)| {
            let rows: Vec<(&[f32], bool, f32)> = samples
                .iter()
                .zip(&z)
                .filter(|(s, _)| role_allows(s.role, *kind))
                .map(|(s, z)| (z.as_slice(), s.kinds.contains(kind), s.weight))
                .collect();
            KindUnit {
                kind: *kind,
                unit: fit_binary(&rows, opts),
                threshold: *threshold,
            }
        })
        .collect();
    KindHead {
        model: model.to_owned(),
        standardiser,
        kinds,
        trained_on,
    }
}
