//! The knowledge chunks of recently searched workspaces, in memory with their keyword terms, for choosing a
//! question's candidates (redb is one process's embedded store: its memory index lives in the process too). A
//! workspace's entry is read whole from the tables and dropped by every write to its documents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::knowledge::candidates::ChunkEntry;

/// The cached chunks per workspace, and a generation that every write moves.
#[derive(Default)]
pub(super) struct ChunkCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Moved by every write, so that chunks read before a write are never cached after it.
    generation: u64,
    workspaces: HashMap<String, Arc<Vec<ChunkEntry>>>,
}

impl ChunkCache {
    /// The workspace's chunks when cached, and the generation to hand back to [`ChunkCache::put`] after reading
    /// them otherwise.
    pub(super) fn get(&self, workspace: &str) -> (Option<Arc<Vec<ChunkEntry>>>, u64) {
        match self.inner.lock() {
            Ok(inner) => (inner.workspaces.get(workspace).cloned(), inner.generation),
            Err(_) => (None, u64::MAX),
        }
    }

    /// Keeps chunks read at `generation`, unless a write came since.
    pub(super) fn put(&self, workspace: &str, chunks: Arc<Vec<ChunkEntry>>, generation: u64) {
        if let Ok(mut inner) = self.inner.lock() {
            if inner.generation == generation {
                inner.workspaces.insert(workspace.to_owned(), chunks);
            }
        }
    }

    /// Drops a workspace's chunks (after a write to its documents has committed).
    pub(super) fn drop_workspace(&self, workspace: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.generation = inner.generation.wrapping_add(1);
            inner.workspaces.remove(workspace);
        }
    }
}
