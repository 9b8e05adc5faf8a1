//! Persistence behind repository traits. Handlers and services see only these traits; `redb` (embedded, the
//! default) is one implementation, `postgres` (several nodes on one database; not yet selectable) another.

mod codec;
pub mod copy;
#[cfg(test)]
pub(crate) mod model_tests;
pub mod postgres;
pub mod redb;
mod tables;

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};

use crate::domain::audit::{AuditEntry, AuditFilter};
use crate::domain::campaign::Campaign;
use crate::domain::health::Health;
use crate::domain::incident::Incident;
use crate::domain::interaction::Interaction;
use crate::domain::job::JobDefinition;
use crate::domain::job_run::JobRun;
use crate::domain::knowledge::candidates::{CandidateQuery, ChunkEntry};
use crate::domain::knowledge::gaps::Gap;
use crate::domain::knowledge::{KnowledgeDoc, StoredChunk};
use crate::domain::memory::Memory;
use crate::domain::outreach::OutreachItem;
use crate::domain::preferences::Channel;
use crate::domain::team::Team;
use crate::domain::{
    ApiKey, Customer, CustomerFields, CustomerFilter, CustomerId, InvalidInput, KeyId, Page, PreferenceChange,
    Preferences, Workspace, WorkspaceId,
};

pub use self::copy::{CitationCount, CopyRepo};
pub use self::redb::{restore, verify_file, RedbStore, SnapshotStats};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another customer of the workspace already has this external id.
    #[error("external_id {external_id:?} is already used by customer {existing}")]
    ExternalIdConflict {
        /// The contested external id.
        external_id: String,
        /// The customer holding it.
        existing: CustomerId,
    },
    /// The customer (or key) addressed does not exist in this workspace.
    #[error("not found")]
    NotFound,
    /// A workspace with this id exists already.
    #[error("workspace {0} already exists")]
    WorkspaceExists(String),
    /// A change computed inside a transaction broke a domain rule; nothing was written.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The database file is locked by another process.
    #[error(
        "the store {0} is in use by another Rappel process (a running server?); stop it first or use the HTTP API"
    )]
    InUse(PathBuf),
    /// The file was written by a newer Rappel.
    #[error("the store was written with schema version {found}, newer than this Rappel understands ({supported}); upgrade Rappel")]
    SchemaTooNew {
        /// Version found in the file.
        found: u32,
        /// Highest version this binary reads.
        supported: u32,
    },
    /// The file holds vectors of another embedding model.
    #[error("the store holds embeddings of {stored_model} ({stored_dim} dimensions) but the configured model is {model} ({dim} dimensions); run `rappel reembed` to re-embed every memory with {model} (resumable), or configure {stored_model} again")]
    EmbeddingMismatch {
        /// Model recorded in the store.
        stored_model: String,
        /// Dimension recorded in the store.
        stored_dim: usize,
        /// Configured model.
        model: String,
        /// Its dimension.
        dim: usize,
    },
    /// A re-embedding was interrupted: the store holds vectors of two models until it finishes.
    #[error(
        "the store is being re-embedded with {target} ({done} memories done); run `rappel reembed` again to finish"
    )]
    ReembedUnfinished {
        /// The model being moved to.
        target: String,
        /// Memories already re-embedded.
        done: u64,
    },
    /// A stored value could not be decoded.
    #[error("corrupt record in table {table}: {reason}")]
    Corrupt {
        /// Table holding the record.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The data folder could not be created or read.
    #[error("data folder {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The embedded database failed.
    #[error("database error: {0}")]
    Database(#[from] ::redb::Error),
    /// PostgreSQL answered with an error, or a connection to it failed.
    #[error("PostgreSQL: {}", postgres::describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had (the pool was closed), or its settings are invalid.
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),
    /// No connection of the pool was free in time: the database or this node is overloaded.
    #[error("PostgreSQL busy: {0}")]
    Busy(String),
    /// This backend does not offer the operation (what is missing, and what to do instead).
    #[error("not available on this store: {0}")]
    Unsupported(&'static str),
}

impl StoreError {
    /// Whether the failure is passing and the same request may succeed a moment later: no free connection in
    /// time, a statement timeout, a deadlock or serialization failure, a lost connection.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Busy(_) => true,
            Self::Postgres(e) => postgres::is_transient(e),
            _ => false,
        }
    }
}

pub use crate::domain::Upserted;

/// A change computed from the current value inside the write transaction.
pub type Change<'a, T> = &'a mut dyn FnMut(&T) -> Result<T, InvalidInput>;

