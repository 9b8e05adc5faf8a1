//! Interactions, memories and their vectors in redb.

use ::redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use super::metrics::put_fact;
use super::{upper, RedbStore};
use crate::domain::interaction::Interaction;
use crate::domain::memory::Memory;
use crate::domain::{Customer, CustomerId, Preferences, WorkspaceId};
use crate::store::codec::{decode, encode, vector_bytes, vector_from};
use crate::store::tables::{
    CUSTOMERS, EXTERNAL_IDS, INTERACTIONS, INTERACTION_EXTERNAL_IDS, INTERACTION_FACTS, MEMORIES, PREFERENCES, VECTORS,
};
use crate::store::{MemoryRepo, StoreError, StoredMemory};

fn put_memories(txn: &WriteTransaction, memories: &[StoredMemory], changed: &[Memory]) -> Result<(), StoreError> {
    let mut table = txn.open_table(MEMORIES)?;
    let mut vectors = txn.open_table(VECTORS)?;
    for m in memories {
        let key = (
            m.memory.workspace.as_str(),
            m.memory.provenance.customer_id.as_str(),
            m.memory.id.as_str(),
        );
        table.insert(key, encode(&m.memory).as_slice())?;
        vectors.insert(key, vector_bytes(&m.vector).as_slice())?;
    }
    for m in changed {
        // A changed memory is only written back if it still exists (it may have been deleted meanwhile).
        let key = (m.workspace.as_str(), m.provenance.customer_id.as_str(), m.id.as_str());
        if table.get(key)?.is_some() {
            table.insert(key, encode(m).as_slice())?;
        }
    }
    Ok(())
}

impl MemoryRepo for RedbStore {
    fn interaction_by_external_id(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        external_id: &str,
    ) -> Result<Option<Interaction>, StoreError> {
        let key = (workspace.as_str(), customer.as_str(), external_id);
        let txn = self.db.begin_read()?;
        let ids = txn.open_table(INTERACTION_EXTERNAL_IDS)?;
        let Some(id) = ids.get(key)?.map(|v| v.value().to_owned()) else {
            return Ok(None);
        };
        let table = txn.open_table(INTERACTIONS)?;
        let value = table.get((workspace.as_str(), customer.as_str(), id.as_str()))?;
        value.map(|v| decode("interactions", v.value())).transpose()
    }

    fn list_interactions(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<Vec<Interaction>, StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        let txn = self.db.begin_read()?;
        let table = txn.open_table(INTERACTIONS)?;
        let end = upper("");
        let mut out = Vec::new();
        for entry in table.range((ws, cid, "")..(ws, cid, end.as_str()))? {
            out.push(decode("interactions", entry?.1.value())?);
        }
        Ok(out)
    }

    fn save_ingest(
        &self,
        interaction: &Interaction,
        memories: &[StoredMemory],
        changed: &[Memory],
    ) -> Result<Option<i64>, StoreError> {
        let (ws, cid) = (interaction.workspace.as_str(), interaction.customer_id.as_str());
        let txn = self.db.begin_write()?;
        {
            if txn.open_table(CUSTOMERS)?.get((ws, cid))?.is_none() {
                return Err(StoreError::NotFound);
            }
            let mut interactions = txn.open_table(INTERACTIONS)?;
            let previous: Option<Interaction> = interactions
                .get((ws, cid, interaction.id.as_str()))?
                .map(|v| decode("interactions", v.value()))
                .transpose()?;
            interactions.insert((ws, cid, interaction.id.as_str()), encode(interaction).as_slice())?;
            put_fact(&mut txn.open_table(INTERACTION_FACTS)?, interaction, previous.as_ref())?;
            txn.open_table(INTERACTION_EXTERNAL_IDS)?.insert(
                (ws, cid, interaction.fields.external_id.as_str()),
                interaction.id.as_str(),
            )?;
            put_memories(&txn, memories, changed)?;
        }
        txn.commit()?;
        Ok(None)
    }

