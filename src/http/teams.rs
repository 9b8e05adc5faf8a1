//! Teams: who handles what, read by the routing of handoffs.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Body;
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, NotFound};
use crate::domain::team::{Team, TeamInput};
use crate::service::Services;

/// Path of one team.
#[derive(Deserialize, IntoParams)]
pub struct TeamPath {
    /// The team id (`team_...`).
    pub id: String,
}

/// Create a team.
///
/// Its topics (plain words, English or French, compared by meaning with the customer's messages), languages,
/// products, plans or value tier, working hours, and whether it takes escalations. A handoff brief routes the
/// conversation to the best suited team (`route`). The topics are embedded here, so a handoff embeds only the
/// conversation. A workspace holds at most 50 teams (422 `too_many_teams`).
#[utoipa::path(tag = "teams", request_body = TeamInput, responses((status = 201, description = "Created", body = Team), BodyErrors, AuthErrors))]
#[post("/teams")]
pub async fn create(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<TeamInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(services.create_team(&principal, body.into_inner()).await?))
}

/// List teams.
#[utoipa::path(tag = "teams", responses((status = 200, description = "Every team, oldest first", body = Vec<Team>), AuthErrors))]
#[get("/teams")]
pub async fn list(services: web::Data<Services>, Caller(principal): Caller) -> Result<web::Json<Vec<Team>>, ApiError> {
    Ok(web::Json(services.list_teams(&principal).await?))
}

/// Get a team.
#[utoipa::path(tag = "teams", params(TeamPath), responses((status = 200, description = "The team", body = Team), NotFound, AuthErrors))]
#[get("/teams/{id}")]
pub async fn get(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<TeamPath>,
) -> Result<web::Json<Team>, ApiError> {
    Ok(web::Json(services.get_team(&principal, &path.id).await?))
}

/// Update a team (JSON merge patch).
#[utoipa::path(tag = "teams", params(TeamPath),
    request_body(content = crate::domain::patch_schemas::TeamPatch, content_type = "application/merge-patch+json", description = "Fields to change",
        example = json!({"languages": ["en", "fr"], "hours": null})),
    responses((status = 200, description = "The team", body = Team), NotFound, BodyErrors, AuthErrors))]
#[patch("/teams/{id}")]
pub async fn update(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<TeamPath>,
    body: Body<Value>,
) -> Result<web::Json<Team>, ApiError> {
    Ok(web::Json(
        services.patch_team(&principal, &path.id, body.into_inner()).await?,
    ))
}

/// Delete a team.
///
/// Briefs made before keep the route they named.
#[utoipa::path(tag = "teams", params(TeamPath), responses((status = 204, description = "Deleted"), NotFound, AuthErrors))]
#[delete("/teams/{id}")]
pub async fn remove(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<TeamPath>,
) -> Result<HttpResponse, ApiError> {
    services.delete_team(&principal, &path.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
