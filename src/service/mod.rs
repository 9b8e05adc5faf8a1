//! Use cases. Every caller (HTTP handlers, the CLI, later the jobs) goes through [`Services`], which checks the
//! caller's scopes, confines it to its workspace, and runs store calls on the blocking pool.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

mod access;
pub mod across;
mod audit;
pub mod backup;
mod bulk;
pub mod campaigns;
pub mod clock;
pub mod context;
mod customers;
mod error;
pub mod handoff;
pub mod health;
pub mod import;
mod incidents;
mod interactions;
pub mod jobs;
pub mod knowledge;
mod limits;
mod locks;
mod memories;
mod memory_access;
mod memory_cache;
mod ops_metrics;
pub mod outreach;
mod preferences;
pub mod recall;
pub mod reembed;
mod routing;
mod runs;
pub mod support_metrics;
mod teams;

use std::sync::Arc;

pub use crate::domain::memory::Retention;
pub use access::{require_operator, CreatedKey, CreatedWorkspace};
pub use clock::{Clock, SystemClock};
pub use customers::CustomerExport;
pub use error::{panic_message, ServiceError};
pub use interactions::InteractionFilter;
pub use memories::{MemoryFilter, MemoryPatch};

use crate::domain::audit::AuditIds;
use crate::domain::extract::head::KindHead;
use crate::domain::rate::Limits;
use crate::domain::recall::Weights;
use crate::domain::sentiment::SentimentHead;
use crate::domain::{auth::hash_secret, Principal, Scope, WorkspaceId};
use crate::embed::Embedder;
use crate::index::VectorIndex;
use crate::store::{Lease, Store, StoreError};

/// Everything the use cases need, shared by all callers.
#[derive(Clone)]
pub struct Services {
    store: Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
    clock: Arc<dyn Clock>,
    admin_key_hash: Option<String>,
    /// The vector index across customers.
    vectors: Arc<dyn VectorIndex>,
    /// Recently used customers' memories, ready for ranking.
    cache: Arc<memory_cache::MemoryCache>,
    /// The sentiment classifier trained for the embedding model, when there is one.
    sentiment: Option<Arc<SentimentHead>>,
    /// The typed-memory classifier trained for the embedding model, when there is one.
    kinds: Option<Arc<KindHead>>,
    /// One lock per (job, workspace).
    job_locks: jobs::JobLocks,
    /// When these services started (a job that never ran in a workspace is due from then).
    started_at: chrono::DateTime<chrono::Utc>,
    /// One lock per customer around every change to their interactions and memories.
    locks: Arc<locks::CustomerLocks>,
    weights: Weights,
    /// Days kept per memory kind, for the retention sweep.
    retention: Retention,
    /// Secrets replaced in messages before they are embedded or stored.
    redactor: Arc<crate::domain::redact::Redactor>,
    /// Where backups are written before they are served (the data folder: same disk as the store).
    scratch_dir: std::path::PathBuf,
    /// Ids of audit entries, in the order they are written.
    audit_ids: Arc<AuditIds>,
    /// Per-key request rates and embedding quotas.
    limiter: Arc<limits::Limiter>,
    /// Each workspace's knowledge document summaries (the store chooses the chunks).
    knowledge: Arc<knowledge::KnowledgeCache>,
    /// The embeddings of each team's topics, for routing.
    team_vectors: Arc<teams::TeamVectors>,
    /// What a bot and a human interaction cost, for the support metrics.
    costs: crate::domain::support_metrics::Costs,
    /// Hash of the token `GET /metrics` needs, when one is configured.
    metrics_token_hash: Option<String>,
}

