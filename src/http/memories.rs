//! Memory management, cross-customer search, similar resolutions and handoff.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Body;
use super::customers::{page_size, CustomerPath};
use super::error::ApiError;
use super::interactions::InteractionPath;
use super::responses::{AuthErrors, BodyErrors, NotFound, TimeQueryErrors};
use crate::domain::memory::{Memory, MemoryKind};
use crate::domain::Page;
use crate::service::across::{CustomerMatches, SearchRequest, SimilarRequest, SimilarResolution};
use crate::service::handoff::HandoffBrief;
use crate::service::{MemoryFilter, MemoryPatch, Services};

/// Path of one memory.
#[derive(Deserialize, IntoParams)]
pub struct MemoryPath {
    /// Rappel's customer id.
    pub id: String,
    /// The memory id (`mem_...`).
    pub mid: String,
}

/// Memory list query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MemoryQuery {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged (opaque; any other value is refused with 400
    /// `invalid_cursor`).
    #[param(pattern = "^m\\.([2-7][0-9a-f]){1,128}$", max_length = 258)]
    pub cursor: Option<String>,
    /// Only this kind.
    pub kind: Option<MemoryKind>,
    /// Observed at or after (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Observed before (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// `true`: only memories that still hold; `false`: only replaced ones.
    pub valid: Option<bool>,
}

/// List a customer's memories.
///
/// Newest first, with filters by kind, time and validity.
#[utoipa::path(
    tag = "memories",
    params(CustomerPath, MemoryQuery),
    responses((status = 200, description = "A page of memories", body = Page<Memory>), NotFound, TimeQueryErrors, AuthErrors)
)]
#[get("/customers/{id}/memories")]
pub async fn list_memories(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
    query: web::Query<MemoryQuery>,
) -> Result<web::Json<Page<Memory>>, ApiError> {
    let q = query.into_inner();
    let limit = page_size(q.limit)?;
    let filter = MemoryFilter {
        kind: q.kind,
        since: q.since,
        until: q.until,
        valid: q.valid,
    };
    Ok(web::Json(
        services
            .list_memories(&principal, &path.id, filter, q.cursor, limit)
            .await?,
    ))
}

/// Get a memory.
#[utoipa::path(tag = "memories", params(MemoryPath), responses((status = 200, description = "The memory", body = Memory), NotFound, AuthErrors))]
#[get("/customers/{id}/memories/{mid}")]
pub async fn get_memory(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<MemoryPath>,
) -> Result<web::Json<Memory>, ApiError> {
    Ok(web::Json(services.get_memory(&principal, &path.id, &path.mid).await?))
}

/// Correct or pin a memory.
///
/// A corrected text is re-embedded; the old text stays in `edits`. A pinned memory never decays.
#[utoipa::path(
    tag = "memories",
    params(MemoryPath),
    request_body = MemoryPatch,
    responses((status = 200, description = "The memory", body = Memory), NotFound, BodyErrors, AuthErrors)
)]
#[patch("/customers/{id}/memories/{mid}")]
pub async fn patch_memory(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<MemoryPath>,
    body: Body<MemoryPatch>,
) -> Result<web::Json<Memory>, ApiError> {
    Ok(web::Json(
        services
            .patch_memory(&principal, &path.id, &path.mid, body.into_inner())
            .await?,
    ))
}

/// Delete a memory.
///
/// The memory and its vector are deleted.
#[utoipa::path(tag = "memories", params(MemoryPath), responses((status = 204, description = "Deleted"), NotFound, AuthErrors))]
#[delete("/customers/{id}/memories/{mid}")]
pub async fn delete_memory(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<MemoryPath>,
) -> Result<HttpResponse, ApiError> {
    services.delete_memory(&principal, &path.id, &path.mid).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Search memories across customers.
///
/// "Who else reported this?": memories of every customer of the workspace matching the query, grouped by
/// customer, with profile filters.
#[utoipa::path(
    tag = "memories",
    request_body = SearchRequest,
    responses((status = 200, description = "Customers with matching memories, best first", body = Vec<CustomerMatches>), BodyErrors, AuthErrors)
)]
#[post("/search")]
pub async fn search(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<SearchRequest>,
) -> Result<web::Json<Vec<CustomerMatches>>, ApiError> {
    Ok(web::Json(services.search(&principal, body.into_inner()).await?))
}

/// Find similar past resolutions.
///
/// Resolved issues similar to a problem, with the resolution text and its interaction: the knowledge base that
/// real conversations build.
#[utoipa::path(
    tag = "memories",
    request_body = SimilarRequest,
    responses((status = 200, description = "Resolutions, best first", body = Vec<SimilarResolution>), BodyErrors, AuthErrors)
)]
#[post("/resolutions/similar")]
pub async fn similar_resolutions(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<SimilarRequest>,
) -> Result<web::Json<Vec<SimilarResolution>>, ApiError> {
    Ok(web::Json(
        services.similar_resolutions(&principal, body.into_inner()).await?,
    ))
}

/// Hand an interaction to a human.
///
/// Builds a deterministic brief (what the customer wants, what was tried, how they feel, relevant history, open
/// promises, suggested tone) and stores it with the interaction.
#[utoipa::path(
    tag = "interactions",
    params(InteractionPath),
    responses((status = 200, description = "The brief", body = HandoffBrief), NotFound, AuthErrors)
)]
#[post("/customers/{id}/interactions/{iid}/handoff")]
pub async fn handoff(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<InteractionPath>,
) -> Result<web::Json<HandoffBrief>, ApiError> {
    Ok(web::Json(services.handoff(&principal, &path.id, &path.iid).await?))
}
