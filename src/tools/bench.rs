//! `rappel bench`: performance numbers anyone can reproduce on their machine, on data the command generates.
//!
//! 1. Embedding throughput at batch 1 and 32.
//! 2. Ingest throughput through the real path (memory formation, embedding, one transaction per interaction).
//! 3. A store of `--memories` memories (vectors drawn from a pool of embedded generated sentences, so building it
//!    does not take an hour of embedding), then recall and context latency for customers with 100 and 2,000
//!    memories, cross-customer search latency, resident memory and bytes on disk per memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::config::Settings;
use crate::domain::interaction::InteractionInput;
use crate::domain::memory::StoredMemory;
use crate::domain::memory::{Memory, MemoryKind, Provenance};
use crate::domain::text::Lang;
use crate::domain::{normalise_unit, Customer, CustomerFields, Preferences, WorkspaceId};
use crate::service::across::SearchRequest;
use crate::service::clock::SystemClock;
use crate::service::context::ContextRequest;
use crate::service::recall::RecallQuery;
use crate::service::{operator, Services};
use crate::startup::{load_embedder, services};

const SUBJECTS: [&str; 12] = [
    "my parcel",
    "the invoice",
    "my password",
    "the Lumen Hub",
    "the mobile app",
    "my refund",
    "the firmware update",
    "my subscription",
    "the motion sensor",
    "the smart lock",
    "the thermostat",
    "two-factor login",
];
const PROBLEMS: [&str; 12] = [
    "never arrived and I want to know why",
    "shows a charge I do not recognise",
    "stopped working after the last update",
    "keeps disconnecting from the wifi every evening",
    "cannot be changed from the settings page",
    "was promised by Friday but nothing happened",
    "n'arrive pas à se connecter depuis hier soir",
    "is great, thanks for the quick help",
    "drains the battery in a few hours",
    "reports the wrong temperature in the living room",
    "locks me out when I travel abroad",
    "was billed twice this month",
];
const AGENT: [&str; 6] = [
    "Thanks for reaching out, we will look into it and get back to you tomorrow.",
    "I have issued a refund, you will see it within 5 business days.",
    "Resetting the hub and updating the firmware should fix it.",
    "We will send a replacement by Friday.",
    "The issue is resolved on our side, please try again.",
    "Could you send me the order number and a screenshot?",
];

/// Generated support sentences, all different.
pub(super) fn sentences(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("Ticket {i}: {} {}.", SUBJECTS[i % 12], PROBLEMS[(i / 12) % 12]))
        .collect()
}

pub(super) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

/// A memory figure of this process from /proc/self/status, in MiB: `VmRSS:` (resident now) or `VmHWM:` (peak).
pub(crate) fn memory_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// What one model measured.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    /// Model name.
    pub model: String,
    /// Batch-1 texts/s, p50 and p99 ms.
    pub batch1: (f64, f64, f64),
    /// Batch-32 texts/s.
    pub batch32: f64,
    /// Ingest messages/s, until indexed, and embedding-alone messages/s on the same texts.
    pub ingest: IngestRate,
    /// Recall and context p50/p99 ms at 100 and 2,000 memories.
    pub latency: Vec<(String, f64, f64, f64, f64)>,
    /// Cross-customer search p50/p99 ms.
    pub search: (f64, f64),
    /// Ingest messages/s with 1, 2, 4 and 8 concurrent clients (different customers).
    pub concurrent: Vec<(usize, f64)>,
    /// Context p50/p99 ms for the 2,000-memory customer while 8 clients ingest.
    pub context_under_load: (f64, f64),
    /// Bytes on disk per memory: the store, and the saved vector index.
    pub bytes_per_memory: (f64, f64),
    /// Growth of resident memory per memory while the store was built.
    pub bytes_in_ram: f64,
    /// Recall@10 of cross-customer candidates against exact search.
    pub search_recall: f64,
    /// Seconds from start to serving, with the saved index.
    pub startup: f64,
    /// Milliseconds of the first context after start (memories read from the store).
    pub cold_context: f64,
    /// Seconds to build the index from the store without a saved one.
    pub rebuild: f64,
    /// Resident memory at the end, MiB.
    pub rss_mib: f64,
}

