//! The audit log: who erased, exported, changed consent, acknowledged outreach, managed keys, jobs and campaigns.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::customers::page_size;
use super::error::ApiError;
use super::responses::{AuthErrors, TimeQueryErrors};
use crate::domain::audit::{AuditAction, AuditEntry, AuditFilter};
use crate::domain::Page;
use crate::service::Services;

/// Audit log query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (opaque; any other value is 400 `invalid_cursor`).
    #[param(pattern = "^a\\.([2-7][0-9a-f]){1,128}$", max_length = 258)]
    pub cursor: Option<String>,
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only entries about this record (a customer, outreach item, key, workspace, job or campaign id).
    #[param(example = "cus_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub target_id: Option<String>,
    /// At or after (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// List the audit log.
///
/// The caller's workspace's audit entries, oldest first (admin scope): who (the key's id; `bootstrap` for the
/// configured admin key, `cli` for the command line and the scheduler) did what to which record, and when.
/// Entries hold no personal data and outlive the customers they name. Follow `next_cursor` to tail the log.
#[utoipa::path(tag = "audit", params(AuditQuery), responses((status = 200, description = "A page of audit entries", body = Page<AuditEntry>), TimeQueryErrors, AuthErrors))]
#[get("/audit")]
pub async fn list_audit(
    services: web::Data<Services>,
    Caller(principal): Caller,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<Page<AuditEntry>>, ApiError> {
    let q = query.into_inner();
    let limit = page_size(q.limit)?;
    let filter = AuditFilter {
        action: q.action,
        target_id: q.target_id,
        since: q.since,
        until: q.until,
    };
    Ok(web::Json(
        services.audit_log(&principal, filter, q.cursor, limit).await?,
    ))
}
