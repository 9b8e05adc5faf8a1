//! Liveness and readiness probes (no key needed).

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::Problem;
use crate::service::Services;

/// A probe's answer (not a customer's health).
#[derive(Serialize, ToSchema)]
pub struct Probe {
    /// `ok` (alive) or `ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// The embedding model (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "multilingual-e5-small")]
    pub model: Option<String>,
    /// Its dimension (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 384)]
    pub dimension: Option<usize>,
}

/// Liveness.
///
/// The process answers HTTP.
#[utoipa::path(tag = "health", security(()), responses((status = 200, description = "Alive", body = Probe)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Probe> {
    web::Json(Probe {
        status: "ok",
        model: None,
        dimension: None,
    })
}

/// Readiness.
///
/// The store answers and the embedding model is loaded.
#[utoipa::path(tag = "health", security(()), responses(
    (status = 200, description = "Ready", body = Probe),
    (status = 503, description = "Not ready (`not_ready`)", body = Problem, content_type = "application/problem+json"),
))]
#[get("/readyz")]
pub async fn readyz(services: web::Data<Services>) -> HttpResponse {
    match services.ready().await {
        Ok((model, dimension)) => HttpResponse::Ok().json(Probe {
            status: "ready",
            model: Some(model),
            dimension: Some(dimension),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            HttpResponse::ServiceUnavailable()
                .content_type("application/problem+json")
                .json(Problem {
                    type_uri: "urn:rappel:problem:not_ready".into(),
                    title: "Not ready".into(),
                    status: 503,
                    detail: "the store or the model is not available; see the server log".into(),
                    code: "not_ready".into(),
                    field: None,
                })
        }
    }
}