/// Runs the benchmark for the configured model and, when given, another model directory, and prints a table.
pub async fn run(settings: &Settings, n: usize, memories: usize, compare: Option<&str>) -> anyhow::Result<()> {
    let mut all = Vec::new();
    if let Some(other) = compare {
        let other_settings = Settings {
            model: other.to_owned(),
            ..settings.clone()
        };
        all.push(measure(&other_settings, n, memories).await?);
    }
    all.push(measure(settings, n, memories).await?);
    if all.len() > 1 {
        println!(
            "
{:<40} {:>22} {:>22}",
            "figure", all[0].model, all[1].model
        );
        let row = |name: &str, f: &dyn Fn(&Figures) -> String| {
            println!("{name:<40} {:>22} {:>22}", f(&all[0]), f(&all[1]));
        };
        row("embedding batch 1 (texts/s)", &|f| format!("{:.0}", f.batch1.0));
        row("embedding batch 1 p50 / p99 (ms)", &|f| {
            format!("{:.1} / {:.1}", f.batch1.1, f.batch1.2)
        });
        row("embedding batch 32 (texts/s)", &|f| format!("{:.0}", f.batch32));
        row("ingest (messages/s)", &|f| format!("{:.0}", f.ingest.rate));
        row("embedding alone, same texts (msg/s)", &|f| {
            format!("{:.0}", f.ingest.floor)
        });
        row("ingest / embedding alone", &|f| {
            format!("{:.0} %", percent(f.ingest.rate, f.ingest.floor))
        });
        for i in 0..all[0].latency.len().min(all[1].latency.len()) {
            let label = all[0].latency[i].0.clone();
            row(&format!("recall p50 / p99, {label} (ms)"), &|f| {
                format!("{:.1} / {:.1}", f.latency[i].1, f.latency[i].2)
            });
            row(&format!("context p50 / p99, {label} (ms)"), &|f| {
                format!("{:.1} / {:.1}", f.latency[i].3, f.latency[i].4)
            });
        }
        for i in 0..all[0].concurrent.len().min(all[1].concurrent.len()) {
            row(
                &format!("ingest, {} clients (messages/s)", all[0].concurrent[i].0),
                &|f| format!("{:.0}", f.concurrent[i].1),
            );
        }
        row("context p50 / p99 under 8 writers (ms)", &|f| {
            format!("{:.1} / {:.1}", f.context_under_load.0, f.context_under_load.1)
        });
        row("search p50 / p99 (ms)", &|f| {
            format!("{:.1} / {:.1}", f.search.0, f.search.1)
        });
        row("search recall@10 vs exact", &|f| format!("{:.3}", f.search_recall));
        row("bytes on disk per memory (store + index)", &|f| {
            format!("{:.0} + {:.0}", f.bytes_per_memory.0, f.bytes_per_memory.1)
        });
        row("resident bytes per memory", &|f| format!("{:.0}", f.bytes_in_ram));
        row("start-up with saved index (s)", &|f| format!("{:.2}", f.startup));
        row("first context after start (ms)", &|f| format!("{:.1}", f.cold_context));
        row("index build from the store (s)", &|f| format!("{:.1}", f.rebuild));
        row("resident memory at the end (MiB)", &|f| format!("{:.0}", f.rss_mib));
    }
    Ok(())
}

