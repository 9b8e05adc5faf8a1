//! The one place errors become HTTP responses: RFC 9457 problem details with a stable `code`. Service errors
//! map through an exhaustive match; extractor errors (bad JSON, query, path, oversized bodies) through the
//! handlers installed in [`super::server`].

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::service::ServiceError;

/// An RFC 9457 problem document. Clients match on `code`, which never changes meaning.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`urn:rappel:problem:<code>`).
    #[serde(rename = "type")]
    #[schema(example = "urn:rappel:problem:customer_not_found")]
    pub type_uri: String,
    /// Short summary of the problem type.
    #[schema(example = "Customer not found")]
    pub title: String,
    /// The HTTP status.
    #[schema(example = 404)]
    pub status: u16,
    /// What happened in this occurrence.
    #[schema(example = "no customer cus_01jh2k3m4n5p6q7r8s9t0v1w2x in this workspace")]
    pub detail: String,
    /// Stable snake_case code.
    #[schema(example = "customer_not_found")]
    pub code: String,
    /// The offending field, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "timezone")]
    pub field: Option<String>,
}

/// An error on its way out as a problem document.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    field: Option<String>,
    /// Seconds for the `Retry-After` header.
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 500 for a bug (a panic caught before it dropped the connection).
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
            detail,
        )
    }

    /// 404 for a path no route serves.
    pub fn route_not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "No such route",
            format!("no endpoint at {path}; see /swagger-ui/"),
        )
    }

    /// 405 for a documented path asked with a method it does not serve.
    pub fn method_not_allowed(method: &str, path: &str, allowed: &[&str]) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            format!("{path} does not serve {method}; it serves {}", allowed.join(", ")),
        )
    }

    /// 400 for a query parameter that cannot be used.
    pub fn invalid_query(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "Invalid query parameters",
            detail,
        )
    }

    /// The problem document this error becomes.
    pub fn problem(&self) -> Problem {
        Problem {
            type_uri: format!("urn:rappel:problem:{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            field: self.field.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.content_type("application/problem+json");
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(self.problem())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use StatusCode as S;
        let detail = e.to_string();
        match e {
            ServiceError::CustomerNotFound(_) => {
                Self::new(S::NOT_FOUND, "customer_not_found", "Customer not found", detail)
            }
            ServiceError::InteractionNotFound(_) => {
                Self::new(S::NOT_FOUND, "interaction_not_found", "Interaction not found", detail)
            }
            ServiceError::OutreachNotFound(_) => {
                Self::new(S::NOT_FOUND, "outreach_not_found", "Outreach item not found", detail)
            }
            ServiceError::IncidentNotFound(_) => {
                Self::new(S::NOT_FOUND, "incident_not_found", "Incident not found", detail)
            }
            ServiceError::KnowledgeNotFound(_) => Self::new(
                S::NOT_FOUND,
                "knowledge_not_found",
                "Knowledge document not found",
                detail,
            ),
            ServiceError::CampaignNotFound(_) => {
                Self::new(S::NOT_FOUND, "campaign_not_found", "Campaign not found", detail)
            }
            ServiceError::TeamNotFound(_) => Self::new(S::NOT_FOUND, "team_not_found", "Team not found", detail),
            ServiceError::JobNotFound(_) => Self::new(S::NOT_FOUND, "job_not_found", "Job not found", detail),
            ServiceError::JobExists(_) => Self::new(S::CONFLICT, "job_exists", "Job exists", detail),
            ServiceError::JobRunning(_) => Self::new(S::CONFLICT, "job_running", "Job already running", detail),
            ServiceError::MemoryNotFound(_) => Self::new(S::NOT_FOUND, "memory_not_found", "Memory not found", detail),
            ServiceError::KeyNotFound(_) => Self::new(S::NOT_FOUND, "api_key_not_found", "API key not found", detail),
            ServiceError::WorkspaceExists(_) => Self::new(S::CONFLICT, "workspace_exists", "Workspace exists", detail),
            ServiceError::ExternalIdConflict { .. } => {
                Self::new(S::CONFLICT, "external_id_conflict", "External id already used", detail)
            }
            ServiceError::Invalid(invalid) => Self {
                field: Some(invalid.field.clone()).filter(|f| !f.is_empty()),
                ..Self::new(S::UNPROCESSABLE_ENTITY, invalid.code, "Invalid input", invalid.message)
            },
            ServiceError::InvalidCursor(_) => Self {
                field: Some("cursor".into()),
                ..Self::new(S::BAD_REQUEST, "invalid_cursor", "Invalid cursor", detail)
            },
            ServiceError::MissingCredentials => {
                Self::new(S::UNAUTHORIZED, "missing_api_key", "API key required", detail)
            }
            ServiceError::InvalidCredentials => {
                Self::new(S::UNAUTHORIZED, "invalid_api_key", "Invalid API key", detail)
            }
            ServiceError::Forbidden { .. } => {
                Self::new(S::FORBIDDEN, "insufficient_scope", "Insufficient scope", detail)
            }
            ServiceError::RateLimited { retry_after } => Self {
                retry_after: Some(retry_after),
                ..Self::new(S::TOO_MANY_REQUESTS, "rate_limited", "Too many requests", detail)
            },
            ServiceError::QuotaExceeded { retry_after } => Self {
                retry_after: Some(retry_after),
                ..Self::new(
                    S::TOO_MANY_REQUESTS,
                    "quota_exceeded",
                    "Embedding quota exceeded",
                    detail,
                )
            },
            ServiceError::Embed(cause) => {
                tracing::error!(error = %cause, "embedding failed");
                Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "embedding_unavailable",
                    "Embedding unavailable",
                    "the embedding model failed; see the server log",
                )
            }
            ServiceError::StoreBusy(cause) => {
                tracing::warn!(error = %cause, "store busy");
                Self {
                    retry_after: Some(1),
                    ..Self::new(S::SERVICE_UNAVAILABLE, "store_busy", "Store busy", detail)
                }
            }
            ServiceError::NotSupported(what) => Self::new(
                S::NOT_IMPLEMENTED,
                "not_supported",
                "Not supported by this store",
                format!("not supported by the configured store: {what}"),
            ),
            ServiceError::Store(cause) => {
                tracing::error!(error = %cause, "store failed");
                Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Internal error",
                    "the store failed; see the server log",
                )
            }
            ServiceError::RunPanicked(cause) => {
                tracing::error!(panic = %cause, "a run panicked");
                Self::internal("the run failed on a bug; see the server log")
            }
            ServiceError::Index(cause) => {
                tracing::error!(error = %cause, "vector index failed");
                Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Internal error",
                    "the vector index failed; see the server log",
                )
            }
        }
    }
}

