//! The audit log: the audited use cases record who did what through [`Services::record`]; admins read their
//! workspace's log.

use super::{require, ServiceError, Services};
use crate::domain::audit::{AuditAction, AuditDetail, AuditEntry, AuditFilter, TargetKind};
use crate::domain::CursorList;
use crate::domain::{Page, Principal, Scope, WorkspaceId};

impl Services {
    /// An entry for an action of `principal` in its workspace, stamped with the clock's time.
    pub(super) fn audit_entry(
        &self,
        principal: &Principal,
        action: AuditAction,
        target_kind: TargetKind,
        target_id: &str,
        detail: AuditDetail,
    ) -> AuditEntry {
        self.audit_entry_in(&principal.workspace, principal, action, target_kind, target_id, detail)
    }

    /// Like [`Services::audit_entry`], in another workspace (the one an operator created).
    pub(super) fn audit_entry_in(
        &self,
        workspace: &WorkspaceId,
        principal: &Principal,
        action: AuditAction,
        target_kind: TargetKind,
        target_id: &str,
        detail: AuditDetail,
    ) -> AuditEntry {
        let at = self.now();
        AuditEntry {
            id: self.audit_ids.next(at),
            workspace: workspace.clone(),
            at,
            actor: principal.key_id.clone(),
            action,
            target_kind,
            target_id: target_id.to_owned(),
            detail,
        }
    }

    /// Appends entries for actions already done. A failure is logged and returned: the caller learns that the
    /// record is missing rather than being told all went well.
    pub(super) async fn record(&self, entries: Vec<AuditEntry>) -> Result<(), ServiceError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.blocking(move |s| s.append_audit(&entries)).await.map_err(|e| {
            tracing::error!(error = %e, "audit entries not written");
            e.into()
        })
    }

    /// Records one action of `principal` on a record of its workspace.
    pub(super) async fn audit(
        &self,
        principal: &Principal,
        action: AuditAction,
        target_kind: TargetKind,
        target_id: &str,
        detail: AuditDetail,
    ) -> Result<(), ServiceError> {
        let entry = self.audit_entry(principal, action, target_kind, target_id, detail);
        self.record(vec![entry]).await
    }

    /// A page of the caller's workspace's audit log, oldest first (admin scope).
    pub async fn audit_log(
        &self,
        principal: &Principal,
        filter: AuditFilter,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, ServiceError> {
        require(principal, Scope::Admin)?;
        let cursor = CursorList::Audit.decode_opt(cursor.as_deref())?;
        crate::domain::validate::opt_time("since", filter.since)?;
        crate::domain::validate::opt_time("until", filter.until)?;
        let ws = principal.workspace.clone();
        Ok(self
            .blocking(move |s| s.list_audit(&ws, &filter, cursor.as_deref(), limit))
            .await?)
    }
}