async fn measure(settings: &Settings, n: usize, memories: usize) -> anyhow::Result<Figures> {
    let n = n.max(32);
    // The configured inference batch size applies throughout (calls of 32 texts are split into batches of it).
    let settings = settings.clone();
    let started = Instant::now();
    let embedder = load_embedder(&settings).await?;
    println!(
        "embedding model: {} ({} dimensions), loaded in {} ms",
        embedder.name(),
        embedder.dimension(),
        started.elapsed().as_millis()
    );
    let mut figures = Figures {
        model: embedder.name().to_owned(),
        ..Figures::default()
    };
    let dir = tempfile::tempdir()?;
    let settings = Settings {
        data_dir: dir.path().to_owned(),
        ..settings
    };
    let services = services(&settings, Arc::clone(&embedder), Arc::new(SystemClock)).await?;
    (figures.batch1, figures.batch32) = embedding(&services, n, settings.embed_batch_size).await?;
    figures.ingest = ingest(std::slice::from_ref(&services), "ingest").await?;
    let rss_before = memory_mib("VmRSS:");
    let (small, large, _) = build_store(&services, memories).await?;
    let total = services.memory_count();
    let stats = services.index_stats();
    figures.bytes_in_ram = (memory_mib("VmRSS:") - rss_before) * 1048576.0 / memories.max(1) as f64;
    println!(
        "resident memory grew by {:.0} bytes per memory while the store was built (vector graphs {:.0} bytes per memory)",
        figures.bytes_in_ram,
        stats.graph_bytes as f64 / total.max(1) as f64
    );
    for (label, customer) in [("100 memories", &small), ("2,000 memories", &large)] {
        let (r50, r99, c50, c99) = latency(&services, label, customer).await?;
        figures.latency.push((label.to_owned(), r50, r99, c50, c99));
    }
    figures.search = search(&services).await?;
    figures.search_recall = index_recall(&services, &[10]).await?[0];
    (figures.concurrent, figures.context_under_load) = concurrency(&services, &large).await?;
    figures.rss_mib = memory_mib("VmRSS:");
    println!("resident memory at the end: {:.0} MiB", figures.rss_mib);
    // A clean shutdown saves the vector index; the next start loads it.
    services.persist_index()?;
    let total = services.memory_count();
    drop(services);
    let store_bytes = std::fs::metadata(dir.path().join(crate::store::redb::DB_FILE))?.len() as f64;
    let index_bytes: f64 = std::fs::read_dir(dir.path().join("index"))?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len() as f64)
        .sum();
    figures.bytes_per_memory = (store_bytes, index_bytes / total.max(1) as f64);
    figures.bytes_per_memory.0 /= total.max(1) as f64;
    println!(
        "on disk: store {:.1} MiB ({:.0} bytes per memory), saved vector index {:.1} MiB ({:.0} bytes per memory)",
        store_bytes / 1048576.0,
        figures.bytes_per_memory.0,
        index_bytes / 1048576.0,
        figures.bytes_per_memory.1
    );
    let t = Instant::now();
    let services = services_for(&settings, &embedder).await?;
    figures.startup = t.elapsed().as_secs_f64();
    let t = Instant::now();
    context_once(&services, &large).await?;
    figures.cold_context = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "start-up with the saved index: {:.2} s for {} memories; first context of the 2,000-memory customer (memories read from the store): {:.1} ms",
        figures.startup,
        services.memory_count(),
        figures.cold_context
    );
    drop(services);
    // After a crash nothing is saved: the index is built from the store in the background.
    std::fs::remove_dir_all(dir.path().join("index"))?;
    let t = Instant::now();
    let services = services_for(&settings, &embedder).await?;
    let up = t.elapsed().as_secs_f64();
    while !services.index_stats().ready {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    figures.rebuild = t.elapsed().as_secs_f64();
    println!(
        "start-up without a saved index: serving after {up:.2} s, vector index built from the store after {:.1} s",
        figures.rebuild
    );
    Ok(figures)
}

async fn services_for(settings: &Settings, embedder: &Arc<dyn crate::embed::Embedder>) -> anyhow::Result<Services> {
    services(settings, Arc::clone(embedder), Arc::new(SystemClock)).await
}

