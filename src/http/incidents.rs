//! Incidents: declared by the support team, matched against customers' reports by the `incident_match` job.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Body;
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, NotFound};
use crate::domain::incident::{Incident, IncidentInput};
use crate::service::Services;

/// Path of one incident.
#[derive(Deserialize, IntoParams)]
pub struct IncidentPath {
    /// The incident id (`inc_...`).
    pub id: String,
}

/// Declare an incident.
///
/// Customers whose recent reports match it by meaning are reached by the `incident_match` job before they write
/// again; set `ended_at` and `resolution` later to send them a follow-up.
#[utoipa::path(tag = "incidents", request_body = IncidentInput, responses((status = 201, description = "Declared", body = Incident), BodyErrors, AuthErrors))]
#[post("/incidents")]
pub async fn declare(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<IncidentInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(services.declare_incident(&principal, body.into_inner()).await?))
}

/// List incidents.
#[utoipa::path(tag = "incidents", responses((status = 200, description = "Every incident, oldest first", body = Vec<Incident>), AuthErrors))]
#[get("/incidents")]
pub async fn list(
    services: web::Data<Services>,
    Caller(principal): Caller,
) -> Result<web::Json<Vec<Incident>>, ApiError> {
    Ok(web::Json(services.list_incidents(&principal).await?))
}

/// Get an incident.
#[utoipa::path(tag = "incidents", params(IncidentPath), responses((status = 200, description = "The incident", body = Incident), NotFound, AuthErrors))]
#[get("/incidents/{id}")]
pub async fn get(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<IncidentPath>,
) -> Result<web::Json<Incident>, ApiError> {
    Ok(web::Json(services.get_incident(&principal, &path.id).await?))
}

/// Update an incident (JSON merge patch).
///
/// Typically `ended_at` and `resolution`, which trigger follow-ups to the customers who reported it.
#[utoipa::path(
    tag = "incidents",
    params(IncidentPath),
    request_body(content = crate::domain::patch_schemas::IncidentPatch, content_type = "application/merge-patch+json", description = "Fields to change",
        example = json!({"ended_at": "2026-12-03T10:00:00Z", "resolution": "Hub v1 firmware 1.9.3 fixes the nightly disconnections."})),
    responses((status = 200, description = "The incident", body = Incident), NotFound, BodyErrors, AuthErrors)
)]
#[patch("/incidents/{id}")]
pub async fn update(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<IncidentPath>,
    body: Body<Value>,
) -> Result<web::Json<Incident>, ApiError> {
    Ok(web::Json(
        services.patch_incident(&principal, &path.id, body.into_inner()).await?,
    ))
}
