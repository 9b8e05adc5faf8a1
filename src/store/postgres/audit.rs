//! The audit log in PostgreSQL: append and read, never update or delete.

use deadpool_postgres::GenericClient;

use super::{json, record, PostgresStore};
use crate::domain::audit::{AuditEntry, AuditFilter};
use crate::domain::{CursorList, Page, WorkspaceId};
use crate::store::{AuditRepo, StoreError};

/// Writes `entries` with `client` (a transaction, so that an action and its record commit together).
pub(super) async fn append(client: &impl GenericClient, entries: &[AuditEntry]) -> Result<(), StoreError> {
    let statement = client
        .prepare("INSERT INTO audit_log (workspace, id, record) VALUES ($1, $2, $3)")
        .await?;
    for entry in entries {
        client
            .execute(&statement, &[&entry.workspace.as_str(), &entry.id, &json(entry)])
            .await?;
    }
    Ok(())
}

impl AuditRepo for PostgresStore {
    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            append(&txn, entries).await?;
            txn.commit().await?;
            Ok(())
        })
    }

    fn list_audit(
        &self,
        workspace: &WorkspaceId,
        filter: &AuditFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, StoreError> {
        // Ids start with their time: `since` is a lower bound of the id, as on redb.
        let from = filter.since.map(crate::domain::audit::first_id_at);
        let batch = i64::try_from(limit.saturating_add(1).max(64)).unwrap_or(i64::MAX);
        self.run(async {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT id, record FROM audit_log WHERE workspace = $1 AND id > $2 AND id >= $3 \
                     ORDER BY id LIMIT $4",
                )
                .await?;
            let mut cursor = after.unwrap_or("").to_owned();
            let from = from.unwrap_or_default();
            let mut out = Vec::with_capacity(limit + 1);
            loop {
                let rows = client
                    .query(&statement, &[&workspace.as_str(), &cursor, &from, &batch])
                    .await?;
                let full = rows.len() as i64 == batch;
                for row in &rows {
                    let entry: AuditEntry = record(row, "audit_log")?;
                    if filter.keeps(&entry) {
                        out.push(entry);
                    }
                }
                if let Some(last) = rows.last() {
                    cursor = last.try_get("id")?;
                }
                if out.len() > limit || !full {
                    break;
                }
            }
            out.truncate(limit + 1);
            Ok(Page::from_overfetch(out, limit, CursorList::Audit, |e| e.id.clone()))
        })
    }
}
