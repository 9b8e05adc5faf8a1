//! The knowledge base: documents, search with citations, and the freshness reports.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Body;
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, FilterErrors, NotFound};
use crate::domain::knowledge::gaps::GapCluster;
use crate::domain::knowledge::{KnowledgeDoc, KnowledgeHit, KnowledgeInput, KnowledgeSummary};
use crate::service::knowledge::{
    GapQuery, KnowledgeFilter, KnowledgeOutcome, KnowledgeSearch, StaleDocument, StaleQuery,
};
use crate::service::Services;

/// Path of one document.
#[derive(Deserialize, IntoParams)]
pub struct KnowledgePath {
    /// The document id (`kb_...`).
    pub id: String,
}

/// Add a knowledge document.
///
/// The body (Markdown, HTML or plain text) is cut into chunks by headings and paragraphs (at most 900
/// characters each, every chunk keeping its heading path), embedded with the memories' model and keyword-indexed.
/// A document with the `source` of an existing one replaces it: 200 when it changed (chunks cut and embedded
/// again), 200 with nothing written when it is identical; 201 for a new document.
#[utoipa::path(tag = "knowledge", request_body = KnowledgeInput, responses(
    (status = 201, description = "Added", body = KnowledgeDoc),
    (status = 200, description = "The document of the same `source`, replaced or already identical", body = KnowledgeDoc),
    BodyErrors, AuthErrors))]
#[post("/knowledge")]
pub async fn add(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<KnowledgeInput>,
) -> Result<HttpResponse, ApiError> {
    let (doc, outcome) = services.put_knowledge(&principal, body.into_inner()).await?;
    Ok(match outcome {
        KnowledgeOutcome::Created => HttpResponse::Created().json(doc),
        KnowledgeOutcome::Replaced | KnowledgeOutcome::Unchanged => HttpResponse::Ok().json(doc),
    })
}

/// List knowledge documents.
///
/// Without bodies, by citation label. Documents past their `valid_until` are left out unless
/// `include_expired=true`.
#[utoipa::path(tag = "knowledge", params(KnowledgeFilter), responses((status = 200, description = "The documents", body = Vec<KnowledgeSummary>), FilterErrors, AuthErrors))]
#[get("/knowledge")]
pub async fn list(
    services: web::Data<Services>,
    Caller(principal): Caller,
    query: web::Query<KnowledgeFilter>,
) -> Result<web::Json<Vec<KnowledgeSummary>>, ApiError> {
    Ok(web::Json(services.list_knowledge(&principal, &query).await?))
}

/// Get a knowledge document.
#[utoipa::path(tag = "knowledge", params(KnowledgePath), responses((status = 200, description = "The document", body = KnowledgeDoc), NotFound, AuthErrors))]
#[get("/knowledge/{id}")]
pub async fn get(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<KnowledgePath>,
) -> Result<web::Json<KnowledgeDoc>, ApiError> {
    Ok(web::Json(services.get_knowledge(&principal, &path.id).await?))
}

/// Update a knowledge document (JSON merge patch).
#[utoipa::path(
    tag = "knowledge",
    params(KnowledgePath),
    request_body(content = crate::domain::patch_schemas::KnowledgePatch, content_type = "application/merge-patch+json", description = "Fields to change",
        example = json!({"valid_until": "2026-12-31T23:59:59Z"})),
    responses((status = 200, description = "The document", body = KnowledgeDoc), NotFound, BodyErrors, AuthErrors)
)]
#[patch("/knowledge/{id}")]
pub async fn update(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<KnowledgePath>,
    body: Body<Value>,
) -> Result<web::Json<KnowledgeDoc>, ApiError> {
    Ok(web::Json(
        services
            .patch_knowledge(&principal, &path.id, body.into_inner())
            .await?,
    ))
}

/// Delete a knowledge document and its chunks.
#[utoipa::path(tag = "knowledge", params(KnowledgePath), responses((status = 204, description = "Deleted"), NotFound, AuthErrors))]
#[delete("/knowledge/{id}")]
pub async fn remove(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<KnowledgePath>,
) -> Result<HttpResponse, ApiError> {
    services.delete_knowledge(&principal, &path.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Search the knowledge base.
///
/// Hybrid ranking, as for memories: dense similarity standardised over the candidates (weight 0.65) plus BM25
/// divided by the best candidate's (0.35), plus 0.1 for a chunk in the reader's language; at most two chunks per
/// document. Each hit carries its citation (document, heading path, URL, `[KB-12 §Heading]`) and the parts of its
/// score. Documents past their `valid_until` are never returned.
#[utoipa::path(tag = "knowledge", request_body = KnowledgeSearch, responses((status = 200, description = "The best chunks, best first", body = Vec<KnowledgeHit>), BodyErrors, AuthErrors))]
#[post("/knowledge/search")]
pub async fn search(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<KnowledgeSearch>,
) -> Result<web::Json<Vec<KnowledgeHit>>, ApiError> {
    Ok(web::Json(
        services.search_knowledge(&principal, body.into_inner()).await?,
    ))
}

/// Stale content: the documents to review first.
///
/// Documents whose content has not changed for `days` (default 180; the source's `updated_at` when imported)
/// that contexts cited in the last 30 days, most cited first.
#[utoipa::path(tag = "knowledge", params(StaleQuery), responses((status = 200, description = "Stale documents, most cited first", body = Vec<StaleDocument>), FilterErrors, AuthErrors))]
#[get("/knowledge/reports/stale")]
pub async fn stale(
    services: web::Data<Services>,
    Caller(principal): Caller,
    query: web::Query<StaleQuery>,
) -> Result<web::Json<Vec<StaleDocument>>, ApiError> {
    Ok(web::Json(services.stale_knowledge(&principal, query.days).await?))
}

/// Knowledge gaps: what customers asked that nothing answered.
///
/// Messages of the last `days` (default 30) for which a context found no chunk similar enough to cite, grouped by
/// meaning, with counts and up to three example messages per group, largest groups first. The messages are kept
/// 90 days (the daily retention sweep deletes older ones; erasing a customer deletes theirs at once).
#[utoipa::path(tag = "knowledge", params(GapQuery), responses((status = 200, description = "Groups of unanswered questions", body = Vec<GapCluster>), FilterErrors, AuthErrors))]
#[get("/knowledge/reports/gaps")]
pub async fn gaps(
    services: web::Data<Services>,
    Caller(principal): Caller,
    query: web::Query<GapQuery>,
) -> Result<web::Json<Vec<GapCluster>>, ApiError> {
    Ok(web::Json(services.knowledge_gaps(&principal, query.days).await?))
}
