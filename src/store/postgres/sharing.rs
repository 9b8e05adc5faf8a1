//! Memories that share a vector enter the HNSW index once (see `schema::V5`).
//!
//! An interaction's typed memories (issues, promises, preferences...) reuse the vector of the window they come
//! from, so a write often holds the same vector several times for one customer. The first memory of a write with
//! a vector owns it and enters the graph; the others name it in `vector_owner` and stay out. The owner carries
//! what a filtered search needs to know of its sharers (their kinds, `sharer_kinds`, and their latest observation,
//! `sharers_latest`), so a search walking the graph keeps an owner when it or one of its sharers passes the
//! filter, then expands it to the memories that share its vector (see ranking.rs).
//!
//! Every write keeps that true:
//! - it first [`lock`]s the memories it writes and the owners of their vectors, owners first, and learns which
//!   owners those are;
//! - before rows are overwritten, re-embedded or deleted, [`release`] makes their sharers (outside the write)
//!   owners of their own vectors again, pending for the indexer;
//! - after the write, [`refresh`] sets the owners' summaries again from the sharers they still have (a record
//!   changed in place, its kind say, changes its owner's summary so).
//!
//! # Locks
//! Writers of one customer's memories take row locks in one order: owners, then sharers (the `lock` statement
//! sorts them so, and [`release`] updates sharers of owners already locked), then the customer's memory version
//! (the trigger's update at the first change of content). So two writers never wait for each other in a cycle,
//! whatever nodes they run on. And once a writer has changed content it holds the memory version, which every
//! other writer of the customer's memories takes before committing: the summaries [`refresh`] computes in its
//! next statement see every change that was committed, and none can come before this one commits.
//!
//! Rows written before schema 5 own their vectors, each in the graph as before.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;

use super::PgVector;
use crate::store::{StoreError, StoredMemory};

/// Keys of memories (or of their owners) as three columns, bound as arrays for `unnest`.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Keys {
    workspaces: Vec<String>,
    customers: Vec<String>,
    ids: Vec<String>,
}

impl Keys {
    /// Adds the key of a memory.
    pub(super) fn push(&mut self, workspace: &str, customer: &str, id: &str) {
        self.workspaces.push(workspace.to_owned());
        self.customers.push(customer.to_owned());
        self.ids.push(id.to_owned());
    }

    /// Adds the keys of `other`.
    pub(super) fn extend(&mut self, other: &Keys) {
        self.workspaces.extend_from_slice(&other.workspaces);
        self.customers.extend_from_slice(&other.customers);
        self.ids.extend_from_slice(&other.ids);
    }

    /// The keys of `memories`.
    pub(super) fn of(memories: &[StoredMemory]) -> Self {
        let mut keys = Self::default();
        for m in memories {
            let memory = &m.memory;
            keys.push(
                memory.workspace.as_str(),
                memory.provenance.customer_id.as_str(),
                &memory.id,
            );
        }
        keys
    }

    fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// What a write stores beside one memory: the owner of its vector when another memory of the write has it first,
/// or, for an owner with sharers, their kinds (sorted, comma-separated) and the text of their latest observation
/// time (as in their records, so the database reads it as it reads theirs).
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Sharing {
    pub(super) owner: Option<String>,
    pub(super) kinds: Option<String>,
    pub(super) latest: Option<String>,
}

/// The sharing of a write's memories: `vectors` are theirs at the precision stored and `records` their JSON
/// records, in the same order. Memories share when they have the same workspace, customer and vector bits.
pub(super) fn shares(memories: &[StoredMemory], vectors: &[PgVector], records: &[serde_json::Value]) -> Vec<Sharing> {
    let mut sharing = vec![Sharing::default(); memories.len()];
    let mut owners: HashMap<(&str, &str, Vec<u32>), usize> = HashMap::new();
    let mut sharers: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, (m, v)) in memories.iter().zip(vectors).enumerate() {
        let bits = v.0.iter().map(|x| x.to_bits()).collect();
        let key = (
            m.memory.workspace.as_str(),
            m.memory.provenance.customer_id.as_str(),
            bits,
        );
        match owners.get(&key) {
            Some(&owner) => {
                sharing[i].owner = Some(memories[owner].memory.id.clone());
                sharers.entry(owner).or_default().push(i);
            }
            None => {
                owners.insert(key, i);
            }
        }
    }
    for (owner, of) in sharers {
        let mut kinds: Vec<&str> = of.iter().filter_map(|&i| records[i]["kind"].as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let latest = of.iter().copied().max_by_key(|&i| memories[i].memory.observed_at);
        sharing[owner].kinds = Some(kinds.join(","));
        sharing[owner].latest = latest.and_then(|i| records[i]["observed_at"].as_str().map(str::to_owned));
    }
    sharing
}

/// The keys bound as `$1`, `$2` and `$3`, as a relation `k(w, c, i)`.
macro_rules! keys_relation {
    () => {
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS k(w, c, i)"
    };
}

/// What [`lock`] locked: how many rows, and the owners of the vectors the memories locked share (to [`refresh`]
/// once the write is done).
pub(super) struct Locked {
    pub(super) rows: usize,
    pub(super) owners: Keys,
}

/// Locks the memories `keys` (those that exist) and the owners of their vectors: owners first, each group in key
/// order (see the module's doc). A writer calls it before anything else it writes. No row locked: no memory of
/// `keys` exists yet, as for an ingest's new memories.
pub(super) async fn lock(client: &impl GenericClient, keys: &Keys) -> Result<Locked, StoreError> {
    if keys.is_empty() {
        return Ok(Locked {
            rows: 0,
            owners: Keys::default(),
        });
    }
    let statement = client
        .prepare_cached(concat!(
            "WITH k AS (",
            keys_relation!(),
            "), t AS (SELECT w, c, i FROM k UNION SELECT m.workspace, m.customer_id, m.vector_owner FROM k \
             JOIN memories m ON m.workspace = k.w AND m.customer_id = k.c AND m.id = k.i \
             WHERE m.vector_owner IS NOT NULL) \
             SELECT m.workspace, m.customer_id, m.vector_owner FROM memories m \
             JOIN t ON m.workspace = t.w AND m.customer_id = t.c AND m.id = t.i \
             ORDER BY m.vector_owner IS NOT NULL, m.workspace, m.customer_id, m.id FOR UPDATE OF m"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&keys.workspaces, &keys.customers, &keys.ids])
        .await?;
    // Owners own their vectors, so the owners named are those of the memories `keys`; locked, they stay so.
    let mut named = std::collections::BTreeSet::new();
    for row in &rows {
        if let Some(owner) = row.try_get::<_, Option<String>>(2)? {
            named.insert((row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?, owner));
        }
    }
    let mut owners = Keys::default();
    for (workspace, customer, owner) in &named {
        owners.push(workspace, customer, owner);
    }
    Ok(Locked {
        rows: rows.len(),
        owners,
    })
}

/// Before the memories `keys` are overwritten, re-embedded or deleted (in the caller's transaction): the memories
/// that share their vectors, outside `keys`, own their vectors from now on and wait for the indexer.
///
/// The caller has [`lock`]ed `keys`, so a writer that gives one of them new sharers meanwhile either committed
/// before (and its sharers are released here) or waits for this transaction.
pub(super) async fn release(client: &impl GenericClient, keys: &Keys) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    let statement = client
        .prepare_cached(concat!(
            "WITH k AS (",
            keys_relation!(),
            ") UPDATE memories m SET vector_owner = NULL, pending = true FROM k \
             WHERE m.workspace = k.w AND m.customer_id = k.c AND m.vector_owner = k.i \
             AND NOT EXISTS (SELECT 1 FROM k o WHERE o.w = m.workspace AND o.c = m.customer_id AND o.i = m.id)"
        ))
        .await?;
    client
        .execute(&statement, &[&keys.workspaces, &keys.customers, &keys.ids])
        .await?;
    Ok(())
}

