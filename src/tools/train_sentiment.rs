//! `rappel train sentiment`: trains the sentiment head for the configured embedding model from the team's
//! labelled sets and the public corpora, picks the penalty and the weight of the team's data on a validation
//! slice of the team's sets, and writes the head under `src/domain/sentiment/heads/`. Deterministic: the same
//! data and model give the same file.

use std::path::Path;

use anyhow::Context;

use super::score::{embed_windows, window_features, Embedded};
use super::sets::{self, LabelledText};
use crate::domain::sentiment::head::{train, Sample, TrainOptions};
use crate::domain::sentiment::SentimentHead;
use crate::domain::text::Lang;
use crate::embed::Embedder;

/// Names put in front of half the training texts, as ingest puts the author's name in front of a message.
const NAMES: [&str; 8] = [
    "Claire Martin",
    "John Carter",
    "Amélie Dubois",
    "Sam Patel",
    "Luc Tremblay",
    "Emma Wright",
    "Karim Benali",
    "Olivia Chen",
];

fn fnv(s: &str) -> u64 {
    crate::domain::recall::term_hash(s)
}

/// Whether a team text belongs to the validation slice used to pick the settings (about one in seven).
fn validation(id: &str) -> bool {
    fnv(id).is_multiple_of(7)
}

fn lang_of(l: &LabelledText) -> Lang {
    Lang::from_tag(&l.language).unwrap_or(Lang::En)
}

fn embed(embedder: &dyn Embedder, set: &[LabelledText], what: &str) -> anyhow::Result<Vec<Embedded>> {
    let bar = indicatif::ProgressBar::new(set.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} {per_sec} eta {eta}")
            .expect("valid template"),
    );
    bar.set_message(what.to_owned());
    let texts: Vec<(String, Lang)> = set.iter().map(|l| (l.text.clone(), lang_of(l))).collect();
    let out = embed_windows(
        embedder,
        &texts,
        |i| {
            set.get(i)
                .filter(|l| fnv(&l.id).is_multiple_of(2))
                .map(|l| NAMES[(fnv(&l.id) % 8) as usize].to_owned())
        },
        |done| bar.set_position(done as u64),
    )?;
    bar.finish();
    Ok(out)
}

fn samples(
    set: &[LabelledText],
    embedded: &[Embedded],
    weight: f32,
    keep: impl Fn(&LabelledText) -> bool,
) -> Vec<Sample> {
    let mut out = Vec::new();
    for (l, e) in set.iter().zip(embedded) {
        if !keep(l) {
            continue;
        }
        let windows = window_features(e);
        let share = weight / windows.len().max(1) as f32;
        for x in windows {
            out.push(Sample {
                x,
                label: l.label.index(),
                frustrated: l.frustrated,
                weight: share,
            });
        }
    }
    out
}

/// Macro-F1 over the three classes and F1 of frustration on a set.
pub fn scores(set: &[LabelledText], embedded: &[Embedded], head: Option<&SentimentHead>) -> (f64, f64, f64) {
    let predicted: Vec<_> = embedded.iter().map(|e| super::score::judge(e, head)).collect();
    let mut macro_f1 = 0.0;
    for class in crate::domain::sentiment::SentimentLabel::ALL {
        let tp = set
            .iter()
            .zip(&predicted)
            .filter(|(l, p)| l.label == class && p.label == class)
            .count();
        let fp = set
            .iter()
            .zip(&predicted)
            .filter(|(l, p)| l.label != class && p.label == class)
            .count();
        let fn_ = set
            .iter()
            .zip(&predicted)
            .filter(|(l, p)| l.label == class && p.label != class)
            .count();
        macro_f1 += super::metrics::f1(tp, fp, fn_) / 3.0;
    }
    let accuracy =
        set.iter().zip(&predicted).filter(|(l, p)| l.label == p.label).count() as f64 / set.len().max(1) as f64;
    let labelled: Vec<_> = set
        .iter()
        .zip(&predicted)
        .filter(|(l, _)| l.frustrated.is_some())
        .collect();
    let tp = labelled
        .iter()
        .filter(|(l, p)| l.frustrated == Some(true) && p.frustrated)
        .count();
    let fp = labelled
        .iter()
        .filter(|(l, p)| l.frustrated == Some(false) && p.frustrated)
        .count();
    let fn_ = labelled
        .iter()
        .filter(|(l, p)| l.frustrated == Some(true) && !p.frustrated)
        .count();
    (accuracy, macro_f1, super::metrics::f1(tp, fp, fn_))
}

/// Trains and writes the head; returns where it was written.
pub fn run(
    embedder: &dyn Embedder,
    fixtures: &Path,
    data: &Path,
    out_dir: &Path,
) -> anyhow::Result<std::path::PathBuf> {
    let started = std::time::Instant::now();
    let team = sets::sentiment_train(fixtures)?;
    let mut public = sets::hutto(data)?;
    public.extend(sets::uci(data)?);
    println!(
        "training sets: {} team messages ({} kept for validation), {} public sentences",
        team.len(),
        team.iter().filter(|l| validation(&l.id)).count(),
        public.len()
    );
    let team_e = embed(embedder, &team, "team")?;
    let public_e = embed(embedder, &public, "public")?;
    let validation_set: Vec<LabelledText> = team.iter().filter(|l| validation(&l.id)).cloned().collect();
    let validation_e: Vec<Embedded> = team
        .iter()
        .zip(&team_e)
        .filter(|(l, _)| validation(&l.id))
        .map(|(_, e)| Embedded {
            text: e.text.clone(),
            lang: e.lang,
            windows: e.windows.clone(),
        })
        .collect();
    let mut best: Option<(f64, TrainOptions, f32)> = None;
    for l2 in [3e-4f32, 1e-3, 3e-3] {
        for team_weight in [2.0f32, 4.0] {
            let opts = TrainOptions {
                l2,
                ..TrainOptions::default()
            };
            let mut s = samples(&team, &team_e, team_weight, |l| !validation(&l.id));
            s.extend(samples(&public, &public_e, 1.0, |_| true));
            let head = train(embedder.name(), &s, opts, String::new());
            let (acc, macro_f1, frustrated) = scores(&validation_set, &validation_e, Some(&head));
            println!("  l2 {l2:<7} team weight {team_weight}: validation accuracy {acc:.3} macro-F1 {macro_f1:.3} frustrated F1 {frustrated:.3}");
            let score = macro_f1 + 0.25 * frustrated;
            if best.is_none_or(|(b, _, _)| score > b) {
                best = Some((score, opts, team_weight));
            }
        }
    }
    let (_, opts, team_weight) = best.context("no setting trained")?;
    let mut s = samples(&team, &team_e, team_weight, |_| true);
    s.extend(samples(&public, &public_e, 1.0, |_| true));
    let summary = format!(
        "{} team messages (fixtures/eval/sentiment train sets, weight {team_weight}) and {} public sentences (Hutto & Gilbert 2014 via vaderSentiment 3.3.2, MIT; UCI Sentiment Labelled Sentences via npm sentiment 5.0.2, CC BY 4.0); l2 {}",
        team.len(),
        public.len(),
        opts.l2
    );
    let head = train(embedder.name(), &s, opts, summary);
    super::write_head(out_dir, embedder.name(), &head, started)
}
