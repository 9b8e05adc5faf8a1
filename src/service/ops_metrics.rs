//! The operations metrics scrape: the store's counts read on the blocking pool, rendered with the recorders.

use super::{ServiceError, Services};
use crate::domain::auth::hash_secret;
use crate::ops_metrics::{render, StoreSnapshot};

impl Services {
    /// The Prometheus text of every operations metric. With a configured metrics token, `bearer` must be it
    /// (`missing_api_key` without one, `invalid_api_key` when it differs); API keys are not accepted.
    pub async fn operations_metrics(&self, bearer: Option<&str>) -> Result<String, ServiceError> {
        if let Some(expected) = &self.metrics_token_hash {
            match bearer {
                None => return Err(ServiceError::MissingCredentials),
                Some(token) if hash_secret(token) != *expected => return Err(ServiceError::InvalidCredentials),
                Some(_) => {}
            }
        }
        let vectors = std::sync::Arc::clone(&self.vectors);
        let snapshot = self
            .blocking(move |s| {
                Ok(StoreSnapshot {
                    workspaces: s.workspace_counts()?,
                    file_bytes: s.file_bytes()?,
                    index_pending: vectors.pending() as u64,
                })
            })
            .await?;
        Ok(render(&snapshot))
    }
}
