//! The approximate nearest-neighbour graph of one workspace: the only code that knows usearch (an HNSW index
//! from Unum, maintained, used inside ClickHouse and DuckDB extensions; it keeps int8 vectors, searches with a
//! predicate, adds from several threads, and saves to and loads from one file). Keys are numbers the workspace's
//! index hands out.

use std::path::Path;

use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::domain::vector::quantize;

/// Graph parameters (see README, "The memory index").
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Links per node.
    pub connectivity: usize,
    /// Candidates considered when adding.
    pub expansion_add: usize,
    /// Candidates considered when searching.
    pub expansion_search: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 256,
        }
    }
}

/// An error of the graph library.
#[derive(Debug, thiserror::Error)]
#[error("vector index: {0}")]
pub struct AnnError(String);

fn err(e: impl std::fmt::Display) -> AnnError {
    AnnError(e.to_string())
}

/// One workspace's graph, of int8 vectors.
pub struct Ann {
    index: Index,
    dimension: usize,
}

impl Ann {
    /// An empty graph.
    pub fn new(dimension: usize, tuning: Tuning) -> Result<Self, AnnError> {
        let options = IndexOptions {
            dimensions: dimension,
            metric: MetricKind::Cos,
            quantization: ScalarKind::I8,
            connectivity: tuning.connectivity,
            expansion_add: tuning.expansion_add,
            expansion_search: tuning.expansion_search,
            multi: false,
        };
        let index = Index::new(&options).map_err(err)?;
        index.reserve_capacity_and_threads(64, threads()).map_err(err)?;
        Ok(Self { index, dimension })
    }

    /// A graph saved by [`Ann::save`], when its file holds the same dimension and precision.
    pub fn load(path: &Path, dimension: usize, tuning: Tuning) -> Result<Self, AnnError> {
        let ann = Self::new(dimension, tuning)?;
        let path_str = path
            .to_str()
            .ok_or_else(|| AnnError("index path is not UTF-8".into()))?;
        let meta = Index::metadata(path_str).map_err(err)?;
        if meta.dimensions != dimension as u64 || meta.quantization != ScalarKind::I8 || meta.multi {
            return Err(AnnError(format!(
                "{} holds another kind of index ({} dimensions)",
                path.display(),
                meta.dimensions
            )));
        }
        ann.index.load(path_str).map_err(err)?;
        ann.index.change_expansion_search(tuning.expansion_search);
        ann.index.change_expansion_add(tuning.expansion_add);
        Ok(ann)
    }

    /// Writes the graph to `path` (through a temporary file, renamed when complete).
    pub fn save(&self, path: &Path) -> Result<(), AnnError> {
        let tmp = path.with_extension("usearch.tmp");
        let tmp_str = tmp.to_str().ok_or_else(|| AnnError("index path is not UTF-8".into()))?;
        self.index.save(tmp_str).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Makes room for `more` vectors beyond those held (not while other calls run: callers hold a write lock).
    pub fn reserve(&self, more: usize) -> Result<(), AnnError> {
        let needed = self.index.size() + more;
        if needed > self.index.capacity() {
            let capacity = needed.max(self.index.capacity() + self.index.capacity() / 4).max(1024);
            self.index
                .reserve_capacity_and_threads(capacity, threads())
                .map_err(err)?;
        }
        Ok(())
    }

    /// Adds a vector (room must have been reserved). Safe to call from several threads at once.
    pub fn add(&self, key: u64, vector: &[f32]) -> Result<(), AnnError> {
        self.index.add(key, &quantize(vector)).map_err(err)
    }

    /// Removes a vector from searches. Its slot (with its bytes) stays until a later add reuses it, or
    /// [`Ann::scrub`] overwrites it.
    pub fn remove(&self, key: u64) -> Result<(), AnnError> {
        self.index.remove(key).map_err(err)?;
        Ok(())
    }

    /// Overwrites the bytes of the `free` slots removed vectors left (an erased customer's vectors must not
    /// reach a saved file): adds that many constant vectors, which take the free slots (usearch reuses them first
    /// in first-out order), then removes them. Not while other calls run: callers hold a write lock.
    pub fn scrub(&self, free: usize) -> Result<(), AnnError> {
        let constant = vec![1i8; self.dimension];
        self.reserve(free)?;
        let keys: Vec<u64> = (0..free as u64).map(|i| SCRUB_KEYS - i).collect();
        for key in &keys {
            self.index.add(*key, &constant).map_err(err)?;
        }
        for key in &keys {
            self.index.remove(*key).map_err(err)?;
        }
        Ok(())
    }

    /// The `k` nearest keys to a unit query that `keep` accepts, with their cosine similarity, best first.
    pub fn search(&self, query: &[f32], k: usize, keep: impl Fn(u64) -> bool) -> Result<Vec<(u64, f32)>, AnnError> {
        let found = self.index.filtered_search(&quantize(query), k, keep).map_err(err)?;
        Ok(found
            .keys
            .into_iter()
            .zip(found.distances)
            .map(|(key, d)| (key, 1.0 - d))
            .collect())
    }

    /// Copies the vector of `key` into `out` (of the graph's dimension); false when not held.
    pub fn get(&self, key: u64, out: &mut [i8]) -> bool {
        self.index.get(key, out).is_ok_and(|n| n > 0)
    }

    /// The vectors' dimension.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Vectors held.
    pub fn len(&self) -> usize {
        self.index.size()
    }

    /// Bytes the graph and its vectors take.
    pub fn memory_usage(&self) -> usize {
        self.index.memory_usage()
    }
}

/// Keys counted down from here scrub free slots; the index hands out keys counted up from zero.
const SCRUB_KEYS: u64 = u64::MAX;

/// Threads that may add at once (the machine's cores).
fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
