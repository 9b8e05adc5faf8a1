//! `rappel bench --proactive`: every job over a generated population (default 10,000 customers with 200,000
//! memories), timed with peak resident memory; then claim/ack throughput with 4 concurrent senders, checking that
//! no item is delivered twice.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};

use super::bench::memory_mib;
use crate::config::Settings;
use crate::domain::interaction::{
    AuthorRole, HandledBy, Interaction, InteractionChannel, InteractionInput, InteractionStatus, Message,
};
use crate::domain::memory::StoredMemory;
use crate::domain::memory::{Memory, MemoryKind, Provenance};
use crate::domain::preferences::{Channel, Consent, Preferences};
use crate::domain::sentiment::analyse;
use crate::domain::text::Lang;
use crate::domain::{normalise_unit, Customer, CustomerFields, WorkspaceId};
use crate::service::clock::SystemClock;
use crate::service::outreach::{AckRequest, AckStatus, QueueRequest};
use crate::service::{operator, Services};

const CUSTOMER_LINES: [&str; 8] = [
    "My hub keeps going offline every night since the update.",
    "I was charged twice for my subscription this month.",
    "The parcel with my motion sensor never arrived.",
    "Thanks, everything works perfectly now!",
    "Third time I write about this, still no answer. Unacceptable.",
    "Mon hub se déconnecte toutes les nuits, c'est pénible.",
    "Merci beaucoup, tout fonctionne parfaitement.",
    "How do I add a second user to the app?",
];
const AGENT_LINES: [&str; 4] = [
    "We will call you back tomorrow before noon.",
    "Resetting the hub fixed it on our side.",
    "I have issued a refund, you will see it within 5 business days.",
    "Could you send me a screenshot of the error?",
];

/// Runs the proactive benchmark.
pub async fn run(settings: &Settings, customers: usize, memories: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = Settings {
        data_dir: dir.path().to_owned(),
        ..settings.clone()
    };
    let embedder = crate::startup::load_embedder(&settings).await?;
    let services = crate::startup::services(&settings, Arc::clone(&embedder), Arc::new(SystemClock)).await?;
    let t = Instant::now();
    populate(&services, customers, memories).await?;
    println!(
        "population: {customers} customers, {} memories, built in {:.1} s; resident {:.0} MiB",
        services.memory_count(),
        t.elapsed().as_secs_f64(),
        memory_mib("VmRSS:")
    );
    services
        .seed_jobs(crate::jobs::files::load_dir(&settings.jobs_dir)?)
        .await?;
    let principal = crate::service::operator(crate::domain::WorkspaceId::default_workspace());
    let t = Instant::now();
    let mut queued = 0;
    for job in services.job_definitions().await? {
        let one = Instant::now();
        let run = services.run_job(&principal, &job.id, "bench").await?;
        queued += run.queued;
        println!(
            "  job {:<18} {:>6.2} s: {} matches, {} queued, skipped {:?}",
            job.id,
            one.elapsed().as_secs_f64(),
            run.matches,
            run.queued,
            run.skipped
        );
    }
    println!(
        "full run of all jobs: {:.1} s, {queued} items queued; peak resident memory {:.0} MiB",
        t.elapsed().as_secs_f64(),
        memory_mib("VmHWM:")
    );
    claim_ack(&services).await
}

