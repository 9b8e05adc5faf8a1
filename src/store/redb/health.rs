//! Customer health history in redb.

use ::redb::{ReadableDatabase, ReadableTable};

use super::RedbStore;
use crate::domain::health::Health;
use crate::domain::{CustomerId, WorkspaceId};
use crate::store::codec::{decode, encode};
use crate::store::tables::{CUSTOMERS, HEALTH};
use crate::store::{HealthRepo, StoreError};

impl HealthRepo for RedbStore {
    fn save_health(&self, workspace: &WorkspaceId, customer: &CustomerId, health: &Health) -> Result<(), StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        let txn = self.db.begin_write()?;
        {
            if txn.open_table(CUSTOMERS)?.get((ws, cid))?.is_none() {
                return Err(StoreError::NotFound);
            }
            txn.open_table(HEALTH)?.insert(
                (ws, cid, health.computed_at.timestamp_micros()),
                encode(health).as_slice(),
            )?;
        }
        txn.commit()?;
        Ok(())
    }

    fn health_history(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<Health>, StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        let txn = self.db.begin_read()?;
        let table = txn.open_table(HEALTH)?;
        let mut out = Vec::new();
        for entry in table
            .range((ws, cid, i64::MIN)..=(ws, cid, i64::MAX))?
            .rev()
            .take(limit)
        {
            out.push(decode("health", entry?.1.value())?);
        }
        Ok(out)
    }
}
