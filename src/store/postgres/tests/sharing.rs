//! Memories that share a vector (see `postgres::sharing`): in the graph once, and found by every search as if each
//! were there, through every write that touches them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Duration;

use super::ranking::{exact, open_store, until_indexed, vector, DIM};
use crate::domain::memory::{MemoryKind, StoredMemory};
use crate::domain::{dot, Customer, CustomerId, WorkspaceId};
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

/// Every filter's search, for a few queries and sizes, gives what exact search over `memories` gives: memories
/// the filter keeps, each once, as similar as exact search's position by position. So among memories of the very
/// same vector at the cut any may be kept, as two owners of one vector are two equal entries of the graph (once
/// their sharing ended); within a sharing group, ties are broken by customer and id as exact search breaks them.
fn agrees(store: &Arc<PostgresStore>, memories: &[StoredMemory], label: &str) {
    let index = store.index(DIM);
    let ws = WorkspaceId::default_workspace();
    for filter in filters(memories) {
        for q in 0..4u64 {
            let query = vector(1_000_000 + q);
            let similarity: HashMap<(String, String), f32> = memories
                .iter()
                .map(|m| {
                    let key = (m.memory.provenance.customer_id.to_string(), m.memory.id.clone());
                    (key, dot(&query, &m.vector) / dot(&m.vector, &m.vector).sqrt())
                })
                .collect();
            let all = exact(memories, &query, memories.len(), &filter);
            for k in [1, 5, 12] {
                let found = index.nearest(&ws, &query, k, &filter).unwrap().unwrap();
                let got: Vec<(String, String)> = found.iter().map(|n| (n.customer.to_string(), n.id.clone())).collect();
                let expected = &all[..k.min(all.len())];
                let context = format!("{label}: {filter:?}, query {q}, k {k}: {got:?} for {expected:?}");
                assert_eq!(got.len(), expected.len(), "{context}");
                assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "{context}");
                for (g, e) in got.iter().zip(expected) {
                    assert!(all.contains(g), "{context}");
                    assert!((similarity[g] - similarity[e]).abs() < 1e-6, "{context}");
                }
                // Where no two memories of different groups tie, up to the first one left out, the very same list.
                let through_cut = &all[..(k + 1).min(all.len())];
                if through_cut
                    .windows(2)
                    .all(|w| similarity[&w[0]] != similarity[&w[1]] || same_group(&w[0].1, &w[1].1))
                {
                    assert_eq!(got, expected, "{context}");
                }
            }
        }
    }
}

/// Whether two memory ids of [`write_groups`] name memories of one window.
fn same_group(a: &str, b: &str) -> bool {
    a.get(..4) == b.get(..4)
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

#[test]
fn two_nodes_changing_sharers_of_one_vector_at_once_leave_its_owner_standing_for_their_kinds() {
    let db = TestDb::new();
    let nodes = [open_store(&db, false), open_store(&db, false)];
    let memories = write_groups(&nodes[0], 1, 3);
    // Window 2 and the three typed memories that share its vector.
    let sharers: Vec<StoredMemory> = memories
        .iter()
        .filter(|m| m.memory.id.starts_with("w002t"))
        .cloned()
        .collect();
    assert_eq!(sharers.len(), 3);
    let customer = sharers[0].memory.provenance.customer_id.clone();
    // Each node turns its own sharer into each kind in turn, both at the same moment, round after round; between
    // rounds the owner stands for the kinds its sharers have, as the database computes them again.
    let kinds = [MemoryKind::Preference, MemoryKind::Resolution, MemoryKind::Issue];
    let stale = format!(
        "SELECT count(*) FROM memories o WHERE o.customer_id = '{customer}' AND o.id = 'w002' \
         AND o.sharer_kinds IS DISTINCT FROM (SELECT array_agg(DISTINCT (m.record->>'kind') COLLATE \"C\") \
         FROM memories m WHERE m.customer_id = o.customer_id AND m.vector_owner = o.id)"
    );
    let rounds = 60;
    let together = std::sync::Barrier::new(2);
    // Rounds after which the owner was stale (a failed assertion here would leave the other thread waiting).
    let stale_after = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (n, (node, sharer)) in nodes.iter().zip(&sharers).enumerate() {
            let (together, stale, stale_after) = (&together, &stale, &stale_after);
            s.spawn(move || {
                for round in 0..rounds {
                    let mut memory = sharer.memory.clone();
                    memory.kind = kinds[(round + n) % kinds.len()];
                    together.wait();
                    node.update_memories(&[memory]).unwrap();
                    together.wait();
                    if n == 0 && node.count(stale) != 0 {
                        stale_after.lock().unwrap().push(round);
                    }
                }
            });
        }
    });
    assert_eq!(stale_after.into_inner().unwrap(), Vec::<usize>::new());
    let mut expected = memories.clone();
    for (n, sharer) in sharers.iter().take(2).enumerate() {
        let at = expected.iter().position(|m| m.memory.id == sharer.memory.id).unwrap();
        expected[at].memory.kind = kinds[(rounds - 1 + n) % kinds.len()];
    }
    agrees(&nodes[1], &expected, "after concurrent changes");
}

