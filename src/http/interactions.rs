//! Interaction endpoints: idempotent create, append a message, update status/CSAT, read, timeline, handoff.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Body;
use super::customers::{page_size, CustomerPath};
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, NotFound, TimeQueryErrors};
use crate::domain::interaction::{Interaction, InteractionChannel, InteractionInput, InteractionStatus, Message};
use crate::domain::Page;
use crate::domain::Upserted;
use crate::service::{InteractionFilter, Services};

/// Path of one interaction.
#[derive(Deserialize, IntoParams)]
pub struct InteractionPath {
    /// Rappel's customer id.
    pub id: String,
    /// The interaction's external id (or Rappel's `int_...` id).
    pub iid: String,
}

/// Timeline query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged (opaque; any other value is refused with 400
    /// `invalid_cursor`).
    #[param(pattern = "^i\\.([2-7][0-9a-f]){1,128}$", max_length = 258)]
    pub cursor: Option<String>,
    /// Only this status.
    pub status: Option<InteractionStatus>,
    /// Only this channel.
    pub channel: Option<InteractionChannel>,
    /// Opened at or after (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Opened before (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// Record an interaction.
///
/// Idempotent by `external_id`: posting the same interaction again changes nothing; a longer version adds only
/// its new messages. New customer and agent messages become memories (and customer messages get a sentiment).
/// Bounds of one request: at most 1,000 messages of at most 20,000 characters each, within the 1 MiB body limit
/// (413 beyond).
#[utoipa::path(
    tag = "interactions",
    params(CustomerPath),
    request_body = InteractionInput,
    responses(
        (status = 201, description = "Created", body = Interaction),
        (status = 200, description = "Updated, or already identical", body = Interaction),
        NotFound, BodyErrors, AuthErrors,
    )
)]
#[post("/customers/{id}/interactions")]
pub async fn post_interaction(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
    body: Body<InteractionInput>,
) -> Result<HttpResponse, ApiError> {
    let (interaction, outcome) = services
        .ingest_interaction(&principal, &path.id, body.into_inner())
        .await?;
    Ok(match outcome {
        Upserted::Created => HttpResponse::Created().json(interaction),
        Upserted::Updated | Upserted::Unchanged => HttpResponse::Ok().json(interaction),
    })
}

/// List a customer's interactions.
///
/// The timeline, newest first, with filters.
#[utoipa::path(
    tag = "interactions",
    params(CustomerPath, TimelineQuery),
    responses((status = 200, description = "A page of interactions", body = Page<Interaction>), NotFound, TimeQueryErrors, AuthErrors)
)]
#[get("/customers/{id}/interactions")]
pub async fn list_interactions(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
    query: web::Query<TimelineQuery>,
) -> Result<web::Json<Page<Interaction>>, ApiError> {
    let q = query.into_inner();
    let limit = page_size(q.limit)?;
    let filter = InteractionFilter {
        status: q.status,
        channel: q.channel,
        since: q.since,
        until: q.until,
    };
    Ok(web::Json(
        services
            .list_interactions(&principal, &path.id, filter, q.cursor, limit)
            .await?,
    ))
}

/// Get an interaction.
#[utoipa::path(
    tag = "interactions",
    params(InteractionPath),
    responses((status = 200, description = "The interaction", body = Interaction), NotFound, AuthErrors)
)]
#[get("/customers/{id}/interactions/{iid}")]
pub async fn get_interaction(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<InteractionPath>,
) -> Result<web::Json<Interaction>, ApiError> {
    Ok(web::Json(
        services.get_interaction(&principal, &path.id, &path.iid).await?,
    ))
}

/// Update an interaction (JSON merge patch).
///
/// Status, closing time, CSAT, NPS, tags, escalation...; messages are appended with the messages endpoint.
#[utoipa::path(
    tag = "interactions",
    params(InteractionPath),
    request_body(content = crate::domain::patch_schemas::InteractionPatch, content_type = "application/merge-patch+json", description = "Fields to change",
        example = json!({"status": "resolved", "closed_at": "2026-11-25T10:00:00Z", "csat": 5})),
    responses((status = 200, description = "The updated interaction", body = Interaction), NotFound, BodyErrors, AuthErrors)
)]
#[patch("/customers/{id}/interactions/{iid}")]
pub async fn patch_interaction(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<InteractionPath>,
    body: Body<Value>,
) -> Result<web::Json<Interaction>, ApiError> {
    Ok(web::Json(
        services
            .patch_interaction(&principal, &path.id, &path.iid, body.into_inner())
            .await?,
    ))
}

/// Append a message.
///
/// For live conversations; idempotent by the message's `id`.
#[utoipa::path(
    tag = "interactions",
    params(InteractionPath),
    request_body = Message,
    responses((status = 200, description = "The interaction with the message", body = Interaction), NotFound, BodyErrors, AuthErrors)
)]
#[post("/customers/{id}/interactions/{iid}/messages")]
pub async fn append_message(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<InteractionPath>,
    body: Body<Message>,
) -> Result<web::Json<Interaction>, ApiError> {
    Ok(web::Json(
        services
            .append_message(&principal, &path.id, &path.iid, body.into_inner())
            .await?,
    ))
}
