//! Interactions, their support-metrics facts, memories and their vectors in PostgreSQL. A memory row carries its
//! vector (pgvector) and its text's full-text vector in the language's configuration (French or English), which
//! the database keeps up to date itself. Vectors are kept at the precision redb keeps (int8, written as the f32s
//! they decode to), so both backends rank memories with the same numbers.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::customers::{require_customer, RowLock};
use super::{json, record, schema, sharing, PgVector, PostgresStore};
use crate::domain::interaction::Interaction;
use crate::domain::memory::Memory;
use crate::domain::support_metrics::Fact;
use crate::domain::text::Lang;
use crate::domain::{Customer, CustomerId, Preferences, WorkspaceId};
use crate::store::codec::{vector_bytes, vector_from};
use crate::store::{MemoryRepo, StoreError, StoredMemory};

/// Rows read per round trip by the scans.
const SCAN_BATCH: i64 = 1000;

/// PostgreSQL's text-search configuration for a language.
pub(super) fn text_config(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "english",
        Lang::Fr => "french",
    }
}

/// The vector at the precision every backend keeps (see `codec::vector_bytes`).
fn kept(vector: &[f32]) -> Result<PgVector, StoreError> {
    Ok(PgVector(vector_from(&vector_bytes(vector))?))
}

fn stored(row: &Row) -> Result<StoredMemory, StoreError> {
    let vector: PgVector = row.try_get("embedding")?;
    Ok(StoredMemory {
        memory: record(row, "memories")?,
        vector: vector.0,
    })
}

/// Writes an interaction and its support-metrics fact (carrying over the previous fact's reopen count).
async fn put_interaction(client: &impl GenericClient, i: &Interaction) -> Result<(), StoreError> {
    let (ws, cid, iid) = (i.workspace.as_str(), i.customer_id.as_str(), i.id.as_str());
    let interaction = client
        .prepare_cached(
            "INSERT INTO interactions (workspace, customer_id, id, external_id, opened_at, record) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace, customer_id, id) \
             DO UPDATE SET external_id = $4, opened_at = $5, record = $6",
        )
        .await?;
    client
        .execute(
            &interaction,
            &[&ws, &cid, &iid, &i.fields.external_id, &i.fields.opened_at, &json(i)],
        )
        .await?;
    let read = client
        .prepare_cached(
            "SELECT record FROM interaction_facts WHERE workspace = $1 AND customer_id = $2 AND interaction_id = $3",
        )
        .await?;
    let previous = client
        .query_opt(&read, &[&ws, &cid, &iid])
        .await?
        .map(|r| record::<Fact>(&r, "interaction_facts"))
        .transpose()?;
    let fact = Fact::of(i, previous.as_ref());
    let write = client
        .prepare_cached(
            "INSERT INTO interaction_facts (workspace, customer_id, interaction_id, opened_at, record) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace, customer_id, interaction_id) \
             DO UPDATE SET opened_at = $4, record = $5",
        )
        .await?;
    client
        .execute(&write, &[&ws, &cid, &iid, &i.fields.opened_at, &json(&fact)])
        .await?;
    Ok(())
}

/// Writes new or replaced memories with their vectors, pending for the indexer, then changed memories that still
/// exist (their vectors' owners, if they share one, see their new kinds and times).
async fn put_memories(
    client: &impl GenericClient,
    memories: &[StoredMemory],
    changed: &[Memory],
) -> Result<(), StoreError> {
    let mut edited = sharing::Keys::default();
    for m in changed {
        edited.push(m.workspace.as_str(), m.provenance.customer_id.as_str(), &m.id);
    }
    // Every row lock the write needs, before its first change (see `sharing`).
    let mut locking = sharing::Keys::of(memories);
    locking.extend(&edited);
    let locked = sharing::lock(client, &locking).await?;
    write_memories(client, memories, Indexing::Pending, locked.rows > 0).await?;
    if !changed.is_empty() {
        // A changed memory is only written back if it still exists (it may have been deleted meanwhile).
        let update = client
            .prepare_cached(
                "UPDATE memories SET text_config = $4::text::regconfig, record = $5 \
                 WHERE workspace = $1 AND customer_id = $2 AND id = $3",
            )
            .await?;
        for m in changed {
            client
                .execute(
                    &update,
                    &[
                        &m.workspace.as_str(),
                        &m.provenance.customer_id.as_str(),
                        &m.id,
                        &text_config(m.language),
                        &json(m),
                    ],
                )
                .await?;
        }
    }
    // An overwritten or changed sharer's kind or time may have changed: its owner's summary follows.
    sharing::refresh(client, &locked.owners).await
}

/// A customer's memory version (no row: no memory was ever written).
const MEMORY_VERSION: &str = "SELECT version FROM memory_versions WHERE workspace = $1 AND customer_id = $2";