async fn context_once(services: &Services, customer: &Customer) -> anyhow::Result<()> {
    let req = ContextRequest {
        message: "my hub went offline again after the update".into(),
        token_budget: Some(1500),
        language: None,
    };
    services
        .context(&operator(WorkspaceId::default_workspace()), customer.id.as_str(), req)
        .await?;
    Ok(())
}

/// Recall@10 of the vector index against exact search over the same vectors, on 20 queries, the index asked for
/// each count of `candidates` neighbours in turn (one figure per count).
pub(super) async fn index_recall(services: &Services, candidates: &[usize]) -> anyhow::Result<Vec<f64>> {
    let queries = services.embed_passages(sentences(20)).await?;
    let recalls = services.index_recall(&queries, 10, candidates).await?;
    for (asked, recall) in candidates.iter().zip(&recalls) {
        println!("vector index recall@10 against exact search, {asked} candidates asked: {recall:.3} (20 queries)");
    }
    Ok(recalls)
}

async fn embedding(services: &Services, n: usize, batch: usize) -> anyhow::Result<((f64, f64, f64), f64)> {
    let texts = sentences(n);
    services.embed_passages(texts[..8].to_vec()).await?; // warm-up
    let mut singles = Vec::with_capacity(n);
    let t = Instant::now();
    for text in &texts {
        let one = Instant::now();
        services.embed_query(text).await?;
        singles.push(one.elapsed());
    }
    let batch1 = t.elapsed();
    singles.sort();
    let t = Instant::now();
    for chunk in texts.chunks(32) {
        services.embed_passages(chunk.to_vec()).await?;
    }
    let batch32 = t.elapsed();
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "embedding, {n} short support sentences: batch 1 {:.1} texts/s (p50 {:.2} ms, p99 {:.2} ms); calls of 32 texts (inference batches of {}) {:.1} texts/s ({:.2}x)",
        rate(batch1),
        percentile(&singles, 0.5),
        percentile(&singles, 0.99),
        batch,
        rate(batch32),
        batch1.as_secs_f64() / batch32.as_secs_f64()
    );
    Ok((
        (rate(batch1), percentile(&singles, 0.5), percentile(&singles, 0.99)),
        rate(batch32),
    ))
}

pub(super) async fn new_customer(services: &Services, external_id: &str) -> anyhow::Result<Customer> {
    let fields = CustomerFields {
        external_id: external_id.into(),
        language: Some("en-GB".into()),
        ..Default::default()
    };
    Ok(services
        .create_customer(&operator(WorkspaceId::default_workspace()), fields)
        .await?)
}

/// Interactions of four messages (customer, agent, customer, agent) for `customers` new customers, ten each.
pub(super) async fn interactions(
    services: &Services,
    prefix: &str,
    customers: usize,
    seed: u64,
) -> anyhow::Result<Vec<(String, InteractionInput)>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (per_customer, per_interaction) = (10, 4);
    let mut inputs = Vec::new();
    for c in 0..customers {
        let customer = new_customer(services, &format!("{prefix}-{c}")).await?;
        for i in 0..per_customer {
            let opened: DateTime<Utc> = Utc::now() - chrono::Duration::days(rng.gen_range(1..300));
            let messages: Vec<_> = (0..per_interaction)
                .map(|m| {
                    let text = if m % 2 == 0 {
                        format!("Hello, {} {} (order LM-{}).", SUBJECTS[rng.gen_range(0..12)], PROBLEMS[rng.gen_range(0..12)], rng.gen_range(10000..99999))
                    } else {
                        AGENT[rng.gen_range(0..6)].to_owned()
                    };
                    json!({"id": format!("m{c}-{i}-{m}"), "role": if m % 2 == 0 { "customer" } else { "agent" }, "text": text,
                           "sent_at": (opened + chrono::Duration::minutes(m as i64 * 30)).to_rfc3339()})
                })
                .collect();
            let input: InteractionInput =
                serde_json::from_value(json!({"external_id": format!("t{c}-{i}"), "channel": "email",
                "status": "resolved", "opened_at": opened.to_rfc3339(), "messages": messages}))?;
            inputs.push((customer.id.to_string(), input));
        }
    }
    Ok(inputs)
}

