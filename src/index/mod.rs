//! The in-memory memory index: every memory with its vector and keyword terms, grouped by customer, so recall
//! never reads the store. Loaded from the store at start-up; every write to memories updates it after the store
//! transaction commits (the store stays the source of truth).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::domain::memory::Memory;
use crate::domain::recall::Indexed;
use crate::domain::{CustomerId, WorkspaceId};
use crate::store::{Store, StoreError, StoredMemory};

type Key = (WorkspaceId, CustomerId);

/// Memories by customer.
#[derive(Default)]
pub struct MemoryIndex {
    customers: RwLock<HashMap<Key, Vec<Arc<Indexed>>>>,
}

impl MemoryIndex {
    /// Builds the index from every stored memory.
    pub fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let index = Self::default();
        let mut batch = Vec::new();
        store.scan_memories(&mut |m: StoredMemory| batch.push(Indexed::new(m.memory, m.vector)))?;
        index.upsert(batch);
        Ok(index)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Key, Vec<Arc<Indexed>>>> {
        self.customers.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Key, Vec<Arc<Indexed>>>> {
        self.customers.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds memories, replacing any with the same id.
    pub fn upsert(&self, items: Vec<Indexed>) {
        let mut map = self.write();
        for item in items {
            let key = (
                item.memory.workspace.clone(),
                item.memory.provenance.customer_id.clone(),
            );
            let list = map.entry(key).or_default();
            match list.iter_mut().find(|x| x.memory.id == item.memory.id) {
                Some(slot) => *slot = Arc::new(item),
                None => list.push(Arc::new(item)),
            }
        }
    }

    /// Replaces memories' records, keeping their vectors and terms when the text is unchanged.
    pub fn update(&self, memories: &[Memory]) {
        let mut map = self.write();
        for m in memories {
            let key = (m.workspace.clone(), m.provenance.customer_id.clone());
            if let Some(slot) = map
                .get_mut(&key)
                .and_then(|l| l.iter_mut().find(|x| x.memory.id == m.id))
            {
                let item = if slot.memory.text == m.text {
                    Indexed {
                        memory: m.clone(),
                        ..(**slot).clone()
                    }
                } else {
                    Indexed::new(m.clone(), slot.vector.clone())
                };
                *slot = Arc::new(item);
            }
        }
    }

    /// Removes one memory.
    pub fn remove(&self, workspace: &WorkspaceId, customer: &CustomerId, id: &str) {
        if let Some(list) = self.write().get_mut(&(workspace.clone(), customer.clone())) {
            list.retain(|x| x.memory.id != id);
        }
    }

    /// Removes every memory of a customer.
    pub fn remove_customer(&self, workspace: &WorkspaceId, customer: &CustomerId) {
        self.write().remove(&(workspace.clone(), customer.clone()));
    }

    /// A snapshot of a customer's memories.
    pub fn customer(&self, workspace: &WorkspaceId, customer: &CustomerId) -> Vec<Arc<Indexed>> {
        self.read()
            .get(&(workspace.clone(), customer.clone()))
            .cloned()
            .unwrap_or_default()
    }

    /// A snapshot of every customer's memories in a workspace.
    pub fn workspace(&self, workspace: &WorkspaceId) -> Vec<(CustomerId, Vec<Arc<Indexed>>)> {
        self.read()
            .iter()
            .filter(|((ws, _), _)| ws == workspace)
            .map(|((_, c), l)| (c.clone(), l.clone()))
            .collect()
    }

    /// A snapshot of every customer's memories.
    pub fn all(&self) -> Vec<(Key, Vec<Arc<Indexed>>)> {
        self.read().iter().map(|(k, l)| (k.clone(), l.clone())).collect()
    }

    /// Number of memories held.
    pub fn len(&self) -> usize {
        self.read().values().map(Vec::len).sum()
    }

    /// Whether it holds no memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