/// Rows per statement of [`upsert_memories`] (about 10 MB of parameters with 384 dimensions).
const INSERT_BATCH: usize = 2_000;

/// When written memories enter the HNSW index.
#[derive(Clone, Copy)]
enum Indexing {
    /// Later, by the indexer (online writes: see `schema::V4`).
    Pending,
    /// With the write (bulk loads, where the index is built after them).
    Now,
}

/// Writes new or replaced memories with their vectors (see [`write_memories`]), locking them before and
/// refreshing their owners after.
async fn upsert_memories(
    client: &impl GenericClient,
    memories: &[StoredMemory],
    indexing: Indexing,
) -> Result<(), StoreError> {
    let locked = sharing::lock(client, &sharing::Keys::of(memories)).await?;
    write_memories(client, memories, indexing, locked.rows > 0).await?;
    sharing::refresh(client, &locked.owners).await
}

/// Writes new or replaced memories with their vectors, one multi-row statement per [`INSERT_BATCH`] memories. A
/// statement may not upsert one row twice, so a key given twice keeps its last memory, as writing them one by one
/// would. The caller has locked them (see `sharing::lock`) and refreshes the owners the lock found after; when
/// some may exist already (`may_exist`), their sharers are released first.
async fn write_memories(
    client: &impl GenericClient,
    memories: &[StoredMemory],
    indexing: Indexing,
    may_exist: bool,
) -> Result<(), StoreError> {
    if memories.is_empty() {
        return Ok(());
    }
    fn key(m: &StoredMemory) -> (&str, &str, &str) {
        let memory = &m.memory;
        (
            memory.workspace.as_str(),
            memory.provenance.customer_id.as_str(),
            memory.id.as_str(),
        )
    }
    let mut last = std::collections::HashMap::with_capacity(memories.len());
    for (i, m) in memories.iter().enumerate() {
        last.insert(key(m), i);
    }
    let deduped: Vec<StoredMemory>;
    let memories = if last.len() == memories.len() {
        memories
    } else {
        deduped = memories
            .iter()
            .enumerate()
            .filter(|(i, m)| last[&key(m)] == *i)
            .map(|(_, m)| m.clone())
            .collect();
        &deduped
    };
    if may_exist {
        sharing::release(client, &sharing::Keys::of(memories)).await?;
    }
    let vectors = memories
        .iter()
        .map(|m| kept(&m.vector))
        .collect::<Result<Vec<_>, _>>()?;
    let records: Vec<serde_json::Value> = memories.iter().map(|m| json(&m.memory)).collect();
    let shares = sharing::shares(memories, &vectors, &records);
    // A memory sharing another's vector stays out of the graph, so it never waits for the indexer.
    let insert = client
        .prepare_cached(
            "INSERT INTO memories (workspace, customer_id, id, text_config, embedding, record, pending, \
             vector_owner, sharer_kinds, sharers_latest) \
             SELECT w, c, i, t::regconfig, e, r, o IS NULL AND $7, o, string_to_array(k, ','), l::timestamptz \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::vector[], $6::jsonb[], $8::text[], \
             $9::text[], $10::text[]) AS m(w, c, i, t, e, r, o, k, l) ON CONFLICT (workspace, customer_id, id) \
             DO UPDATE SET text_config = excluded.text_config, embedding = excluded.embedding, \
             record = excluded.record, pending = excluded.pending, vector_owner = excluded.vector_owner, \
             sharer_kinds = excluded.sharer_kinds, sharers_latest = excluded.sharers_latest",
        )
        .await?;
    let pending = matches!(indexing, Indexing::Pending);
    for (n, batch) in memories.chunks(INSERT_BATCH).enumerate() {
        let (start, end) = (n * INSERT_BATCH, n * INSERT_BATCH + batch.len());
        let workspaces: Vec<&str> = batch.iter().map(|m| m.memory.workspace.as_str()).collect();
        let customers: Vec<&str> = batch.iter().map(|m| m.memory.provenance.customer_id.as_str()).collect();
        let ids: Vec<&str> = batch.iter().map(|m| m.memory.id.as_str()).collect();
        let configs: Vec<&str> = batch.iter().map(|m| text_config(m.memory.language)).collect();
        let shares = &shares[start..end];
        let owners: Vec<Option<&str>> = shares.iter().map(|s| s.owner.as_deref()).collect();
        let kinds: Vec<Option<&str>> = shares.iter().map(|s| s.kinds.as_deref()).collect();
        let latest: Vec<Option<&str>> = shares.iter().map(|s| s.latest.as_deref()).collect();
        client
            .execute(
                &insert,
                &[
                    &workspaces,
                    &customers,
                    &ids,
                    &configs,
                    &&vectors[start..end],
                    &&records[start..end],
                    &pending,
                    &owners,
                    &kinds,
                    &latest,
                ],
            )
            .await?;
    }
    Ok(())
}

