//! Incidents: declare, update (end and resolution), list; and their embeddings for the incident detector.

use serde_json::Value;

use super::{require, ServiceError, Services};
use crate::domain::incident::{Incident, IncidentInput};
use crate::domain::{Principal, Scope, WorkspaceId};

impl Services {
    /// Declares an incident.
    pub async fn declare_incident(
        &self,
        principal: &Principal,
        input: IncidentInput,
    ) -> Result<Incident, ServiceError> {
        require(principal, Scope::Write)?;
        let now = self.now();
        let incident = Incident {
            id: format!("inc_{}", ulid::Ulid::new().to_string().to_lowercase()),
            workspace: principal.workspace.clone(),
            fields: input.validated()?,
            created_at: now,
            updated_at: now,
        };
        let stored = incident.clone();
        self.blocking(move |s| s.put_incident(&stored)).await?;
        Ok(incident)
    }

    /// Updates an incident with a merge patch (typically `ended_at` and `resolution`).
    pub async fn patch_incident(
        &self,
        principal: &Principal,
        id: &str,
        patch: Value,
    ) -> Result<Incident, ServiceError> {
        require(principal, Scope::Write)?;
        let mut incident = self.get_incident(principal, id).await?;
        incident.fields = crate::domain::merge_patch::patched(&incident.fields, &patch)?.validated()?;
        incident.updated_at = self.now();
        let stored = incident.clone();
        self.blocking(move |s| s.put_incident(&stored)).await?;
        Ok(incident)
    }

    /// One incident.
    pub async fn get_incident(&self, principal: &Principal, id: &str) -> Result<Incident, ServiceError> {
        require(principal, Scope::Read)?;
        let (ws, key) = (principal.workspace.clone(), id.to_owned());
        self.blocking(move |s| s.get_incident(&ws, &key))
            .await?
            .ok_or_else(|| ServiceError::IncidentNotFound(id.to_owned()))
    }

    /// Every incident of the caller's workspace.
    pub async fn list_incidents(&self, principal: &Principal) -> Result<Vec<Incident>, ServiceError> {
        require(principal, Scope::Read)?;
        let ws = principal.workspace.clone();
        Ok(self.blocking(move |s| s.list_incidents(&ws)).await?)
    }

    /// The workspace's incidents with the embedding of their text (for the incident detector).
    pub async fn incidents_embedded(&self, workspace: &WorkspaceId) -> Result<Vec<(Incident, Vec<f32>)>, ServiceError> {
        let ws = workspace.clone();
        let incidents = self.blocking(move |s| s.list_incidents(&ws)).await?;
        let mut out = Vec::with_capacity(incidents.len());
        for incident in incidents {
            let vector = self.embed_query(&incident.text()).await?;
            out.push((incident, vector));
        }
        Ok(out)
    }
}
