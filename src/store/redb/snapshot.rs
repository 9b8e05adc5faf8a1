//! Whole-store copies: a consistent snapshot of every table into a fresh file (backups), and the rewrite that
//! leaves no erased customer's bytes in the store file.
//!
//! redb never overwrites a freed page until it reuses it, so an erased customer's text survives in free pages.
//! A fresh file written from a read snapshot holds live records only; renaming it over the old file is the
//! scrub. Erase marks the store ([`SCRUB_PENDING`]) in its own transaction, and the next open rewrites the file
//! before anything reads it: at the end of a clean stop, and at the start after a crash.

use std::path::{Path, PathBuf};

use ::redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
};

use super::RedbStore;
use crate::store::tables::*;
use crate::store::StoreError;

/// Meta key set by an erasure, cleared by the rewrite that scrubs the file.
pub const SCRUB_PENDING: &str = "scrub_pending";

/// Entries per write transaction of a copy (bounds the memory a copy of a large store holds).
const CHUNK: usize = 20_000;

/// What a snapshot copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Tables copied.
    pub tables: usize,
    /// Records copied, over every table.
    pub records: u64,
    /// Size of the written file.
    pub bytes: u64,
}

impl RedbStore {
    /// Writes a consistent copy of the whole store (one read transaction) to `dest`, which must not exist.
    pub fn copy_to(&self, dest: &Path) -> Result<SnapshotStats, StoreError> {
        let txn = self.db.begin_read()?;
        copy_into(&txn, dest, false)
    }

    /// Rewrites the store file in `data_dir` when an erasure marked it (the store must be closed); returns what
    /// the rewrite copied, or `None` when nothing was pending.
    pub fn scrub(data_dir: &Path) -> Result<Option<SnapshotStats>, StoreError> {
        let path = data_dir.join(super::DB_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let db = open_file(&path, super::DEFAULT_CACHE_BYTES)?;
        Ok(scrub_open(db, &path, super::DEFAULT_CACHE_BYTES)?.1)
    }
}

/// Rewrites the file of the open `db` at `path` when an erasure marked it, so that no freed page keeps erased
/// bytes; returns the database to use from then on (the rewritten file, reopened) and what the rewrite copied.
pub(super) fn scrub_open(
    db: Database,
    path: &Path,
    cache_bytes: usize,
) -> Result<(Database, Option<SnapshotStats>), StoreError> {
    let fresh = sibling(path, "scrub");
    let stats = {
        let txn = db.begin_read()?;
        let pending = match txn.open_table(META) {
            Ok(meta) => meta.get(SCRUB_PENDING)?.is_some(),
            Err(::redb::TableError::TableDoesNotExist(_)) => false,
            Err(e) => return Err(e.into()),
        };
        if !pending {
            drop(txn);
            return Ok((db, None));
        }
        remove_if_exists(&fresh)?;
        copy_into(&txn, &fresh, true)?
    };
    drop(db);
    std::fs::rename(&fresh, path).map_err(|source| io(path, source))?;
    sync_dir(path)?;
    tracing::info!(path = %path.display(), records = stats.records, bytes = stats.bytes,
        "store file rewritten: erased customers' bytes are gone from it");
    Ok((open_file(path, cache_bytes)?, Some(stats)))
}

/// Checks that `file` is a Rappel store this binary reads (schema, tables) and counts its records.
pub fn verify_file(file: &Path) -> Result<SnapshotStats, StoreError> {
    let db = open_file(file, 16 * 1024 * 1024)?;
    super::meta::check_schema(&db)?;
    let txn = db.begin_read()?;
    let mut stats = SnapshotStats::default();
    for table in txn.list_tables()? {
        let t = txn.open_untyped_table(table)?;
        stats.tables += 1;
        stats.records += t.len()?;
    }
    if stats.tables == 0 {
        return Err(StoreError::Corrupt {
            table: "meta",
            reason: format!("{} holds no table: not a Rappel store", file.display()),
        });
    }
    stats.bytes = std::fs::metadata(file).map_err(|e| io(file, e))?.len();
    Ok(stats)
}

/// Replaces the store file in `data_dir` with a verified copy of `backup` (the store must not be open), and
/// drops the saved vector index so that it is rebuilt from the restored memories.
pub fn restore(backup: &Path, data_dir: &Path) -> Result<SnapshotStats, StoreError> {
    let stats = verify_file(backup)?;
    std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
    let target = data_dir.join(super::DB_FILE);
    if target.exists() {
        // Refuses while a server holds the store.
        drop(open_file(&target, 1024 * 1024)?);
    }
    let incoming = sibling(&target, "restore");
    std::fs::copy(backup, &incoming).map_err(|e| io(&incoming, e))?;
    std::fs::File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(&incoming, e))?;
    std::fs::rename(&incoming, &target).map_err(|e| io(&target, e))?;
    sync_dir(&target)?;
    let index = data_dir.join("index");
    if index.exists() {
        std::fs::remove_dir_all(&index).map_err(|e| io(&index, e))?;
    }
    Ok(stats)
}

