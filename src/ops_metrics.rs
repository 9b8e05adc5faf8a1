//! Operations metrics for Prometheus (`GET /metrics`): counters and histograms recorded where the work happens
//! (HTTP requests, embedding batches, job runs), and gauges read from the store at each scrape (customers,
//! memories and outreach items per workspace, the store file's size). Series carry workspace ids at most, never
//! customer data. The `prometheus` crate keeps the values and writes the text format.

use std::sync::LazyLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::store::WorkspaceCounts;

/// The process-wide recorders.
struct Recorders {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    embed_seconds: HistogramVec,
    embed_batch_texts: Histogram,
    job_runs: IntCounterVec,
    job_seconds: HistogramVec,
}

/// Latency buckets, seconds: 1 ms to 30 s.
const SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[allow(
    clippy::expect_used,
    reason = "fixed, valid metric definitions: a mistake fails every test at once"
)]
static RECORDERS: LazyLock<Recorders> = LazyLock::new(|| {
    let registry = Registry::new();
    let counter = |name: &str, help: &str, labels: &[&str]| {
        let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
        registry.register(Box::new(c.clone())).expect("registered once");
        c
    };
    let histogram = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
        let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels).expect("valid histogram");
        registry.register(Box::new(h.clone())).expect("registered once");
        h
    };
    Recorders {
        http_requests: counter(
            "rappel_http_requests_total",
            "HTTP requests answered, by method, route pattern and status",
            &["method", "route", "status"],
        ),
        http_seconds: histogram(
            "rappel_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route pattern",
            &["method", "route"],
            SECONDS.to_vec(),
        ),
        embed_seconds: histogram(
            "rappel_embedding_batch_duration_seconds",
            "Time of one inference call of the embedding model, by outcome",
            &["outcome"],
            SECONDS.to_vec(),
        ),
        embed_batch_texts: {
            let h = Histogram::with_opts(
                HistogramOpts::new(
                    "rappel_embedding_batch_texts",
                    "Texts per inference call of the embedding model",
                )
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
            )
            .expect("valid histogram");
            registry.register(Box::new(h.clone())).expect("registered once");
            h
        },
        job_runs: counter(
            "rappel_job_runs_total",
            "Proactive job runs, by job and outcome (ok or error)",
            &["job", "outcome"],
        ),
        job_seconds: histogram(
            "rappel_job_run_duration_seconds",
            "Time of a proactive job run, by job",
            &["job"],
            SECONDS.to_vec(),
        ),
        registry,
    }
});

/// Records an answered HTTP request. `route` is the matched route pattern (`/v1/customers/{id}`), never the raw
/// path, so ids do not become series.
pub fn http_request(method: &str, route: &str, status: u16, seconds: f64) {
    let r = &*RECORDERS;
    r.http_requests
        .with_label_values(&[method, route, &status.to_string()])
        .inc();
    r.http_seconds.with_label_values(&[method, route]).observe(seconds);
}

/// Records one inference call of the embedding model.
pub fn embedding_batch(texts: usize, seconds: f64, ok: bool) {
    let r = &*RECORDERS;
    r.embed_seconds
        .with_label_values(&[if ok { "ok" } else { "error" }])
        .observe(seconds);
    r.embed_batch_texts.observe(texts as f64);
}

/// Records a job run.
pub fn job_run(job: &str, ok: bool, seconds: f64) {
    let r = &*RECORDERS;
    r.job_runs
        .with_label_values(&[job, if ok { "ok" } else { "error" }])
        .inc();
    r.job_seconds.with_label_values(&[job]).observe(seconds);
}

/// What the store says at a scrape.
#[derive(Debug, Clone, Default)]
pub struct StoreSnapshot {
    /// Counts per workspace.
    pub workspaces: Vec<WorkspaceCounts>,
    /// Size of the store file, bytes.
    pub file_bytes: u64,
    /// Memories stored but not in the vector index yet (PostgreSQL: the indexer's backlog).
    pub index_pending: u64,
}

/// The Prometheus text of every series: the recorders, then the store's gauges.
pub fn render(snapshot: &StoreSnapshot) -> String {
    let scrape = Registry::new();
    if let Err(e) = store_gauges(&scrape, snapshot).and_then(|()| knowledge_gauges(&scrape, snapshot)) {
        tracing::error!(error = %e, "store gauges not rendered");
    }
    let mut families = RECORDERS.registry.gather();
    families.extend(scrape.gather());
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
        tracing::error!(error = %e, "metrics not encoded");
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn store_gauges(registry: &Registry, snapshot: &StoreSnapshot) -> prometheus::Result<()> {
    let customers = IntGaugeVec::new(Opts::new("rappel_customers", "Customers per workspace"), &["workspace"])?;
    let memories = IntGaugeVec::new(Opts::new("rappel_memories", "Memories per workspace"), &["workspace"])?;
    let outreach = IntGaugeVec::new(
        Opts::new(
            "rappel_outreach_items",
            "Outreach items per workspace and state (queue depth: queued)",
        ),
        &["workspace", "state"],
    )?;
    let file = IntGauge::new("rappel_store_file_bytes", "Size of the store file")?;
    let pending = IntGauge::new(
        "rappel_index_pending_memories",
        "Memories stored but not in the vector index yet, searched exactly meanwhile (PostgreSQL: the indexer's backlog)",
    )?;
    for w in &snapshot.workspaces {
        customers.with_label_values(&[&w.workspace]).set(gauge(w.customers));
        memories.with_label_values(&[&w.workspace]).set(gauge(w.memories));
        for (state, n) in &w.outreach_by_state {
            outreach.with_label_values(&[&w.workspace, state]).set(gauge(*n));
        }
    }
    file.set(gauge(snapshot.file_bytes));
    pending.set(gauge(snapshot.index_pending));
    registry.register(Box::new(customers))?;
    registry.register(Box::new(memories))?;
    registry.register(Box::new(outreach))?;
    registry.register(Box::new(file))?;
    registry.register(Box::new(pending))?;
    Ok(())
}

/// The knowledge base's gauges: documents and chunks per workspace.
fn knowledge_gauges(registry: &Registry, snapshot: &StoreSnapshot) -> prometheus::Result<()> {
    let docs = IntGaugeVec::new(
        Opts::new("rappel_knowledge_documents", "Knowledge documents per workspace"),
        &["workspace"],
    )?;
    let chunks = IntGaugeVec::new(
        Opts::new("rappel_knowledge_chunks", "Knowledge chunks per workspace"),
        &["workspace"],
    )?;
    for w in &snapshot.workspaces {
        docs.with_label_values(&[&w.workspace])
            .set(gauge(w.knowledge_documents));
        chunks.with_label_values(&[&w.workspace]).set(gauge(w.knowledge_chunks));
    }
    registry.register(Box::new(docs))?;
    registry.register(Box::new(chunks))?;
    Ok(())
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