impl Services {
    /// Builds the services over a store, its vector index and a model. `admin_key` is the bootstrap admin key, if
    /// configured.
    pub fn new(
        store: Arc<dyn Store>,
        vectors: Arc<dyn VectorIndex>,
        embedder: Arc<dyn Embedder>,
        clock: Arc<dyn Clock>,
        admin_key: Option<&str>,
    ) -> Result<Self, StoreError> {
        let sentiment = SentimentHead::for_model(embedder.name()).map(Arc::new);
        if sentiment.is_none() {
            tracing::warn!(
                model = embedder.name(),
                "no sentiment classifier trained for this model; the lexicon scores messages"
            );
        }
        let kinds = KindHead::for_model(embedder.name()).map(Arc::new);
        let started_at = clock.now();
        Ok(Self {
            sentiment,
            kinds,
            job_locks: jobs::JobLocks::default(),
            started_at,
            store,
            embedder,
            clock,
            admin_key_hash: admin_key.map(hash_secret),
            vectors,
            cache: Arc::new(memory_cache::MemoryCache::new(50_000)),
            locks: Arc::default(),
            weights: Weights::default(),
            retention: Retention::default(),
            scratch_dir: std::env::temp_dir(),
            redactor: Arc::default(),
            audit_ids: Arc::default(),
            limiter: Arc::new(limits::Limiter::new(Limits::default())),
            knowledge: Arc::default(),
            team_vectors: Arc::default(),
            costs: crate::domain::support_metrics::Costs { bot: 0.5, human: 6.0 },
            metrics_token_hash: None,
        })
    }

    /// Uses these recall weights.
    pub fn with_weights(mut self, weights: Weights) -> Self {
        self.weights = weights;
        self
    }

    /// Keeps up to `memories` memories of recently used customers ready for ranking.
    pub fn with_memory_cache(mut self, memories: usize) -> Self {
        self.cache = Arc::new(memory_cache::MemoryCache::new(memories));
        self
    }

    /// Redacts these secrets from messages before they are embedded or stored.
    pub fn with_redactor(mut self, redactor: crate::domain::redact::Redactor) -> Self {
        self.redactor = Arc::new(redactor);
        self
    }

    /// Writes backups in `dir` before serving them.
    pub fn with_scratch_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.scratch_dir = dir;
        self
    }

    /// Limits every API key to these request rates and embedding quotas.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limiter = Arc::new(limits::Limiter::new(limits));
        self
    }

    /// Prices interactions with these costs in the support metrics.
    pub fn with_costs(mut self, costs: crate::domain::support_metrics::Costs) -> Self {
        self.costs = costs;
        self
    }

    /// Requires this bearer token on `GET /metrics` (open when `None`).
    pub fn with_metrics_token(mut self, token: Option<&str>) -> Self {
        self.metrics_token_hash = token.map(hash_secret);
        self
    }

    /// Uses these retention limits.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// The retention limits.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// The recall weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The store (the import's customer path writes it in one blocking call).
    fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Runs `f` against the store on the blocking pool, never on an async worker.
    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(result) => result,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// Lets a store lease go before answering (see [`Lease::release`]); when that fails, dropping it lets go a
    /// moment later.
    async fn release(&self, lease: Box<dyn Lease>) {
        if let Err(e) = self.blocking(move |_| lease.release()).await {
            tracing::warn!(error = %e, "a lease was not released at once; it goes with its session");
        }
    }

    /// Readiness: the store answers and the model is loaded.
    pub async fn ready(&self) -> Result<(String, usize), ServiceError> {
        self.blocking(|s| s.ping()).await?;
        Ok((self.embedder.name().to_owned(), self.embedder.dimension()))
    }
}

/// Checks that `principal` holds a scope granting `needed`.
pub fn require(principal: &Principal, needed: Scope) -> Result<(), ServiceError> {
    if principal.grants(needed) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden { needed })
    }
}

/// A principal with every scope in `workspace`, for trusted local callers (the CLI, the demo loader).
pub fn operator(workspace: WorkspaceId) -> Principal {
    Principal {
        workspace,
        key_id: crate::domain::auth::LOCAL_KEY_ID.into(),
        scopes: vec![Scope::Admin],
    }
}
