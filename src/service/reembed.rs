//! Moving a store to another embedding model: every memory's text is embedded again with the configured model,
//! in batches, each written with the position reached, so an interrupted run continues where it stopped; then
//! every knowledge chunk.

use crate::domain::knowledge::StoredChunk;
use crate::embed::{Embedder, TextRole};
use crate::store::{ModelStamp, ReembedState, Store, StoreError};

use super::ServiceError;

/// Memories embedded and written per step.
pub const REEMBED_BATCH: usize = 64;

/// What a re-embedding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reembedded {
    /// The store was already embedded with this model.
    AlreadyCurrent(ModelStamp),
    /// Every memory now has a vector of the new model.
    Done {
        /// The model before.
        from: Option<ModelStamp>,
        /// The model now.
        to: ModelStamp,
        /// Memories embedded in this run.
        embedded: u64,
    },
}

/// Re-embeds every memory of `store` with `embedder`, resuming an interrupted run. `progress` is called after
/// each step with the state reached. Runs on the calling thread (blocking): call it off the async runtime.
pub fn reembed(
    store: &dyn Store,
    embedder: &dyn Embedder,
    mut progress: impl FnMut(&ReembedState),
) -> Result<Reembedded, ServiceError> {
    let target = ModelStamp {
        name: embedder.name().to_owned(),
        dim: embedder.dimension(),
    };
    let state = store.reembed_state()?;
    if state.target.is_none() && state.current.as_ref() == Some(&target) {
        return Ok(Reembedded::AlreadyCurrent(target));
    }
    let from = state.current.clone();
    let mut state = store.reembed_begin(&target)?;
    progress(&state);
    let mut embedded = 0u64;
    loop {
        let batch = store.memory_texts_after(state.cursor.as_ref(), REEMBED_BATCH)?;
        if batch.is_empty() {
            break;
        }
        let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
        let vectors = embedder.embed(&texts, TextRole::Passage)?;
        if vectors.len() != batch.len() || vectors.iter().any(|v| v.len() != target.dim) {
            return Err(StoreError::Corrupt {
                table: "vectors",
                reason: "the model returned vectors of the wrong number or size".into(),
            }
            .into());
        }
        let written: Vec<_> = batch.into_iter().map(|(k, _)| k).zip(vectors).collect();
        store.reembed_write(&written)?;
        embedded += written.len() as u64;
        state = store.reembed_state()?;
        progress(&state);
    }
    embedded += reembed_knowledge(store, embedder)?;
    let to = store.reembed_finish()?;
    Ok(Reembedded::Done { from, to, embedded })
}

