//! Re-embedding in resumable steps: the target model and the last memory key done live in the meta table, and
//! every batch of vectors is written together with the position reached.

use ::redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::meta::{model_stamp, REEMBED_CURSOR, REEMBED_DIM, REEMBED_DONE, REEMBED_TARGET};
use super::RedbStore;
use crate::domain::memory::Memory;
use crate::store::codec::decode;
use crate::store::codec::vector_bytes;
use crate::store::tables::{MEMORIES, META, VECTORS};
use crate::store::{MemoryKey, ModelStamp, ReembedRepo, ReembedState, StoreError};

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "meta",
        reason: reason.to_string(),
    }
}

impl ReembedRepo for RedbStore {
    fn reembed_state(&self) -> Result<ReembedState, StoreError> {
        let current = model_stamp(&self.db)?;
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let get = |k: &str| -> Result<Option<String>, StoreError> { Ok(meta.get(k)?.map(|v| v.value().to_owned())) };
        let target = match (get(REEMBED_TARGET)?, get(REEMBED_DIM)?) {
            (Some(name), Some(dim)) => Some(ModelStamp {
                name,
                dim: dim.parse().map_err(corrupt)?,
            }),
            _ => None,
        };
        let cursor = get(REEMBED_CURSOR)?
            .map(|c| serde_json::from_str::<MemoryKey>(&c).map_err(corrupt))
            .transpose()?;
        let done = get(REEMBED_DONE)?.map_or(Ok(0), |d| d.parse().map_err(corrupt))?;
        let total = txn.open_table(MEMORIES)?.len()?;
        Ok(ReembedState {
            current,
            target,
            cursor,
            done,
            total,
        })
    }

    fn reembed_begin(&self, target: &ModelStamp) -> Result<ReembedState, StoreError> {
        let state = self.reembed_state()?;
        if state.target.as_ref() != Some(target) {
            let txn = self.db.begin_write()?;
            {
                let mut meta = txn.open_table(META)?;
                meta.insert(REEMBED_TARGET, target.name.as_str())?;
                meta.insert(REEMBED_DIM, target.dim.to_string().as_str())?;
                meta.remove(REEMBED_CURSOR)?;
                meta.insert(REEMBED_DONE, "0")?;
            }
            txn.commit()?;
        }
        self.reembed_state()
    }

    fn memory_texts_after(
        &self,
        cursor: Option<&MemoryKey>,
        limit: usize,
    ) -> Result<Vec<(MemoryKey, String)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(MEMORIES)?;
        let mut out = Vec::new();
        let range = match cursor {
            Some((w, c, m)) => table.range((w.as_str(), c.as_str(), m.as_str())..)?,
            None => table.range::<(&str, &str, &str)>(..)?,
        };
        for entry in range {
            let (k, v) = entry?;
            let (w, c, m) = k.value();
            let key = (w.to_owned(), c.to_owned(), m.to_owned());
            if Some(&key) == cursor {
                continue;
            }
            let memory: Memory = decode("memories", v.value())?;
            out.push((key, memory.text));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn reembed_write(&self, vectors: &[(MemoryKey, Vec<f32>)]) -> Result<(), StoreError> {
        let Some((last, _)) = vectors.last() else { return Ok(()) };
        let txn = self.db.begin_write()?;
        {
            let memories = txn.open_table(MEMORIES)?;
            let mut table = txn.open_table(VECTORS)?;
            for ((w, c, m), v) in vectors {
                let key = (w.as_str(), c.as_str(), m.as_str());
                if memories.get(key)?.is_some() {
                    table.insert(key, vector_bytes(v).as_slice())?;
                }
            }
            let mut meta = txn.open_table(META)?;
            let done: u64 = meta
                .get(REEMBED_DONE)?
                .map_or(Ok(0), |d| d.value().parse().map_err(corrupt))?;
            let cursor = serde_json::to_string(last).map_err(corrupt)?;
            meta.insert(REEMBED_CURSOR, cursor.as_str())?;
            meta.insert(REEMBED_DONE, (done + vectors.len() as u64).to_string().as_str())?;
        }
        txn.commit()?;
        Ok(())
    }

    fn reembed_finish(&self) -> Result<ModelStamp, StoreError> {
        let target = self
            .reembed_state()?
            .target
            .ok_or_else(|| corrupt("no re-embedding in progress"))?;
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("embedding_model", target.name.as_str())?;
            meta.insert("embedding_dim", target.dim.to_string().as_str())?;
            for k in [REEMBED_TARGET, REEMBED_DIM, REEMBED_CURSOR, REEMBED_DONE] {
                meta.remove(k)?;
            }
        }
        txn.commit()?;
        Ok(target)
    }
}