/// Maps a JSON body extractor error.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use StatusCode as S;
    let e = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            ApiError::payload_too_large(format!("the body has {length} bytes; the limit is {limit}"))
        }
        JsonPayloadError::Overflow { limit } => {
            ApiError::payload_too_large(format!("the body exceeds the limit of {limit} bytes"))
        }
        JsonPayloadError::ContentType => ApiError::new(
            S::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "send the body as application/json (or application/merge-patch+json for PATCH)",
        ),
        JsonPayloadError::Deserialize(de) if de.is_data() => ApiError::invalid_body(de.to_string()),
        JsonPayloadError::Deserialize(de) => {
            ApiError::new(S::BAD_REQUEST, "invalid_json", "Malformed JSON", de.to_string())
        }
        other => ApiError::new(S::BAD_REQUEST, "invalid_body", "Unreadable body", other.to_string()),
    };
    e.into()
}

impl ApiError {
    /// 422 `invalid_body`: well-formed JSON of the wrong shape.
    pub(super) fn invalid_body(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "Invalid body", detail)
    }

    fn payload_too_large(detail: String) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large",
            detail,
        )
    }
}

/// Maps a query string extractor error.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::invalid_query(err.to_string()).into()
}

/// Maps a path parameter extractor error.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        "Invalid path parameter",
        err.to_string(),
    )
    .into()
}
