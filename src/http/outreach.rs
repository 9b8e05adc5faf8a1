//! The outreach queue: what campaign senders pull from.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::body::Body;
use super::customers::page_size;
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, NotFound, QueryErrors};
use crate::domain::outreach::{OutreachItem, OutreachSource, OutreachState};
use crate::domain::preferences::Channel;
use crate::domain::Page;
use crate::service::outreach::{AckRequest, OutreachFilter, QueueOutcome, QueueRequest};
use crate::service::Services;

/// Path of one item.
#[derive(Deserialize, IntoParams)]
pub struct OutreachPath {
    /// The item id (`out_...`).
    pub id: String,
}

/// List query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutreachQuery {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged (opaque; any other value is refused with 400
    /// `invalid_cursor`).
    #[param(pattern = "^o\\.([2-7][0-9a-f]){1,128}$", max_length = 258)]
    pub cursor: Option<String>,
    /// Only this state.
    pub state: Option<OutreachState>,
    /// Only this customer.
    pub customer_id: Option<String>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only items queued by this job or campaign.
    pub source: Option<String>,
}

/// A claim.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// Only items for this channel (the sender's); all channels when absent.
    pub channel: Option<Channel>,
    /// Most items to hand out (1-500, default 10).
    #[schema(example = 10, minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub max: Option<usize>,
    /// How long the sender holds them before they return to the queue (5-86400 s, default 300).
    #[schema(example = 300, minimum = 5, maximum = 86400)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub lease_seconds: Option<u32>,
}

/// Queue an item by hand.
///
/// Agents and integrations can queue a proactive message; it passes the same rules as the jobs' items (consent,
/// do-not-contact, weekly cap, quiet hours, de-duplication). A skipped request says which rule skipped it.
#[utoipa::path(tag = "outreach", request_body = QueueRequest, responses(
    (status = 201, description = "Queued", body = QueueOutcome),
    (status = 200, description = "Skipped by a rule", body = QueueOutcome),
    NotFound, BodyErrors, AuthErrors,
))]
#[post("/outreach")]
pub async fn queue(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<QueueRequest>,
) -> Result<HttpResponse, ApiError> {
    let source = OutreachSource {
        kind: "manual".into(),
        id: principal.key_id.clone(),
    };
    Ok(
        match services.queue_outreach(&principal, source, body.into_inner()).await? {
            queued @ QueueOutcome::Queued { .. } => HttpResponse::Created().json(queued),
            skipped => HttpResponse::Ok().json(skipped),
        },
    )
}

/// List outreach items.
///
/// Oldest first, with filters.
#[utoipa::path(tag = "outreach", params(OutreachQuery), responses((status = 200, description = "A page of items", body = Page<OutreachItem>), QueryErrors, AuthErrors))]
#[get("/outreach")]
pub async fn list(
    services: web::Data<Services>,
    Caller(principal): Caller,
    query: web::Query<OutreachQuery>,
) -> Result<web::Json<Page<OutreachItem>>, ApiError> {
    let q = query.into_inner();
    let limit = page_size(q.limit)?;
    let filter = OutreachFilter {
        state: q.state,
        customer_id: q.customer_id,
        channel: q.channel,
        source: q.source,
    };
    Ok(web::Json(
        services.list_outreach(&principal, filter, q.cursor, limit).await?,
    ))
}

/// Claim due items.
///
/// Hands out due items atomically (two senders never get the same item), re-checking consent, quiet hours and
/// the weekly cap; each is leased for `lease_seconds`, then returns to the queue unless acknowledged.
#[utoipa::path(tag = "outreach", request_body = ClaimRequest, responses((status = 200, description = "The claimed items", body = Vec<OutreachItem>), BodyErrors, AuthErrors))]
#[post("/outreach/claim")]
pub async fn claim(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<ClaimRequest>,
) -> Result<web::Json<Vec<OutreachItem>>, ApiError> {
    let b = body.into_inner();
    Ok(web::Json(
        services
            .claim_outreach(
                &principal,
                b.channel,
                b.max.unwrap_or(10),
                b.lease_seconds.unwrap_or(300),
            )
            .await?,
    ))
}

/// Get an outreach item.
#[utoipa::path(tag = "outreach", params(OutreachPath), responses((status = 200, description = "The item", body = OutreachItem), NotFound, AuthErrors))]
#[get("/outreach/{id}")]
pub async fn get(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<OutreachPath>,
) -> Result<web::Json<OutreachItem>, ApiError> {
    Ok(web::Json(services.get_outreach(&principal, &path.id).await?))
}

/// Acknowledge an item.
///
/// `sent` (with the provider's message id) or `failed` (with the error). Idempotent: the same report twice
/// changes nothing. After 3 failures the item is failed; before, it is queued again with a back-off. A sent item
/// becomes part of the customer's memory.
#[utoipa::path(tag = "outreach", params(OutreachPath), request_body = AckRequest, responses((status = 200, description = "The item", body = OutreachItem), NotFound, BodyErrors, AuthErrors))]
#[post("/outreach/{id}/ack")]
pub async fn ack(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<OutreachPath>,
    body: Body<AckRequest>,
) -> Result<web::Json<OutreachItem>, ApiError> {
    Ok(web::Json(
        services.ack_outreach(&principal, &path.id, body.into_inner()).await?,
    ))
}

/// Cancel an item.
#[utoipa::path(tag = "outreach", params(OutreachPath), responses((status = 200, description = "The cancelled item", body = OutreachItem), NotFound, BodyErrors, AuthErrors))]
#[post("/outreach/{id}/cancel")]
pub async fn cancel(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<OutreachPath>,
) -> Result<web::Json<OutreachItem>, ApiError> {
    Ok(web::Json(services.cancel_outreach(&principal, &path.id).await?))
}
