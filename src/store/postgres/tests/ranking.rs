//! Ranking in the database: the HNSW search agrees with exact search under every filter, stays in its workspace,
//! uses the index of the model's dimension, finds memories the indexer has not reached yet, and full-text search
//! finds words in French and English; indexers on several nodes share the pending memories.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;

use crate::domain::memory::{MemoryKind, StoredMemory};
use crate::domain::text::Lang;
use crate::domain::{dot, normalise_unit, Customer, CustomerId, WorkspaceId};
use crate::index::{SearchFilter, VectorIndex};
use crate::store::model_tests::{fields, t0};
use crate::store::postgres::testkit::TestDb;
use crate::store::postgres::PostgresStore;
use crate::store::{CustomerRepo, MemoryRepo, ModelStamp, StoreError};

pub(super) const DIM: usize = 8;
const KINDS: [MemoryKind; 3] = [MemoryKind::Issue, MemoryKind::Resolution, MemoryKind::Fact];

/// A reproducible unit vector (a small linear congruential generator).
pub(super) fn vector(seed: u64) -> Vec<f32> {
    let mut x = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let mut v: Vec<f32> = (0..DIM)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 33) % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    normalise_unit(&mut v);
    v
}

/// A store of a model of [`DIM`] dimensions, its indexer paused (memories written stay pending) or running.
pub(super) fn open_store(db: &TestDb, paused: bool) -> Arc<PostgresStore> {
    let model = ModelStamp {
        name: "test".into(),
        dim: DIM,
    };
    let store = Arc::new(PostgresStore::open(&db.config, Some(&model)).unwrap());
    store.indexer.pause(paused);
    store
}

/// Writes `each` memories (of the kinds in turn, an hour apart) for each of `customers` new customers of `ws`,
/// with vectors from `seed` on; returns them read back, with the vectors at the precision the store keeps, which
/// the database ranks.
fn write_memories(
    store: &PostgresStore,
    ws: &WorkspaceId,
    customers: usize,
    each: usize,
    seed: u64,
) -> Vec<StoredMemory> {
    let mut batch = Vec::new();
    for c in 0..customers {
        let customer = Customer::new(ws.clone(), fields(c as u8, None), t0());
        store.create_customer(&customer).unwrap();
        for n in 0..each {
            let mut m = crate::domain::testkit::memory_for(&customer.id, &format!("memory {n}"));
            m.workspace = ws.clone();
            m.id = format!("mem_{n:05}");
            m.kind = KINDS[n % KINDS.len()];
            m.observed_at = t0() + Duration::hours(n as i64);
            batch.push(StoredMemory {
                memory: m,
                vector: vector((c * each + n) as u64 + seed),
            });
        }
    }
    store.insert_memories(&batch).unwrap();
    let keys: Vec<(CustomerId, String)> = batch
        .iter()
        .map(|m| (m.memory.provenance.customer_id.clone(), m.memory.id.clone()))
        .collect();
    store.memories_by_key(ws, &keys).unwrap()
}

/// A store of a model of [`DIM`] dimensions with `customers` customers of `each` memories in the default workspace
/// and one customer of one memory in another; returns the stored memories of the default workspace.
fn loaded(db: &TestDb, customers: usize, each: usize) -> (Arc<PostgresStore>, Vec<StoredMemory>) {
    let store = open_store(db, false);
    let other = super::other_workspace(store.as_ref());
    let kept = write_memories(&store, &WorkspaceId::default_workspace(), customers, each, 0);
    write_memories(&store, &other, 1, 1, 99_999);
    (store, kept)
}

/// The `k` nearest of `memories` the filter keeps, by exact cosine.
pub(super) fn exact(
    memories: &[StoredMemory],
    query: &[f32],
    k: usize,
    filter: &SearchFilter,
) -> Vec<(String, String)> {
    let mut scored: Vec<(f32, String, String)> = memories
        .iter()
        .filter(|m| filter.kinds.as_ref().is_none_or(|k| k.contains(&m.memory.kind)))
        .filter(|m| filter.since.is_none_or(|t| m.memory.observed_at >= t))
        .filter(|m| {
            filter
                .customers
                .as_ref()
                .is_none_or(|c| c.contains(&m.memory.provenance.customer_id))
        })
        .map(|m| {
            let norm = dot(&m.vector, &m.vector).sqrt();
            (
                dot(query, &m.vector) / norm,
                m.memory.provenance.customer_id.to_string(),
                m.memory.id.clone(),
            )
        })
        .collect();
    // Ties (memories sharing a vector) by customer and id, as the store breaks them.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| (&a.1, &a.2).cmp(&(&b.1, &b.2))));
    scored.into_iter().take(k).map(|(_, c, id)| (c, id)).collect()
}

