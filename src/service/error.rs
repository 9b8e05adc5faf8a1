//! The service layer's error: what went wrong in words a caller can act on. `http::error` maps each variant to a
//! status and a stable code.

use crate::domain::{CustomerId, InvalidCursor, InvalidInput, Scope};
use crate::embed::EmbedError;
use crate::store::StoreError;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No customer with this id or external id in the caller's workspace.
    #[error("no customer {0} in this workspace")]
    CustomerNotFound(String),
    /// No interaction with this id or external id for this customer.
    #[error("no interaction {0} for this customer")]
    InteractionNotFound(String),
    /// No memory with this id for this customer.
    #[error("no memory {0} for this customer")]
    MemoryNotFound(String),
    /// No outreach item with this id in the caller's workspace.
    #[error("no outreach item {0} in this workspace")]
    OutreachNotFound(String),
    /// No incident with this id in the caller's workspace.
    #[error("no incident {0} in this workspace")]
    IncidentNotFound(String),
    /// No knowledge document with this id in the caller's workspace.
    #[error("no knowledge document {0} in this workspace")]
    KnowledgeNotFound(String),
    /// No campaign with this id in the caller's workspace.
    #[error("no campaign {0} in this workspace")]
    CampaignNotFound(String),
    /// No team with this id in the caller's workspace.
    #[error("no team {0} in this workspace")]
    TeamNotFound(String),
    /// No job with this id.
    #[error("no job {0}")]
    JobNotFound(String),
    /// A job with this id exists.
    #[error("job {0} already exists")]
    JobExists(String),
    /// The job is running already.
    #[error("job {0} is already running")]
    JobRunning(String),
    /// No API key with this id in the caller's workspace.
    #[error("no API key {0} in this workspace")]
    KeyNotFound(String),
    /// A workspace with this id exists already.
    #[error("workspace {0} already exists")]
    WorkspaceExists(String),
    /// The external id belongs to another customer.
    #[error("external_id {external_id:?} is already used by customer {existing}")]
    ExternalIdConflict {
        /// The external id.
        external_id: String,
        /// The customer holding it.
        existing: CustomerId,
    },
    /// The input breaks a rule.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// A list was given a cursor it did not return.
    #[error(transparent)]
    InvalidCursor(#[from] InvalidCursor),
    /// No `Authorization: Bearer` key was sent.
    #[error("this endpoint needs an API key: send `Authorization: Bearer <key>`")]
    MissingCredentials,
    /// The key is unknown or revoked.
    #[error("the API key is not valid (unknown or revoked)")]
    InvalidCredentials,
    /// The key lacks a scope.
    #[error("this API key lacks the `{needed:?}` scope needed here")]
    Forbidden {
        /// The scope needed.
        needed: Scope,
    },
    /// The API key sent more requests than its rate allows.
    #[error("this API key is over its request rate; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until a request would pass.
        retry_after: u64,
    },
    /// The API key used up its embedding quota (characters embedded per minute).
    #[error("this API key has used up its embedding quota for now; retry in {retry_after} s")]
    QuotaExceeded {
        /// Seconds until this much text could be embedded.
        retry_after: u64,
    },
    /// The embedding model failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The store is busy or unreachable for a moment (see [`StoreError::is_transient`]); the request may be
    /// retried.
    #[error("the store is busy or unreachable for a moment; retry shortly")]
    StoreBusy(StoreError),
    /// The configured store cannot do this (e.g. a backup file of a PostgreSQL store); says what to use instead.
    #[error("{0}")]
    NotSupported(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A job or campaign run hit a bug (it panicked); the run is recorded as failed.
    #[error("the run failed on a bug: {0}")]
    RunPanicked(String),
    /// The vector index failed.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ExternalIdConflict { external_id, existing } => {
                Self::ExternalIdConflict { external_id, existing }
            }
            StoreError::Invalid(invalid) => Self::Invalid(invalid),
            StoreError::WorkspaceExists(id) => Self::WorkspaceExists(id),
            StoreError::Unsupported(what) => Self::NotSupported(what),
            transient if transient.is_transient() => Self::StoreBusy(transient),
            other => Self::Store(other),
        }
    }
}

/// The message a panic carried (for the log and the failed run), or an empty string.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Maps a store error where `NotFound` means the given customer is absent.
pub(crate) fn customer_error(id: &str) -> impl FnOnce(StoreError) -> ServiceError + '_ {
    move |e| match e {
        StoreError::NotFound => ServiceError::CustomerNotFound(id.to_owned()),
        other => other.into(),
    }
}