/// Re-embeds every knowledge chunk (a help center is small: done whole, again after an interruption).
fn reembed_knowledge(store: &dyn Store, embedder: &dyn Embedder) -> Result<u64, ServiceError> {
    let mut embedded = 0u64;
    for workspace in store.list_workspaces()? {
        let chunks = store.knowledge_chunks(&workspace.id)?;
        for doc in store.list_knowledge(&workspace.id)? {
            let own: Vec<&StoredChunk> = chunks.iter().filter(|c| c.chunk.doc_id == doc.id).collect();
            let texts: Vec<String> = own.iter().map(|c| c.chunk.indexed_text(&doc.fields.title)).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vectors = embedder.embed(&refs, TextRole::Passage)?;
            let fresh: Vec<StoredChunk> = own
                .into_iter()
                .zip(vectors)
                .map(|(c, vector)| StoredChunk {
                    chunk: c.chunk.clone(),
                    vector,
                })
                .collect();
            embedded += fresh.len() as u64;
            store.put_knowledge(&doc, Some(&fresh))?;
        }
    }
    Ok(embedded)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::domain::memory::{new_memory_id, Memory, MemoryKind, Provenance};
    use crate::domain::text::Lang;
    use crate::domain::{Customer, CustomerFields, WorkspaceId};
    use crate::embed::{EmbedError, HashEmbedder};
    use crate::store::{CustomerRepo, MemoryRepo, RedbStore, ReembedRepo, StoredMemory};

    /// A hashing embedder under another name that fails after `fail_after` calls (a crash mid-run).
    struct Flaky {
        inner: HashEmbedder,
        calls: AtomicUsize,
        fail_after: usize,
    }

    impl Embedder for Flaky {
        fn name(&self) -> &str {
            "model-b"
        }
        fn dimension(&self) -> usize {
            self.inner.dimension()
        }
        fn embed(&self, texts: &[&str], role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError> {
            if self.calls.fetch_add(1, Ordering::SeqCst) >= self.fail_after {
                return Err(EmbedError::Inference("killed".into()));
            }
            self.inner.embed(texts, role)
        }
    }

    fn seeded(dir: &std::path::Path, n: usize) -> RedbStore {
        let stamp = ModelStamp {
            name: "model-a".into(),
            dim: 16,
        };
        let store = RedbStore::open(dir, Some(&stamp)).unwrap();
        let now = "2026-11-25T10:00:00Z".parse().unwrap();
        let customer = Customer::new(
            WorkspaceId::default_workspace(),
            CustomerFields {
                external_id: "c1".into(),
                ..Default::default()
            },
            now,
        );
        store.create_customer(&customer).unwrap();
        let memories: Vec<StoredMemory> = (0..n)
            .map(|i| StoredMemory {
                memory: Memory {
                    id: new_memory_id(),
                    workspace: customer.workspace.clone(),
                    kind: MemoryKind::Message,
                    text: format!("message number {i} about the hub"),
                    subject: None,
                    language: Lang::En,
                    provenance: Provenance {
                        customer_id: customer.id.clone(),
                        interaction_id: "i1".into(),
                        message_ids: vec![format!("m{i}")],
                    },
                    observed_at: now,
                    valid_from: None,
                    valid_to: None,
                    due_at: None,
                    open: false,
                    count: 1,
                    last_seen: now,
                    pinned: false,
                    sentiment: None,
                    frustrated: false,
                    cues: Vec::new(),
                    speaker: None,
                    seq: 0,
                    edits: vec![],
                },
                vector: vec![0.25; 16],
            })
            .collect();
        store.insert_memories(&memories).unwrap();
        store
    }

    #[test]
    fn an_interrupted_reembed_resumes_and_the_store_then_opens_with_the_new_model() {
        let dir = tempfile::tempdir().unwrap();
        let n = REEMBED_BATCH * 3 + 5;
        let store = seeded(dir.path(), n);
        let flaky = Flaky {
            inner: HashEmbedder::new(16),
            calls: AtomicUsize::new(0),
            fail_after: 2,
        };
        assert!(reembed(&store, &flaky, |_| {}).is_err(), "the third batch fails");
        drop(store);
        let b = ModelStamp {
            name: "model-b".into(),
            dim: 16,
        };
        let refused = RedbStore::open(dir.path(), Some(&b)).err().expect("half re-embedded");
        assert!(refused.to_string().contains("rappel reembed"), "{refused}");
        let store = RedbStore::open(dir.path(), None).unwrap();
        let state = store.reembed_state().unwrap();
        assert_eq!((state.done, state.total), (2 * REEMBED_BATCH as u64, n as u64));
        let resumed = Flaky {
            inner: HashEmbedder::new(16),
            calls: AtomicUsize::new(0),
            fail_after: usize::MAX,
        };
        let mut seen = Vec::new();
        let done = reembed(&store, &resumed, |s| seen.push(s.done)).unwrap();
        assert_eq!(
            done,
            Reembedded::Done {
                from: Some(ModelStamp {
                    name: "model-a".into(),
                    dim: 16
                }),
                to: b.clone(),
                embedded: (n - 2 * REEMBED_BATCH) as u64,
            }
        );
        assert_eq!(seen.last(), Some(&(n as u64)));
        let mut vectors = Vec::new();
        store.scan_memories(&mut |m| vectors.push(m.vector)).unwrap();
        assert_eq!(vectors.len(), n);
        assert!(vectors.iter().all(|v| v != &vec![0.25; 16]), "every vector is new");
        drop(store);
        let store = RedbStore::open(dir.path(), Some(&b)).unwrap();
        assert_eq!(store.model_stamp().unwrap(), Some(b));
        assert!(matches!(
            reembed(&store, &resumed, |_| {}).unwrap(),
            Reembedded::AlreadyCurrent(_)
        ));
    }
}
