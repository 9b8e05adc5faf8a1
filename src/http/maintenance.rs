//! Maintenance sweeps an operator can run now instead of waiting for their daily schedule.

use actix_web::{post, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ApiError;
use super::responses::AuthErrors;
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
