//! Incidents: known problems (outages, bad firmware) declared by the support team, matched against what
//! customers reported.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{validate, InvalidInput, WorkspaceId};

/// What a client sends to declare or update an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentInput {
    /// Short title.
    #[schema(
        example = "Hub v1 drops offline every night",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub title: String,
    /// What customers see, in their words if possible (it is matched against their messages by meaning).
    #[schema(
        example = "Since the cloud relay 3.2.0 rollout, Lumen Hub v1 units disconnect between 2 and 6 am.",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 5000
    )]
    pub description: String,
    /// Product concerned.
    #[schema(
        example = "Lumen Hub v1",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub product: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended, not before `started_at` (422 `invalid_field`); set it (with `resolution`) to trigger follow-ups.
    pub ended_at: Option<DateTime<Utc>>,
    /// What fixed it, for the follow-up message.
    #[schema(
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 5000
    )]
    pub resolution: Option<String>,
}

impl IncidentInput {
    /// Checks the texts and the times.
    pub fn validated(mut self) -> Result<Self, InvalidInput> {
        self.title = validate::text("title", &self.title, 200)?;
        self.description = validate::text("description", &self.description, 5_000)?;
        self.product = self
            .product
            .map(|p| validate::text("product", &p, validate::MAX_TEXT_CHARS))
            .transpose()?;
        self.resolution = self
            .resolution
            .map(|r| validate::text("resolution", &r, 5_000))
            .transpose()?;
        validate::time("started_at", self.started_at)?;
        if let Some(ended) = self.ended_at {
            validate::time("ended_at", ended)?;
        }
        if self.ended_at.is_some_and(|e| e < self.started_at) {
            return Err(InvalidInput::new(
                "invalid_field",
                "ended_at",
                "must not be before started_at",
            ));
        }
        Ok(self)
    }
}

/// A declared incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    /// Id (`inc_...`).
    pub id: String,
    /// Workspace.
    pub workspace: WorkspaceId,
    /// The incident.
    #[serde(flatten)]
    pub fields: IncidentInput,
    /// When it was declared.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Incident {
    /// The text matched against customers' messages.
    pub fn text(&self) -> String {
        format!("{}. {}", self.fields.title, self.fields.description)
    }
}
