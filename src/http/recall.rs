//! Recall and context: what the helpdesk asks on every reply.

use actix_web::{post, web};

use super::auth::Caller;
use super::body::Body;
use super::customers::CustomerPath;
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, NotFound};
use crate::domain::context::CustomerContext;
use crate::domain::recalled::Recalled;
use crate::service::context::ContextRequest;
use crate::service::recall::RecallQuery;
use crate::service::Services;

/// Recall memories.
///
/// The customer's memories ranked for a query: hybrid of embedding similarity and BM25 keywords, with recency
/// and kind-aware importance. Each result carries its score parts and provenance.
#[utoipa::path(
    tag = "memories",
    params(CustomerPath),
    request_body = RecallQuery,
    responses((status = 200, description = "Ranked memories, best first", body = Vec<Recalled>), NotFound, BodyErrors, AuthErrors)
)]
#[post("/customers/{id}/recall")]
pub async fn recall(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
    body: Body<RecallQuery>,
) -> Result<web::Json<Vec<Recalled>>, ApiError> {
    Ok(web::Json(
        services.recall(&principal, &path.id, body.into_inner()).await?,
    ))
}

/// Get the personalization context.
///
/// Profile essentials, how to speak to the customer, the most relevant memories, open issues and promises, the
/// last interactions, the sentiment trend with escalation advice, and a ready-to-use `prompt` block within the
/// token budget, in the customer's language.
#[utoipa::path(
    tag = "memories",
    params(CustomerPath),
    request_body = ContextRequest,
    responses((status = 200, description = "The context", body = CustomerContext), NotFound, BodyErrors, AuthErrors)
)]
#[post("/customers/{id}/context")]
pub async fn context(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
    body: Body<ContextRequest>,
) -> Result<web::Json<CustomerContext>, ApiError> {
    Ok(web::Json(
        services.context(&principal, &path.id, body.into_inner()).await?,
    ))
}
