//! Message sentiment in English and French: a classifier trained over the message's embedding and lexical
//! features ([`head`]), the cues that name why a message is negative or frustrated ([`cues`]), and the lexicon
//! scorer ([`lexicon`]) that is one of the classifier's features and the whole scorer for a model without a head.

pub mod cues;
pub mod head;
pub mod lexicon;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use self::cues::Cue;
pub use self::head::{features, SentimentHead, FEATURES_LEXICAL};
pub use self::lexicon::analyse;

use super::text::Lang;

/// A message's sentiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Sentiment {
    /// From -1 (very negative) to 1 (very positive): the classifier's probability of positive minus negative.
    #[schema(example = -0.62)]
    pub score: f32,
    /// The most likely class.
    pub label: SentimentLabel,
    /// The customer sounds exasperated: a threat to leave, a broken promise, a repeated contact, shouting...
    pub frustrated: bool,
    /// What made it negative or frustrated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cues: Vec<Cue>,
}

/// Sentiment class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    /// Unhappy, complaining, angry.
    Negative,
    /// Asking, informing, no feeling.
    Neutral,
    /// Happy, thankful, relieved.
    Positive,
}

impl SentimentLabel {
    /// The classes in the classifier's order.
    pub const ALL: [SentimentLabel; 3] = [Self::Negative, Self::Neutral, Self::Positive];

    /// Position in [`Self::ALL`].
    pub fn index(self) -> usize {
        match self {
            Self::Negative => 0,
            Self::Neutral => 1,
            Self::Positive => 2,
        }
    }
}

/// A piece of a message with its embedding: short messages are one window, long ones several.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    /// The text of the window.
    pub text: &'a str,
    /// Its embedding (unit vector).
    pub vector: &'a [f32],
}

/// Probability above which the frustration head calls a negative message frustrated.
pub const FRUSTRATED_AT: f32 = 0.5;

/// Judges a whole message: each window is classified with the message's cues, their probabilities averaged
/// (weighted by length), so a long e-mail is judged as a whole; a strong cue anywhere (a threat to leave, a broken
/// promise) makes a message that is not clearly positive negative and frustrated. Without a head (a model no
/// head was trained for), the lexicon decides.
pub fn assess(text: &str, lang: Lang, windows: &[Window<'_>], head: Option<&SentimentHead>) -> Sentiment {
    let cues = cues::detect(text);
    let lexical = analyse(text, lang);
    let (mut probs, mut frustration) = match head.filter(|_| !windows.is_empty()) {
        Some(head) => {
            let (mut p, mut f, mut total) = ([0.0f32; 3], 0.0f32, 0.0f32);
            for w in windows {
                let x = features(w.text, text, lang, w.vector, &cues);
                let (pw, fw) = head.predict(&x);
                // Opinionated windows weigh more than plot summaries and greetings around them.
                let weight = (w.text.split_whitespace().count() as f32).clamp(3.0, 80.0) * (0.25 + 1.0 - pw[1]);
                for (acc, v) in p.iter_mut().zip(pw) {
                    *acc += weight * v;
                }
                f += weight * fw;
                total += weight;
            }
            (p.map(|v| v / total), f / total)
        }
        None => {
            let p = match lexical.label {
                SentimentLabel::Negative => [0.5 + lexical.score.abs() / 2.0, 0.5 - lexical.score.abs() / 2.0, 0.0],
                SentimentLabel::Positive => [0.0, 0.5 - lexical.score / 2.0, 0.5 + lexical.score / 2.0],
                SentimentLabel::Neutral => [0.0, 1.0, 0.0],
            };
            // The lexicon's own frustration flag fires on words like "cancel"; only a cue confirms it.
            (
                p,
                if lexical.frustrated && !cues.is_empty() {
                    1.0
                } else {
                    0.0
                },
            )
        }
    };
    let strong = cues.iter().any(|c| c.is_strong());
    if strong && probs[2] < 0.6 {
        // "Thank you for your reply. Without an answer by Monday we will not renew." is negative: a strong cue
        // moves the neutral mass to negative.
        probs = [probs[0] + probs[1], 0.0, probs[2]];
        frustration = frustration.max(FRUSTRATED_AT);
    }
    let label = SentimentLabel::ALL[(0..3)
        .max_by(|a, b| probs[*a].total_cmp(&probs[*b]).then(b.cmp(a)))
        .unwrap_or(1)];
    let negative = label == SentimentLabel::Negative;
    let frustrated = negative && (frustration >= FRUSTRATED_AT || strong);
    Sentiment {
        score: (probs[2] - probs[0]).clamp(-1.0, 1.0),
        label,
        frustrated,
        cues: if negative { cues } else { Vec::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_head_the_lexicon_decides_and_cues_explain_negative_messages() {
        let s = assess(
            "This is the third time I write. Still no callback. I will cancel.",
            Lang::En,
            &[],
            None,
        );
        assert_eq!(s.label, SentimentLabel::Negative);
        assert!(s.frustrated);
        assert!(s.cues.contains(&Cue::ThreatToLeave) && s.cues.contains(&Cue::RepeatContact));
        let calm = assess("How do I cancel my subscription?", Lang::En, &[], None);
        assert!(calm.cues.is_empty() && !calm.frustrated, "{calm:?}");
    }
}
