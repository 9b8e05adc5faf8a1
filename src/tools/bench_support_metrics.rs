//! `rappel bench --support-metrics`: a workspace of `--interactions` generated interactions (default 200,000) over
//! one year, loaded straight through the service's bulk load (no memories: embedding them would dominate the
//! set-up and has nothing to do with the metrics), then the latency of `GET /v1/metrics/support`'s use case over
//! the year by day, week and month, and with splits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Span, Utc};
use rand::{Rng, SeedableRng};

use crate::config::Settings;
use crate::domain::interaction::{
    AuthorRole, HandledBy, Interaction, InteractionChannel, InteractionInput, InteractionStatus, Message,
};
use crate::domain::preferences::Preferences;
use crate::domain::support_metrics::{GroupBy, SplitBy};
use crate::domain::{Customer, CustomerFields, WorkspaceId};
use crate::service::clock::SystemClock;
use crate::service::support_metrics::MetricsQuery;
use crate::service::{operator, Services};

/// Calls measured per case.
const RUNS: usize = 20;

/// Runs the benchmark.
pub async fn run(settings: &Settings, interactions: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = Settings {
        data_dir: dir.path().to_owned(),
        ..settings.clone()
    };
    let embedder = crate::startup::load_embedder(&settings).await?;
    let services = crate::startup::services(&settings, embedder, Arc::new(SystemClock)).await?;
    let start: DateTime<Utc> = "2025-01-01T00:00:00Z".parse()?;
    let t = Instant::now();
    populate(&services, interactions, start).await?;
    println!(
        "support metrics: {interactions} interactions over 2025 in one workspace, loaded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let principal = operator(WorkspaceId::default_workspace());
    let cases = [
        ("year by day", GroupBy::Day, None),
        ("year by week", GroupBy::Week, None),
        ("year by month", GroupBy::Month, None),
        (
            "year by week, split by handled_by",
            GroupBy::Week,
            Some(SplitBy::HandledBy),
        ),
        ("year by month, split by plan", GroupBy::Month, Some(SplitBy::Plan)),
    ];
    for (name, group_by, split_by) in cases {
        let query = MetricsQuery {
            since: Some(start),
            until: Some(start + Span::days(365)),
            group_by,
            split_by,
        };
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut counted = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let m = services.support_metrics(&principal, query).await?;
            times.push(t.elapsed());
            counted = m.totals.interactions;
        }
        times.sort();
        let ms = |p: usize| {
            times
                .get((RUNS * p).div_ceil(100).max(1) - 1)
                .map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        println!(
            "  {name:<36} p50 {:>7.1} ms   p99 {:>7.1} ms   ({counted} interactions counted, {RUNS} calls)",
            ms(50),
            ms(99)
        );
    }
    Ok(())
}

/// Loads 2,000 customers and `n` interactions spread over the year from `start`, in transactions of 20,000.
async fn populate(services: &Services, n: usize, start: DateTime<Utc>) -> anyhow::Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let ws = WorkspaceId::default_workspace();
    let plans = ["free", "pro", "business"];
    let customers: Vec<Customer> = (0..2_000)
        .map(|c| {
            let fields = CustomerFields {
                external_id: format!("m-{c}"),
                language: Some(if c % 3 == 0 { "fr" } else { "en" }.into()),
                plan: Some(plans[c % 3].into()),
                ..Default::default()
            };
            Customer::new(ws.clone(), fields, start)
        })
        .collect();
    let mut pending: Vec<(Customer, Preferences)> =
        customers.iter().map(|c| (c.clone(), Preferences::default())).collect();
    let channels = [
        InteractionChannel::Chat,
        InteractionChannel::Email,
        InteractionChannel::Phone,
    ];
    let teams = ["billing", "tech", "shipping", "accounts"];
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(20_000);
        let mut list = Vec::with_capacity(batch);
        for k in done..done + batch {
            let customer = &customers[rng.gen_range(0..customers.len())];
            let opened = start + Span::seconds(rng.gen_range(0..365 * 86_400));
            let handled = [HandledBy::Bot, HandledBy::Human, HandledBy::Both][rng.gen_range(0..3)];
            let resolved = rng.gen_bool(0.8);
            let reply = if handled == HandledBy::Human {
                AuthorRole::Agent
            } else {
                AuthorRole::Bot
            };
            let messages = vec![
                Message {
                    id: format!("{k}-1"),
                    role: AuthorRole::Customer,
                    author: None,
                    text: "My hub keeps going offline.".into(),
                    sent_at: opened,
                    sentiment: None,
                },
                Message {
                    id: format!("{k}-2"),
                    role: reply,
                    author: (reply == AuthorRole::Agent).then(|| format!("Agent {}", rng.gen_range(0..40))),
                    text: "Resetting the hub should fix it.".into(),
                    sent_at: opened + Span::seconds(rng.gen_range(10..7_200)),
                    sentiment: None,
                },
            ];
            let input = InteractionInput {
                external_id: format!("t-{k}"),
                channel: channels[rng.gen_range(0..3)],
                subject: None,
                status: if resolved {
                    InteractionStatus::Resolved
                } else {
                    InteractionStatus::Open
                },
                opened_at: opened,
                closed_at: resolved.then(|| opened + Span::seconds(rng.gen_range(600..200_000))),
                handled_by: Some(handled),
                escalated: handled == HandledBy::Both,
                csat: rng.gen_bool(0.3).then(|| rng.gen_range(1..=5)),
                nps: rng.gen_bool(0.2).then(|| rng.gen_range(0..=10)),
                tags: Vec::new(),
                product: None,
                team: Some(teams[rng.gen_range(0..4)].into()),
                messages,
            };
            list.push(Interaction::new(ws.clone(), customer.id.clone(), input, opened));
        }
        services
            .bulk_load(std::mem::take(&mut pending), list, Vec::new())
            .await?;
        done += batch;
    }
    Ok(())
}