    fn bulk_load(
        &self,
        customers: &[(Customer, Preferences)],
        interactions: &[Interaction],
        memories: &[StoredMemory],
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(CUSTOMERS)?;
            let mut ids = txn.open_table(EXTERNAL_IDS)?;
            let mut prefs = txn.open_table(PREFERENCES)?;
            for (c, p) in customers {
                table.insert((c.workspace.as_str(), c.id.as_str()), encode(c).as_slice())?;
                ids.insert((c.workspace.as_str(), c.fields.external_id.as_str()), c.id.as_str())?;
                prefs.insert((c.workspace.as_str(), c.id.as_str()), encode(p).as_slice())?;
            }
            let mut table = txn.open_table(INTERACTIONS)?;
            let mut ids = txn.open_table(INTERACTION_EXTERNAL_IDS)?;
            let mut facts = txn.open_table(INTERACTION_FACTS)?;
            for i in interactions {
                let (ws, cid) = (i.workspace.as_str(), i.customer_id.as_str());
                table.insert((ws, cid, i.id.as_str()), encode(i).as_slice())?;
                put_fact(&mut facts, i, None)?;
                ids.insert((ws, cid, i.fields.external_id.as_str()), i.id.as_str())?;
            }
        }
        put_memories(&txn, memories, &[])?;
        txn.commit()?;
        Ok(())
    }

    fn insert_memories(&self, memories: &[StoredMemory]) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let customers = txn.open_table(CUSTOMERS)?;
            for m in memories {
                if customers
                    .get((m.memory.workspace.as_str(), m.memory.provenance.customer_id.as_str()))?
                    .is_none()
                {
                    return Err(StoreError::NotFound);
                }
            }
        }
        put_memories(&txn, memories, &[])?;
        txn.commit()?;
        Ok(())
    }

    fn update_memories(&self, memories: &[Memory]) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        put_memories(&txn, &[], memories)?;
        txn.commit()?;
        Ok(())
    }

    fn replace_memory(&self, memory: &StoredMemory) -> Result<(), StoreError> {
        let m = &memory.memory;
        let txn = self.db.begin_write()?;
        if txn
            .open_table(MEMORIES)?
            .get((m.workspace.as_str(), m.provenance.customer_id.as_str(), m.id.as_str()))?
            .is_none()
        {
            return Err(StoreError::NotFound);
        }
        put_memories(&txn, std::slice::from_ref(memory), &[])?;
        txn.commit()?;
        Ok(())
    }

    fn delete_memory(&self, workspace: &WorkspaceId, customer: &CustomerId, id: &str) -> Result<bool, StoreError> {
        let key = (workspace.as_str(), customer.as_str(), id);
        let txn = self.db.begin_write()?;
        let removed = {
            let removed = txn.open_table(MEMORIES)?.remove(key)?.is_some();
            txn.open_table(VECTORS)?.remove(key)?;
            removed
        };
        txn.commit()?;
        Ok(removed)
    }

    fn list_memories(&self, workspace: &WorkspaceId, customer: &CustomerId) -> Result<Vec<Memory>, StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        let txn = self.db.begin_read()?;
        let table = txn.open_table(MEMORIES)?;
        let end = upper("");
        let mut out = Vec::new();
        for entry in table.range((ws, cid, "")..(ws, cid, end.as_str()))? {
            out.push(decode("memories", entry?.1.value())?);
        }
        Ok(out)
    }

    fn scan_memories(&self, f: &mut dyn FnMut(StoredMemory)) -> Result<(), StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(MEMORIES)?;
        let vectors = txn.open_table(VECTORS)?;
        for (m, v) in table.iter()?.zip(vectors.iter()?) {
            f(stored(m?, v?)?);
        }
        Ok(())
    }

    fn customer_memories(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<Vec<StoredMemory>, StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        let txn = self.db.begin_read()?;
        let (table, vectors) = (txn.open_table(MEMORIES)?, txn.open_table(VECTORS)?);
        let end = upper("");
        let mut out = Vec::new();
        let range = (ws, cid, "")..(ws, cid, end.as_str());
        for (m, v) in table.range(range.clone())?.zip(vectors.range(range)?) {
            out.push(stored(m?, v?)?);
        }
        Ok(out)
    }

    fn memories_by_key(
        &self,
        workspace: &WorkspaceId,
        keys: &[(CustomerId, String)],
    ) -> Result<Vec<StoredMemory>, StoreError> {
        let txn = self.db.begin_read()?;
        let (table, vectors) = (txn.open_table(MEMORIES)?, txn.open_table(VECTORS)?);
        let mut out = Vec::with_capacity(keys.len());
        for (cid, id) in keys {
            let key = (workspace.as_str(), cid.as_str(), id.as_str());
            if let (Some(m), Some(v)) = (table.get(key)?, vectors.get(key)?) {
                out.push(StoredMemory {
                    memory: decode("memories", m.value())?,
                    vector: vector_from(v.value())?,
                });
            }
        }
        Ok(out)
    }

    fn scan_workspace_memories(
        &self,
        workspace: &WorkspaceId,
        f: &mut dyn FnMut(StoredMemory),
    ) -> Result<(), StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let (table, vectors) = (txn.open_table(MEMORIES)?, txn.open_table(VECTORS)?);
        let end = upper("");
        let range = (ws, "", "")..(ws, end.as_str(), "");
        for (m, v) in table.range(range.clone())?.zip(vectors.range(range)?) {
            f(stored(m?, v?)?);
        }
        Ok(())
    }

    fn count_memories(&self) -> Result<u64, StoreError> {
        use ::redb::ReadableTableMetadata;
        Ok(self.db.begin_read()?.open_table(MEMORIES)?.len()?)
    }
}

type Row<'a> = (
    ::redb::AccessGuard<'a, (&'static str, &'static str, &'static str)>,
    ::redb::AccessGuard<'a, &'static [u8]>,
);

/// A memory and its vector from the same key of the two tables, which always hold the same keys.
fn stored(m: Row<'_>, v: Row<'_>) -> Result<StoredMemory, StoreError> {
    if m.0.value() != v.0.value() {
        return Err(StoreError::Corrupt {
            table: "vectors",
            reason: "memories and vectors differ".into(),
        });
    }
    Ok(StoredMemory {
        memory: decode("memories", m.1.value())?,
        vector: vector_from(v.1.value())?,
    })
}
