//! Documented error responses, grouped the way endpoints share them. Each is a problem document.
//! These enums only describe responses for the OpenAPI document; nothing constructs them.
#![allow(dead_code)]

use utoipa::IntoResponses;

use super::error::Problem;

/// Errors of every authenticated endpoint.
#[derive(IntoResponses)]
pub enum AuthErrors {
    /// No key, or an unknown or revoked one (`missing_api_key`, `invalid_api_key`).
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The key lacks the scope this endpoint needs (`insufficient_scope`).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// The key is over its request rate (`rate_limited`) or has used up its embedding quota
    /// (`quota_exceeded`); retry after the seconds in `Retry-After`.
    #[response(
        status = 429,
        content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
    )]
    TooManyRequests(Problem),
    /// The store is busy or unreachable for a moment (`store_busy`; on PostgreSQL: no free connection in time, a
    /// statement timeout, a lost connection); retry after the seconds in `Retry-After`.
    #[response(
        status = 503,
        content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
    )]
    ServiceUnavailable(Problem),
}

/// The customer (or key) addressed does not exist in the caller's workspace.
#[derive(IntoResponses)]
pub enum NotFound {
    /// `customer_not_found` (or `api_key_not_found`); ids of other workspaces are not found either.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

/// Errors of endpoints that read a JSON body.
#[derive(IntoResponses)]
pub enum BodyErrors {
    /// Malformed JSON (`invalid_json`) or a bad query or path parameter (`invalid_query`, `invalid_path`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// The body is larger than `max_body_bytes` (`payload_too_large`).
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not JSON (`unsupported_media_type`).
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// Well-formed JSON that breaks a rule: wrong types, unknown fields (`invalid_body`), or an invalid value
    /// (`invalid_email`, `invalid_timezone`, `invalid_language`, `invalid_phone`, `invalid_quiet_hours`,
    /// `attributes_too_large`, `invalid_field`, ...); `field` names the culprit.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
}

/// Errors of list endpoints' query strings.
#[derive(IntoResponses)]
pub enum QueryErrors {
    /// A query parameter has the wrong type or range (`invalid_query`, `invalid_cursor`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
}

/// A list's query with time filters could not be used.
#[derive(IntoResponses)]
pub enum TimeQueryErrors {
    /// A query parameter has the wrong type or range (`invalid_query`, `invalid_cursor`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// A time filter outside the years 1970-9999 (`invalid_time`).
    #[response(status = 422, content_type = "application/problem+json")]
    OutOfRange(Problem),
}

/// A query whose parameters parse but break a rule.
#[derive(IntoResponses)]
pub enum FilterErrors {
    /// A query parameter has the wrong type (`invalid_query`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// A filter out of its range or empty (`invalid_field`, `invalid_language`); `field` names it.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

/// The external id is already used by another customer.
#[derive(IntoResponses)]
pub enum Conflict {
    /// `external_id_conflict` (or `workspace_exists`).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
}

/// What the configured store cannot do.
#[derive(IntoResponses)]
pub enum StoreErrors {
    /// The store cannot do this (`not_supported`): a backup file of a PostgreSQL store; the message says what to
    /// use instead.
    #[response(status = 501, content_type = "application/problem+json")]
    NotSupported(Problem),
}
