//! The PostgreSQL backend (with pgvector): several stateless Rappel nodes on one database.
//!
//! # Driver: tokio-postgres with a deadpool pool
//! - Every query here is built at run time (the schema depends on the model's dimension, and the tests create a
//!   database per test), so sqlx's compile-time checked queries, its main draw, would not be used; its runtime
//!   API adds an `Any` layer and a larger dependency tree for nothing this backend needs.
//! - tokio-postgres speaks the binary protocol with typed parameters, so a pgvector value is a small
//!   `ToSql`/`FromSql` implementation ([`vector::PgVector`]) instead of text parsing, and it exposes what a queue
//!   across nodes needs as plain SQL: explicit transactions, `FOR UPDATE SKIP LOCKED`, advisory locks, and
//!   `COPY ... BINARY` for bulk migration later.
//! - deadpool-postgres is a thin pool over it with a configurable size, a wait timeout and cheap recycling.
//! - A statement given as text is prepared again at every call, a round trip of its own before it runs: the
//!   statements of the ingest and read paths are prepared once per connection (`prepare_cached`) instead.
//!
//! # Synchronous traits over an async driver
//! The repository traits are synchronous and services call them on the blocking pool (`Services::blocking`).
//! The store owns a small multi-threaded tokio runtime whose worker drives the connections; a trait method
//! runs its future with `Handle::block_on` on the calling (blocking) thread. That thread is never an async
//! worker: calling the store from async code panics in `block_on`, which is the same rule the redb store sets
//! by convention (a store call never runs on an actix worker), now enforced.
//!
//! # Records
//! Rows keep a domain record as JSONB (`record`), the same serde shape the redb store encodes, so both backends
//! agree on every field by construction; columns beside it hold what is looked up, filtered, ordered or indexed
//! (ids, external ids, states, times, vectors, full-text vectors). A change of a record's shape is a schema
//! migration (see [`schema`]).

mod audit;
mod copy;
mod customers;
mod health;
mod indexer;
mod jobs;
mod keys;
mod knowledge;
mod knowledge_candidates;
mod locks;
mod memories;
mod metrics;
mod outreach;
mod preferences;
mod ranking;
mod records;
mod reembed;
mod schema;
mod sharing;
mod vector;

pub use ranking::PgIndex;
pub use schema::SCHEMA_VERSION;
pub use vector::PgVector;

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use serde::de::DeserializeOwned;
use tokio_postgres::{NoTls, Row};

use super::{ModelStamp, SnapshotStats, Store, StoreError};

/// How to reach and use the database.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// A `postgres://` URL (or a libpq key-value string).
    pub url: String,
    /// Most connections of each of this node's two pools: one for queries, one for customers' write locks.
    pub pool_size: usize,
    /// Longest a statement may run before the server cancels it.
    pub statement_timeout: Duration,
    /// Longest to wait for a connection (to open one, or for one of the pool to be free).
    pub connect_timeout: Duration,
}

impl PostgresConfig {
    /// The defaults for `url`: 16 connections, 30 s statements, 10 s to connect.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 16,
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A PostgreSQL database holding every table of [`schema`].
pub struct PostgresStore {
    pool: Pool,
    /// Connections holding customers' locks (see [`locks`]), as many as `pool`.
    lock_pool: Pool,
    /// Puts memories written online into the HNSW index (see [`indexer`]).
    indexer: indexer::Indexer,
    /// Drives the connections; taken in `drop` to shut it down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PostgresStore {
    /// Connects, applies the schema migrations this binary knows (refusing a database of a newer schema before
    /// writing anything), and, when `model` is given, checks or records the embedding model and creates the
    /// vector indexes of its dimension. Safe to run from several nodes at once: migrations hold an advisory lock.
    pub fn open(config: &PostgresConfig, model: Option<&ModelStamp>) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rappel-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Pool(format!("could not start the PostgreSQL runtime: {e}")))?;
        let mut pg: tokio_postgres::Config = config
            .url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Pool(format!("invalid PostgreSQL URL: {e}")))?;
        let timeout_ms = config.statement_timeout.as_millis();
        let options = match pg.get_options() {
            Some(own) => format!("{own} -c statement_timeout={timeout_ms}"),
            None => format!("-c statement_timeout={timeout_ms}"),
        };
        pg.options(&options);
        pg.connect_timeout(config.connect_timeout);
        if pg.get_application_name().is_none() {
            pg.application_name("rappel");
        }
        let mut indexer_pg = pg.clone();
        indexer_pg.application_name(format!("{}-indexer", pg.get_application_name().unwrap_or("rappel")));
        indexer_pg.options(format!("{options} -c lock_timeout={}", indexer::LOCK_WAIT.as_millis()));
        let pool = |pg: tokio_postgres::Config, size: usize| {
            let manager = Manager::from_config(
                pg,
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(config.connect_timeout))
                .create_timeout(Some(config.connect_timeout))
                .build()
                .map_err(|e| StoreError::Pool(e.to_string()))
        };
        let size = config.pool_size.max(1);
        let indexer_pool = pool(indexer_pg, 1)?;
        let store = Self {
            pool: pool(pg.clone(), size)?,
            lock_pool: pool(pg, size)?,
            indexer: indexer::Indexer::new(indexer_pool),
            runtime: Some(runtime),
        };
        store.run(async {
            let mut client = store.client().await?;
            schema::migrate(&mut client, model).await
        })?;
        // Started after the migrations, so that it never looks for a column the schema does not have yet.
        store.indexer.start(&store.handle());
        Ok(store)
    }

    /// The model recorded in the database, if any.
    pub fn model_stamp(&self) -> Result<Option<ModelStamp>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            schema::model_stamp(&client).await
        })
    }

    /// Runs `fut` to completion on the calling thread, with this store's runtime driving the connections.
    fn run<T>(&self, fut: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the store")
            .handle()
            .block_on(fut)
    }

    /// A handle on the runtime driving the connections (for work spawned when a lease is dropped).
    fn handle(&self) -> tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the store")
            .handle()
            .clone()
    }

    /// The value of a version counter (`memory_versions`, `knowledge_versions`) that `sql` reads from its one
    /// row: 0 while the row was never written.
    fn version(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<i64>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let row = client.query_opt(&client.prepare_cached(sql).await?, params).await?;
            Ok(Some(row.map_or(0, |r| r.get(0))))
        })
    }

    /// A connection of the pool.
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(StoreError::from)
    }
}