/// Sets the sharers' kinds and latest observation of the `owners` from the memories that share their vectors now
/// (none: both empty). An owner whose summary did not change is not written.
///
/// Called after the write's changes of content, whose memory version lock makes the sharers read here current
/// (see the module's doc), with the owners [`lock`] found and locked.
pub(super) async fn refresh(client: &impl GenericClient, owners: &Keys) -> Result<(), StoreError> {
    if owners.is_empty() {
        return Ok(());
    }
    let statement = client
        .prepare_cached(concat!(
            "UPDATE memories o SET sharer_kinds = s.kinds, sharers_latest = s.latest FROM (SELECT k.w, k.c, k.i, \
             (SELECT array_agg(DISTINCT (m.record->>'kind') COLLATE \"C\") FROM memories m \
             WHERE m.workspace = k.w AND m.customer_id = k.c AND m.vector_owner = k.i) AS kinds, \
             (SELECT max((m.record->>'observed_at')::timestamptz) FROM memories m \
             WHERE m.workspace = k.w AND m.customer_id = k.c AND m.vector_owner = k.i) AS latest FROM (",
            keys_relation!(),
            ") k) s WHERE o.workspace = s.w AND o.customer_id = s.c AND o.id = s.i \
             AND (o.sharer_kinds IS DISTINCT FROM s.kinds OR o.sharers_latest IS DISTINCT FROM s.latest)"
        ))
        .await?;
    client
        .execute(&statement, &[&owners.workspaces, &owners.customers, &owners.ids])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::memory::MemoryKind;
    use crate::domain::CustomerId;
    use crate::store::model_tests::t0;

    fn memory(customer: &str, id: &str, kind: MemoryKind, hours: i64, vector: Vec<f32>) -> StoredMemory {
        let mut m = crate::domain::testkit::memory_for(&CustomerId::from_client(customer), id);
        m.id = id.to_owned();
        m.kind = kind;
        m.observed_at = t0() + chrono::Duration::hours(hours);
        StoredMemory { memory: m, vector }
    }

    #[test]
    fn the_first_memory_with_a_vector_owns_it_and_carries_its_sharers_kinds_and_latest_time() {
        let window = vec![0.6, 0.8];
        let memories = [
            memory("c1", "window", MemoryKind::Message, 0, window.clone()),
            memory("c1", "commitment", MemoryKind::Commitment, 2, window.clone()),
            memory("c1", "issue", MemoryKind::Issue, 1, window.clone()),
            memory("c1", "issue2", MemoryKind::Issue, 0, window.clone()),
            memory("c1", "other", MemoryKind::Fact, 0, vec![0.8, 0.6]),
            // The same vector for another customer is that customer's own.
            memory("c2", "window", MemoryKind::Message, 0, window.clone()),
        ];
        let vectors: Vec<PgVector> = memories.iter().map(|m| PgVector(m.vector.clone())).collect();
        let records: Vec<serde_json::Value> = memories.iter().map(|m| super::super::json(&m.memory)).collect();
        let sharing = shares(&memories, &vectors, &records);
        let kinds = |of: &[MemoryKind]| {
            of.iter()
                .map(|k| serde_json::to_value(k).unwrap().as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let mut expected_kinds = kinds(&[MemoryKind::Commitment, MemoryKind::Issue]);
        expected_kinds.sort();
        assert_eq!(
            sharing[0],
            Sharing {
                owner: None,
                kinds: Some(expected_kinds.join(",")),
                latest: records[1]["observed_at"].as_str().map(str::to_owned),
            }
        );
        for sharer in &sharing[1..4] {
            assert_eq!(sharer.owner.as_deref(), Some("window"));
            assert_eq!((sharer.kinds.as_ref(), sharer.latest.as_ref()), (None, None));
        }
        assert_eq!(sharing[4], Sharing::default());
        assert_eq!(sharing[5], Sharing::default());
    }
}