#[test]
fn a_node_deleting_an_owner_while_another_changes_its_sharer_neither_waits_forever_nor_leaves_an_orphan() {
    let db = TestDb::new();
    let nodes = [open_store(&db, false), open_store(&db, false)];
    let ws = WorkspaceId::default_workspace();
    let customer = Customer::new(ws.clone(), fields(1, None), t0());
    nodes[0].create_customer(&customer).unwrap();
    let together = std::sync::Barrier::new(2);
    for round in 0..30u64 {
        // The owner's id sorts after its sharers': a lock taken in key order alone would take a sharer first.
        let shared = vector(round);
        let group: Vec<StoredMemory> = [
            ("w", MemoryKind::Message),
            ("a", MemoryKind::Issue),
            ("b", MemoryKind::Fact),
        ]
        .into_iter()
        .map(|(suffix, kind)| {
            let mut m = crate::domain::testkit::memory_for(&customer.id, &format!("round {round} {suffix}"));
            (m.id, m.kind) = (format!("r{round:02}{suffix}"), kind);
            StoredMemory {
                memory: m,
                vector: shared.clone(),
            }
        })
        .collect();
        nodes[0].insert_memories(&group).unwrap();
        let mut changed = group[1].memory.clone();
        changed.kind = MemoryKind::Commitment;
        std::thread::scope(|s| {
            let together = &together;
            let (changer, deleter) = (&nodes[0], &nodes[1]);
            let (changed, owner) = (&changed, &group[0].memory.id);
            s.spawn(move || {
                together.wait();
                changer.update_memories(std::slice::from_ref(changed)).unwrap();
            });
            s.spawn(move || {
                together.wait();
                assert!(deleter
                    .delete_memory(
                        &WorkspaceId::default_workspace(),
                        &changed.provenance.customer_id,
                        owner
                    )
                    .unwrap());
            });
        });
    }
    // No memory names an owner that is gone, and every summary is what the sharers say.
    assert_eq!(
        nodes[0].count(
            "SELECT count(*) FROM memories s WHERE s.vector_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM memories o \
             WHERE o.workspace = s.workspace AND o.customer_id = s.customer_id AND o.id = s.vector_owner)"
        ),
        0
    );
    assert_eq!(
        nodes[0].count("SELECT count(*) FROM memories WHERE sharer_kinds IS NOT NULL"),
        0
    );
    let memories = nodes[0].customer_memories(&ws, &customer.id).unwrap();
    assert_eq!(memories.len(), 60);
    assert!(memories
        .iter()
        .filter(|m| m.memory.id.ends_with('a'))
        .all(|m| m.memory.kind == MemoryKind::Commitment));
    until_indexed(&nodes[0]);
    agrees(&nodes[1], &memories, "after concurrent deletes and changes");
}
