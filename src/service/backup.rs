//! Backups while the server runs: a consistent copy of the whole store, written next to it and handed out once.

use std::path::{Path, PathBuf};

use super::{require_operator, ServiceError, Services};
use crate::domain::Principal;
use crate::store::{SnapshotStats, StoreError};

/// Prefix of the scratch folders backups are written to (removed when served; stale ones at the next start).
const SCRATCH_PREFIX: &str = ".backup-";

/// A snapshot of the store in a scratch folder, deleted when this value is dropped.
pub struct Backup {
    dir: tempfile::TempDir,
    /// What was copied.
    pub stats: SnapshotStats,
}

impl Backup {
    /// The snapshot file.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join(crate::store::redb::DB_FILE)
    }

    /// Opens the snapshot file for reading.
    pub fn open(&self) -> Result<std::fs::File, ServiceError> {
        let path = self.path();
        std::fs::File::open(&path).map_err(|source| StoreError::Io { path, source }.into())
    }
}

impl Services {
    /// Takes a consistent snapshot of every workspace's data (operators only): writes keep going meanwhile, and
    /// the copy holds exactly what was committed when it began.
    pub async fn backup(&self, principal: &Principal) -> Result<Backup, ServiceError> {
        require_operator(principal)?;
        let scratch = self.scratch_dir.clone();
        let dir = tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir_in(&scratch)
            .map_err(|source| StoreError::Io { path: scratch, source })?;
        let dest = dir.path().join(crate::store::redb::DB_FILE);
        let started = std::time::Instant::now();
        let stats = self.blocking(move |s| s.snapshot_to(&dest)).await?;
        tracing::info!(
            records = stats.records,
            bytes = stats.bytes,
            ms = started.elapsed().as_millis() as u64,
            "backup snapshot written"
        );
        Ok(Backup { dir, stats })
    }
}

/// Removes scratch folders a stopped server left behind in `dir` mid-backup.
pub fn remove_stale_backups(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(SCRATCH_PREFIX) {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!(path = %entry.path().display(), error = %e, "stale backup folder not removed");
            }
        }
    }
}
