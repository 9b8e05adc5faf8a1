//! Customer endpoints: create, upsert by external id, read, list, merge-patch, erase, export.

use actix_web::http::header::LOCATION;
use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Body;
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, Conflict, NotFound, TimeQueryErrors};
use crate::domain::Upserted;
use crate::domain::{Customer, CustomerFields, CustomerFilter, Page};
use crate::service::{CustomerExport, Services};

/// Path of one customer.
#[derive(Deserialize, IntoParams)]
pub struct CustomerPath {
    /// Rappel's customer id (`cus_...`).
    pub id: String,
}

/// Path of a customer addressed by the client's id.
#[derive(Deserialize, IntoParams)]
pub struct ExternalIdPath {
    /// The client's id for the customer.
    pub external_id: String,
}

/// Query of the customer list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged (opaque; any other value is refused with 400
    /// `invalid_cursor`).
    #[param(pattern = "^c\\.([2-7][0-9a-f]){1,128}$", max_length = 258)]
    pub cursor: Option<String>,
    /// Only customers with this tag.
    #[param(example = "vip")]
    pub tag: Option<String>,
    /// Only customers on this plan.
    #[param(example = "pro")]
    pub plan: Option<String>,
    /// Only customers changed at or after this time (RFC 3339).
    #[param(example = "2026-01-01T00:00:00Z")]
    pub updated_since: Option<DateTime<Utc>>,
}

/// Checks a page size: 1-100, 20 when absent.
pub fn page_size(limit: Option<u32>) -> Result<usize, ApiError> {
    match limit.unwrap_or(20) {
        n @ 1..=100 => Ok(n as usize),
        n => Err(ApiError::invalid_query(format!(
            "limit must be between 1 and 100, got {n}"
        ))),
    }
}

/// Create a customer.
///
/// The `external_id` must be unique in the workspace; use the upsert endpoint to create-or-update by it.
#[utoipa::path(
    tag = "customers",
    request_body(content = CustomerFields, description = "The profile"),
    responses(
        (status = 201, description = "Created", body = Customer, headers(("Location" = String, description = "The customer's URL"))),
        Conflict, BodyErrors, AuthErrors,
    )
)]
#[post("/customers")]
pub async fn create_customer(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<CustomerFields>,
) -> Result<HttpResponse, ApiError> {
    let customer = services.create_customer(&principal, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/customers/{}", customer.id)))
        .json(customer))
}

/// Create or update a customer by external id.
///
/// Idempotent: sending the same profile again changes nothing (not even `updated_at`). The body's
/// `external_id` may be omitted; when given it must equal the path's.
#[utoipa::path(
    tag = "customers",
    params(ExternalIdPath),
    request_body(content = crate::domain::schemas::CustomerUpsert, description = "The full profile (replaces the stored one)"),
    responses(
        (status = 200, description = "Updated, or already identical", body = Customer),
        (status = 201, description = "Created", body = Customer),
        BodyErrors, AuthErrors,
    )
)]
#[put("/customers/by-external-id/{external_id}")]
pub async fn upsert_customer(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<ExternalIdPath>,
    body: Body<CustomerFields>,
) -> Result<HttpResponse, ApiError> {
    let (customer, outcome) = services
        .upsert_customer(&principal, &path.external_id, body.into_inner())
        .await?;
    Ok(match outcome {
        Upserted::Created => HttpResponse::Created()
            .insert_header((LOCATION, format!("/v1/customers/{}", customer.id)))
            .json(customer),
        Upserted::Updated | Upserted::Unchanged => HttpResponse::Ok().json(customer),
    })
}

/// Get a customer by external id.
#[utoipa::path(tag = "customers", params(ExternalIdPath), responses((status = 200, description = "The customer", body = Customer), NotFound, AuthErrors))]
#[get("/customers/by-external-id/{external_id}")]
pub async fn get_customer_by_external_id(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<ExternalIdPath>,
) -> Result<web::Json<Customer>, ApiError> {
    Ok(web::Json(
        services
            .get_customer_by_external_id(&principal, &path.external_id)
            .await?,
    ))
}

/// List customers.
///
/// Oldest first, with cursor pagination and optional filters.
#[utoipa::path(tag = "customers", params(ListQuery), responses((status = 200, description = "A page of customers", body = Page<Customer>), TimeQueryErrors, AuthErrors))]
#[get("/customers")]
pub async fn list_customers(
    services: web::Data<Services>,
    Caller(principal): Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<Customer>>, ApiError> {
    let q = query.into_inner();
    let limit = page_size(q.limit)?;
    let filter = CustomerFilter {
        tag: q.tag,
        plan: q.plan,
        updated_since: q.updated_since,
    };
    Ok(web::Json(
        services.list_customers(&principal, filter, q.cursor, limit).await?,
    ))
}

/// Get a customer.
#[utoipa::path(tag = "customers", params(CustomerPath), responses((status = 200, description = "The customer", body = Customer), NotFound, AuthErrors))]
#[get("/customers/{id}")]
pub async fn get_customer(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
) -> Result<web::Json<Customer>, ApiError> {
    Ok(web::Json(services.get_customer(&principal, &path.id).await?))
}

/// Update a customer (JSON merge patch).
///
/// RFC 7396: fields present are set, `null` removes a field, absent fields stay. Send as
/// `application/merge-patch+json` (or `application/json`).
#[utoipa::path(
    tag = "customers",
    params(CustomerPath),
    request_body(content = crate::domain::patch_schemas::CustomerPatch, content_type = "application/merge-patch+json", description = "Fields to change",
        example = json!({"plan": "business", "phone": null})),
    responses((status = 200, description = "The updated customer", body = Customer), Conflict, NotFound, BodyErrors, AuthErrors)
)]
#[patch("/customers/{id}")]
pub async fn patch_customer(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
    body: Body<Value>,
) -> Result<web::Json<Customer>, ApiError> {
    Ok(web::Json(
        services.patch_customer(&principal, &path.id, body.into_inner()).await?,
    ))
}

/// Erase a customer.
///
/// Deletes the customer and everything stored about them (preferences and their history) in one transaction.
/// A later read returns 404.
#[utoipa::path(tag = "customers", params(CustomerPath), responses((status = 204, description = "Erased"), NotFound, AuthErrors))]
#[delete("/customers/{id}")]
pub async fn erase_customer(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
) -> Result<HttpResponse, ApiError> {
    services.erase_customer(&principal, &path.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Export a customer.
///
/// Everything stored about the customer, in one JSON document (data portability).
#[utoipa::path(tag = "customers", params(CustomerPath), responses((status = 200, description = "Everything stored about the customer", body = CustomerExport), NotFound, AuthErrors))]
#[get("/customers/{id}/export")]
pub async fn export_customer(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
) -> Result<web::Json<CustomerExport>, ApiError> {
    Ok(web::Json(services.export_customer(&principal, &path.id).await?))
}

/// Get a customer's health.
///
/// A 0-100 score computed now, with its parts explained (sentiment, open issues, overdue promises, contact
/// frequency, CSAT/NPS, recency), and earlier scores so a trend can be seen. A call records the score when it
/// differs from the last recorded one or that one is from an earlier UTC day; a daily job records everyone's.
#[utoipa::path(tag = "customers", params(CustomerPath), responses((status = 200, description = "Health now and before", body = crate::service::health::HealthReport), NotFound, AuthErrors))]
#[get("/customers/{id}/health")]
pub async fn health(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<CustomerPath>,
) -> Result<web::Json<crate::service::health::HealthReport>, ApiError> {
    Ok(web::Json(services.health(&principal, &path.id).await?))
}
