//! Customer health history in PostgreSQL: one row per computation, erased with the customer.

use super::customers::{require_customer, RowLock};
use super::{json, record, PostgresStore};
use crate::domain::health::Health;
use crate::domain::{CustomerId, WorkspaceId};
use crate::store::{HealthRepo, StoreError};

impl HealthRepo for PostgresStore {
    fn save_health(&self, workspace: &WorkspaceId, customer: &CustomerId, health: &Health) -> Result<(), StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        // Keyed by the time in microseconds, as on redb: a second health at the same instant replaces the first.
        let at = health.computed_at.timestamp_micros();
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            require_customer(&txn, ws, cid, RowLock::Share).await?;
            txn.execute(
                "INSERT INTO health (workspace, customer_id, computed_at_us, record) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace, customer_id, computed_at_us) DO UPDATE SET record = $4",
                &[&ws, &cid, &at, &json(health)],
            )
            .await?;
            txn.commit().await?;
            Ok(())
        })
    }

    fn health_history(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<Health>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM health WHERE workspace = $1 AND customer_id = $2 \
                     ORDER BY computed_at_us DESC LIMIT $3",
                    &[&workspace.as_str(), &customer.as_str(), &limit],
                )
                .await?;
            rows.iter().map(|r| record(r, "health")).collect()
        })
    }
}
