//! Campaigns: a segment, a message, a schedule; preview before running.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Body;
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, NotFound};
use crate::domain::campaign::{Campaign, CampaignInput};
use crate::domain::job_run::JobRun;
use crate::service::campaigns::Preview;
use crate::service::Services;

/// Path of one campaign.
#[derive(Deserialize, IntoParams)]
pub struct CampaignPath {
    /// The campaign id (`cmp_...`).
    pub id: String,
}

/// Create a campaign.
///
/// A segment (plan, tag, health range, and optionally something customers said, matched by meaning), templates
/// per language, channels, and a cron schedule (or none: it runs when asked).
#[utoipa::path(tag = "campaigns", request_body = CampaignInput, responses((status = 201, description = "Created", body = Campaign), BodyErrors, AuthErrors))]
#[post("/campaigns")]
pub async fn create(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<CampaignInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(services.create_campaign(&principal, body.into_inner()).await?))
}

/// List campaigns.
#[utoipa::path(tag = "campaigns", responses((status = 200, description = "Every campaign", body = Vec<Campaign>), AuthErrors))]
#[get("/campaigns")]
pub async fn list(
    services: web::Data<Services>,
    Caller(principal): Caller,
) -> Result<web::Json<Vec<Campaign>>, ApiError> {
    Ok(web::Json(services.list_campaigns(&principal).await?))
}

/// Get a campaign.
#[utoipa::path(tag = "campaigns", params(CampaignPath), responses((status = 200, description = "The campaign", body = Campaign), NotFound, AuthErrors))]
#[get("/campaigns/{id}")]
pub async fn get(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CampaignPath>,
) -> Result<web::Json<Campaign>, ApiError> {
    Ok(web::Json(services.get_campaign(&principal, &path.id).await?))
}

/// Update a campaign (JSON merge patch).
#[utoipa::path(tag = "campaigns", params(CampaignPath),
    request_body(content = crate::domain::patch_schemas::CampaignPatch, content_type = "application/merge-patch+json", description = "Fields to change", example = json!({"schedule": null})),
    responses((status = 200, description = "The campaign", body = Campaign), NotFound, BodyErrors, AuthErrors))]
#[patch("/campaigns/{id}")]
pub async fn update(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CampaignPath>,
    body: Body<Value>,
) -> Result<web::Json<Campaign>, ApiError> {
    Ok(web::Json(
        services.patch_campaign(&principal, &path.id, body.into_inner()).await?,
    ))
}

/// Delete a campaign.
///
/// Items it already queued stay in the queue.
#[utoipa::path(tag = "campaigns", params(CampaignPath), responses((status = 204, description = "Deleted"), NotFound, AuthErrors))]
#[delete("/campaigns/{id}")]
pub async fn remove(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CampaignPath>,
) -> Result<HttpResponse, ApiError> {
    services.delete_campaign(&principal, &path.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Preview a campaign.
///
/// How many customers it selects now and a sample of who and why, without queuing anything.
#[utoipa::path(tag = "campaigns", params(CampaignPath), responses((status = 200, description = "The preview", body = Preview), NotFound, AuthErrors))]
#[post("/campaigns/{id}/preview")]
pub async fn preview(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CampaignPath>,
) -> Result<web::Json<Preview>, ApiError> {
    Ok(web::Json(services.preview_campaign(&principal, &path.id).await?))
}

/// Run a campaign now.
///
/// Queues an item for each selected customer under the contact rules; the run is recorded like a job's. Returns
/// 409 `job_running` while the campaign is running (scheduled or manual, on any node sharing the store).
#[utoipa::path(tag = "campaigns", params(CampaignPath), responses(
    (status = 200, description = "The run", body = JobRun),
    (status = 409, description = "Already running (`job_running`)", body = super::error::Problem, content_type = "application/problem+json"),
    NotFound, AuthErrors
))]
#[post("/campaigns/{id}/run")]
pub async fn run(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CampaignPath>,
) -> Result<web::Json<JobRun>, ApiError> {
    Ok(web::Json(services.run_campaign(&principal, &path.id, "manual").await?))
}
