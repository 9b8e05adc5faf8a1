//! [`LocalIndex`]: one HNSW graph per workspace in this process, beside the embedded store. Per memory it keeps
//! the int8 vector (in the graph), a number as graph key, the customer, the memory id, the kind and the time.
//! Saved on a clean shutdown and loaded at start; after a crash (or on first start) it is rebuilt from the store
//! in the background while searches fall back to the store.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use super::ann::{Ann, Tuning};
use super::persist;
use super::{IndexError, IndexStats, Neighbour, Point, SearchFilter, VectorIndex};
use crate::domain::memory::{MemoryKind, StoredMemory};
use crate::domain::vector::cosine;
use crate::domain::{CustomerId, WorkspaceId};

/// Up to this many candidates a search is exact (every candidate's vector compared), above it the graph answers.
const EXACT_UP_TO: usize = 20_000;

/// What the index keeps of one memory besides its vector.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub(super) customer: Arc<str>,
    pub(super) id: Box<str>,
    pub(super) kind: MemoryKind,
    /// Observed at, seconds since the epoch.
    pub(super) at: i64,
}

/// One workspace: its graph and what each graph key stands for.
pub(super) struct Space {
    pub(super) ann: Ann,
    pub(super) slots: HashMap<u64, Slot>,
    owners: HashMap<Arc<str>, Vec<u64>>,
    pub(super) next_key: u64,
    /// Slots freed by removals and not reused since (their bytes are still there).
    pub(super) free: usize,
    /// Whether a removal happened since the free slots were last scrubbed.
    pub(super) dirty: bool,
}

impl Space {
    fn new(dimension: usize, tuning: Tuning) -> Result<Self, IndexError> {
        Ok(Self::from_parts(Ann::new(dimension, tuning)?, HashMap::new()))
    }

    pub(super) fn from_parts(ann: Ann, slots: HashMap<u64, Slot>) -> Self {
        let mut owners: HashMap<Arc<str>, Vec<u64>> = HashMap::new();
        let mut next_key = 0;
        let mut slots = slots;
        for (key, slot) in &mut slots {
            next_key = next_key.max(key + 1);
            match owners.get_key_value(&*slot.customer) {
                Some((shared, _)) => slot.customer = Arc::clone(shared),
                None => {
                    owners.insert(Arc::clone(&slot.customer), Vec::new());
                }
            }
            if let Some(keys) = owners.get_mut(&*slot.customer) {
                keys.push(*key);
            }
        }
        Self {
            ann,
            slots,
            owners,
            next_key,
            free: 0,
            dirty: false,
        }
    }

    fn find(&self, customer: &str, id: &str) -> Option<u64> {
        self.owners
            .get(customer)?
            .iter()
            .copied()
            .find(|k| self.slots.get(k).is_some_and(|s| &*s.id == id))
    }

    fn customer_arc(&self, customer: &str) -> Arc<str> {
        self.owners
            .get_key_value(customer)
            .map_or_else(|| Arc::from(customer), |(k, _)| Arc::clone(k))
    }

    /// Records a key already added to the graph.
    fn record(&mut self, key: u64, point: &Point<'_>) {
        let customer = self.customer_arc(point.customer.as_str());
        self.owners.entry(Arc::clone(&customer)).or_default().push(key);
        self.slots.insert(
            key,
            Slot {
                customer,
                id: point.id.into(),
                kind: point.kind,
                at: point.observed_at.timestamp(),
            },
        );
    }

    /// Adds or replaces points; many at once are added from every core.
    fn insert(&mut self, points: &[Point<'_>]) -> Result<(), IndexError> {
        for point in points {
            if let Some(old) = self.find(point.customer.as_str(), point.id) {
                self.remove_key(old)?;
            }
        }
        let first = self.next_key;
        self.ann.reserve(points.len())?;
        let threads = if points.len() >= 256 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            1
        };
        let per = points.len().div_ceil(threads).max(1);
        let ann = &self.ann;
        std::thread::scope(|scope| {
            let handles: Vec<_> = points
                .chunks(per)
                .enumerate()
                .map(|(c, part)| {
                    scope.spawn(move || {
                        part.iter()
                            .enumerate()
                            .try_for_each(|(i, p)| ann.add(first + (c * per + i) as u64, p.vector))
                    })
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        })?;
        self.next_key += points.len() as u64;
        self.free = self.free.saturating_sub(points.len());
        for (i, point) in points.iter().enumerate() {
            self.record(first + i as u64, point);
        }
        Ok(())
    }

    fn remove_key(&mut self, key: u64) -> Result<(), IndexError> {
        self.ann.remove(key)?;
        self.free += 1;
        self.dirty = true;
        if let Some(slot) = self.slots.remove(&key) {
            if let Some(keys) = self.owners.get_mut(&*slot.customer) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    self.owners.remove(&*slot.customer);
                }
            }
        }
        Ok(())
    }

