//! The memories of recently used customers, ready for ranking (record, vector, keyword terms), so that a
//! conversation's repeated context calls do not read and index the same memories again. Bounded by a number of
//! memories; the least recently used customers leave first. Filled and changed only under the customer's lock,
//! after the store, so it never holds what the store does not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::memory::Memory;
use crate::domain::recall::Indexed;
use crate::domain::{CustomerId, WorkspaceId};

type Key = (WorkspaceId, CustomerId);

struct Cached {
    list: Arc<Vec<Arc<Indexed>>>,
    used: u64,
    /// The store's memory version of the customer when the list was read (see `MemoryRepo::memory_version`).
    version: Option<i64>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Cached>,
    total: usize,
    tick: u64,
}

/// Customers' memories, least recently used evicted first.
pub(super) struct MemoryCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl MemoryCache {
    /// A cache holding up to `capacity` memories (0 disables it).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A customer's memories, when cached at the store's current memory version of the customer.
    pub(super) fn get(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        version: Option<i64>,
    ) -> Option<Vec<Arc<Indexed>>> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let cached = inner
            .map
            .get_mut(&(workspace.clone(), customer.clone()))
            .filter(|c| c.version == version)?;
        cached.used = tick;
        Some(cached.list.as_ref().clone())
    }

    /// Caches a customer's memories as just read from the store (under the customer's lock), with the memory
    /// version read before them. Changes made here afterwards keep that version: another node's change, or this
    /// node's own, moves the store's, and the next read reloads; an ingest, which learns the version its write
    /// left, restamps the list instead ([`MemoryCache::restamp`]).
    pub(super) fn put(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        list: Vec<Arc<Indexed>>,
        version: Option<i64>,
    ) {
        if list.len() > self.capacity {
            return;
        }
        let mut inner = self.lock();
        inner.tick += 1;
        let key = (workspace.clone(), customer.clone());
        let added = list.len();
        let used = inner.tick;
        if let Some(old) = inner.map.insert(
            key.clone(),
            Cached {
                list: Arc::new(list),
                used,
                version,
            },
        ) {
            inner.total -= old.list.len();
        }
        inner.total += added;
        while inner.total > self.capacity {
            let Some(oldest) = inner
                .map
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, c)| c.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(evicted) = inner.map.remove(&oldest) {
                inner.total -= evicted.list.len();
            }
        }
    }

    /// Marks a cached customer's list as of the store's memory `version`, after this node's own write changed the
    /// store and the list alike: the caller holds the customer's lock, so the list was at the version before the
    /// write, and no other write came between.
    pub(super) fn restamp(&self, workspace: &WorkspaceId, customer: &CustomerId, version: i64) {
        if let Some(cached) = self.lock().map.get_mut(&(workspace.clone(), customer.clone())) {
            cached.version = Some(version);
        }
    }

    /// Changes a cached customer's list (nothing when not cached).
    fn change(&self, workspace: &WorkspaceId, customer: &CustomerId, f: impl FnOnce(&mut Vec<Arc<Indexed>>)) {
        let mut inner = self.lock();
        let Inner { map, total, .. } = &mut *inner;
        if let Some(cached) = map.get_mut(&(workspace.clone(), customer.clone())) {
            let before = cached.list.len();
            f(Arc::make_mut(&mut cached.list));
            *total = *total + cached.list.len() - before;
        }
    }

    /// Adds memories, replacing any with the same id.
    pub(super) fn upsert(&self, items: &[Arc<Indexed>]) {
        for item in items {
            let m = &item.memory;
            self.change(&m.workspace, &m.provenance.customer_id, |list| {
                match list.iter_mut().find(|x| x.memory.id == m.id) {
                    Some(slot) => *slot = Arc::clone(item),
                    None => list.push(Arc::clone(item)),
                }
            });
        }
    }

    /// Replaces memories' records, keeping their vectors (and terms when the text is unchanged).
    pub(super) fn update(&self, memories: &[Memory]) {
        for m in memories {
            self.change(&m.workspace, &m.provenance.customer_id, |list| {
                if let Some(slot) = list.iter_mut().find(|x| x.memory.id == m.id) {
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
            });
        }
    }

    /// Removes one memory.
    pub(super) fn remove(&self, workspace: &WorkspaceId, customer: &CustomerId, id: &str) {
        self.change(workspace, customer, |list| list.retain(|x| x.memory.id != id));
    }

    /// Forgets a customer.
    pub(super) fn forget(&self, workspace: &WorkspaceId, customer: &CustomerId) {
        let mut inner = self.lock();
        if let Some(old) = inner.map.remove(&(workspace.clone(), customer.clone())) {
            inner.total -= old.list.len();
        }
    }

    /// Memories held.
    pub(super) fn len(&self) -> usize {
        self.lock().total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testkit::memory_for;

    #[test]
    fn the_least_recently_used_customer_leaves_first_and_changes_reach_cached_lists() {
        let cache = MemoryCache::new(3);
        let ws = WorkspaceId::default_workspace();
        let (a, b, c) = (
            CustomerId::from_client("a"),
            CustomerId::from_client("b"),
            CustomerId::from_client("c"),
        );
        let item = |cid: &CustomerId, text: &str| Arc::new(Indexed::new(memory_for(cid, text), vec![1.0, 0.0]));
        cache.put(&ws, &a, vec![item(&a, "one")], None);
        cache.put(&ws, &b, vec![item(&b, "two"), item(&b, "three")], None);
        assert!(cache.get(&ws, &a, None).is_some()); // a is now more recent than b
        cache.put(&ws, &c, vec![item(&c, "four")], None);
        assert!(cache.get(&ws, &b, None).is_none(), "b was the least recently used");
        assert_eq!(cache.len(), 2);
        let extra = item(&a, "five");
        cache.upsert(&[Arc::clone(&extra)]);
        assert_eq!(cache.get(&ws, &a, None).unwrap().len(), 2);
        cache.remove(&ws, &a, &extra.memory.id);
        assert_eq!(cache.get(&ws, &a, None).unwrap().len(), 1);
        cache.forget(&ws, &a);
        assert!(cache.get(&ws, &a, None).is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_list_read_at_another_memory_version_is_not_served() {
        let cache = MemoryCache::new(10);
        let ws = WorkspaceId::default_workspace();
        let a = CustomerId::from_client("a");
        let one = Arc::new(Indexed::new(memory_for(&a, "one"), vec![1.0, 0.0]));
        cache.put(&ws, &a, vec![Arc::clone(&one)], Some(3));
        assert_eq!(cache.get(&ws, &a, Some(3)).unwrap().len(), 1);
        assert!(cache.get(&ws, &a, Some(4)).is_none(), "another node changed them");
        cache.upsert(&[Arc::new(Indexed::new(memory_for(&a, "two"), vec![0.0, 1.0]))]);
        assert_eq!(
            cache.get(&ws, &a, Some(3)).unwrap().len(),
            2,
            "this node's own change keeps the version it was read at"
        );
        cache.restamp(&ws, &a, 5);
        assert_eq!(
            cache.get(&ws, &a, Some(5)).unwrap().len(),
            2,
            "until its ingest restamps it"
        );
        assert!(cache.get(&ws, &a, Some(3)).is_none());
        cache.restamp(&ws, &CustomerId::from_client("b"), 5);
        assert!(
            cache.get(&ws, &CustomerId::from_client("b"), Some(5)).is_none(),
            "nothing cached, nothing made"
        );
    }
}