async fn populate(services: &Services, customers: usize, memories: usize) -> anyhow::Result<()> {
    let ws = WorkspaceId::default_workspace();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let pool_texts: Vec<&str> = CUSTOMER_LINES.iter().chain(AGENT_LINES.iter()).copied().collect();
    let texts: Vec<String> = pool_texts.iter().map(|s| s.to_string()).collect();
    let pool: Vec<Vec<f32>> = services.embed_passages(texts).await?;
    let now = Utc::now();
    let per_customer = memories / customers.max(1);
    let today = now.date_naive();
    let batch = 500;
    for start in (0..customers).step_by(batch) {
        let mut people = Vec::new();
        let mut interactions = Vec::new();
        let mut stored = Vec::new();
        for n in start..(start + batch).min(customers) {
            let fr = n % 3 == 0;
            let fields = CustomerFields {
                external_id: format!("p-{n}"),
                name: Some(format!("Customer {n}")),
                language: Some(if fr { "fr-FR" } else { "en-GB" }.into()),
                timezone: Some(if fr { "Europe/Paris" } else { "Europe/London" }.into()),
                plan: Some("pro".into()),
                renewal_date: Some(today + Duration::days(rng.gen_range(0..365))),
                signup_date: NaiveDate::from_ymd_opt(2024, 1, 1),
                ..Default::default()
            };
            let customer = Customer::new(ws.clone(), fields, now - Duration::days(400));
            let mut prefs = Preferences {
                preferred_channels: vec![Channel::Email],
                max_contacts_per_week: Some(2),
                ..Default::default()
            };
            prefs.consent.set(
                Channel::Email,
                Some(Consent {
                    granted: n % 10 != 0,
                    at: Some(now),
                    source: Some("bench".into()),
                }),
            );
            for k in 0..5 {
                let opened = now - Duration::hours(rng.gen_range(1..24 * 120));
                let mut messages = Vec::new();
                for m in 0..4 {
                    let role = if m % 2 == 0 {
                        AuthorRole::Customer
                    } else {
                        AuthorRole::Agent
                    };
                    let text = if role == AuthorRole::Customer {
                        CUSTOMER_LINES[rng.gen_range(0..8)]
                    } else {
                        AGENT_LINES[rng.gen_range(0..4)]
                    };
                    let sentiment =
                        (role == AuthorRole::Customer).then(|| analyse(text, if fr { Lang::Fr } else { Lang::En }));
                    messages.push(Message {
                        id: format!("p{n}-{k}-{m}"),
                        role,
                        author: None,
                        text: text.into(),
                        sent_at: opened + Duration::minutes(30 * m),
                        sentiment,
                    });
                }
                let status = if rng.gen_bool(0.05) {
                    InteractionStatus::Open
                } else {
                    InteractionStatus::Resolved
                };
                let input = InteractionInput {
                    external_id: format!("p{n}-{k}"),
                    channel: InteractionChannel::Email,
                    subject: Some("Support".into()),
                    status,
                    opened_at: opened,
                    closed_at: None,
                    handled_by: Some(HandledBy::Human),
                    escalated: false,
                    csat: Some(rng.gen_range(1..=5)),
                    nps: None,
                    tags: Vec::new(),
                    product: None,
                    team: None,
                    messages,
                };
                interactions.push(Interaction::new(ws.clone(), customer.id.clone(), input, now));
            }
            for i in 0..per_customer {
                let p = rng.gen_range(0..pool.len());
                let mut vector: Vec<f32> = pool[p].iter().map(|x| x + rng.gen_range(-0.02..0.02)).collect();
                normalise_unit(&mut vector);
                let k = i % 5;
                let interaction = &interactions[interactions.len() - 5 + k];
                let at = interaction.fields.opened_at;
                let kind = if p < 8 {
                    [MemoryKind::Message, MemoryKind::Issue][i % 2]
                } else {
                    [MemoryKind::Message, MemoryKind::Commitment, MemoryKind::Resolution][i % 3]
                };
                let provenance = Provenance {
                    customer_id: customer.id.clone(),
                    interaction_id: interaction.fields.external_id.clone(),
                    message_ids: vec![interaction.fields.messages[0].id.clone()],
                };
                let language = if fr { Lang::Fr } else { Lang::En };
                let mut memory = Memory::new(ws.clone(), kind, pool_texts[p].into(), language, provenance, at);
                memory.due_at = (kind == MemoryKind::Commitment).then(|| at + Duration::days(1));
                memory.open =
                    interaction.fields.status.is_active() && matches!(kind, MemoryKind::Issue | MemoryKind::Commitment);
                stored.push(StoredMemory { memory, vector });
            }
            people.push((customer, prefs));
        }
        services.bulk_load(people, interactions, stored).await?;
    }
    Ok(())
}

async fn claim_ack(services: &Services) -> anyhow::Result<()> {
    let principal = operator(WorkspaceId::default_workspace());
    // A fresh batch of items on the generated customers (one each, well within their weekly cap).
    let customers: Vec<String> = services
        .all_customers(&principal, Default::default())
        .await?
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    let t = Instant::now();
    let target = queue_one_each(services, customers, 2_000).await?;
    println!(
        "queued {target} items by hand in {:.1} s ({:.0} items/s)",
        t.elapsed().as_secs_f64(),
        target as f64 / t.elapsed().as_secs_f64()
    );
    let (delivered, elapsed, twice) = drain_with_four_senders(std::slice::from_ref(services)).await?;
    println!(
        "claim/ack with 4 concurrent senders: {delivered} items in {elapsed:.1} s = {:.0} items/s; {twice} delivered twice",
        delivered as f64 / elapsed,
    );
    Ok(())
}

/// Queues one e-mail item by hand for each customer (in order) until `max` are queued; how many were.
pub(super) async fn queue_one_each(services: &Services, customers: Vec<String>, max: usize) -> anyhow::Result<usize> {
    let principal = operator(WorkspaceId::default_workspace());
    let mut queued = 0usize;
    for customer_id in customers {
        if queued >= max {
            break;
        }
        let request = QueueRequest {
            customer_id,
            reason_code: "bench".into(),
            reason: "bench".into(),
            evidence: vec![],
            channels: vec![Channel::Email],
            templates: BTreeMap::from([("en".to_owned(), "Hello {first_name}".to_owned())]),
            topic: None,
            priority: None,
            not_before: None,
            expires_at: None,
            cooldown_hours: Some(0),
        };
        let source = crate::domain::outreach::OutreachSource {
            kind: "manual".into(),
            id: "bench".into(),
        };
        if matches!(
            services.queue_outreach(&principal, source, request).await?,
            crate::service::outreach::QueueOutcome::Queued { .. }
        ) {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Four senders, spread over the nodes, claim (50 at a time) and acknowledge until the queue is empty: items
/// handed out, seconds taken, and items handed out more than once.
pub(super) async fn drain_with_four_senders(nodes: &[Services]) -> anyhow::Result<(usize, f64, usize)> {
    let principal = operator(WorkspaceId::default_workspace());
    let t = Instant::now();
    let mut senders = Vec::new();
    for s in 0..4 {
        let services = nodes[s % nodes.len()].clone();
        let principal = principal.clone();
        senders.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let items = services.claim_outreach(&principal, None, 50, 300).await?;
                if items.is_empty() {
                    return Ok::<_, crate::service::ServiceError>(mine);
                }
                for item in items {
                    let ack = AckRequest {
                        status: AckStatus::Sent,
                        provider_message_id: Some(format!("s{s}-{}", item.id)),
                        error: None,
                    };
                    services.ack_outreach(&principal, &item.id, ack).await?;
                    mine.push(item.id);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for s in senders {
        all.extend(s.await??);
    }
    let elapsed = t.elapsed().as_secs_f64();
    let unique: HashSet<&String> = all.iter().collect();
    Ok((all.len(), elapsed, all.len() - unique.len()))
}