    fn remove_customer(&mut self, customer: &str) -> Result<(), IndexError> {
        for key in self.owners.get(customer).cloned().unwrap_or_default() {
            self.remove_key(key)?;
        }
        Ok(())
    }

    fn keeps(&self, filter: &SearchFilter, slot: &Slot) -> bool {
        filter.kinds.as_ref().is_none_or(|k| k.contains(&slot.kind))
            && filter.since.is_none_or(|t| slot.at >= t.timestamp())
    }

    fn nearest(&self, query: &[f32], k: usize, filter: &SearchFilter) -> Result<Vec<Neighbour>, IndexError> {
        let neighbour = |key: u64, similarity: f32| {
            self.slots.get(&key).map(|s| Neighbour {
                customer: CustomerId::from_client(&*s.customer),
                id: s.id.to_string(),
                similarity,
            })
        };
        // Few candidates: compare them all (exact, and HNSW searches with a narrow filter miss results).
        let few: Option<Vec<u64>> = match &filter.customers {
            Some(customers) => {
                let keys: Vec<u64> = customers
                    .iter()
                    .filter_map(|c| self.owners.get(c.as_str()))
                    .flatten()
                    .copied()
                    .collect();
                (keys.len() <= EXACT_UP_TO).then_some(keys)
            }
            None => (self.slots.len() <= EXACT_UP_TO).then(|| self.slots.keys().copied().collect()),
        };
        if let Some(keys) = few {
            let mut buffer = vec![0i8; self.ann.dimension()];
            let mut scored: Vec<(u64, f32)> = Vec::new();
            for key in keys {
                if self.slots.get(&key).is_some_and(|s| self.keeps(filter, s)) && self.ann.get(key, &mut buffer) {
                    scored.push((key, cosine(query, &buffer)));
                }
            }
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            scored.truncate(k);
            return Ok(scored.into_iter().filter_map(|(key, s)| neighbour(key, s)).collect());
        }
        let found = self.ann.search(query, k, |key| {
            self.slots.get(&key).is_some_and(|s| {
                self.keeps(filter, s)
                    && filter
                        .customers
                        .as_ref()
                        .is_none_or(|c| c.contains(&CustomerId::from_client(&*s.customer)))
            })
        })?;
        Ok(found.into_iter().filter_map(|(key, s)| neighbour(key, s)).collect())
    }
}

/// What was removed while the index was being built from a store snapshot: the build must not bring it back.
#[derive(Default)]
struct Removed {
    memories: HashSet<(WorkspaceId, String, String)>,
    customers: HashSet<(WorkspaceId, String)>,
}

/// The in-process vector index.
pub struct LocalIndex {
    dimension: usize,
    tuning: Tuning,
    spaces: RwLock<HashMap<WorkspaceId, Arc<RwLock<Space>>>>,
    /// Where graphs are saved; `None` keeps them in memory only.
    dir: Option<PathBuf>,
    ready: AtomicBool,
    /// `Some` while building.
    removed: Mutex<Option<Removed>>,
}

impl LocalIndex {
    /// An empty index, ready (for a new store, or tests).
    pub fn empty(dimension: usize, tuning: Tuning, dir: Option<PathBuf>) -> Self {
        Self {
            dimension,
            tuning,
            spaces: RwLock::new(HashMap::new()),
            dir,
            ready: AtomicBool::new(true),
            removed: Mutex::new(None),
        }
    }

    /// Loads the index saved in `dir` on the last clean shutdown, when it matches a store of `memories` memories
    /// of this dimension; otherwise an empty index that is not ready, to be filled by [`LocalIndex::build`]. The
    /// saved files are marked stale as soon as they are loaded, so a crash leads to a rebuild, never to a stale
    /// index.
    pub fn open(dir: PathBuf, dimension: usize, tuning: Tuning, memories: u64) -> Self {
        let index = Self::empty(dimension, tuning, Some(dir.clone()));
        let started = Instant::now();
        match persist::load(&dir, dimension, tuning, memories) {
            Ok(Some(spaces)) => {
                let count: usize = spaces.values().map(|s| s.slots.len()).sum();
                *index.write_spaces() = spaces
                    .into_iter()
                    .map(|(ws, space)| (ws, Arc::new(RwLock::new(space))))
                    .collect();
                tracing::info!(
                    memories = count,
                    ms = started.elapsed().as_millis() as u64,
                    "vector index loaded"
                );
            }
            Ok(None) if memories == 0 => {}
            Ok(None) => {
                index.ready.store(false, Ordering::SeqCst);
                tracing::info!(memories, "no saved vector index matches the store: it will be built");
            }
            Err(e) => {
                index.ready.store(false, Ordering::SeqCst);
                tracing::warn!(error = %e, "the saved vector index cannot be read: it will be built");
            }
        }
        if !index.is_ready() {
            // Removals from now on must not be brought back by the build's snapshot.
            *index.lock_removed() = Some(Removed::default());
        }
        if let Err(e) = persist::mark_stale(&dir) {
            tracing::warn!(error = %e, "could not mark the saved vector index stale");
        }
        index
    }

