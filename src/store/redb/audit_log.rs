//! The audit log in redb: append and read, never update or delete.

use ::redb::{ReadableDatabase, WriteTransaction};

use super::{upper, RedbStore};
use crate::domain::audit::{AuditEntry, AuditFilter};
use crate::domain::CursorList;
use crate::domain::{Page, WorkspaceId};
use crate::store::codec::{decode, encode};
use crate::store::tables::AUDIT_LOG;
use crate::store::{AuditRepo, StoreError};

/// Writes `entries` in `txn` (so an action and its record commit together).
pub(super) fn append(txn: &WriteTransaction, entries: &[AuditEntry]) -> Result<(), StoreError> {
    let mut table = txn.open_table(AUDIT_LOG)?;
    for entry in entries {
        table.insert((entry.workspace.as_str(), entry.id.as_str()), encode(entry).as_slice())?;
    }
    Ok(())
}

impl AuditRepo for RedbStore {
    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write()?;
        append(&txn, entries)?;
        txn.commit()?;
        Ok(())
    }

    fn list_audit(
        &self,
        workspace: &WorkspaceId,
        filter: &AuditFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let ws = workspace.as_str();
        let from = filter.since.map(crate::domain::audit::first_id_at);
        let start = match (after, from.as_deref()) {
            (Some(a), Some(f)) => a.max(f),
            (Some(a), None) => a,
            (None, Some(f)) => f,
            (None, None) => "",
        };
        let end = upper("");
        let txn = self.db.begin_read()?;
        let table = txn.open_table(AUDIT_LOG)?;
        let mut out = Vec::with_capacity(limit + 1);
        for entry in table.range((ws, start)..(ws, end.as_str()))? {
            let (k, v) = entry?;
            if Some(k.value().1) == after {
                continue;
            }
            let entry: AuditEntry = decode("audit_log", v.value())?;
            if filter.keeps(&entry) {
                out.push(entry);
                if out.len() > limit {
                    break;
                }
            }
        }
        Ok(Page::from_overfetch(out, limit, CursorList::Audit, |e| e.id.clone()))
    }
}
