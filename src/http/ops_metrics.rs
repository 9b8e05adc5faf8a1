//! `GET /metrics` (Prometheus text format) and the middleware that counts and times every request by route
//! pattern and status.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{get, web, HttpRequest, HttpResponse};

use super::error::ApiError;
use crate::service::{ServiceError, Services};

/// Middleware: one count and one latency observation per request, labelled with the matched route pattern
/// (`unmatched` for paths no route serves, so scanners cannot create series).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let result = next.call(req).await;
    let seconds = started.elapsed().as_secs_f64();
    match &result {
        Ok(res) => {
            let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
            crate::ops_metrics::http_request(&method, &route, res.status().as_u16(), seconds);
        }
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            crate::ops_metrics::http_request(&method, "unmatched", status, seconds);
        }
    }
    result
}

/// Operations metrics.
///
/// Prometheus text format: requests by route pattern and status with latency histograms, embedding batch times
/// and sizes, job runs and durations, customers, memories and outreach items (by state) per workspace, and the
/// store file's size. Open like the probes unless the `metrics_token` setting is set; then it needs
/// `Authorization: Bearer <metrics_token>` (API keys are not accepted). Labels carry workspace ids at most,
/// never customer data.
#[utoipa::path(tag = "health", security(()), responses(
    (status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain; version=0.0.4"),
    (status = 401, description = "A metrics token is configured and was not sent (`missing_api_key`) or differs (`invalid_api_key`)",
        body = super::error::Problem, content_type = "application/problem+json"),
))]
#[get("/metrics")]
pub async fn metrics(services: web::Data<Services>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let bearer = match req.headers().get(AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Err(_)) => return Err(ServiceError::InvalidCredentials.into()),
        Some(Ok(value)) => match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim().to_owned()),
            _ => return Err(ServiceError::InvalidCredentials.into()),
        },
    };
    let text = services.operations_metrics(bearer.as_deref()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
