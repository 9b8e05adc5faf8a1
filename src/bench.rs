//! `rappel bench`: performance numbers anyone can reproduce. Today: model load time and embedding throughput at
//! batch 1 and batch 32 on short support sentences.

use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::startup::load_embedder;

const SUBJECTS: [&str; 8] = [
    "my parcel",
    "the invoice",
    "my password",
    "the Lumen Hub",
    "the mobile app",
    "my refund",
    "the firmware update",
    "my subscription",
];
const PROBLEMS: [&str; 8] = [
    "never arrived and I want to know why",
    "shows a charge I do not recognise",
    "stopped working after the last update",
    "keeps disconnecting from the wifi every evening",
    "cannot be changed from the settings page",
    "was promised by Friday but nothing happened",
    "n'arrive pas à se connecter depuis hier soir",
    "is great, thanks for the quick help",
];

/// Generated support sentences, all different.
fn sentences(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("Ticket {i}: {} {}.", SUBJECTS[i % 8], PROBLEMS[(i / 8) % 8]))
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs the benchmark and prints its numbers.
pub async fn run(settings: &Settings, n: usize) -> anyhow::Result<()> {
    let n = n.max(32);
    // One inference call per 32 texts: the batch-32 figure must not be split by the configured batch size.
    let settings = Settings {
        embed_batch_size: 32,
        ..settings.clone()
    };
    let started = Instant::now();
    let embedder = load_embedder(&settings).await?;
    let load = started.elapsed();
    let texts = sentences(n);
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed(&refs[..8])?; // warm-up
        let mut singles = Vec::with_capacity(n);
        let t = Instant::now();
        for text in &refs {
            let one = Instant::now();
            embedder.embed(&[text])?;
            singles.push(one.elapsed());
        }
        let batch1 = t.elapsed();
        singles.sort();
        let t = Instant::now();
        for chunk in refs.chunks(32) {
            embedder.embed(chunk)?;
        }
        let batch32 = t.elapsed();
        let rate = |d: Duration| n as f64 / d.as_secs_f64();
        println!(
            "embedding model: {} ({} dimensions), loaded in {} ms",
            embedder.name(),
            embedder.dimension(),
            load.as_millis()
        );
        println!("texts: {n} generated support sentences (~15-20 tokens)");
        println!(
            "batch 1:  {:>7.1} texts/s  (p50 {:.2} ms, p99 {:.2} ms per text)",
            rate(batch1),
            percentile(&singles, 0.5).as_secs_f64() * 1000.0,
            percentile(&singles, 0.99).as_secs_f64() * 1000.0
        );
        println!(
            "batch 32: {:>7.1} texts/s  ({:.2}x batch 1)",
            rate(batch32),
            batch1.as_secs_f64() / batch32.as_secs_f64()
        );
        Ok(())
    })
    .await?;
    result
}
