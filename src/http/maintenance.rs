//! Maintenance sweeps an operator can run now instead of waiting for their daily schedule.

use std::io::Read;

use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ApiError;
use super::responses::{AuthErrors, StoreErrors};
use crate::service::{require_operator, Services};

/// What a sweep did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Swept {
    /// Memories deleted (retention) or customers scored (health).
    pub count: u64,
}

/// Run the retention sweep now.
///
/// Operators only. Deletes, in every workspace, the memories older than the configured retention of their kind
/// (pinned memories stay); the same sweep runs every day at 03:15 UTC.
#[utoipa::path(tag = "maintenance", responses((status = 200, description = "Memories deleted", body = Swept), AuthErrors))]
#[post("/maintenance/retention")]
pub async fn retention(services: web::Data<Services>, Caller(principal): Caller) -> Result<web::Json<Swept>, ApiError> {
    require_operator(&principal)?;
    let deleted = services.enforce_retention(services.retention()).await?;
    Ok(web::Json(Swept { count: deleted as u64 }))
}

/// Recompute every customer's health now.
///
/// Operators only. Scores and records every customer of every workspace; the same sweep runs every day at
/// 04:00 UTC.
#[utoipa::path(tag = "maintenance", responses((status = 200, description = "Customers scored", body = Swept), AuthErrors))]
#[post("/maintenance/health")]
pub async fn health(services: web::Data<Services>, Caller(principal): Caller) -> Result<web::Json<Swept>, ApiError> {
    require_operator(&principal)?;
    Ok(web::Json(Swept {
        count: services.recompute_health().await?,
    }))
}

/// Bytes read from the snapshot per chunk sent.
const CHUNK: usize = 1 << 20;

/// Download a backup of the whole store.
///
/// Operators only. A consistent snapshot of every workspace (a redb file) taken while the server keeps serving:
/// it holds exactly what was committed when the request arrived. Restore it with `rappel restore --from FILE`
/// while the server is stopped; `rappel backup --to FILE` calls this endpoint when a server holds the store.
/// A PostgreSQL store answers 501: back it up with `pg_dump`, or copy it into a redb file with `rappel migrate`.
#[utoipa::path(
    tag = "maintenance",
    responses(
        (status = 200, description = "The store file; `X-Rappel-Records` counts its records",
            content_type = "application/octet-stream", body = Vec<u8>),
        AuthErrors,
        StoreErrors
    )
)]
#[get("/maintenance/backup")]
pub async fn backup(services: web::Data<Services>, Caller(principal): Caller) -> Result<HttpResponse, ApiError> {
    let backup = services.backup(&principal).await?;
    let file = backup.open()?;
    let (records, bytes) = (backup.stats.records, backup.stats.bytes);
    // The snapshot's folder lives until the last chunk is sent (or the client goes away), then is deleted.
    let chunks = futures_util::stream::try_unfold((file, backup), |(mut file, backup)| async move {
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0; CHUNK];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await
        .map_err(std::io::Error::other)??;
        if chunk.is_empty() {
            return Ok::<_, std::io::Error>(None);
        }
        Ok(Some((web::Bytes::from(chunk), (file, backup))))
    });
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("Content-Disposition", "attachment; filename=\"rappel-backup.redb\""))
        .insert_header(("X-Rappel-Records", records.to_string()))
        .no_chunking(bytes)
        .streaming(chunks))
}
