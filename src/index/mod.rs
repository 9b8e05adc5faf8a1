//! The vector index: which memories of a workspace lie nearest a query, across customers, without reading every
//! vector. [`VectorIndex`] is what the service sees; [`LocalIndex`] keeps an HNSW graph per workspace in this
//! process (with the embedded store) and a database with its own vector index can implement the trait instead.
//! The index holds keys, kinds, times and int8 vectors, never texts: the service reads the memories it returns
//! from the store. The store stays the source of truth: every write reaches the store first, then the index.

mod ann;
mod local;
mod persist;

use std::collections::HashSet;

use chrono::{DateTime, Utc};

pub use self::ann::{AnnError, Tuning};
pub use self::local::LocalIndex;
use crate::domain::memory::{Memory, MemoryKind, StoredMemory};
use crate::domain::{CustomerId, WorkspaceId};

/// Errors of an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The vector graph failed.
    #[error(transparent)]
    Ann(#[from] AnnError),
    /// The store could not be read while building.
    #[error("building the vector index: {0}")]
    Build(String),
    /// A database holding the vectors could not be searched.
    #[error("searching the vector index: {0}")]
    Search(String),
    /// The saved index could not be read or written.
    #[error("the saved vector index at {path}: {reason}")]
    File {
        /// Where.
        path: String,
        /// Why.
        reason: String,
    },
}

/// What the index keeps of a memory besides its vector: enough to filter a search.
#[derive(Debug, Clone)]
pub struct Point<'a> {
    /// The memory's customer.
    pub customer: &'a CustomerId,
    /// The memory's id.
    pub id: &'a str,
    /// Its kind.
    pub kind: MemoryKind,
    /// When it was observed.
    pub observed_at: DateTime<Utc>,
    /// Its unit vector.
    pub vector: &'a [f32],
}

impl<'a> Point<'a> {
    /// A stored memory as the index sees it.
    pub fn of(m: &'a StoredMemory) -> Self {
        Self::of_parts(&m.memory, &m.vector)
    }

    /// A memory and its vector as the index sees them.
    pub fn of_parts(memory: &'a Memory, vector: &'a [f32]) -> Self {
        Self {
            customer: &memory.provenance.customer_id,
            id: &memory.id,
            kind: memory.kind,
            observed_at: memory.observed_at,
            vector,
        }
    }
}

/// A memory found near a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    /// Its customer.
    pub customer: CustomerId,
    /// The memory's id.
    pub id: String,
    /// Cosine similarity to the query (of the int8 vector).
    pub similarity: f32,
}

/// Which memories a search considers.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// Only these kinds.
    pub kinds: Option<Vec<MemoryKind>>,
    /// Only memories observed at or after.
    pub since: Option<DateTime<Utc>>,
    /// Only these customers.
    pub customers: Option<HashSet<CustomerId>>,
}

/// Sizes, for benchmarks and logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexStats {
    /// Memories held.
    pub memories: usize,
    /// Bytes of the graphs and their vectors, as the graph library counts them.
    pub graph_bytes: usize,
    /// Whether every stored memory is in (false while it is built after a start without a saved index).
    pub ready: bool,
    /// Memories stored but not in the graph yet, searched exactly meanwhile (PostgreSQL: written since the
    /// indexer last ran; always 0 in process, where a write enters the graph at once).
    pub pending: usize,
}

/// The vector index as the service uses it. Writes come after the store's, under the customer's lock.
pub trait VectorIndex: Send + Sync {
    /// The `k` memories of the workspace nearest a unit query among those the filter keeps, best first
    /// (approximate: see README, "The memory index"). `None` while the index is not ready: the caller ranks
    /// the store's memories itself.
    fn nearest(
        &self,
        workspace: &WorkspaceId,
        query: &[f32],
        k: usize,
        filter: &SearchFilter,
    ) -> Result<Option<Vec<Neighbour>>, IndexError>;
    /// Adds or replaces (by customer and id) memories of a workspace.
    fn upsert(&self, workspace: &WorkspaceId, points: &[Point<'_>]) -> Result<(), IndexError>;
    /// Removes one memory (nothing when absent).
    fn remove(&self, workspace: &WorkspaceId, customer: &CustomerId, id: &str) -> Result<(), IndexError>;
    /// Removes every memory of a customer, leaving no copy of their vectors in memory or in a saved index.
    fn remove_customer(&self, workspace: &WorkspaceId, customer: &CustomerId) -> Result<(), IndexError>;
    /// Writes what must survive a restart (a no-op for an index kept by a database).
    fn persist(&self) -> Result<(), IndexError>;
    /// Sizes.
    fn stats(&self) -> IndexStats;
    /// Memories stored but not in the graph yet ([`IndexStats::pending`]), without counting the rest.
    fn pending(&self) -> usize {
        0
    }
}
