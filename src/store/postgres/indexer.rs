//! The indexer: puts memories written online into the HNSW index, off the ingest's path.
//!
//! An ingest writes its memories `pending` (see `schema::V4`): inserting a row into pgvector's HNSW graph is most
//! of an ingest's time in the database, and it grows with the graph. Every node runs one indexer on the store's
//! runtime. It wakes when its node wrote pending memories, and every [`SWEEP`] for rows another node left (one
//! that stopped before indexing them). It clears the flag a batch at a time: the update makes the rows' new
//! versions, which enter the index. Batches are taken with `FOR UPDATE SKIP LOCKED`, so two nodes never take the
//! same row and never wait for each other; a memory the indexer has not reached yet is found by the exact scan of
//! pending rows that every search adds (see ranking.rs), so it is searchable from its ingest's commit.
//!
//! The indexer has a pool of its own, of one connection named `<application name>-indexer`: it never takes a
//! connection the requests need, and `rappel migrate`'s check for servers using a database is not fooled by it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};
use tokio::sync::Notify;
use tokio_postgres::error::SqlState;

use crate::store::StoreError;

/// Rows indexed per transaction (about a second of graph inserts on a large store).
const BATCH: i64 = 100;

/// How often an idle indexer looks for rows other nodes left pending.
const SWEEP: Duration = Duration::from_secs(5);

/// How long to wait after a failed batch (the database may be restarting).
const RETRY: Duration = Duration::from_secs(1);

/// The longest the indexer's statements wait for a lock (its connection's `lock_timeout`). A bulk load's index
/// build holds the memories table for minutes: the indexer lets it be and looks again at the next sweep, instead
/// of waiting for the statement timeout.
pub(super) const LOCK_WAIT: Duration = Duration::from_secs(1);

/// A node's indexer, running from the store's open to its drop.
pub(super) struct Indexer {
    pool: Pool,
    wake: Arc<Notify>,
    /// Tests stop the indexer to see pending rows.
    paused: Arc<AtomicBool>,
    /// Held while the loop decides to take a batch and takes it, so a pause waits for a batch under way.
    working: Arc<tokio::sync::Mutex<()>>,
}

impl Indexer {
    /// An indexer with its own `pool`, not started.
    pub(super) fn new(pool: Pool) -> Self {
        Self {
            pool,
            wake: Arc::new(Notify::new()),
            paused: Arc::new(AtomicBool::new(false)),
            working: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Starts the indexer on `runtime`; it looks for pending rows at once.
    pub(super) fn start(&self, runtime: &tokio::runtime::Handle) {
        runtime.spawn(run(
            self.pool.clone(),
            Arc::clone(&self.wake),
            Arc::clone(&self.paused),
            Arc::clone(&self.working),
        ));
    }

    /// Tells the indexer this node wrote pending memories (a wake while it works makes it look again after).
    pub(super) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops taking batches (the stop at the store's drop).
    pub(super) fn close(&self) {
        self.pool.close();
    }

    /// Takes one batch now, as the indexer's loop does.
    #[cfg(test)]
    pub(super) async fn batch_now(&self) -> Result<u64, StoreError> {
        batch(&self.pool).await
    }

    /// Stops or resumes taking batches; a pause returns once a batch under way is done (call it outside the
    /// store's runtime).
    #[cfg(test)]
    pub(super) fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        drop(self.working.blocking_lock());
        self.wake();
    }
}

/// The indexer's loop: batches until none is full, then waits for a wake or the next sweep.
async fn run(pool: Pool, wake: Arc<Notify>, paused: Arc<AtomicBool>, working: Arc<tokio::sync::Mutex<()>>) {
    loop {
        if pool.is_closed() {
            return;
        }
        let batch_under_way = working.lock().await;
        let wait = if paused.load(Ordering::SeqCst) {
            SWEEP
        } else {
            match batch(&pool).await {
                Ok(n) if n >= BATCH as u64 => continue,
                Ok(_) => SWEEP,
                Err(StoreError::Postgres(e)) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                    tracing::debug!("the memories table is locked (an index build?); indexing at the next sweep");
                    SWEEP
                }
                Err(e) if !pool.is_closed() => {
                    tracing::warn!(error = %e, "indexing pending memories failed; trying again");
                    RETRY
                }
                Err(_) => return,
            }
        };
        drop(batch_under_way);
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// One batch from the indexer's pool.
async fn batch(pool: &Pool) -> Result<u64, StoreError> {
    let client = pool.get().await?;
    index_pending(&client, BATCH).await
}

/// Puts up to `limit` pending memories no other transaction holds into the HNSW index; how many it took.
pub(super) async fn index_pending(client: &impl GenericClient, limit: i64) -> Result<u64, StoreError> {
    let taken = client
        .execute(
            "UPDATE memories m SET pending = false FROM (SELECT workspace, customer_id, id FROM memories \
             WHERE pending LIMIT $1 FOR UPDATE SKIP LOCKED) p \
             WHERE m.workspace = p.workspace AND m.customer_id = p.customer_id AND m.id = p.id",
            &[&limit],
        )
        .await?;
    Ok(taken)
}
