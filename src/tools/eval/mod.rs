//! `rappel eval`: every quality measure in one table — sentiment on the held-out set, typed-memory extraction
//! per kind, retrieval per set, language and split, knowledge retrieval, health on the demo's storyline
//! customers, and the routing of handoffs to teams.

mod extraction;
mod health;
mod knowledge;
mod retrieval;
mod routing;
mod sentiment;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::domain::sentiment::SentimentHead;
use crate::domain::{Principal, WorkspaceId};
use crate::service::clock::ManualClock;
use crate::service::{import, operator, Clock, Services};
use crate::startup;
use crate::tools::sets;

/// The time the demo data is evaluated at.
pub const EVAL_NOW: &str = "2026-11-25T00:00:00Z";

/// One measured number.
#[derive(Debug, Clone)]
pub struct Row {
    /// sentiment, extraction, retrieval, health.
    pub area: &'static str,
    /// The set (or kind, for extraction).
    pub set: String,
    /// en, fr or all.
    pub lang: String,
    /// dev, held-out or all.
    pub split: String,
    /// The method measured.
    pub method: String,
    /// The metric.
    pub metric: String,
    /// Its value.
    pub value: f64,
    /// Items behind it.
    pub n: usize,
}

impl Row {
    /// A row.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        area: &'static str,
        set: &str,
        lang: &str,
        split: &str,
        method: &str,
        metric: &str,
        value: f64,
        n: usize,
    ) -> Self {
        Self {
            area,
            set: set.into(),
            lang: lang.into(),
            split: split.into(),
            method: method.into(),
            metric: metric.into(),
            value,
            n,
        }
    }
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct Options {
    /// The fixtures folder.
    pub fixtures: PathBuf,
    /// The public corpora folder (for the local French check).
    pub data: PathBuf,
    /// Only these areas (all when empty).
    pub only: Vec<String>,
}

/// The services and clock an evaluation runs on.
pub struct Eval {
    /// Services over a fresh store.
    pub services: Services,
    /// The clock, moved to each question's time.
    pub clock: Arc<ManualClock>,
    /// The fixtures folder.
    pub fixtures: PathBuf,
    _dir: tempfile::TempDir,
}

impl Eval {
    /// An operator of a workspace, created when missing.
    pub async fn principal(&self, workspace: &str) -> anyhow::Result<Principal> {
        let ws = WorkspaceId::parse(workspace)?;
        self.services.ensure_workspace(&ws).await?;
        Ok(operator(ws))
    }

    /// The clock's time.
    pub fn clock_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Runs the evaluation and prints the table.
pub async fn run(settings: &Settings, opts: Options) -> anyhow::Result<()> {
    let wants = |area: &str| opts.only.is_empty() || opts.only.iter().any(|o| o == area);
    let started = std::time::Instant::now();
    let embedder = startup::load_embedder(settings).await?;
    let now: DateTime<Utc> = EVAL_NOW.parse()?;
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(now));
    let eval_settings = Settings {
        data_dir: dir.path().to_owned(),
        ..settings.clone()
    };
    let services = startup::services(&eval_settings, Arc::clone(&embedder), clock.clone()).await?;
    let eval = Eval {
        services,
        clock,
        fixtures: opts.fixtures.clone(),
        _dir: dir,
    };
    let mut rows: Vec<Row> = Vec::new();
    if wants("sentiment") {
        let head = SentimentHead::for_model(embedder.name());
        let heldout = sets::sentiment_heldout(&opts.fixtures)?;
        rows.extend(sentiment::evaluate(
            embedder.as_ref(),
            head.as_ref(),
            "team held-out",
            &heldout,
        )?);
        if let Some(check) = sets::french_check(&opts.data) {
            rows.extend(sentiment::evaluate(
                embedder.as_ref(),
                head.as_ref(),
                "fr Amazon reviews (local check)",
                &check,
            )?);
        }
    }
    if wants("extraction") {
        rows.extend(extraction::evaluate(&eval).await?);
    }
    if wants("retrieval") || wants("health") {
        let principal = operator(WorkspaceId::default_workspace());
        eval.clock.set(now);
        let mut records = Vec::new();
        for file in ["demo/customers.ndjson", "demo/interactions.ndjson"] {
            records.extend(import::read_file(&opts.fixtures.join(file))?);
        }
        let stats = eval
            .services
            .import(&WorkspaceId::default_workspace(), records, |_| {})
            .await?;
        println!("demo data: {} records, {} failed", stats.records, stats.failed);
        if wants("health") {
            rows.extend(health::evaluate(&eval, &principal, now).await?);
        }
        if wants("retrieval") {
            rows.extend(retrieval::support(&eval, &principal, now).await?);
            rows.extend(retrieval::conversations(&eval).await?);
        }
    }
    if wants("knowledge") {
        rows.extend(knowledge::evaluate(&eval).await?);
    }
    if wants("routing") {
        rows.extend(routing::evaluate(&eval).await?);
    }
    print_table(&rows);
    println!(
        "\n(eval took {:.0} s; model {})",
        started.elapsed().as_secs_f64(),
        embedder.name()
    );
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<11} {:<32} {:<4} {:<9} {:<10} {:<18} {:>7} {:>6}",
        "area", "set", "lang", "split", "method", "metric", "value", "n"
    );
    for r in rows {
        println!(
            "{:<11} {:<32} {:<4} {:<9} {:<10} {:<18} {:>7.3} {:>6}",
            r.area, r.set, r.lang, r.split, r.method, r.metric, r.value, r.n
        );
    }
}