impl PostgresStore {
    /// How many memories wait for the indexer (counted through their partial index).
    pub(super) fn pending_memories(&self) -> Result<u64, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let pending: i64 = client
                .query_one("SELECT count(*) FROM memories WHERE pending", &[])
                .await?
                .get(0);
            Ok(u64::try_from(pending).unwrap_or(0))
        })
    }

    /// Calls `f` with every memory matching `filter` (a condition on `workspace`, `customer_id` and `id` that
    /// uses no parameter beyond `$4`, and `$4` at most), in key order, a batch at a time.
    fn scan(&self, filter: &str, workspace: Option<&str>, f: &mut dyn FnMut(StoredMemory)) -> Result<(), StoreError> {
        self.run(async {
            let client = self.client().await?;
            let statement = client
                .prepare(&format!(
                    "SELECT workspace, customer_id, id, embedding, record FROM memories \
                     WHERE (workspace, customer_id, id) > ($1, $2, $3) AND ({filter}) \
                     ORDER BY workspace, customer_id, id LIMIT {SCAN_BATCH}"
                ))
                .await?;
            let mut key = (String::new(), String::new(), String::new());
            loop {
                let rows = match workspace {
                    Some(ws) => client.query(&statement, &[&key.0, &key.1, &key.2, &ws]).await?,
                    None => client.query(&statement, &[&key.0, &key.1, &key.2]).await?,
                };
                for row in &rows {
                    f(stored(row)?);
                }
                match rows.last() {
                    Some(last) if rows.len() as i64 == SCAN_BATCH => {
                        key = (last.try_get(0)?, last.try_get(1)?, last.try_get(2)?);
                    }
                    _ => return Ok(()),
                }
            }
        })
    }
}