    /// Whether every stored memory is in.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Fills a not-ready index from the store: `scan` calls its argument with every stored memory (a snapshot;
    /// writes meanwhile go to the index directly and win). Adds with every core; logs progress.
    pub fn build(
        &self,
        total: u64,
        scan: impl FnOnce(&mut dyn FnMut(StoredMemory)) -> Result<(), String>,
    ) -> Result<(), IndexError> {
        if self.is_ready() {
            return Ok(());
        }
        self.lock_removed().get_or_insert_with(Removed::default);
        let started = Instant::now();
        let mut chunk: Vec<StoredMemory> = Vec::with_capacity(CHUNK);
        let mut done = 0u64;
        let mut last_log = Instant::now();
        let mut failure: Option<IndexError> = None;
        scan(&mut |m: StoredMemory| {
            if failure.is_some() {
                return;
            }
            chunk.push(m);
            if chunk.len() == CHUNK {
                done += chunk.len() as u64;
                if let Err(e) = self.add_snapshot(std::mem::take(&mut chunk)) {
                    failure = Some(e);
                }
                if last_log.elapsed().as_secs() >= 10 {
                    last_log = Instant::now();
                    let rate = done as f64 / started.elapsed().as_secs_f64();
                    tracing::info!(done, total, per_second = rate as u64, "building the vector index");
                }
            }
        })
        .map_err(IndexError::Build)?;
        if let Some(e) = failure {
            return Err(e);
        }
        done += chunk.len() as u64;
        self.add_snapshot(chunk)?;
        *self.lock_removed() = None;
        self.ready.store(true, Ordering::SeqCst);
        tracing::info!(
            memories = done,
            seconds = started.elapsed().as_secs_f64(),
            "vector index built"
        );
        Ok(())
    }

    /// Adds memories read from a store snapshot, unless removed or re-written since.
    fn add_snapshot(&self, chunk: Vec<StoredMemory>) -> Result<(), IndexError> {
        let mut by_workspace: HashMap<WorkspaceId, Vec<StoredMemory>> = HashMap::new();
        for m in chunk {
            by_workspace.entry(m.memory.workspace.clone()).or_default().push(m);
        }
        for (ws, memories) in by_workspace {
            let space = self.space(&ws)?;
            let mut space = space.write().unwrap_or_else(|p| p.into_inner());
            let removed = self.lock_removed();
            let fresh: Vec<Point<'_>> = memories
                .iter()
                .filter(|m| {
                    let (cid, id) = (m.memory.provenance.customer_id.as_str(), m.memory.id.as_str());
                    !removed.as_ref().is_some_and(|r| {
                        r.customers.contains(&(ws.clone(), cid.to_owned()))
                            || r.memories.contains(&(ws.clone(), cid.to_owned(), id.to_owned()))
                    }) && space.find(cid, id).is_none()
                })
                .map(Point::of)
                .collect();
            drop(removed);
            space.insert(&fresh)?;
        }
        Ok(())
    }

    fn lock_removed(&self) -> std::sync::MutexGuard<'_, Option<Removed>> {
        self.removed.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_spaces(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<WorkspaceId, Arc<RwLock<Space>>>> {
        self.spaces.write().unwrap_or_else(|p| p.into_inner())
    }

    fn existing(&self, workspace: &WorkspaceId) -> Option<Arc<RwLock<Space>>> {
        self.spaces
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(workspace)
            .cloned()
    }

    fn space(&self, workspace: &WorkspaceId) -> Result<Arc<RwLock<Space>>, IndexError> {
        if let Some(space) = self.existing(workspace) {
            return Ok(space);
        }
        let mut spaces = self.write_spaces();
        if let Some(space) = spaces.get(workspace) {
            return Ok(Arc::clone(space));
        }
        let space = Arc::new(RwLock::new(Space::new(self.dimension, self.tuning)?));
        spaces.insert(workspace.clone(), Arc::clone(&space));
        Ok(space)
    }
}

/// Memories added per lock of a workspace while building.
const CHUNK: usize = 4_096;

impl VectorIndex for LocalIndex {
    fn nearest(
        &self,
        workspace: &WorkspaceId,
        query: &[f32],
        k: usize,
        filter: &SearchFilter,
    ) -> Result<Option<Vec<Neighbour>>, IndexError> {
        if !self.is_ready() {
            return Ok(None);
        }
        let Some(space) = self.existing(workspace) else {
            return Ok(Some(Vec::new()));
        };
        let space = space.read().unwrap_or_else(|p| p.into_inner());
        space.nearest(query, k, filter).map(Some)
    }

