//! Sentiment on the held-out set (written apart from the training sets, never trained or tuned on), per
//! language: accuracy, macro-F1, F1 of the negative class, polarity accuracy on opinionated texts, and F1 of
//! frustration; the lexicon alone as a baseline; the French Amazon reviews as a local check when present.

use super::Row;
use crate::domain::sentiment::{SentimentHead, SentimentLabel};
use crate::domain::text::Lang;
use crate::embed::Embedder;
use crate::tools::metrics::f1;
use crate::tools::score::{embed_windows, judge, Embedded};
use crate::tools::sets::LabelledText;

/// Scores of one set.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scores {
    /// Texts.
    pub n: usize,
    /// Share of the three classes right.
    pub accuracy: f64,
    /// Mean F1 over the classes.
    pub macro_f1: f64,
    /// F1 of the negative class.
    pub negative_f1: f64,
    /// On texts labelled positive or negative: share predicted with that polarity.
    pub polarity: f64,
    /// F1 of frustration (where labelled).
    pub frustrated_f1: f64,
}

/// Scores predictions against labels.
pub fn scores(set: &[&LabelledText], predicted: &[(SentimentLabel, bool)]) -> Scores {
    let pairs: Vec<_> = set.iter().zip(predicted).collect();
    let count =
        |f: &dyn Fn(&LabelledText, &(SentimentLabel, bool)) -> bool| pairs.iter().filter(|(l, p)| f(l, p)).count();
    let class_f1 = |c: SentimentLabel| {
        f1(
            count(&|l, p| l.label == c && p.0 == c),
            count(&|l, p| l.label != c && p.0 == c),
            count(&|l, p| l.label == c && p.0 != c),
        )
    };
    let opinionated = count(&|l, _| l.label != SentimentLabel::Neutral);
    Scores {
        n: set.len(),
        accuracy: count(&|l, p| l.label == p.0) as f64 / set.len().max(1) as f64,
        macro_f1: SentimentLabel::ALL.iter().map(|c| class_f1(*c)).sum::<f64>() / 3.0,
        negative_f1: class_f1(SentimentLabel::Negative),
        polarity: count(&|l, p| l.label != SentimentLabel::Neutral && l.label == p.0) as f64
            / opinionated.max(1) as f64,
        frustrated_f1: f1(
            count(&|l, p| l.frustrated == Some(true) && p.1),
            count(&|l, p| l.frustrated == Some(false) && p.1),
            count(&|l, p| l.frustrated == Some(true) && !p.1),
        ),
    }
}

fn rows(set: &str, lang: &str, method: &str, s: Scores) -> Vec<Row> {
    let row = |metric: &str, value: f64| Row::new("sentiment", set, lang, "held-out", method, metric, value, s.n);
    vec![
        row("accuracy", s.accuracy),
        row("macro-F1", s.macro_f1),
        row("negative F1", s.negative_f1),
        row("polarity accuracy", s.polarity),
        row("frustrated F1", s.frustrated_f1),
    ]
}

/// Evaluates a labelled set with the head and with the lexicon alone.
pub fn evaluate(
    embedder: &dyn Embedder,
    head: Option<&SentimentHead>,
    set_name: &str,
    set: &[LabelledText],
) -> anyhow::Result<Vec<Row>> {
    let texts: Vec<(String, Lang)> = set
        .iter()
        .map(|l| (l.text.clone(), Lang::from_tag(&l.language).unwrap_or(Lang::En)))
        .collect();
    let embedded: Vec<Embedded> = embed_windows(embedder, &texts, |_| None, |_| {})?;
    let mut out = Vec::new();
    for lang in ["en", "fr"] {
        let idx: Vec<usize> = (0..set.len()).filter(|i| set[*i].language.starts_with(lang)).collect();
        if idx.is_empty() {
            continue;
        }
        let subset: Vec<&LabelledText> = idx.iter().map(|i| &set[*i]).collect();
        for (method, h) in [("classifier", head), ("lexicon", None)] {
            if method == "classifier" && h.is_none() {
                continue;
            }
            let predicted: Vec<(SentimentLabel, bool)> = idx
                .iter()
                .map(|i| {
                    let s = judge(&embedded[*i], h);
                    (s.label, s.frustrated)
                })
                .collect();
            out.extend(rows(set_name, lang, method, scores(&subset, &predicted)));
        }
    }
    Ok(out)
}
