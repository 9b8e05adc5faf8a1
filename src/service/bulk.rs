//! What tools (benchmarks, evaluation, migrations) need beyond the use cases: embedding text on the blocking pool,
//! loading generated data in bulk with the same invariant as ingest (the store first, then the index, under the
//! write lock), and the size of the memory index.

use std::sync::Arc;

use super::{ServiceError, Services};
use crate::domain::interaction::Interaction;
use crate::domain::memory::StoredMemory;
use crate::domain::{Customer, Preferences, WorkspaceId};
use crate::embed::TextRole;

impl Services {
    /// Embeds stored texts (passages) on the blocking pool, as ingest does.
    pub async fn embed_passages(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ServiceError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let embedder = Arc::clone(&self.embedder);
        let vectors = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            embedder.embed(&refs, TextRole::Passage)
        })
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?;
        Ok(vectors)
    }

    /// Loads new customers, their interactions and ready-made memories in one transaction, then indexes the
    /// memories: the store and the index never diverge (the memories are new: no other write can touch them).
    pub async fn bulk_load(
        &self,
        customers: Vec<(Customer, Preferences)>,
        interactions: Vec<Interaction>,
        memories: Vec<StoredMemory>,
    ) -> Result<(), ServiceError> {
        let memories = Arc::new(memories);
        let saved = Arc::clone(&memories);
        self.blocking(move |s| s.bulk_load(&customers, &interactions, &saved))
            .await?;
        let mut by_workspace: std::collections::HashMap<&WorkspaceId, Vec<crate::index::Point<'_>>> =
            std::collections::HashMap::new();
        for m in memories.iter() {
            by_workspace
                .entry(&m.memory.workspace)
                .or_default()
                .push(crate::index::Point::of(m));
        }
        for (ws, points) in by_workspace {
            self.vectors.upsert(ws, &points)?;
        }
        Ok(())
    }

    /// Before many `bulk_load`s into a store no other node serves yet: lets the store set its vector index
    /// aside to build it once in [`Services::finish_bulk_load`] (see `MemoryRepo::begin_bulk_memories`).
    pub async fn begin_bulk_load(&self) -> Result<(), ServiceError> {
        Ok(self.blocking(|s| s.begin_bulk_memories()).await?)
    }

    /// After the `bulk_load`s: builds what [`Services::begin_bulk_load`] set aside.
    pub async fn finish_bulk_load(&self) -> Result<(), ServiceError> {
        Ok(self.blocking(|s| s.finish_bulk_memories()).await?)
    }

    /// Memories held by the vector index (all stored memories once it is ready).
    pub fn memory_count(&self) -> usize {
        self.vectors.stats().memories
    }

    /// Recall@k of the vector index against exact search over the same vectors in the default workspace, averaged
    /// over the queries (benchmarks), one figure per count of `candidates`: the index is asked for that many (at
    /// least `k`) neighbours, as searches ask for more than they show, and its best `k` are compared; the exact
    /// neighbours come from one scan of the workspace for all counts. As in ann-benchmarks, a result counts when
    /// its distance is within 0.1 % of the k-th exact distance: near-identical vectors tie, and which of them
    /// comes back does not matter.
    #[allow(
        clippy::indexing_slicing,
        reason = "benchmark code: every per-query vector has one slot per query"
    )]
    pub async fn index_recall(
        &self,
        queries: &[Vec<f32>],
        k: usize,
        candidates: &[usize],
    ) -> Result<Vec<f64>, ServiceError> {
        let ws = WorkspaceId::default_workspace();
        // Per count of candidates, per query: the ids of the index's best `k`.
        let mut approximate: Vec<Vec<std::collections::HashSet<String>>> = Vec::new();
        for &asked in candidates {
            let mut per_query = Vec::new();
            for q in queries {
                let found = self
                    .nearest_keys(&ws, q, asked.max(k), &crate::index::SearchFilter::default())
                    .await?
                    .unwrap_or_default();
                per_query.push(found.into_iter().take(k).map(|n| n.id).collect());
            }
            approximate.push(per_query);
        }
        let qs = queries.to_vec();
        let (hits, _) = self
            .blocking(move |s| {
                let mut kth: Vec<Vec<f32>> = vec![Vec::new(); qs.len()];
                let mut returned: Vec<Vec<Vec<f32>>> = vec![vec![Vec::new(); qs.len()]; approximate.len()];
                s.scan_workspace_memories(&ws, &mut |m| {
                    for (i, q) in qs.iter().enumerate() {
                        let score = crate::domain::dot(q, &m.vector);
                        for (found, scores) in approximate.iter().zip(returned.iter_mut()) {
                            if found[i].contains(&m.memory.id) {
                                scores[i].push(score);
                            }
                        }
                        let top = &mut kth[i];
                        if top.len() < k || score > top[top.len() - 1] {
                            top.push(score);
                            top.sort_by(|a, b| b.total_cmp(a));
                            top.truncate(k);
                        }
                    }
                })?;
                let hits: Vec<usize> = returned
                    .iter()
                    .map(|per_query| {
                        per_query
                            .iter()
                            .zip(&kth)
                            .map(|(r, top)| {
                                let limit = (1.0 - top.last().copied().unwrap_or(1.0)) * 1.001;
                                r.iter().filter(|s| 1.0 - **s <= limit + 1e-6).count().min(k)
                            })
                            .sum()
                    })
                    .collect();
                Ok((hits, ()))
            })
            .await?;
        Ok(hits
            .into_iter()
            .map(|h| h as f64 / (queries.len() * k).max(1) as f64)
            .collect())
    }

    /// Memories of recently used customers held ready for ranking.
    pub fn cached_memories(&self) -> usize {
        self.cache.len()
    }

    /// The vector index's sizes.
    pub fn index_stats(&self) -> crate::index::IndexStats {
        self.vectors.stats()
    }

    /// Memories stored but not in the vector index yet (see [`crate::index::VectorIndex::pending`]).
    pub fn index_pending(&self) -> usize {
        self.vectors.pending()
    }
}
