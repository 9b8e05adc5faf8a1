//! Preference endpoints: read, replace, merge-patch, history.

use actix_web::{get, patch, put, web};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Body;
use super::customers::{page_size, CustomerPath};
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, NotFound, QueryErrors};
use crate::domain::{Page, PreferenceChange, Preferences};
use crate::service::Services;

/// Query of preference changes.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SourceQuery {
    /// Recorded as the source of each change (default: `api:<key id>`).
    #[param(example = "agent:alice")]
    pub source: Option<String>,
}

/// Query of the history list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged (opaque; any other value is refused with 400
    /// `invalid_cursor`).
    #[param(pattern = "^p\\.(3[0-9]){1,19}$", max_length = 40)]
    pub cursor: Option<String>,
}

/// Get a customer's preferences.
///
/// Defaults (nothing granted, no quiet hours) when never set.
#[utoipa::path(tag = "preferences", params(CustomerPath), responses((status = 200, description = "The preferences", body = Preferences), NotFound, AuthErrors))]
#[get("/customers/{id}/preferences")]
pub async fn get_preferences(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
) -> Result<web::Json<Preferences>, ApiError> {
    Ok(web::Json(services.get_preferences(&principal, &path.id).await?))
}

/// Replace a customer's preferences.
///
/// Every changed field is recorded in the history with the time and `source`. Consents without `at` or `source`
/// get the server's time and the change's source.
#[utoipa::path(
    tag = "preferences",
    params(CustomerPath, SourceQuery),
    request_body = Preferences,
    responses((status = 200, description = "The saved preferences", body = Preferences), NotFound, BodyErrors, AuthErrors)
)]
#[put("/customers/{id}/preferences")]
pub async fn put_preferences(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
    query: web::Query<SourceQuery>,
    body: Body<Preferences>,
) -> Result<web::Json<Preferences>, ApiError> {
    let query = query.into_inner();
    Ok(web::Json(
        services
            .put_preferences(&principal, &path.id, body.into_inner(), query.source)
            .await?,
    ))
}

/// Update a customer's preferences (JSON merge patch).
#[utoipa::path(
    tag = "preferences",
    params(CustomerPath, SourceQuery),
    request_body(content = crate::domain::patch_schemas::PreferencesPatch, content_type = "application/merge-patch+json", description = "Fields to change",
        example = json!({"consent": {"email": {"granted": false, "source": "unsubscribe_link"}}, "tone": "formal"})),
    responses((status = 200, description = "The saved preferences", body = Preferences), NotFound, BodyErrors, AuthErrors)
)]
#[patch("/customers/{id}/preferences")]
pub async fn patch_preferences(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
    query: web::Query<SourceQuery>,
    body: Body<Value>,
) -> Result<web::Json<Preferences>, ApiError> {
    let query = query.into_inner();
    Ok(web::Json(
        services
            .patch_preferences(&principal, &path.id, body.into_inner(), query.source)
            .await?,
    ))
}

/// List a customer's preference changes.
///
/// Oldest first: field, old and new value, time and source of every change.
#[utoipa::path(
    tag = "preferences",
    params(CustomerPath, HistoryQuery),
    responses((status = 200, description = "A page of changes, oldest first", body = Page<PreferenceChange>), NotFound, QueryErrors, AuthErrors)
)]
#[get("/customers/{id}/preferences/history")]
pub async fn preference_history(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
    query: web::Query<HistoryQuery>,
) -> Result<web::Json<Page<PreferenceChange>>, ApiError> {
    let q = query.into_inner();
    let limit = page_size(q.limit)?;
    Ok(web::Json(
        services
            .preference_history(&principal, &path.id, q.cursor, limit)
            .await?,
    ))
}
