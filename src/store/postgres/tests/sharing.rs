//! Memories that share a vector (see `postgres::sharing`): in the graph once, and found by every search as if each
//! were there, through every write that touches them.

use std::sync::Arc;

use chrono::Duration;

use super::ranking::{exact, open_store, until_indexed, vector, DIM};
use crate::domain::memory::{MemoryKind, StoredMemory};
use crate::domain::{Customer, CustomerId, WorkspaceId};
use crate::index::{SearchFilter, VectorIndex};
use crate::store::model_tests::{fields, t0};
use crate::store::postgres::testkit::TestDb;
use crate::store::postgres::PostgresStore;
use crate::store::{CustomerRepo, MemoryRepo, ModelStamp, ReembedRepo};

/// The kinds of the memories that share a window's vector, in turn.
const TYPED: [MemoryKind; 3] = [MemoryKind::Issue, MemoryKind::Commitment, MemoryKind::Fact];

/// For each of `customers` new customers, `windows` groups written in one call: a message at hour `g` and, sharing
/// its vector, `1 + g % 3` typed memories half an hour later. Returns them read back (vectors as stored).
fn write_groups(store: &PostgresStore, customers: u8, windows: usize) -> Vec<StoredMemory> {
    let ws = WorkspaceId::default_workspace();
    let mut batch = Vec::new();
    for c in 0..customers {
        let customer = Customer::new(ws.clone(), fields(c, None), t0());
        store.create_customer(&customer).unwrap();
        for g in 0..windows {
            let shared = vector(u64::from(c) * 1000 + g as u64);
            let at = t0() + Duration::hours(g as i64);
            let mut window = crate::domain::testkit::memory_for(&customer.id, &format!("window {g}"));
            (window.id, window.kind, window.observed_at) = (format!("w{g:03}"), MemoryKind::Message, at);
            batch.push(StoredMemory {
                memory: window,
                vector: shared.clone(),
            });
            for t in 0..=(g % 3) {
                let mut typed = crate::domain::testkit::memory_for(&customer.id, &format!("typed {g} {t}"));
                typed.id = format!("w{g:03}t{t}");
                typed.kind = TYPED[(g + t) % TYPED.len()];
                typed.observed_at = at + Duration::minutes(30);
                batch.push(StoredMemory {
                    memory: typed,
                    vector: shared.clone(),
                });
            }
        }
    }
    store.insert_memories(&batch).unwrap();
    let keys: Vec<(CustomerId, String)> = batch
        .iter()
        .map(|m| (m.memory.provenance.customer_id.clone(), m.memory.id.clone()))
        .collect();
    store.memories_by_key(&ws, &keys).unwrap()
}

/// Filters that keep windows only, typed memories only, some kinds, some times and one customer.
fn filters(memories: &[StoredMemory]) -> Vec<SearchFilter> {
    vec![
        SearchFilter::default(),
        SearchFilter {
            kinds: Some(vec![MemoryKind::Message]),
            ..Default::default()
        },
        SearchFilter {
            kinds: Some(vec![MemoryKind::Commitment]),
            ..Default::default()
        },
        SearchFilter {
            kinds: Some(vec![MemoryKind::Issue, MemoryKind::Resolution]),
            ..Default::default()
        },
        // Only the typed memories of the later windows are this recent, not their windows.
        SearchFilter {
            since: Some(t0() + Duration::hours(10) + Duration::minutes(10)),
            ..Default::default()
        },
        SearchFilter {
            kinds: Some(vec![MemoryKind::Fact]),
            since: Some(t0() + Duration::hours(5) + Duration::minutes(10)),
            customers: Some([memories[0].memory.provenance.customer_id.clone()].into()),
        },
    ]
}

/// Every filter's search, for a few queries and sizes, gives what exact search over `memories` gives.
fn agrees(store: &Arc<PostgresStore>, memories: &[StoredMemory], label: &str) {
    let index = store.index(DIM);
    let ws = WorkspaceId::default_workspace();
    for filter in filters(memories) {
        for q in 0..4u64 {
            let query = vector(1_000_000 + q);
            for k in [1, 5, 12] {
                let found = index.nearest(&ws, &query, k, &filter).unwrap().unwrap();
                let got: Vec<(String, String)> = found.iter().map(|n| (n.customer.to_string(), n.id.clone())).collect();
                assert_eq!(
                    got,
                    exact(memories, &query, k, &filter),
                    "{label}: {filter:?}, query {q}, k {k}"
                );
            }
        }
    }
}