/// One client ingests 200 interactions of four messages for 20 new customers, sent to `nodes` in turn; prints and
/// returns messages/s, and the floor of embedding the same texts alone.
pub(super) async fn ingest(nodes: &[Services], prefix: &str) -> anyhow::Result<IngestRate> {
    let rate = ingest_quietly(nodes, prefix, 20).await?;
    println!(
        "ingest: {} messages in {} interactions over {} node(s): {:.0} messages/s ({} memories formed), {:.0} messages/s until all were in the vector index; embedding alone, same batches: {:.0} messages/s",
        rate.messages,
        rate.interactions,
        nodes.len(),
        rate.rate,
        nodes[0].memory_count(),
        rate.indexed,
        rate.floor
    );
    Ok(rate)
}

/// [`ingest`] for `customers` new customers (ten interactions each), printing nothing.
pub(super) async fn ingest_quietly(nodes: &[Services], prefix: &str, customers: usize) -> anyhow::Result<IngestRate> {
    let principal = operator(WorkspaceId::default_workspace());
    let first = &nodes[0];
    let inputs = interactions(first, prefix, customers, 7).await?;
    let messages: usize = inputs.iter().map(|(_, i)| i.messages.len()).sum();
    let interactions = inputs.len();
    // The floor: embedding the same texts in the same per-interaction batches, nothing else.
    let batches: Vec<Vec<String>> = inputs
        .iter()
        .map(|(_, i)| i.messages.iter().map(|m| m.text.clone()).collect())
        .collect();
    let t = Instant::now();
    for batch in batches {
        first.embed_passages(batch).await?;
    }
    let floor = t.elapsed().as_secs_f64();
    let t = Instant::now();
    // One after the other, to the nodes in turn, as through a load balancer.
    for (n, (customer, input)) in inputs.into_iter().enumerate() {
        nodes[n % nodes.len()]
            .ingest_interaction(&principal, &customer, input)
            .await?;
    }
    let elapsed = t.elapsed().as_secs_f64();
    until_indexed(first).await;
    let indexed = t.elapsed().as_secs_f64();
    Ok(IngestRate {
        messages,
        interactions,
        rate: messages as f64 / elapsed,
        floor: messages as f64 / floor,
        indexed: messages as f64 / indexed,
    })
}

/// Ingest messages/s of one client.
#[derive(Debug, Default, Clone, Copy)]
pub struct IngestRate {
    /// Messages ingested.
    pub messages: usize,
    /// The interactions that carried them.
    pub interactions: usize,
    /// Until the last ingest answered.
    pub rate: f64,
    /// Embedding the same texts alone.
    pub floor: f64,
    /// Until every memory formed was in the vector index (on PostgreSQL the indexer catches up after the ingests
    /// answered: see `store::postgres::indexer`; in process, the same as `rate`).
    pub indexed: f64,
}

/// `part` as a percentage of `whole` (0 for no whole).
pub(super) fn percent(part: f64, whole: f64) -> f64 {
    100.0 * part / whole.max(1e-9)
}