#[cfg(test)]
impl PostgresStore {
    /// The first column of the one row `sql` returns, as a number (tests look at the database directly).
    fn count(&self, sql: &str) -> i64 {
        self.run(async { Ok(self.client().await?.query_one(sql, &[]).await?.get::<_, i64>(0)) })
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The plan PostgreSQL chooses for `sql` with `params` (tests check which indexes a query uses).
    fn explain(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> String {
        self.run(async {
            let rows = self.client().await?.query(&format!("EXPLAIN {sql}"), params).await?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
                .join("\n"))
        })
        .unwrap_or_else(|e| panic!("EXPLAIN {sql}: {e}"))
    }

    /// Runs statements (tests change the database behind the store's back).
    fn execute(&self, sql: &str) {
        self.run(async { Ok(self.client().await?.batch_execute(sql).await?) })
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.pool.close();
        self.lock_pool.close();
        self.indexer.close();
        if let Some(runtime) = self.runtime.take() {
            // Never blocks, so a store dropped in async code does not panic.
            runtime.shutdown_background();
        }
    }
}

impl Store for PostgresStore {
    fn shared(&self) -> bool {
        true
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.run(async {
            self.client().await?.simple_query("SELECT 1").await?;
            Ok(())
        })
    }

    /// A PostgreSQL store is backed up with the database's own tools (`pg_dump`, a managed service's snapshots);
    /// `rappel migrate --to FILE.redb` copies it into a redb file.
    fn snapshot_to(&self, _dest: &std::path::Path) -> Result<SnapshotStats, StoreError> {
        Err(StoreError::Unsupported(
            "a backup file of a PostgreSQL store: back the database up with pg_dump or your provider's snapshots, or \
             copy it into a redb file with `rappel migrate`",
        ))
    }
}

impl From<PoolError> for StoreError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Backend(e) => StoreError::Postgres(e),
            PoolError::Timeout(_) => StoreError::Busy("no connection of the pool was free in time".into()),
            other => StoreError::Pool(other.to_string()),
        }
    }
}

/// The domain record of a row (its `record` column), or `Corrupt` naming `table`.
fn record<T: DeserializeOwned>(row: &Row, table: &'static str) -> Result<T, StoreError> {
    let value: serde_json::Value = row.try_get("record")?;
    serde_json::from_value(value).map_err(|e| StoreError::Corrupt {
        table,
        reason: e.to_string(),
    })
}

/// A value as JSONB.
fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("stored types serialise to JSON")
}

/// Whether `e` is a unique violation of the constraint `name`.
fn unique_violation(e: &tokio_postgres::Error, name: &str) -> bool {
    e.as_db_error().is_some_and(|db| {
        *db.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION && db.constraint() == Some(name)
    })
}

/// Whether a driver error is passing: the connection is gone, or the server cancelled the statement (timeout),
/// broke a deadlock, failed a serializable transaction, or is out of connections or shutting down.
pub(crate) fn is_transient(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    if e.is_closed() {
        return true;
    }
    e.code().is_some_and(|code| {
        [
            SqlState::QUERY_CANCELED,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code)
            || code.code().starts_with("08")
    })
}

/// Formats a driver error with the server's message, which `tokio_postgres::Error`'s own `Display` leaves out.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