impl MemoryRepo for PostgresStore {
    fn interaction_by_external_id(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        external_id: &str,
    ) -> Result<Option<Interaction>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let read = client
                .prepare_cached(
                    "SELECT record FROM interactions WHERE workspace = $1 AND customer_id = $2 AND external_id = $3",
                )
                .await?;
            let row = client
                .query_opt(&read, &[&workspace.as_str(), &customer.as_str(), &external_id])
                .await?;
            row.map(|r| record(&r, "interactions")).transpose()
        })
    }

    fn list_interactions(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<Vec<Interaction>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM interactions WHERE workspace = $1 AND customer_id = $2 ORDER BY id",
                    &[&workspace.as_str(), &customer.as_str()],
                )
                .await?;
            rows.iter().map(|r| record(r, "interactions")).collect()
        })
    }

    fn save_ingest(
        &self,
        interaction: &Interaction,
        memories: &[StoredMemory],
        changed: &[Memory],
    ) -> Result<Option<i64>, StoreError> {
        let (ws, cid) = (interaction.workspace.as_str(), interaction.customer_id.as_str());
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            require_customer(&txn, ws, cid, RowLock::Share).await?;
            put_interaction(&txn, interaction).await?;
            put_memories(&txn, memories, changed).await?;
            let version = if memories.is_empty() && changed.is_empty() {
                None
            } else {
                let read = txn.prepare_cached(MEMORY_VERSION).await?;
                txn.query_opt(&read, &[&ws, &cid]).await?.map(|row| row.get(0))
            };
            txn.commit().await?;
            if !memories.is_empty() {
                self.indexer.wake();
            }
            Ok(version)
        })
    }

    fn bulk_load(
        &self,
        customers: &[(Customer, Preferences)],
        interactions: &[Interaction],
        memories: &[StoredMemory],
    ) -> Result<(), StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let customer = txn
                .prepare(
                    "INSERT INTO customers (workspace, id, external_id, updated_at, record) VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            let prefs = txn
                .prepare("INSERT INTO preferences (workspace, customer_id, record) VALUES ($1, $2, $3)")
                .await?;
            for (c, p) in customers {
                let (ws, id) = (c.workspace.as_str(), c.id.as_str());
                txn.execute(&customer, &[&ws, &id, &c.fields.external_id, &c.updated_at, &json(c)])
                    .await?;
                txn.execute(&prefs, &[&ws, &id, &json(p)]).await?;
            }
            for i in interactions {
                put_interaction(&txn, i).await?;
            }
            upsert_memories(&txn, memories, Indexing::Now).await?;
            txn.commit().await?;
            Ok(())
        })
    }

    fn begin_bulk_memories(&self) -> Result<(), StoreError> {
        self.run(async {
            let client = self.client().await?;
            schema::drop_memory_vector_index(&client).await
        })
    }

    fn finish_bulk_memories(&self) -> Result<(), StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            schema::build_vector_indexes(&mut client).await
        })
    }

    fn insert_memories(&self, memories: &[StoredMemory]) -> Result<(), StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            for m in memories {
                let (ws, cid) = (m.memory.workspace.as_str(), m.memory.provenance.customer_id.as_str());
                require_customer(&txn, ws, cid, RowLock::Share).await?;
            }
            put_memories(&txn, memories, &[]).await?;
            txn.commit().await?;
            self.indexer.wake();
            Ok(())
        })
    }

    fn update_memories(&self, memories: &[Memory]) -> Result<(), StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            put_memories(&txn, &[], memories).await?;
            txn.commit().await?;
            Ok(())
        })
    }

    fn replace_memory(&self, memory: &StoredMemory) -> Result<(), StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            // The memory and its vector's owner, owners first (see `sharing`); nothing locked: no such memory.
            let memories = std::slice::from_ref(memory);
            let locked = sharing::lock(&txn, &sharing::Keys::of(memories)).await?;
            if locked.rows == 0 {
                return Err(StoreError::NotFound);
            }
            write_memories(&txn, memories, Indexing::Pending, true).await?;
            sharing::refresh(&txn, &locked.owners).await?;
            txn.commit().await?;
            self.indexer.wake();
            Ok(())
        })
    }

    fn delete_memory(&self, workspace: &WorkspaceId, customer: &CustomerId, id: &str) -> Result<bool, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let mut key = sharing::Keys::default();
            key.push(workspace.as_str(), customer.as_str(), id);
            // Its sharers own the vector from now on; the owner it shared with forgets its kind and time.
            let locked = sharing::lock(&txn, &key).await?;
            sharing::release(&txn, &key).await?;
            let deleted = txn
                .execute(
                    "DELETE FROM memories WHERE workspace = $1 AND customer_id = $2 AND id = $3",
                    &[&workspace.as_str(), &customer.as_str(), &id],
                )
                .await?;
            sharing::refresh(&txn, &locked.owners).await?;
            txn.commit().await?;
            self.indexer.wake();
            Ok(deleted > 0)
        })
    }

    fn list_memories(&self, workspace: &WorkspaceId, customer: &CustomerId) -> Result<Vec<Memory>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM memories WHERE workspace = $1 AND customer_id = $2 ORDER BY id",
                    &[&workspace.as_str(), &customer.as_str()],
                )
                .await?;
            rows.iter().map(|r| record(r, "memories")).collect()
        })
    }

    fn scan_memories(&self, f: &mut dyn FnMut(StoredMemory)) -> Result<(), StoreError> {
        self.scan("true", None, f)
    }

    fn count_memories(&self) -> Result<u64, StoreError> {
        self.run(async {
            let count: i64 = self
                .client()
                .await?
                .query_one("SELECT count(*) FROM memories", &[])
                .await?
                .get(0);
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }

    fn customer_memories(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<Vec<StoredMemory>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let read = client
                .prepare_cached(
                    "SELECT embedding, record FROM memories WHERE workspace = $1 AND customer_id = $2 ORDER BY id",
                )
                .await?;
            let rows = client.query(&read, &[&workspace.as_str(), &customer.as_str()]).await?;
            rows.iter().map(stored).collect()
        })
    }

    fn memory_version(&self, workspace: &WorkspaceId, customer: &CustomerId) -> Result<Option<i64>, StoreError> {
        self.version(MEMORY_VERSION, &[&workspace.as_str(), &customer.as_str()])
    }

    fn memories_by_key(
        &self,
        workspace: &WorkspaceId,
        keys: &[(CustomerId, String)],
    ) -> Result<Vec<StoredMemory>, StoreError> {
        let customers: Vec<&str> = keys.iter().map(|(c, _)| c.as_str()).collect();
        let ids: Vec<&str> = keys.iter().map(|(_, id)| id.as_str()).collect();
        self.run(async {
            // One round trip once prepared; `ord` keeps the keys' order.
            let client = self.client().await?;
            let read = client
                .prepare_cached(
                    "SELECT m.embedding, m.record FROM unnest($2::text[], $3::text[]) WITH ORDINALITY \
                     AS k(customer_id, id, ord) \
                     JOIN memories m ON m.workspace = $1 AND m.customer_id = k.customer_id AND m.id = k.id \
                     ORDER BY k.ord",
                )
                .await?;
            let rows = client.query(&read, &[&workspace.as_str(), &customers, &ids]).await?;
            rows.iter().map(stored).collect()
        })
    }

    fn scan_workspace_memories(
        &self,
        workspace: &WorkspaceId,
        f: &mut dyn FnMut(StoredMemory),
    ) -> Result<(), StoreError> {
        self.scan("workspace = $4", Some(workspace.as_str()), f)
    }
}