/// Waits until no memory is waiting for the vector index.
pub(super) async fn until_indexed(services: &Services) {
    while services.index_pending() > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Ingest throughput with 1, 2, 4 and 8 concurrent clients, each posting for its own customers, and the latency of
/// context reads for `reader` while the eight write.
async fn concurrency(services: &Services, reader: &Customer) -> anyhow::Result<(Vec<(usize, f64)>, (f64, f64))> {
    let mut rates = Vec::new();
    let mut under_load = (0.0, 0.0);
    for clients in [1usize, 2, 4, 8] {
        let mut per_client = Vec::new();
        for c in 0..clients {
            per_client.push(interactions(services, &format!("conc{clients}-{c}"), 4, 100 + c as u64).await?);
        }
        let messages: usize = per_client.iter().flatten().map(|(_, i)| i.messages.len()).sum();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reads = (clients == 8).then(|| {
            let (services, reader, done) = (services.clone(), reader.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                let principal = operator(WorkspaceId::default_workspace());
                let mut times = Vec::new();
                let queries = sentences(64);
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let req = ContextRequest {
                        message: queries[times.len() % queries.len()].clone(),
                        token_budget: Some(1500),
                        language: None,
                    };
                    let t = Instant::now();
                    services.context(&principal, reader.id.as_str(), req).await?;
                    times.push(t.elapsed());
                }
                anyhow::Ok(times)
            })
        });
        let t = Instant::now();
        let writers: Vec<_> = per_client
            .into_iter()
            .map(|inputs| {
                let services = services.clone();
                tokio::spawn(async move {
                    let principal = operator(WorkspaceId::default_workspace());
                    for (customer, input) in inputs {
                        services.ingest_interaction(&principal, &customer, input).await?;
                    }
                    anyhow::Ok(())
                })
            })
            .collect();
        for writer in writers {
            writer.await??;
        }
        let rate = messages as f64 / t.elapsed().as_secs_f64();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        println!("ingest with {clients} concurrent clients: {messages} messages, {rate:.0} messages/s");
        rates.push((clients, rate));
        if let Some(reads) = reads {
            let mut times = reads.await??;
            times.sort();
            under_load = (percentile(&times, 0.5), percentile(&times, 0.99));
            println!(
                "context for the 2,000-memory customer during that load: p50 {:.2} ms, p99 {:.2} ms ({} reads)",
                under_load.0,
                under_load.1,
                times.len()
            );
        }
    }
    Ok((rates, under_load))
}

/// How long each phase of [`build_store`] took, in seconds.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct BuildTimes {
    /// Embedding the pool of sentences the vectors come from.
    pub embed: f64,
    /// Writing customers and memories (`bulk_load` batches).
    pub load: f64,
    /// Building what the store set aside for the load (PostgreSQL's HNSW index; nothing on redb, whose graph
    /// grows with each batch, inside `load`).
    pub index: f64,
}

