//! Re-embedding in resumable steps, as on redb: the target model and the last memory key done live in the meta
//! table, and every batch of vectors is written together with the position reached. Vectors of both models
//! share the column meanwhile; the HNSW index of the target's dimension is made when it finishes.

use deadpool_postgres::GenericClient;

use super::schema::{
    drop_other_vector_indexes, ensure_vector_indexes, meta, model_stamp, set_meta, DIM_KEY, MODEL_KEY, REEMBED_CURSOR,
    REEMBED_DIM, REEMBED_DONE, REEMBED_TARGET,
};
use super::{record, sharing, PgVector, PostgresStore};
use crate::domain::memory::Memory;
use crate::store::codec::{vector_bytes, vector_from};
use crate::store::{MemoryKey, ModelStamp, ReembedRepo, ReembedState, StoreError};

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "rappel_meta",
        reason: reason.to_string(),
    }
}

async fn state(client: &impl GenericClient) -> Result<ReembedState, StoreError> {
    let current = model_stamp(client).await?;
    let target = match (meta(client, REEMBED_TARGET).await?, meta(client, REEMBED_DIM).await?) {
        (Some(name), Some(dim)) => Some(ModelStamp {
            name,
            dim: dim.parse().map_err(corrupt)?,
        }),
        _ => None,
    };
    let cursor = meta(client, REEMBED_CURSOR)
        .await?
        .map(|c| serde_json::from_str::<MemoryKey>(&c).map_err(corrupt))
        .transpose()?;
    let done = meta(client, REEMBED_DONE)
        .await?
        .map_or(Ok(0), |d| d.parse().map_err(corrupt))?;
    let total: i64 = client.query_one("SELECT count(*) FROM memories", &[]).await?.get(0);
    Ok(ReembedState {
        current,
        target,
        cursor,
        done,
        total: u64::try_from(total).unwrap_or(0),
    })
}

/// Locks the re-embedding's meta rows against a run on another node (in the caller's transaction).
async fn lock(client: &impl GenericClient) -> Result<(), StoreError> {
    client
        .execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('rappel reembed', 0))",
            &[],
        )
        .await?;
    Ok(())
}

impl ReembedRepo for PostgresStore {
    fn reembed_state(&self) -> Result<ReembedState, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            // One snapshot: the position and the counts agree.
            let txn = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            state(&txn).await
        })
    }

    fn reembed_begin(&self, target: &ModelStamp) -> Result<ReembedState, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            lock(&txn).await?;
            if state(&txn).await?.target.as_ref() != Some(target) {
                set_meta(&txn, REEMBED_TARGET, &target.name).await?;
                set_meta(&txn, REEMBED_DIM, &target.dim.to_string()).await?;
                txn.execute("DELETE FROM rappel_meta WHERE key = $1", &[&REEMBED_CURSOR])
                    .await?;
                set_meta(&txn, REEMBED_DONE, "0").await?;
            }
            let state = state(&txn).await?;
            txn.commit().await?;
            Ok(state)
        })
    }

    fn memory_texts_after(
        &self,
        cursor: Option<&MemoryKey>,
        limit: usize,
    ) -> Result<Vec<(MemoryKey, String)>, StoreError> {
        let (w, c, m) = cursor.cloned().unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT workspace, customer_id, id, record FROM memories \
                     WHERE (workspace, customer_id, id) > ($1, $2, $3) \
                     ORDER BY workspace, customer_id, id LIMIT $4",
                    &[&w, &c, &m, &limit],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    let memory: Memory = record(row, "memories")?;
                    Ok(((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?), memory.text))
                })
                .collect()
        })
    }

    fn reembed_write(&self, vectors: &[(MemoryKey, Vec<f32>)]) -> Result<(), StoreError> {
        let Some((last, _)) = vectors.last() else { return Ok(()) };
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            lock(&txn).await?;
            // Each memory gets the vector of its own text, so none shares one any more (see sharing.rs).
            let mut keys = sharing::Keys::default();
            for ((w, c, m), _) in vectors {
                keys.push(w, c, m);
            }
            let locked = sharing::lock(&txn, &keys).await?;
            sharing::release(&txn, &keys).await?;
            let update = txn
                .prepare(
                    "UPDATE memories SET embedding = $4, vector_owner = NULL, sharer_kinds = NULL, \
                     sharers_latest = NULL WHERE workspace = $1 AND customer_id = $2 AND id = $3",
                )
                .await?;
            // Memories deleted since their text was read are skipped (the update finds no row).
            for ((w, c, m), v) in vectors {
                let kept = PgVector(vector_from(&vector_bytes(v))?);
                txn.execute(&update, &[w, c, m, &kept]).await?;
            }
            sharing::refresh(&txn, &locked.owners).await?;
            let done: u64 = meta(&txn, REEMBED_DONE)
                .await?
                .map_or(Ok(0), |d| d.parse().map_err(corrupt))?;
            let cursor = serde_json::to_string(last).map_err(corrupt)?;
            set_meta(&txn, REEMBED_CURSOR, &cursor).await?;
            set_meta(&txn, REEMBED_DONE, &(done + vectors.len() as u64).to_string()).await?;
            txn.commit().await?;
            Ok(())
        })
    }

    fn reembed_finish(&self) -> Result<ModelStamp, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            // The new HNSW indexes are built over every vector: no statement timeout here.
            txn.batch_execute("SET LOCAL statement_timeout = 0").await?;
            lock(&txn).await?;
            let target = state(&txn)
                .await?
                .target
                .ok_or_else(|| corrupt("no re-embedding in progress"))?;
            set_meta(&txn, MODEL_KEY, &target.name).await?;
            set_meta(&txn, DIM_KEY, &target.dim.to_string()).await?;
            txn.execute(
                "DELETE FROM rappel_meta WHERE key = ANY($1)",
                &[&vec![REEMBED_TARGET, REEMBED_DIM, REEMBED_CURSOR, REEMBED_DONE]],
            )
            .await?;
            ensure_vector_indexes(&txn, target.dim).await?;
            drop_other_vector_indexes(&txn, target.dim).await?;
            txn.commit().await?;
            Ok(target)
        })
    }
}