#[test]
fn database_search_agrees_with_exact_search_under_every_filter_and_stays_in_its_workspace() {
    let db = TestDb::new();
    let (store, memories) = loaded(&db, 6, 40);
    let index = store.index(DIM);
    let ws = WorkspaceId::default_workspace();
    let some: HashSet<CustomerId> = memories
        .iter()
        .map(|m| m.memory.provenance.customer_id.clone())
        .take(1)
        .chain(
            memories
                .iter()
                .rev()
                .map(|m| m.memory.provenance.customer_id.clone())
                .take(1),
        )
        .collect();
    let filters = [
        SearchFilter::default(),
        SearchFilter {
            kinds: Some(vec![MemoryKind::Issue, MemoryKind::Resolution]),
            ..Default::default()
        },
        SearchFilter {
            since: Some(t0() + Duration::hours(30)),
            ..Default::default()
        },
        SearchFilter {
            customers: Some(some),
            kinds: Some(vec![MemoryKind::Fact]),
            ..Default::default()
        },
    ];
    for (q, filter) in filters
        .iter()
        .enumerate()
        .flat_map(|(i, f)| (0..5).map(move |q| (q + 10 * i, f)))
    {
        let query = vector(1_000_000 + q as u64);
        let found = index.nearest(&ws, &query, 10, filter).unwrap().expect("always ready");
        let got: Vec<(String, String)> = found.iter().map(|n| (n.customer.to_string(), n.id.clone())).collect();
        assert_eq!(got, exact(&memories, &query, 10, filter), "query {q}, {filter:?}");
        assert!(found.windows(2).all(|w| w[0].similarity >= w[1].similarity));
    }
    // Another workspace's memory is never a neighbour; an unknown workspace has none.
    let all = index
        .nearest(&ws, &vector(5), 1000, &SearchFilter::default())
        .unwrap()
        .unwrap();
    assert_eq!(all.len(), memories.len());
    let other = WorkspaceId::parse("other").unwrap();
    assert_eq!(
        index
            .nearest(&other, &vector(5), 10, &SearchFilter::default())
            .unwrap()
            .unwrap()
            .len(),
        1
    );
    let none = WorkspaceId::parse("nobody").unwrap();
    assert!(index
        .nearest(&none, &vector(5), 10, &SearchFilter::default())
        .unwrap()
        .unwrap()
        .is_empty());
    // Deleting through the store is deleting from the index (the index's own writes are no-ops).
    let gone = &memories[0].memory;
    store
        .delete_memory(&ws, &gone.provenance.customer_id, &gone.id)
        .unwrap();
    let after = index
        .nearest(&ws, &vector(5), 1000, &SearchFilter::default())
        .unwrap()
        .unwrap();
    assert_eq!(after.len(), memories.len() - 1);
    assert_eq!(index.stats().memories, memories.len());
}

#[test]
fn database_search_uses_the_hnsw_index_of_the_model_dimension() {
    let db = TestDb::new();
    let (store, _) = loaded(&db, 20, 100);
    until_indexed(&store);
    store.execute("ANALYZE memories");
    let index = store.index(DIM);
    let ws = WorkspaceId::default_workspace();
    let kinds = SearchFilter {
        kinds: Some(vec![MemoryKind::Issue, MemoryKind::Resolution]),
        since: Some(t0()),
        ..Default::default()
    };
    for filter in [SearchFilter::default(), kinds] {
        let plan = index.explain_search(&ws, &vector(7), 50, &filter);
        assert!(plan.contains("memories_embedding_hnsw_8"), "{filter:?}:\n{plan}");
        // The few rows the indexer has not reached are found through their own partial index.
        assert!(plan.contains("memories_pending"), "{filter:?}:\n{plan}");
    }
}