/// Builds the large store: a pool of embedded sentences, reused with a small perturbation per memory. The two
/// measured customers are created through the use case; the others come in the `bulk_load` batch holding
/// their first memory.
pub(super) async fn build_store(services: &Services, total: usize) -> anyhow::Result<(Customer, Customer, BuildTimes)> {
    let t = Instant::now();
    let pool_texts = sentences(1_000);
    let pool: Vec<Vec<f32>> = services.embed_passages(pool_texts.clone()).await?;
    let embed = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let small = new_customer(services, "bench-small").await?;
    let large = new_customer(services, "bench-large").await?;
    let mut owners: Vec<(Customer, usize, bool)> = vec![(small.clone(), 100, false), (large.clone(), 2_000, false)];
    let rest = total.saturating_sub(2_100);
    let created = Utc::now();
    for c in 0..rest.div_ceil(100) {
        let fields = CustomerFields {
            external_id: format!("bench-{c}"),
            language: Some("en-GB".into()),
            ..Default::default()
        };
        let customer = Customer::new(WorkspaceId::default_workspace(), fields, created);
        owners.push((customer, 100.min(rest - c * 100), true));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let now = Utc::now();
    let kinds = [
        MemoryKind::Message,
        MemoryKind::Message,
        MemoryKind::Issue,
        MemoryKind::Fact,
        MemoryKind::Resolution,
        MemoryKind::Commitment,
    ];
    services.begin_bulk_load().await?;
    let mut customers = Vec::new();
    let mut batch = Vec::with_capacity(5_000);
    for (customer, count, new) in owners {
        if new {
            customers.push((customer.clone(), Preferences::default()));
        }
        for i in 0..count {
            let p = rng.gen_range(0..pool.len());
            let mut vector: Vec<f32> = pool[p].iter().map(|x| x + rng.gen_range(-0.02..0.02)).collect();
            normalise_unit(&mut vector);
            let at = now - chrono::Duration::minutes(rng.gen_range(0..525_600));
            let kind = kinds[i % kinds.len()];
            let provenance = Provenance {
                customer_id: customer.id.clone(),
                interaction_id: format!("bench-{}", i / 4),
                message_ids: vec![format!("bench-{i}")],
            };
            let mut memory = Memory::new(
                customer.workspace.clone(),
                kind,
                pool_texts[p].clone(),
                Lang::En,
                provenance,
                at,
            );
            memory.open = matches!(kind, MemoryKind::Issue | MemoryKind::Commitment) && i % 10 == 0;
            memory.sentiment = Some(rng.gen_range(-1.0..1.0));
            batch.push(StoredMemory { memory, vector });
            if batch.len() == 5_000 {
                let customers = std::mem::take(&mut customers);
                services
                    .bulk_load(customers, Vec::new(), std::mem::take(&mut batch))
                    .await?;
            }
        }
    }
    services.bulk_load(customers, Vec::new(), batch).await?;
    let load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    services.finish_bulk_load().await?;
    let times = BuildTimes {
        embed,
        load,
        index: t.elapsed().as_secs_f64(),
    };
    println!(
        "store built: {} memories; pool embedded in {:.1} s, customers and memories written in {:.1} s, index built after the load in {:.1} s",
        services.memory_count(),
        times.embed,
        times.load,
        times.index
    );
    Ok((small, large, times))
}

pub(super) async fn latency(
    services: &Services,
    label: &str,
    customer: &Customer,
) -> anyhow::Result<(f64, f64, f64, f64)> {
    let principal = operator(WorkspaceId::default_workspace());
    let queries = sentences(200);
    let mut recall = Vec::new();
    let mut context = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let query = format!("{q} (question {i})");
        let t = Instant::now();
        let req = RecallQuery {
            query: query.clone(),
            k: Some(8),
            kinds: None,
            since: None,
            until: None,
            include_expired: false,
            mode: Default::default(),
        };
        services.recall(&principal, customer.id.as_str(), req).await?;
        recall.push(t.elapsed());
        let t = Instant::now();
        let req = ContextRequest {
            message: query,
            token_budget: Some(1500),
            language: None,
        };
        services.context(&principal, customer.id.as_str(), req).await?;
        context.push(t.elapsed());
    }
    recall.sort();
    context.sort();
    println!(
        "customer with {label}: recall p50 {:.2} ms, p99 {:.2} ms; context p50 {:.2} ms, p99 {:.2} ms ({} queries each)",
        percentile(&recall, 0.5),
        percentile(&recall, 0.99),
        percentile(&context, 0.5),
        percentile(&context, 0.99),
        queries.len()
    );
    Ok((
        percentile(&recall, 0.5),
        percentile(&recall, 0.99),
        percentile(&context, 0.5),
        percentile(&context, 0.99),
    ))
}

pub(super) async fn search(services: &Services) -> anyhow::Result<(f64, f64)> {
    let principal = operator(WorkspaceId::default_workspace());
    let mut times = Vec::new();
    for q in sentences(50) {
        let t = Instant::now();
        let req = SearchRequest {
            query: q,
            limit: None,
            per_customer: None,
            kinds: None,
            plan: None,
            tag: None,
            min_score: None,
            since: None,
        };
        services.search(&principal, req).await?;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "cross-customer search over {} memories: p50 {:.2} ms, p99 {:.2} ms ({} queries)",
        services.memory_count(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.len()
    );
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}