#[test]
fn memories_sharing_a_vector_enter_the_graph_once_and_every_filtered_search_finds_them_as_if_each_did() {
    let db = TestDb::new();
    let store = open_store(&db, true);
    let memories = write_groups(&store, 3, 16);
    let windows = 3 * 16;
    // One owner per vector; the typed memories name their window and never wait for the indexer.
    assert_eq!(
        store.count("SELECT count(*) FROM memories WHERE vector_owner IS NULL"),
        windows
    );
    assert_eq!(store.count("SELECT count(*) FROM memories WHERE pending"), windows);
    assert_eq!(
        store.count("SELECT count(*) FROM memories WHERE vector_owner IS NOT NULL AND vector_owner <> left(id, 4)"),
        0
    );
    assert_eq!(store.index(DIM).stats().memories, memories.len());
    agrees(&store, &memories, "pending owners");
    store.indexer.pause(false);
    until_indexed(&store);
    agrees(&store, &memories, "owners in the graph");
    // The graph holds the owners only: PostgreSQL's own count of the index's heap tuples says so.
    store.execute("VACUUM ANALYZE memories");
    assert_eq!(
        store.count("SELECT reltuples::bigint FROM pg_class WHERE relname = 'memories_embedding_hnsw_8'"),
        windows
    );
}

#[test]
fn deleting_replacing_changing_or_reembedding_a_memory_that_shares_a_vector_keeps_every_search_exact() {
    let db = TestDb::new();
    let store = open_store(&db, false);
    let mut memories = write_groups(&store, 2, 12);
    let ws = WorkspaceId::default_workspace();
    let position = |memories: &[StoredMemory], id: &str| memories.iter().position(|m| m.memory.id == id).unwrap();
    let first = memories[0].memory.provenance.customer_id.clone();
    let sharers_of = |id: &str| {
        store.count(&format!(
            "SELECT count(*) FROM memories WHERE customer_id = '{first}' AND vector_owner = '{id}'"
        ))
    };
    until_indexed(&store);

    // Deleting an owner: its sharers own the vector from now on, each in the graph.
    let deleted = memories.remove(position(&memories, "w002"));
    assert_eq!(deleted.memory.provenance.customer_id, first);
    assert!(store.delete_memory(&ws, &first, "w002").unwrap());
    assert_eq!(sharers_of("w002"), 0);
    until_indexed(&store);
    agrees(&store, &memories, "owner deleted");

    // Deleting the only commitment of window 1 (an issue and a commitment share its vector): the window forgets
    // the kind.
    let commitment = memories
        .iter()
        .find(|m| m.memory.id.starts_with("w001t") && m.memory.kind == MemoryKind::Commitment)
        .unwrap()
        .memory
        .id
        .clone();
    memories.remove(position(&memories, &commitment));
    assert!(store.delete_memory(&ws, &first, &commitment).unwrap());
    let kinds = |id: &str| {
        store.count(&format!(
            "SELECT count(*) FROM memories WHERE customer_id = '{first}' AND id = '{id}' \
             AND 'commitment' = ANY(sharer_kinds)"
        ))
    };
    assert_eq!(kinds("w001"), 0);
    agrees(&store, &memories, "sharer deleted");

    // Replacing an owner's vector: its sharers keep theirs, found by it.
    let at = position(&memories, "w004");
    memories[at].vector = vector(1_000_000);
    store.replace_memory(&memories[at]).unwrap();
    memories[at] = store
        .memories_by_key(&ws, &[(first.clone(), "w004".into())])
        .unwrap()
        .remove(0);
    assert_eq!(sharers_of("w004"), 0);
    until_indexed(&store);
    agrees(&store, &memories, "owner replaced");

    // Changing a sharer's kind in place: its owner stands for the new kind.
    let at = position(&memories, "w005t0");
    memories[at].memory.kind = MemoryKind::Resolution;
    store.update_memories(&[memories[at].memory.clone()]).unwrap();
    assert_eq!(
        store.count(&format!(
            "SELECT count(*) FROM memories WHERE customer_id = '{first}' AND id = 'w005' \
             AND 'resolution' = ANY(sharer_kinds)"
        )),
        1
    );
    agrees(&store, &memories, "sharer's kind changed");

    // Re-embedding an owner (each memory gets its own text's vector): its sharers own the old vector from now on.
    let model = ModelStamp {
        name: "other".into(),
        dim: DIM,
    };
    store.reembed_begin(&model).unwrap();
    let at = position(&memories, "w007");
    memories[at].vector = vector(2_000_000);
    store
        .reembed_write(&[(
            (ws.as_str().into(), first.as_str().into(), "w007".into()),
            memories[at].vector.clone(),
        )])
        .unwrap();
    memories[at] = store
        .memories_by_key(&ws, &[(first.clone(), "w007".into())])
        .unwrap()
        .remove(0);
    assert_eq!(sharers_of("w007"), 0);
    until_indexed(&store);
    agrees(&store, &memories, "owner re-embedded");
    assert_eq!(store.count("SELECT count(*) FROM memories"), memories.len() as i64);
}
