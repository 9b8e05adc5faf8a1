//! Customer health: computed on demand and by the daily sweep, recorded so a trend can be seen.

use serde::Serialize;
use utoipa::ToSchema;

use super::{require, ServiceError, Services};
use crate::domain::detect::Snapshot;
use crate::domain::health::{compute, Health};
use crate::domain::{Principal, Scope, WorkspaceId};

/// A customer's health now, and before.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthReport {
    /// Computed now.
    pub current: Health,
    /// Earlier scores, newest first (the last 30).
    pub history: Vec<Health>,
}

impl Services {
    /// Computes a customer's health now and returns it with its history. It is recorded when the score differs
    /// from the last recorded one or that one is from an earlier UTC day, so a console reading it on every visit
    /// does not fill the history with copies.
    pub async fn health(&self, principal: &Principal, customer_id: &str) -> Result<HealthReport, ServiceError> {
        require(principal, Scope::Read)?;
        let (customer, interactions, memories) = self.customer_history(principal, customer_id).await?;
        let snapshot = Snapshot {
            customer: &customer,
            interactions: &interactions,
            memories: &memories,
            incidents: &[],
        };
        let current = compute(&snapshot, self.now());
        let (ws, cid, h) = (customer.workspace.clone(), customer.id.clone(), current.clone());
        let history = self
            .blocking(move |s| {
                let history = s.health_history(&ws, &cid, 30)?;
                let same_recently = history.first().is_some_and(|last| {
                    last.score == h.score && last.computed_at.date_naive() == h.computed_at.date_naive()
                });
                if !same_recently {
                    s.save_health(&ws, &cid, &h)?;
                }
                Ok(history)
            })
            .await
            .map_err(super::error::customer_error(customer_id))?;
        Ok(HealthReport { current, history })
    }

    /// Recomputes and records every customer's health in every workspace; returns how many.
    pub async fn recompute_health(&self) -> Result<u64, ServiceError> {
        let mut count = 0;
        for ws in self
            .list_workspaces(&super::operator(WorkspaceId::default_workspace()))
            .await?
        {
            let principal = super::operator(ws.id.clone());
            for c in self.all_customers(&principal, Default::default()).await? {
                self.health(&principal, c.id.as_str()).await?;
                count += 1;
            }
        }
        tracing::info!(customers = count, "health recomputed");
        Ok(count)
    }
}