#[test]
fn keyword_search_finds_words_in_french_and_english_memories() {
    let db = TestDb::new();
    let (store, _) = loaded(&db, 1, 0);
    let ws = WorkspaceId::default_workspace();
    let c = Customer::new(ws.clone(), fields(42, None), t0());
    store.create_customer(&c).unwrap();
    let texts = [
        ("mem_fr", Lang::Fr, "Les factures arrivent toujours en retard"),
        ("mem_en", Lang::En, "The invoices were delivered late"),
        ("mem_x", Lang::En, "Password reset worked"),
    ];
    let batch: Vec<StoredMemory> = texts
        .iter()
        .enumerate()
        .map(|(i, (id, lang, text))| {
            let mut m = crate::domain::testkit::memory_for(&c.id, text);
            m.id = (*id).into();
            m.language = *lang;
            StoredMemory {
                memory: m,
                vector: vector(i as u64),
            }
        })
        .collect();
    store.insert_memories(&batch).unwrap();
    let index = store.index(DIM);
    let ids = |q: &str, filter: &SearchFilter| -> Vec<String> {
        let mut ids: Vec<String> = index
            .keyword_search(&ws, q, 10, filter)
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids("facture", &SearchFilter::default()), vec!["mem_fr"]);
    assert_eq!(ids("invoice", &SearchFilter::default()), vec!["mem_en"]);
    assert_eq!(
        ids("facture OR invoices", &SearchFilter::default()),
        vec!["mem_en", "mem_fr"]
    );
    assert!(ids("refund", &SearchFilter::default()).is_empty());
    let issues_only = SearchFilter {
        kinds: Some(vec![MemoryKind::Issue]),
        ..Default::default()
    };
    assert!(ids("facture", &issues_only).is_empty(), "the kind filter applies");
}

