//! How the service reads and writes memories beyond the store: the vector index (across customers) and the cache
//! of recently used customers' memories follow every store write, under the customer's lock; reads come from the
//! cache or the store, and searches across customers from the index's nearest neighbours read back from the store.

use std::sync::Arc;

use super::{ServiceError, Services};
use crate::domain::memory::{Memory, StoredMemory};
use crate::domain::recall::Indexed;
use crate::domain::vector::{dequantize, quantize};
use crate::domain::{CustomerId, WorkspaceId};
use crate::index::{Point, SearchFilter};

impl Services {
    /// A customer's memories ready for ranking: from the cache while the store's memory version of the customer is
    /// the one it was read at, else read from the store under this process's lock of the customer (reads need no
    /// lock in the store).
    pub(super) async fn memories_of(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<Vec<Arc<Indexed>>, ServiceError> {
        let version = self.memory_version(workspace, customer).await?;
        if let Some(list) = self.cache.get(workspace, customer, version) {
            return Ok(list);
        }
        let _guard = self.locks.lock(workspace, customer).await;
        self.memories_locked(workspace, customer).await
    }

    /// [`Services::memories_of`] for a caller holding the customer's lock.
    pub(super) async fn memories_locked(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<Vec<Arc<Indexed>>, ServiceError> {
        let version = self.memory_version(workspace, customer).await?;
        if let Some(list) = self.cache.get(workspace, customer, version) {
            return Ok(list);
        }
        let (ws, cid) = (workspace.clone(), customer.clone());
        let stored = self.blocking(move |s| s.customer_memories(&ws, &cid)).await?;
        let list = index_all(stored).await;
        self.cache.put(workspace, customer, list.clone(), version);
        Ok(list)
    }

    /// The store's memory version of the customer, asked only of a store other processes write too: a store
    /// only this process writes has none (every change it needs to follow goes through this cache).
    async fn memory_version(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<Option<i64>, ServiceError> {
        if !self.store.shared() {
            return Ok(None);
        }
        let (ws, cid) = (workspace.clone(), customer.clone());
        Ok(self.blocking(move |s| s.memory_version(&ws, &cid)).await?)
    }

    /// After the store saved new or replaced memories (with their vectors): the index and the cache follow.
    pub(super) fn saved(&self, items: Vec<Indexed>) -> Result<(), ServiceError> {
        let Some(first) = items.first() else {
            return Ok(());
        };
        let workspace = first.memory.workspace.clone();
        let points: Vec<Point<'_>> = items.iter().map(|i| Point::of_parts(&i.memory, &i.vector)).collect();
        self.vectors.upsert(&workspace, &points)?;
        // Cached as the store keeps them (int8), so ranking is the same before and after a reload.
        let items: Vec<Arc<Indexed>> = items
            .into_iter()
            .map(|mut i| {
                i.vector = dequantize(&quantize(&i.vector));
                Arc::new(i)
            })
            .collect();
        self.cache.upsert(&items);
        Ok(())
    }

    /// After the store saved changed memories (same vectors).
    pub(super) fn updated(&self, memories: &[Memory]) {
        self.cache.update(memories);
    }

    /// After the store deleted a memory.
    pub(super) fn removed(&self, workspace: &WorkspaceId, customer: &CustomerId, id: &str) -> Result<(), ServiceError> {
        self.cache.remove(workspace, customer, id);
        Ok(self.vectors.remove(workspace, customer, id)?)
    }

    /// After the store erased a customer.
    pub(super) fn customer_removed(&self, workspace: &WorkspaceId, customer: &CustomerId) -> Result<(), ServiceError> {
        self.cache.forget(workspace, customer);
        Ok(self.vectors.remove_customer(workspace, customer)?)
    }

    /// Up to `k` memories of the workspace nearest a unit query (by the index), read back from the store with
    /// their vectors, nearest first. While the index is being built, every memory the filter keeps is read
    /// from the store instead (exact, slower).
    pub(super) async fn nearest_memories(
        &self,
        workspace: &WorkspaceId,
        query: &[f32],
        k: usize,
        filter: SearchFilter,
    ) -> Result<Vec<Arc<Indexed>>, ServiceError> {
        let Some(neighbours) = self.nearest_keys(workspace, query, k, &filter).await? else {
            return self
                .workspace_memories(workspace, move |m| {
                    filter.kinds.as_ref().is_none_or(|k| k.contains(&m.kind))
                        && filter.since.is_none_or(|t| m.observed_at >= t)
                        && filter
                            .customers
                            .as_ref()
                            .is_none_or(|c| c.contains(&m.provenance.customer_id))
                })
                .await;
        };
        let keys: Vec<(CustomerId, String)> = neighbours.into_iter().map(|n| (n.customer, n.id)).collect();
        let ws = workspace.clone();
        let stored = self.blocking(move |s| s.memories_by_key(&ws, &keys)).await?;
        Ok(index_all(stored).await)
    }

    /// The index's nearest neighbours, searched on the blocking pool: an index kept by a database answers through
    /// the store's connections (blocking), and an in-process graph search is CPU work an async worker should not do.
    pub(super) async fn nearest_keys(
        &self,
        workspace: &WorkspaceId,
        query: &[f32],
        k: usize,
        filter: &SearchFilter,
    ) -> Result<Option<Vec<crate::index::Neighbour>>, ServiceError> {
        let (index, ws, q, filter) = (
            Arc::clone(&self.vectors),
            workspace.clone(),
            query.to_vec(),
            filter.clone(),
        );
        match tokio::task::spawn_blocking(move || index.nearest(&ws, &q, k, &filter)).await {
            Ok(found) => Ok(found?),
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// Every memory of a workspace that `keep` accepts, read from the store.
    pub(super) async fn workspace_memories(
        &self,
        workspace: &WorkspaceId,
        keep: impl Fn(&Memory) -> bool + Send + 'static,
    ) -> Result<Vec<Arc<Indexed>>, ServiceError> {
        let ws = workspace.clone();
        let stored = self
            .blocking(move |s| {
                let mut out = Vec::new();
                s.scan_workspace_memories(&ws, &mut |m| {
                    if keep(&m.memory) {
                        out.push(m);
                    }
                })?;
                Ok(out)
            })
            .await?;
        Ok(index_all(stored).await)
    }

    /// Writes the vector index for the next start (on a clean shutdown).
    pub fn persist_index(&self) -> Result<(), ServiceError> {
        Ok(self.vectors.persist()?)
    }
}

/// Indexes memories for ranking (keyword terms) off the async runtime.
async fn index_all(stored: Vec<StoredMemory>) -> Vec<Arc<Indexed>> {
    if stored.len() < 64 {
        return stored
            .into_iter()
            .map(|m| Arc::new(Indexed::new(m.memory, m.vector)))
            .collect();
    }
    tokio::task::spawn_blocking(move || {
        stored
            .into_iter()
            .map(|m| Arc::new(Indexed::new(m.memory, m.vector)))
            .collect()
    })
    .await
    .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}
