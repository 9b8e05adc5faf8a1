//! What tools (benchmarks, evaluation, migrations) need beyond the use cases: embedding text on the blocking pool,
//! loading generated data in bulk with the same invariant as ingest (the store first, then the index, under the
//! write lock), and the size of the memory index.

use std::sync::Arc;

use super::{ServiceError, Services};
use crate::domain::interaction::Interaction;
use crate::domain::memory::StoredMemory;
use crate::domain::recall::Indexed;
use crate::domain::{Customer, Preferences};
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
        let for_index: Vec<Indexed> = memories
            .iter()
            .map(|m| Indexed::new(m.memory.clone(), m.vector.clone()))
            .collect();
        self.blocking(move |s| s.bulk_load(&customers, &interactions, &memories))
            .await?;
        self.index.upsert(for_index);
        Ok(())
    }

    /// Memories held by the index.
    pub fn memory_count(&self) -> usize {
        self.index.len()
    }
}
