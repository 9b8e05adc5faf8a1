//! Loading memories in bulk (the HNSW index set aside, the rows written many per statement, the index built once
//! after them) leaves the store as writing them one by one does.

use std::sync::Arc;

use super::ranking::vector;
use crate::domain::memory::StoredMemory;
use crate::domain::{Customer, Preferences, WorkspaceId};
use crate::index::{SearchFilter, VectorIndex};
use crate::store::model_tests::{fields, t0};
use crate::store::postgres::testkit::TestDb;
use crate::store::postgres::PostgresStore;
use crate::store::{CustomerRepo, MemoryRepo, ModelStamp};

/// The memories' index definitions, by name.
fn memory_indexes(store: &PostgresStore) -> Vec<String> {
    store
        .run(async {
            let rows = store
                .client()
                .await?
                .query(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = 'memories' ORDER BY indexname",
                    &[],
                )
                .await?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
        .unwrap()
}

/// Every memory as stored, in key order: the record as JSON and the vector.
fn rows(store: &PostgresStore) -> Vec<(serde_json::Value, Vec<f32>)> {
    let mut all = Vec::new();
    store
        .scan_memories(&mut |m| all.push((serde_json::to_value(&m.memory).unwrap(), m.vector)))
        .unwrap();
    all
}

#[test]
fn bulk_loaded_memories_are_stored_indexed_and_found_as_memories_written_one_by_one() {
    let model = ModelStamp {
        name: "test".into(),
        dim: 8,
    };
    let (one_db, bulk_db) = (TestDb::new(), TestDb::new());
    let one = Arc::new(PostgresStore::open(&one_db.config, Some(&model)).unwrap());
    let bulk = Arc::new(PostgresStore::open(&bulk_db.config, Some(&model)).unwrap());
    let ws = WorkspaceId::default_workspace();
    let customers: Vec<Customer> = (0..5u8)
        .map(|c| Customer::new(ws.clone(), fields(c, None), t0()))
        .collect();
    let memories: Vec<StoredMemory> = (0..600)
        .map(|n| {
            let c = &customers[n % customers.len()];
            let mut memory = crate::domain::testkit::memory_for(&c.id, &format!("memory {n} about invoices"));
            memory.id = format!("mem_{n:04}");
            StoredMemory {
                memory,
                vector: vector(n as u64),
            }
        })
        .collect();
    let indexes = memory_indexes(&one);
    assert!(
        indexes.iter().any(|d| d.contains("memories_embedding_hnsw_8")),
        "{indexes:?}"
    );

    // One by one, as ingest writes them.
    for c in &customers {
        one.create_customer(c).unwrap();
    }
    for m in &memories {
        one.insert_memories(std::slice::from_ref(m)).unwrap();
    }

    // In bulk: the index is set aside, then built again once.
    bulk.begin_bulk_memories().unwrap();
    assert!(!memory_indexes(&bulk).iter().any(|d| d.contains("hnsw")));
    let loaded: Vec<(Customer, Preferences)> = customers.iter().map(|c| (c.clone(), Preferences::default())).collect();
    let (first, rest) = memories.split_at(250);
    bulk.bulk_load(&loaded, &[], first).unwrap();
    bulk.bulk_load(&[], &[], rest).unwrap();
    bulk.finish_bulk_memories().unwrap();

    assert_eq!(
        memory_indexes(&bulk),
        indexes,
        "the same indexes as a store written one by one"
    );
    assert_eq!(rows(&bulk), rows(&one));
    for c in &customers {
        // The trigger moved each customer's version once per memory, both ways.
        assert_eq!(
            bulk.memory_version(&ws, &c.id).unwrap(),
            one.memory_version(&ws, &c.id).unwrap()
        );
        assert_eq!(bulk.memory_version(&ws, &c.id).unwrap(), Some(120));
    }
    let (one_index, bulk_index) = (one.index(8), bulk.index(8));
    for q in 0..20 {
        let query = vector(1_000_000 + q);
        let found = |index: &crate::store::postgres::PgIndex| {
            index
                .nearest(&ws, &query, 10, &SearchFilter::default())
                .unwrap()
                .unwrap()
                .into_iter()
                .map(|n| (n.customer.to_string(), n.id))
                .collect::<Vec<_>>()
        };
        let got = found(&bulk_index);
        assert_eq!(got.len(), 10);
        assert_eq!(got, found(&one_index), "query {q}");
    }
    // The planner's statistics were refreshed: the table's row estimate is the load.
    assert_eq!(
        bulk.count("SELECT reltuples::bigint FROM pg_class WHERE oid = 'memories'::regclass"),
        600
    );
}

#[test]
fn a_memory_given_twice_in_one_write_keeps_its_last_version() {
    let model = ModelStamp {
        name: "test".into(),
        dim: 8,
    };
    let db = TestDb::new();
    let store = PostgresStore::open(&db.config, Some(&model)).unwrap();
    let customer = Customer::new(WorkspaceId::default_workspace(), fields(1, None), t0());
    store.create_customer(&customer).unwrap();
    let written = |text: &str, n: u64| {
        let mut memory = crate::domain::testkit::memory_for(&customer.id, text);
        memory.id = "mem_twice".into();
        StoredMemory {
            memory,
            vector: vector(n),
        }
    };
    // One statement may not upsert a row twice: the write keeps the last, as writing them one by one would.
    store
        .insert_memories(&[written("first", 1), written("second", 2)])
        .unwrap();
    let stored = rows(&store);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0["text"], "second");
    // Stored as int8: the kept vector is the second's, within rounding.
    let distance = |v: &[f32]| {
        stored[0]
            .1
            .iter()
            .zip(v)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    assert!(distance(&vector(2)) < 0.01 && distance(&vector(1)) > 0.01);
}
