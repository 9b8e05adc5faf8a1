//! The embedded redb backend: one database file in the data folder.

mod audit;
mod audit_log;
mod campaigns;
mod chunk_cache;
mod copy;
mod customers;
mod health;
mod incidents;
mod jobs;
mod keys;
mod knowledge;
mod memories;
mod meta;
mod metrics;
mod outreach;
mod preferences;
mod reembed;
mod snapshot;
mod teams;

pub use snapshot::{restore, verify_file, SnapshotStats};

use std::path::{Path, PathBuf};

use ::redb::{Database, ReadableDatabase};

use super::{ModelStamp, Store, StoreError};

/// The database file's name inside the data folder.
pub const DB_FILE: &str = "rappel.redb";

/// Converts every redb error type into [`StoreError::Database`].
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Database(e.into())
            }
        }
    )*};
}
from_redb!(
    ::redb::DatabaseError,
    ::redb::TransactionError,
    ::redb::TableError,
    ::redb::StorageError,
    ::redb::CommitError
);

/// A redb database holding every table of [`super::tables`].
pub struct RedbStore {
    db: Database,
    path: PathBuf,
    /// Recently searched workspaces' knowledge chunks, for choosing candidates.
    chunks: chunk_cache::ChunkCache,
}

/// The store's page cache unless configured: 128 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 128 * 1024 * 1024;

impl RedbStore {
    /// Opens (or creates) the store in `data_dir`, creates missing tables, and checks the schema version and,
    /// when `model` is given, that the store's vectors come from a model of the same dimension.
    pub fn open(data_dir: &Path, model: Option<&ModelStamp>) -> Result<Self, StoreError> {
        Self::open_with_cache(data_dir, model, DEFAULT_CACHE_BYTES)
    }

    /// [`RedbStore::open`] with a page cache of `cache_bytes` (redb's own default is 1 GiB, held in the process;
    /// pages beyond the cache are read through the operating system's file cache).
    pub fn open_with_cache(
        data_dir: &Path,
        model: Option<&ModelStamp>,
        cache_bytes: usize,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        Self::open_file(&data_dir.join(DB_FILE), model, cache_bytes)
    }

    /// [`RedbStore::open_with_cache`] of a store file of any name (a backup, a migration's target), whose folder
    /// exists.
    pub fn open_file(path: &Path, model: Option<&ModelStamp>, cache_bytes: usize) -> Result<Self, StoreError> {
        let path = path.to_owned();
        let (db, _) = snapshot::scrub_open(snapshot::open_file(&path, cache_bytes)?, &path, cache_bytes)?;
        let store = Self {
            db,
            path,
            chunks: chunk_cache::ChunkCache::default(),
        };
        meta::init(&store.db, model)?;
        metrics::backfill(&store.db)?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model recorded in the store, if any vectors' model was ever recorded.
    pub fn model_stamp(&self) -> Result<Option<ModelStamp>, StoreError> {
        meta::model_stamp(&self.db)
    }
}

impl Store for RedbStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.db.begin_read()?;
        Ok(())
    }

    fn snapshot_to(&self, dest: &Path) -> Result<SnapshotStats, StoreError> {
        self.copy_to(dest)
    }
}

/// The exclusive end of a key range whose first element is `prefix`: every `&str` sorts below `prefix\u{10FFFF}`
/// ... except ones continuing with that code point, which ids never contain.
fn upper(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