    fn upsert(&self, workspace: &WorkspaceId, points: &[Point<'_>]) -> Result<(), IndexError> {
        if points.is_empty() {
            return Ok(());
        }
        let space = self.space(workspace)?;
        let mut space = space.write().unwrap_or_else(|p| p.into_inner());
        space.insert(points)
    }

    fn remove(&self, workspace: &WorkspaceId, customer: &CustomerId, id: &str) -> Result<(), IndexError> {
        if let Some(r) = self.lock_removed().as_mut() {
            r.memories
                .insert((workspace.clone(), customer.to_string(), id.to_owned()));
        }
        let Some(space) = self.existing(workspace) else {
            return Ok(());
        };
        let mut space = space.write().unwrap_or_else(|p| p.into_inner());
        match space.find(customer.as_str(), id) {
            Some(key) => space.remove_key(key),
            None => Ok(()),
        }
    }

    fn remove_customer(&self, workspace: &WorkspaceId, customer: &CustomerId) -> Result<(), IndexError> {
        if let Some(r) = self.lock_removed().as_mut() {
            r.customers.insert((workspace.clone(), customer.to_string()));
        }
        let Some(space) = self.existing(workspace) else {
            return Ok(());
        };
        let mut space = space.write().unwrap_or_else(|p| p.into_inner());
        space.remove_customer(customer.as_str())
    }

    fn persist(&self) -> Result<(), IndexError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        if !self.is_ready() {
            tracing::info!("the vector index is still being built: not saved (it is rebuilt at the next start)");
            return Ok(());
        }
        let spaces: Vec<(WorkspaceId, Arc<RwLock<Space>>)> = self
            .spaces
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(ws, s)| (ws.clone(), Arc::clone(s)))
            .collect();
        let mut guards: Vec<_> = spaces
            .iter()
            .map(|(ws, s)| (ws, s.write().unwrap_or_else(|p| p.into_inner())))
            .collect();
        for (_, space) in &mut guards {
            if space.dirty {
                space.ann.scrub(space.free)?;
                space.dirty = false;
            }
        }
        let view: Vec<(&WorkspaceId, &Space)> = guards.iter().map(|(ws, g)| (*ws, &**g)).collect();
        persist::save(dir, self.dimension, &view)
    }