/// Customer profiles and the external-id index.
pub trait CustomerRepo: Send + Sync {
    /// Stores a new customer; fails with `ExternalIdConflict` when its external id is taken.
    fn create_customer(&self, customer: &Customer) -> Result<(), StoreError>;
    /// Creates or replaces the customer with `fields.external_id`; writes nothing when the profile is identical.
    fn upsert_customer(
        &self,
        workspace: &WorkspaceId,
        fields: CustomerFields,
        now: DateTime<Utc>,
    ) -> Result<(Customer, Upserted), StoreError>;
    /// Applies `change` to the customer's profile atomically; `NotFound` when absent.
    fn update_customer(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        change: Change<'_, CustomerFields>,
        now: DateTime<Utc>,
    ) -> Result<Customer, StoreError>;
    /// The customer with this id, if it exists in this workspace.
    fn get_customer(&self, workspace: &WorkspaceId, id: &CustomerId) -> Result<Option<Customer>, StoreError>;
    /// The customer with this external id, if any.
    fn customer_by_external_id(
        &self,
        workspace: &WorkspaceId,
        external_id: &str,
    ) -> Result<Option<Customer>, StoreError>;
    /// Customers in id (creation) order after the cursor, filtered.
    fn list_customers(
        &self,
        workspace: &WorkspaceId,
        filter: &CustomerFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Customer>, StoreError>;
    /// Erases the customer and everything stored about them in one transaction, with `audit` appended to the
    /// audit log in the same transaction (an erasure is never without its record); false when absent (nothing is
    /// written then).
    fn erase_customer(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError>;
    /// Waits for the customer's write lock among the nodes sharing the store and holds it until the lease is
    /// dropped; it guards a read-plan-write made of several calls. A store only one process opens (redb) grants
    /// it at once: the service's in-process lock is enough there.
    fn lock_customer(&self, _workspace: &WorkspaceId, _id: &CustomerId) -> Result<Box<dyn Lease>, StoreError> {
        Ok(Box::new(()))
    }
}

/// Preferences and their change history.
pub trait PreferenceRepo: Send + Sync {
    /// The customer's preferences (defaults when never set); `NotFound` when the customer is absent.
    fn get_preferences(&self, workspace: &WorkspaceId, id: &CustomerId) -> Result<Preferences, StoreError>;
    /// Applies `change` atomically and records one history entry per changed field; writes nothing when
    /// nothing changed. Returns the new preferences and the recorded changes.
    fn update_preferences(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        change: Change<'_, Preferences>,
        now: DateTime<Utc>,
        source: &str,
    ) -> Result<(Preferences, Vec<PreferenceChange>), StoreError>;
    /// History entries in order after `after` (a `seq`).
    fn preference_history(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<PreferenceChange>, StoreError>;
}

/// Workspaces and API keys.
pub trait KeyRepo: Send + Sync {
    /// Creates a workspace; `WorkspaceExists` when the id is taken.
    fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError>;
    /// The workspace, if it exists.
    fn get_workspace(&self, id: &WorkspaceId) -> Result<Option<Workspace>, StoreError>;
    /// Every workspace, by id.
    fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError>;
    /// Stores a key (by the hash of its secret).
    fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// The key whose secret hashes to `hash`.
    fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError>;
    /// The workspace's keys, revoked ones included, by id.
    fn list_keys(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes a key of the workspace; `NotFound` when it has no such key. Revoking twice keeps the first time.
    fn revoke_key(&self, workspace: &WorkspaceId, id: &KeyId, now: DateTime<Utc>) -> Result<ApiKey, StoreError>;
}

pub use crate::domain::memory::StoredMemory;

/// Interactions and the memories formed from them.
pub trait MemoryRepo: Send + Sync {
    /// The interaction with this external id of this customer.
    fn interaction_by_external_id(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        external_id: &str,
    ) -> Result<Option<Interaction>, StoreError>;
    /// Every interaction of the customer (any order).
    fn list_interactions(&self, workspace: &WorkspaceId, customer: &CustomerId)
        -> Result<Vec<Interaction>, StoreError>;
    /// Saves an interaction and new or changed memories in one transaction; `NotFound` when the customer is gone.
    /// A store that keeps memory versions ([`MemoryRepo::memory_version`]) returns the customer's version the
    /// write left when it changed memories: with the customer's lock held, it is the caller's own write's.
    fn save_ingest(
        &self,
        interaction: &Interaction,
        memories: &[StoredMemory],
        changed: &[Memory],
    ) -> Result<Option<i64>, StoreError>;
    /// Inserts customers, their interactions and their memories in one transaction (bulk loading: benchmarks
    /// and migrations). Customers must be new.
    fn bulk_load(
        &self,
        customers: &[(Customer, Preferences)],
        interactions: &[Interaction],
        memories: &[StoredMemory],
    ) -> Result<(), StoreError>;
    /// Before loading many memories with `bulk_load` into a store no node serves yet (benchmarks, migrations):
    /// a store whose database keeps the vector index may drop it, so the load does not update it memory by
    /// memory, to build it once in [`MemoryRepo::finish_bulk_memories`]. Searches in between find the same
    /// memories, slowly. A load that stops before the finish leaves the index to the next `open`, which builds
    /// it. Nothing to do by default (redb's vector index lives in the process).
    fn begin_bulk_memories(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// After a bulk load: builds the vector index dropped by [`MemoryRepo::begin_bulk_memories`] (the same index
    /// `open` creates) and refreshes the planner's statistics.
    fn finish_bulk_memories(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Inserts memories with their vectors in one transaction (bulk loading).
    fn insert_memories(&self, memories: &[StoredMemory]) -> Result<(), StoreError>;
    /// Saves changed memories (no vector change).
    fn update_memories(&self, memories: &[Memory]) -> Result<(), StoreError>;
    /// Replaces one memory and its vector.
    fn replace_memory(&self, memory: &StoredMemory) -> Result<(), StoreError>;
    /// Deletes one memory and its vector; false when absent.
    fn delete_memory(&self, workspace: &WorkspaceId, customer: &CustomerId, id: &str) -> Result<bool, StoreError>;
    /// Every memory of a customer.
    fn list_memories(&self, workspace: &WorkspaceId, customer: &CustomerId) -> Result<Vec<Memory>, StoreError>;
    /// Calls `f` with every stored memory and its vector (migrations, the retention sweep).
    fn scan_memories(&self, f: &mut dyn FnMut(StoredMemory)) -> Result<(), StoreError>;
    /// How many memories are stored.
    fn count_memories(&self) -> Result<u64, StoreError>;
    /// Every memory of a customer with its vector.
    fn customer_memories(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<Vec<StoredMemory>, StoreError>;
    /// The memories with these (customer, memory id) keys that exist, with their vectors, in the keys' order.
    fn memories_by_key(
        &self,
        workspace: &WorkspaceId,
        keys: &[(CustomerId, String)],
    ) -> Result<Vec<StoredMemory>, StoreError>;
    /// Calls `f` with every memory of a workspace and its vector.
    fn scan_workspace_memories(
        &self,
        workspace: &WorkspaceId,
        f: &mut dyn FnMut(StoredMemory),
    ) -> Result<(), StoreError>;
    /// A number that changes with every change of the customer's memories, for nodes that keep them in memory
    /// and share the store with other writers; `None` from a store only one process writes (redb), whose own
    /// changes are all its cache needs to follow.
    fn memory_version(&self, _workspace: &WorkspaceId, _customer: &CustomerId) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
}

/// A memory's key: workspace, customer, memory id.
pub type MemoryKey = (String, String, String);

/// Where a re-embedding stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReembedState {
    /// The model the store's vectors come from.
    pub current: Option<ModelStamp>,
    /// The model being moved to, while a re-embedding is unfinished.
    pub target: Option<ModelStamp>,
    /// The last memory re-embedded.
    pub cursor: Option<MemoryKey>,
    /// Memories re-embedded so far.
    pub done: u64,
    /// Memories in the store.
    pub total: u64,
}

/// Moving every vector to another embedding model, in resumable steps: each batch of new vectors is written
/// with the position reached, in one transaction.
pub trait ReembedRepo: Send + Sync {
    /// The models and the position.
    fn reembed_state(&self) -> Result<ReembedState, StoreError>;
    /// Starts (or continues, when the target is the same) moving to `target`.
    fn reembed_begin(&self, target: &ModelStamp) -> Result<ReembedState, StoreError>;
    /// Up to `limit` memories after `cursor` in key order, with the text to embed.
    fn memory_texts_after(
        &self,
        cursor: Option<&MemoryKey>,
        limit: usize,
    ) -> Result<Vec<(MemoryKey, String)>, StoreError>;
    /// Writes new vectors (for memories that still exist) and the position reached.
    fn reembed_write(&self, vectors: &[(MemoryKey, Vec<f32>)]) -> Result<(), StoreError>;
    /// Records the target as the store's model and forgets the position.
    fn reembed_finish(&self) -> Result<ModelStamp, StoreError>;
}

/// The result of queuing an item.
#[derive(Debug, Clone, PartialEq)]
pub enum Enqueued {
    /// Queued.
    Queued,
    /// An item with the same de-duplication key was queued within the cooldown; nothing was written.
    Duplicate(String),
}

pub use crate::domain::outreach_state::AckOutcome;

/// The outreach queue.
pub trait OutreachRepo: Send + Sync {
    /// Queues an item unless one with the same key was queued at or after `cooldown_since`.
    fn enqueue(&self, item: &OutreachItem, cooldown_since: DateTime<Utc>) -> Result<Enqueued, StoreError>;
    /// The id of an item with this de-duplication key queued at or after `since`, if any.
    fn recent_duplicate(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;
    /// Proactive contacts of a customer sent, or being sent, since `since`.
    fn contacts_since(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError>;
    /// Hands out up to `max` due items of `channel` (all channels when `None`) atomically, re-checking the contact
    /// rules; expired leases return to the queue first. Two concurrent claims never get the same item.
    fn claim(
        &self,
        workspace: &WorkspaceId,
        channel: Option<Channel>,
        max: usize,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<OutreachItem>, StoreError>;
    /// Records a sender's result: idempotent for a repeated report of the same result. After `max_failures`
    /// failures the item is failed, otherwise it is queued again. `NotFound` when the item is unknown,
    /// `Invalid` when it is not claimed.
    fn ack(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        outcome: &AckOutcome,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> Result<OutreachItem, StoreError>;
    /// Cancels a queued or claimed item.
    fn cancel_outreach(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<OutreachItem, StoreError>;
    /// One item.
    fn get_outreach(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<OutreachItem>, StoreError>;
    /// Every item of the workspace, in id (creation) order after `after`.
    fn list_outreach(
        &self,
        workspace: &WorkspaceId,
        after: Option<&str>,
        limit: usize,
        keep: &dyn Fn(&OutreachItem) -> bool,
    ) -> Result<Page<OutreachItem>, StoreError>;
}

/// Job run records.
pub trait JobRepo: Send + Sync {
    /// Saves (or replaces) a run, in its workspace.
    fn save_job_run(&self, run: &JobRun) -> Result<(), StoreError>;
    /// A job's runs in a workspace, newest first, at most `limit`.
    fn job_runs(&self, workspace: &WorkspaceId, job_id: &str, limit: usize) -> Result<Vec<JobRun>, StoreError>;
    /// Stores the definitions once in the store's life (a new store is seeded from the `jobs/` folder); returns
    /// how many were stored (0 when the store was seeded before).
    fn seed_jobs(&self, jobs: &[JobDefinition]) -> Result<usize, StoreError>;
    /// Every job definition, by id.
    fn list_jobs(&self) -> Result<Vec<JobDefinition>, StoreError>;
    /// One definition.
    fn get_job(&self, id: &str) -> Result<Option<JobDefinition>, StoreError>;
    /// Adds a definition; false when one with this id exists.
    fn insert_job(&self, job: &JobDefinition) -> Result<bool, StoreError>;
    /// Replaces a definition; false when none has this id.
    fn replace_job(&self, job: &JobDefinition) -> Result<bool, StoreError>;
    /// Deletes a definition (its runs stay); false when none has this id.
    fn delete_job(&self, id: &str) -> Result<bool, StoreError>;
    /// The lease of one run of a job in a workspace, held until dropped, or `None` while another process sharing
    /// the store holds it. A store only one process opens (redb) grants it at once: the service's in-process
    /// lock is enough there.
    fn try_job_lease(&self, _workspace: &WorkspaceId, _job_id: &str) -> Result<Option<Box<dyn Lease>>, StoreError> {
        Ok(Some(Box::new(())))
    }
    /// Takes a job's scheduled time in a workspace for this node, with the job's lease held
    /// ([`Self::try_job_lease`]): [`ScheduleTake::Taken`] the first time, [`ScheduleTake::Unfinished`] when a
    /// node took it and never finished it (with the lease held here, that run is not going on: its node stopped),
    /// [`ScheduleTake::Finished`] once a run of it is finished. A store only one process opens (redb) has no
    /// other taker: `Taken`.
    fn take_schedule(
        &self,
        _workspace: &WorkspaceId,
        _job_id: &str,
        _due: DateTime<Utc>,
    ) -> Result<ScheduleTake, StoreError> {
        Ok(ScheduleTake::Taken)
    }
    /// Records that the run of a scheduled time taken by [`Self::take_schedule`] finished (recorded, failed or
    /// not), so no node runs it again.
    fn finish_schedule(&self, _workspace: &WorkspaceId, _job_id: &str, _due: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(())
    }
}

/// What [`JobRepo::take_schedule`] found for a job's scheduled time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleTake {
    /// No node had taken it: this one runs it.
    Taken,
    /// A node took it and stopped before its run finished: this one runs it again.
    Unfinished,
    /// Its run finished: nothing to run.
    Finished,
}

/// A lock held in the store for the nodes sharing it: a job run's lease ([`JobRepo::try_job_lease`]) or a
/// customer's write lock ([`CustomerRepo::lock_customer`]). Dropping it lets go, without blocking.
pub trait Lease: Send {
    /// Lets go now, on a blocking thread: the next try, on any node, finds the lock free. (A dropped lease may be
    /// held a moment longer: on PostgreSQL, until the server has ended the session that held it.)
    fn release(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
}

impl Lease for () {}

/// Declared incidents.
pub trait IncidentRepo: Send + Sync {
    /// Saves (creates or replaces) an incident.
    fn put_incident(&self, incident: &Incident) -> Result<(), StoreError>;
    /// One incident.
    fn get_incident(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<Incident>, StoreError>;
    /// Every incident of the workspace, oldest first.
    fn list_incidents(&self, workspace: &WorkspaceId) -> Result<Vec<Incident>, StoreError>;
}

/// Customer health history.
pub trait HealthRepo: Send + Sync {
    /// Records a computed health; `NotFound` when the customer is gone.
    fn save_health(&self, workspace: &WorkspaceId, customer: &CustomerId, health: &Health) -> Result<(), StoreError>;
    /// The customer's recorded health, newest first, at most `limit`.
    fn health_history(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<Health>, StoreError>;
}

/// Teams (who handles what, for routing).
pub trait TeamRepo: Send + Sync {
    /// Inserts or replaces a team.
    fn put_team(&self, team: &Team) -> Result<(), StoreError>;
    /// One team of a workspace.
    fn get_team(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<Team>, StoreError>;
    /// Every team of a workspace, in id (creation) order.
    fn list_teams(&self, workspace: &WorkspaceId) -> Result<Vec<Team>, StoreError>;
    /// Deletes a team; false when there was none.
    fn delete_team(&self, workspace: &WorkspaceId, id: &str) -> Result<bool, StoreError>;
}

/// Campaigns.
pub trait CampaignRepo: Send + Sync {
    /// Saves (creates or replaces) a campaign.
    fn put_campaign(&self, campaign: &Campaign) -> Result<(), StoreError>;
    /// One campaign.
    fn get_campaign(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<Campaign>, StoreError>;
    /// Every campaign of the workspace, oldest first.
    fn list_campaigns(&self, workspace: &WorkspaceId) -> Result<Vec<Campaign>, StoreError>;
    /// Deletes a campaign; false when absent.
    fn delete_campaign(&self, workspace: &WorkspaceId, id: &str) -> Result<bool, StoreError>;
}

/// The audit log: append-only, per workspace.
pub trait AuditRepo: Send + Sync {
    /// Appends entries (in one transaction).
    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;
    /// A workspace's entries in the order they were written, after the cursor `after` (an entry id), filtered.
    fn list_audit(
        &self,
        workspace: &WorkspaceId,
        filter: &AuditFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, StoreError>;
}

/// The knowledge base: documents, their chunks with vectors, citation counts and unanswered questions.
pub trait KnowledgeRepo: Send + Sync {
    /// The next citation number of a workspace (1, 2, ...; never reused).
    fn next_knowledge_number(&self, workspace: &WorkspaceId) -> Result<u64, StoreError>;
    /// Writes a document and, when given, replaces all of its chunks, in one transaction.
    fn put_knowledge(&self, doc: &KnowledgeDoc, chunks: Option<&[StoredChunk]>) -> Result<(), StoreError>;
    /// One document.
    fn get_knowledge(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<KnowledgeDoc>, StoreError>;
    /// The document imported from a source, if any.
    fn knowledge_by_source(&self, workspace: &WorkspaceId, source: &str) -> Result<Option<KnowledgeDoc>, StoreError>;
    /// Every document of a workspace, by id.
    fn list_knowledge(&self, workspace: &WorkspaceId) -> Result<Vec<KnowledgeDoc>, StoreError>;
    /// Every chunk of a workspace with its vector, by document and position.
    fn knowledge_chunks(&self, workspace: &WorkspaceId) -> Result<Vec<StoredChunk>, StoreError>;
    /// The chunks a question's ranking considers, by document and position: exactly those
    /// [`crate::domain::knowledge::candidates::choose`] picks among all of the workspace's chunks, each with its
    /// vector and keyword terms. redb chooses among a copy it keeps in memory; PostgreSQL in the database.
    fn knowledge_candidates(
        &self,
        workspace: &WorkspaceId,
        query: &CandidateQuery,
    ) -> Result<Vec<ChunkEntry>, StoreError>;
    /// Deletes a document and its chunks (false when absent).
    fn delete_knowledge(&self, workspace: &WorkspaceId, id: &str) -> Result<bool, StoreError>;
    /// Counts one citation of each document on a day (days since 1970).
    fn count_citations(&self, workspace: &WorkspaceId, docs: &[String], day: i64) -> Result<(), StoreError>;
    /// Citations per document since a day.
    fn citations_since(&self, workspace: &WorkspaceId, day: i64) -> Result<Vec<(String, u64)>, StoreError>;
    /// Records a question no chunk answered well.
    fn add_gap(&self, workspace: &WorkspaceId, gap: &Gap) -> Result<(), StoreError>;
    /// Unanswered questions asked since a time, oldest first.
    fn gaps_since(&self, workspace: &WorkspaceId, since: DateTime<Utc>) -> Result<Vec<Gap>, StoreError>;
    /// Deletes the unanswered questions asked before a time, in every workspace; returns how many.
    fn prune_gaps(&self, before: DateTime<Utc>) -> Result<usize, StoreError>;
    /// A number that changes with every change of the workspace's documents, for nodes that keep them in memory
    /// and share the store with other writers; `None` from a store only one process writes (redb), whose own
    /// changes are all its caches need to follow.
    fn knowledge_version(&self, _workspace: &WorkspaceId) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
}

/// Counts of one workspace, for the operations metrics (no customer data: numbers only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceCounts {
    /// The workspace id.
    pub workspace: String,
    /// Customers.
    pub customers: u64,
    /// Memories.
    pub memories: u64,
    /// Outreach items by state (`queued`, `sent`, ...).
    pub outreach_by_state: std::collections::BTreeMap<String, u64>,
    /// Knowledge documents.
    pub knowledge_documents: u64,
    /// Knowledge chunks.
    pub knowledge_chunks: u64,
}

/// What the support and operations metrics read.
pub trait MetricsRepo: Send + Sync {
    /// The support-metrics facts of the workspace's interactions opened in [since, until), oldest first.
    fn interaction_facts(
        &self,
        workspace: &WorkspaceId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::domain::support_metrics::Fact>, StoreError>;
    /// Every outreach item of the workspace.
    fn workspace_outreach(&self, workspace: &WorkspaceId) -> Result<Vec<OutreachItem>, StoreError>;
    /// Customers, memories and outreach items per workspace.
    fn workspace_counts(&self) -> Result<Vec<WorkspaceCounts>, StoreError>;
    /// Size of the store file, in bytes.
    fn file_bytes(&self) -> Result<u64, StoreError>;
}

/// Everything a backend provides.
pub trait Store:
    CustomerRepo
    + PreferenceRepo
    + KeyRepo
    + MemoryRepo
    + OutreachRepo
    + JobRepo
    + IncidentRepo
    + HealthRepo
    + CampaignRepo
    + TeamRepo
    + ReembedRepo
    + AuditRepo
    + KnowledgeRepo
    + MetricsRepo
{
    /// Cheap check that the store answers (for readiness).
    fn ping(&self) -> Result<(), StoreError>;

    /// Whether other processes write this store too (nodes sharing a database): their changes are learnt by
    /// asking it (memory and knowledge versions). A store only this process opens (redb) says no, and its
    /// versions are not asked for.
    fn shared(&self) -> bool {
        false
    }

    /// Writes a consistent copy of the whole store to `dest` (a new file), for backups.
    fn snapshot_to(&self, dest: &std::path::Path) -> Result<SnapshotStats, StoreError>;
}

/// The embedding model a store's vectors come from, recorded at first open and checked on every open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStamp {
    /// Model name.
    pub name: String,
    /// Vector dimension.
    pub dim: usize,
}