/// Times searches in the database (a measurement, not a check): `RAPPEL_MEASURE_MEMORIES` memories (default
/// 20,000) of 384 dimensions over 200 customers. Run with `--ignored --nocapture`.
#[test]
#[ignore = "a measurement; prints timings"]
fn measure_database_search_latency() {
    const DIM: usize = 384;
    let total: usize = std::env::var("RAPPEL_MEASURE_MEMORIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let random = |seed: u64| -> Vec<f32> {
        let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut v: Vec<f32> = (0..DIM)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((x >> 33) % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        normalise_unit(&mut v);
        v
    };
    let db = TestDb::new();
    let model = ModelStamp {
        name: "measure".into(),
        dim: DIM,
    };
    let store = Arc::new(PostgresStore::open(&db.config, Some(&model)).unwrap());
    let ws = WorkspaceId::default_workspace();
    let customers: Vec<Customer> = (0..200u8)
        .map(|c| {
            let customer = Customer::new(ws.clone(), fields(c, None), t0());
            store.create_customer(&customer).unwrap();
            customer
        })
        .collect();
    let started = std::time::Instant::now();
    let mut batch = Vec::new();
    for n in 0..total {
        let c = &customers[n % customers.len()];
        let mut m = crate::domain::testkit::memory_for(&c.id, &format!("memory {n} about invoices and refunds"));
        m.id = format!("mem_{n:08}");
        m.kind = KINDS[n % KINDS.len()];
        batch.push(StoredMemory {
            memory: m,
            vector: random(n as u64),
        });
        if batch.len() == 1000 || n + 1 == total {
            store.insert_memories(&batch).unwrap();
            batch.clear();
        }
    }
    let loaded = started.elapsed();
    store.execute("ANALYZE memories");
    drop(store);
    let opened = std::time::Instant::now();
    let store = Arc::new(PostgresStore::open(&db.config, Some(&model)).unwrap());
    let index = store.index(DIM);
    let open_ms = opened.elapsed().as_secs_f64() * 1000.0;
    let time = |filter: &SearchFilter, k: usize| {
        let mut ms: Vec<f64> = (0..60u64)
            .map(|q| {
                let query = random(1_000_000 + q);
                let t = std::time::Instant::now();
                let found = index.nearest(&ws, &query, k, filter).unwrap().unwrap();
                assert_eq!(found.len(), k);
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        (ms[ms.len() / 2], ms[ms.len() * 99 / 100])
    };
    let kinds = SearchFilter {
        kinds: Some(vec![MemoryKind::Issue, MemoryKind::Resolution]),
        ..Default::default()
    };
    let (p50, p99) = time(&SearchFilter::default(), 200);
    let (f50, f99) = time(&kinds, 200);
    let t = std::time::Instant::now();
    let words = index
        .keyword_search(&ws, "invoice refund", 200, &SearchFilter::default())
        .unwrap();
    let fts_ms = t.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "memories {total} (dim {DIM}): loaded in {:.1} s; open (a node start) {open_ms:.0} ms; \
         nearest k=200 p50 {p50:.1} ms p99 {p99:.1} ms; with a kinds filter p50 {f50:.1} ms p99 {f99:.1} ms; \
         full-text 200 of {} matches {fts_ms:.1} ms",
        loaded.as_secs_f64(),
        words.len()
    );
}

/// A store of a model of [`DIM`] dimensions whose indexer is paused, with `each` memories written online for each
/// of `customers` customers; returns the memories read back.
fn pending_store(db: &TestDb, customers: usize, each: usize) -> (Arc<PostgresStore>, Vec<StoredMemory>) {
    let store = open_store(db, true);
    let kept = write_memories(&store, &WorkspaceId::default_workspace(), customers, each, 0);
    (store, kept)
}

/// Waits until the indexer left no memory pending (at most 30 s).
pub(super) fn until_indexed(store: &PostgresStore) {
    let started = std::time::Instant::now();
    while store.count("SELECT count(*) FROM memories WHERE pending") > 0 {
        assert!(started.elapsed().as_secs() < 30, "the indexer did not catch up");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn memories_written_online_are_found_before_and_after_the_indexer_puts_them_in_the_graph() {
    let db = TestDb::new();
    let (store, memories) = pending_store(&db, 4, 30);
    let index = store.index(DIM);
    let ws = WorkspaceId::default_workspace();
    let customer = memories[0].memory.provenance.customer_id.clone();
    let version = store.memory_version(&ws, &customer).unwrap();
    let pending = SearchFilter::default();
    let searches = |label: &str| {
        for q in 0..5u64 {
            let query = vector(1_000_000 + q);
            let found = index.nearest(&ws, &query, 10, &pending).unwrap().unwrap();
            let got: Vec<(String, String)> = found.iter().map(|n| (n.customer.to_string(), n.id.clone())).collect();
            assert_eq!(got, exact(&memories, &query, 10, &pending), "{label}, query {q}");
        }
    };
    // Written online, the memories wait for the indexer: a search scans them exactly.
    assert_eq!(
        store.count("SELECT count(*) FROM memories WHERE pending"),
        memories.len() as i64
    );
    assert_eq!(index.stats().pending, memories.len());
    searches("pending");
    // The indexer, woken, puts every one in the graph; the customer's memory version does not move (nodes keep
    // their cached memories), and searches find the same.
    store.indexer.pause(false);
    until_indexed(&store);
    assert_eq!(index.stats().pending, 0);
    assert_eq!(store.memory_version(&ws, &customer).unwrap(), version);
    searches("indexed");
    // A memory replaced with another vector waits again, and is found by its new vector at once.
    store.indexer.pause(true);
    let mut replaced = memories[5].clone();
    replaced.vector = vector(1_000_000);
    store.replace_memory(&replaced).unwrap();
    assert_eq!(store.count("SELECT count(*) FROM memories WHERE pending"), 1);
    let best = index.nearest(&ws, &vector(1_000_000), 1, &pending).unwrap().unwrap();
    assert_eq!(
        (best[0].customer.clone(), best[0].id.clone()),
        (
            replaced.memory.provenance.customer_id.clone(),
            replaced.memory.id.clone()
        )
    );
    assert!(best[0].similarity > 0.99);
    assert_ne!(store.memory_version(&ws, &customer).unwrap(), version);
}

#[test]
fn two_indexers_never_take_the_same_memory_nor_wait_for_each_other() {
    let db = TestDb::new();
    let (store, memories) = pending_store(&db, 2, 20);
    let (first, second) = store
        .run(async {
            let mut a = store.client().await?;
            let a = a.transaction().await?;
            let first = crate::store::postgres::indexer::index_pending(&a, 15).await?;
            // The first batch is not committed: its rows stay locked, and another node takes only the others.
            let b = store.client().await?;
            let second = crate::store::postgres::indexer::index_pending(&b, 1000).await?;
            a.commit().await?;
            Ok((first, second))
        })
        .unwrap();
    assert_eq!((first, second), (15, memories.len() as u64 - 15));
    assert_eq!(store.count("SELECT count(*) FROM memories WHERE pending"), 0);
}

#[test]
fn the_indexer_lets_a_locked_table_be_instead_of_waiting_for_the_statement_timeout() {
    let db = TestDb::new();
    let (store, memories) = pending_store(&db, 2, 10);
    let (locked, after) = store
        .run(async {
            // A bulk load's index build holds the table as this does, for minutes.
            let mut other = store.client().await?;
            let other = other.transaction().await?;
            other.batch_execute("LOCK TABLE memories IN SHARE MODE").await?;
            let locked = store.indexer.batch_now().await;
            other.commit().await?;
            Ok((locked, store.indexer.batch_now().await?))
        })
        .unwrap();
    match locked {
        Err(StoreError::Postgres(e)) => assert_eq!(
            e.code(),
            Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE),
            "{e}"
        ),
        other => panic!("the indexer took a locked table: {other:?}"),
    }
    assert_eq!(after, memories.len() as u64);
    assert_eq!(store.count("SELECT count(*) FROM memories WHERE pending"), 0);
}

#[test]
fn memories_written_before_schema_4_are_in_the_index_after_the_migration() {
    let db = TestDb::new();
    let (store, memories) = pending_store(&db, 3, 20);
    // The database as schema 3 left it: no pending column nor schema 5's sharing columns (their indexes go with
    // them), the HNSW index over every row, and the memory version moved by any update.
    store.execute(
        "ALTER TABLE memories DROP COLUMN pending, DROP COLUMN vector_owner, DROP COLUMN sharer_kinds, \
         DROP COLUMN sharers_latest; \
         CREATE INDEX memories_embedding_hnsw_8 ON memories USING hnsw ((embedding::vector(8)) vector_cosine_ops) \
         WHERE vector_dims(embedding) = 8; \
         DROP TRIGGER memories_version ON memories; \
         CREATE TRIGGER memories_version AFTER INSERT OR UPDATE OR DELETE ON memories \
         FOR EACH ROW EXECUTE FUNCTION rappel_bump_memory_version(); \
         UPDATE rappel_meta SET value = '3' WHERE key = 'schema_version'",
    );
    drop(store);
    let model = ModelStamp {
        name: "test".into(),
        dim: DIM,
    };
    let store = Arc::new(PostgresStore::open(&db.config, Some(&model)).unwrap());
    assert_eq!(store.count("SELECT count(*) FROM memories WHERE pending"), 0);
    // Made again by the node after schemas 4, 5 and 6 dropped it: the pgvector default links (the index above)
    // became schema 6's.
    assert_eq!(
        store.count(&format!(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'memories_embedding_hnsw_8' \
             AND indexdef LIKE '%NOT pending%' AND indexdef LIKE '%vector_owner IS NULL%' \
             AND indexdef LIKE '%WITH (m=''{}'')%'",
            crate::store::postgres::schema::MEMORY_GRAPH_LINKS
        )),
        1
    );
    let ws = WorkspaceId::default_workspace();
    let index = store.index(DIM);
    let query = vector(1_000_000);
    let found = index
        .nearest(&ws, &query, 10, &SearchFilter::default())
        .unwrap()
        .unwrap();
    let got: Vec<(String, String)> = found.iter().map(|n| (n.customer.to_string(), n.id.clone())).collect();
    assert_eq!(got, exact(&memories, &query, 10, &SearchFilter::default()));
    // The indexer's update of the flag no longer moves the memory version.
    let customer = &memories[0].memory.provenance.customer_id;
    let version = store.memory_version(&ws, customer).unwrap();
    store.execute("UPDATE memories SET pending = false");
    assert_eq!(store.memory_version(&ws, customer).unwrap(), version);
}