    fn stats(&self) -> IndexStats {
        let spaces = self.spaces.read().unwrap_or_else(|p| p.into_inner());
        let mut stats = IndexStats {
            ready: self.is_ready(),
            ..IndexStats::default()
        };
        for space in spaces.values() {
            let space = space.read().unwrap_or_else(|p| p.into_inner());
            stats.memories += space.slots.len();
            stats.graph_bytes += space.ann.memory_usage();
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::memory::new_memory_id;
    use crate::domain::memory::StoredMemory;
    use crate::embed::{Embedder, HashEmbedder, TextRole};
    use chrono::Utc;

    fn vectors(texts: &[&str]) -> Vec<Vec<f32>> {
        HashEmbedder::new(64).embed(texts, TextRole::Passage).unwrap()
    }

    #[test]
    fn nearest_finds_upserted_memories_and_forgets_removed_ones() {
        let index = LocalIndex::empty(64, Tuning::default(), None);
        let ws = WorkspaceId::default_workspace();
        let (a, b) = (CustomerId::from_client("a"), CustomerId::from_client("b"));
        let texts = ["the hub is offline", "refund for a double charge", "hub offline again"];
        let v = vectors(&texts);
        let ids: Vec<String> = texts.iter().map(|_| new_memory_id()).collect();
        let now = Utc::now();
        let points = [
            Point {
                customer: &a,
                id: &ids[0],
                kind: MemoryKind::Issue,
                observed_at: now,
                vector: &v[0],
            },
            Point {
                customer: &a,
                id: &ids[1],
                kind: MemoryKind::Fact,
                observed_at: now,
                vector: &v[1],
            },
            Point {
                customer: &b,
                id: &ids[2],
                kind: MemoryKind::Issue,
                observed_at: now,
                vector: &v[2],
            },
        ];
        index.upsert(&ws, &points).unwrap();
        let query = &vectors(&["hub offline"])[0];
        let all = index.nearest(&ws, query, 3, &SearchFilter::default()).unwrap().unwrap();
        assert_eq!(all.len(), 3);
        assert_ne!(all[0].id, ids[1], "the refund is not the nearest to 'hub offline'");
        let only_b = SearchFilter {
            customers: Some([b.clone()].into()),
            ..SearchFilter::default()
        };
        let found = index.nearest(&ws, query, 3, &only_b).unwrap().unwrap();
        assert_eq!(
            found.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            [ids[2].as_str()]
        );
        let facts = SearchFilter {
            kinds: Some(vec![MemoryKind::Fact]),
            ..SearchFilter::default()
        };
        assert_eq!(index.nearest(&ws, query, 3, &facts).unwrap().unwrap()[0].id, ids[1]);
        index.remove(&ws, &a, &ids[0]).unwrap();
        index.remove_customer(&ws, &b).unwrap();
        let left = index.nearest(&ws, query, 3, &SearchFilter::default()).unwrap().unwrap();
        assert_eq!(
            left.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            [ids[1].as_str()]
        );
        let other = WorkspaceId::parse("other").unwrap();
        assert!(index
            .nearest(&other, query, 3, &SearchFilter::default())
            .unwrap()
            .unwrap()
            .is_empty());
    }

    fn stored(customer: &str, text: &str) -> StoredMemory {
        let memory = crate::domain::testkit::memory_for(&CustomerId::from_client(customer), text);
        StoredMemory {
            memory,
            vector: vectors(&[text]).remove(0),
        }
    }

    #[test]
    fn a_saved_index_loads_once_and_a_removed_vector_is_gone_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let ws = WorkspaceId::default_workspace();
        let memories: Vec<StoredMemory> = (0..50)
            .map(|i| {
                stored(
                    if i % 2 == 0 { "a" } else { "b" },
                    &format!("message number {i} about the hub"),
                )
            })
            .collect();
        let index = LocalIndex::open(path.clone(), 64, Tuning::default(), 0);
        assert!(index.is_ready(), "an empty store needs no build");
        let points: Vec<Point<'_>> = memories.iter().map(Point::of).collect();
        index.upsert(&ws, &points).unwrap();
        let secret = stored("b", "my secret door code is 4471");
        index.upsert(&ws, &[Point::of(&secret)]).unwrap();
        index.remove_customer(&ws, &CustomerId::from_client("b")).unwrap();
        index.persist().unwrap();
        let quantized: Vec<u8> = crate::domain::vector::quantize(&secret.vector)
            .into_iter()
            .map(|x| x as u8)
            .collect();
        for entry in std::fs::read_dir(&path).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(
                !bytes.windows(quantized.len()).any(|w| w == quantized.as_slice()),
                "an erased customer's vector is still in a saved file"
            );
        }
        // Loaded when the store holds as many memories as were saved; the files are gone once loaded.
        let loaded = LocalIndex::open(path.clone(), 64, Tuning::default(), 25);
        assert!(loaded.is_ready());
        let query = &vectors(&["message number 4 about the hub"])[0];
        let found = loaded
            .nearest(&ws, query, 1, &SearchFilter::default())
            .unwrap()
            .unwrap();
        assert_eq!(found[0].id, memories[4].memory.id);
        assert_eq!(std::fs::read_dir(&path).unwrap().count(), 0);
        // Nothing saved (a crash): not ready until built from the store.
        let rebuilt = LocalIndex::open(path, 64, Tuning::default(), 25);
        assert!(rebuilt
            .nearest(&ws, query, 1, &SearchFilter::default())
            .unwrap()
            .is_none());
        let removed_meanwhile = memories[0].memory.id.clone();
        rebuilt
            .remove(&ws, &CustomerId::from_client("a"), &removed_meanwhile)
            .unwrap();
        rebuilt
            .build(25, |f| {
                memories
                    .iter()
                    .filter(|m| m.memory.provenance.customer_id.as_str() == "a")
                    .for_each(|m| f(m.clone()));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            rebuilt.stats().memories,
            24,
            "a memory removed during the build stays removed"
        );
        let found = rebuilt
            .nearest(&ws, query, 1, &SearchFilter::default())
            .unwrap()
            .unwrap();
        assert_eq!(found[0].id, memories[4].memory.id);
    }
}
