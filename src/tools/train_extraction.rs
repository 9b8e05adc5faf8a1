//! `rappel train extraction`: trains the typed-memory classifier of the configured embedding model on
//! `fixtures/eval/extraction/train.ndjson`, picks the penalty and each kind's threshold on the dev split of the
//! labelled set (the held-out split is never looked at), and writes the head under `src/domain/extract/heads/`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::metrics::f1;
use super::score::{embed_windows, Embedded};
use super::sets::read_lines;
use crate::domain::extract::head::{features, train, KindHead, Sample, KINDS};
use crate::domain::interaction::AuthorRole;
use crate::domain::learn::TrainOptions;
use crate::domain::memory::MemoryKind;
use crate::domain::text::Lang;
use crate::embed::Embedder;

#[derive(Deserialize)]
struct LabelledMessage {
    role: AuthorRole,
    #[allow(dead_code)]
    sent_at: DateTime<Utc>,
    text: String,
    kinds: Vec<MemoryKind>,
}

#[derive(Deserialize)]
struct Conversation {
    id: String,
    language: String,
    split: String,
    messages: Vec<LabelledMessage>,
}

struct Item {
    role: AuthorRole,
    kinds: Vec<MemoryKind>,
    embedded: Embedded,
}

fn items(embedder: &dyn Embedder, convs: &[Conversation]) -> anyhow::Result<Vec<Item>> {
    let mut texts = Vec::new();
    let mut meta = Vec::new();
    for c in convs {
        let lang = Lang::from_tag(&c.language).unwrap_or(Lang::En);
        for (i, m) in c.messages.iter().enumerate() {
            texts.push((m.text.clone(), lang));
            meta.push((m.role, m.kinds.clone(), format!("{}-{i}", c.id)));
        }
    }
    let embedded = embed_windows(
        embedder,
        &texts,
        |i| {
            meta.get(i)
                .filter(|(_, _, id)| crate::domain::recall::term_hash(id).is_multiple_of(2))
                .map(|(role, _, _)| {
                    if *role == AuthorRole::Customer {
                        "Alex Morgan"
                    } else {
                        "Support"
                    }
                    .to_owned()
                })
        },
        |_| {},
    )?;
    Ok(meta
        .into_iter()
        .zip(embedded)
        .map(|((role, kinds, _), embedded)| Item { role, kinds, embedded })
        .collect())
}

fn samples(items: &[Item]) -> Vec<Sample> {
    let mut out = Vec::new();
    for it in items {
        let share = 1.0 / it.embedded.windows.len().max(1) as f32;
        for (w, v) in &it.embedded.windows {
            out.push(Sample {
                x: features(w, it.role, it.embedded.lang, v),
                role: it.role,
                kinds: it.kinds.clone(),
                weight: share,
            });
        }
    }
    out
}

/// Each kind's best probability over the windows of each item.
fn probabilities(head: &KindHead, items: &[Item]) -> Vec<Vec<f32>> {
    items
        .iter()
        .map(|it| {
            let mut best = vec![0.0f32; KINDS.len()];
            for (w, v) in &it.embedded.windows {
                for (k, (_, p, _)) in head
                    .predict(&features(w, it.role, it.embedded.lang, v), it.role)
                    .iter()
                    .enumerate()
                {
                    best[k] = best[k].max(*p);
                }
            }
            best
        })
        .collect()
}

fn kind_f1(items: &[Item], probs: &[Vec<f32>], k: usize, threshold: f32) -> f64 {
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (it, p) in items.iter().zip(probs) {
        match (it.kinds.contains(&KINDS[k]), p[k] >= threshold) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            _ => {}
        }
    }
    f1(tp, fp, fn_)
}

/// Trains and writes the head; returns where it was written.
pub fn run(embedder: &dyn Embedder, fixtures: &Path, out_dir: &Path) -> anyhow::Result<PathBuf> {
    let started = std::time::Instant::now();
    let train_set: Vec<Conversation> = read_lines(&fixtures.join("eval/extraction/train.ndjson"))?;
    let labelled: Vec<Conversation> = read_lines(&fixtures.join("eval/extraction/labelled.ndjson"))?;
    let dev: Vec<Conversation> = labelled.into_iter().filter(|c| c.split == "dev").collect();
    let train_items = items(embedder, &train_set)?;
    let dev_items = items(embedder, &dev)?;
    println!(
        "extraction: {} training messages, {} dev messages (held-out untouched)",
        train_items.len(),
        dev_items.len()
    );
    let train_samples = samples(&train_items);
    let mut best: Option<(f64, TrainOptions)> = None;
    for l2 in [1e-3f32, 3e-3, 1e-2] {
        let opts = TrainOptions {
            l2,
            ..TrainOptions::default()
        };
        let head = train(embedder.name(), &train_samples, opts, &[0.5; 5], String::new());
        let probs = probabilities(&head, &dev_items);
        let mean: f64 = (0..KINDS.len())
            .map(|k| kind_f1(&dev_items, &probs, k, 0.5))
            .sum::<f64>()
            / KINDS.len() as f64;
        println!("  l2 {l2:<6} dev mean F1 at 0.5: {mean:.3}");
        if best.is_none_or(|(b, _)| mean > b) {
            best = Some((mean, opts));
        }
    }
    let (_, opts) = best.ok_or_else(|| anyhow::anyhow!("nothing trained"))?;
    let head = train(embedder.name(), &train_samples, opts, &[0.5; 5], String::new());
    let probs = probabilities(&head, &dev_items);
    let mut thresholds = [0.5f32; 5];
    for (k, t) in thresholds.iter_mut().enumerate() {
        let candidates = [0.3f32, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7];
        let pick = candidates
            .iter()
            .copied()
            .max_by(|a, b| kind_f1(&dev_items, &probs, k, *a).total_cmp(&kind_f1(&dev_items, &probs, k, *b)))
            .unwrap_or(0.5);
        *t = pick;
        println!(
            "  {:?}: threshold {pick} (dev F1 {:.3})",
            KINDS[k],
            kind_f1(&dev_items, &probs, k, pick)
        );
    }
    let summary = format!(
        "{} messages of fixtures/eval/extraction/train.ndjson; l2 {}; thresholds from the dev split of labelled.ndjson",
        train_items.len(),
        opts.l2
    );
    let head = train(embedder.name(), &train_samples, opts, &thresholds, summary);
    super::write_head(out_dir, embedder.name(), &head, started)
}