/// Opens (or creates) the database file at `path`; a file another process holds is [`StoreError::InUse`].
pub(super) fn open_file(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
    ::redb::Builder::new()
        .set_cache_size(cache_bytes)
        .create(path)
        .map_err(|e| match e {
            ::redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(path.to_owned()),
            other => other.into(),
        })
}

/// Copies every table of `src` into a new database at `dest`; with `scrub`, the scrub mark is not copied.
/// Fails when the source holds a table this binary does not know (a copy must never drop data silently).
fn copy_into(src: &ReadTransaction, dest: &Path, scrub: bool) -> Result<SnapshotStats, StoreError> {
    if dest.exists() {
        return Err(io(
            dest,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "file exists"),
        ));
    }
    let db = ::redb::Builder::new()
        .set_cache_size(64 * 1024 * 1024)
        .create(dest)
        .map_err(StoreError::from)?;
    let mut copier = Copier {
        src,
        dst: &db,
        stats: SnapshotStats::default(),
        copied: Vec::new(),
    };
    copier.meta(scrub)?;
    copier.table(CUSTOMERS)?;
    copier.table(EXTERNAL_IDS)?;
    copier.table(PREFERENCES)?;
    copier.table(PREFERENCE_HISTORY)?;
    copier.table(WORKSPACES)?;
    copier.table(API_KEYS)?;
    copier.table(API_KEY_IDS)?;
    copier.table(INTERACTIONS)?;
    copier.table(INTERACTION_EXTERNAL_IDS)?;
    copier.table(MEMORIES)?;
    copier.table(VECTORS)?;
    copier.table(OUTREACH)?;
    copier.table(OUTREACH_BY_CUSTOMER)?;
    copier.table(OUTREACH_DEDUPE)?;
    copier.table(JOB_RUNS)?;
    copier.table(JOB_DEFINITIONS)?;
    copier.table(OUTREACH_DUE)?;
    copier.table(OUTREACH_LEASED)?;
    copier.table(INCIDENTS)?;
    copier.table(HEALTH)?;
    copier.table(CAMPAIGNS)?;
    copier.table(TEAMS)?;
    copier.table(AUDIT_LOG)?;
    copier.table(KNOWLEDGE_DOCS)?;
    copier.table(KNOWLEDGE_CHUNKS)?;
    copier.table(KNOWLEDGE_VECTORS)?;
    copier.table(KNOWLEDGE_SOURCES)?;
    copier.table(KNOWLEDGE_LABELS)?;
    copier.table(KNOWLEDGE_CITATIONS)?;
    copier.table(KNOWLEDGE_GAPS)?;
    copier.table(INTERACTION_FACTS)?;
    let Copier { mut stats, copied, .. } = copier;
    for table in src.list_tables()? {
        if !copied.contains(&table.name().to_owned()) {
            return Err(StoreError::Corrupt {
                table: "meta",
                reason: format!(
                    "table {:?} is not part of the copy; refusing an incomplete snapshot",
                    table.name()
                ),
            });
        }
    }
    drop(db);
    let file = std::fs::File::open(dest).map_err(|e| io(dest, e))?;
    file.sync_all().map_err(|e| io(dest, e))?;
    stats.bytes = file.metadata().map_err(|e| io(dest, e))?.len();
    Ok(stats)
}

struct Copier<'a> {
    src: &'a ReadTransaction,
    dst: &'a Database,
    stats: SnapshotStats,
    copied: Vec<String>,
}

impl Copier<'_> {
    fn meta(&mut self, scrub: bool) -> Result<(), StoreError> {
        let src = self.src.open_table(META)?;
        let txn = self.dst.begin_write()?;
        {
            let mut dst = txn.open_table(META)?;
            for entry in src.iter()? {
                let (k, v) = entry?;
                if scrub && k.value() == SCRUB_PENDING {
                    continue;
                }
                dst.insert(k.value(), v.value())?;
                self.stats.records += 1;
            }
        }
        txn.commit()?;
        self.done(META.name());
        Ok(())
    }

    fn table<K: ::redb::Key + 'static, V: ::redb::Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
    ) -> Result<(), StoreError> {
        let src = match self.src.open_table(def) {
            Ok(t) => t,
            Err(::redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut entries = src.iter()?.peekable();
        loop {
            let txn = self.dst.begin_write()?;
            {
                let mut dst = txn.open_table(def)?;
                for entry in entries.by_ref().take(CHUNK) {
                    let (k, v) = entry?;
                    dst.insert(k.value(), v.value())?;
                    self.stats.records += 1;
                }
            }
            txn.commit()?;
            if entries.peek().is_none() {
                break;
            }
        }
        self.done(def.name());
        Ok(())
    }

    fn done(&mut self, name: &str) {
        self.stats.tables += 1;
        self.copied.push(name.to_owned());
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

fn remove_if_exists(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path, e)),
        _ => Ok(()),
    }
}

/// Makes a rename durable.
fn sync_dir(file: &Path) -> Result<(), StoreError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}
