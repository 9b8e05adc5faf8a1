//! The record of one job run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::WorkspaceId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What one run of a job (or a campaign) did in one workspace.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct JobRun {
    /// Run id (`run_...`).
    pub id: String,
    /// The job (`campaign:<id>` for a campaign run).
    pub job_id: String,
    /// The workspace it ran in.
    #[serde(default = "WorkspaceId::default_workspace")]
    pub workspace: WorkspaceId,
    /// `schedule`, `startup` (a run missed while the server was down), `rerun` (a scheduled run whose node
    /// stopped before it finished, run by another node) or `manual`.
    pub trigger: String,
    /// When it started (the clock the detectors used).
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Customers looked at.
    pub customers_scanned: u64,
    /// Customers the detector matched.
    pub matches: u64,
    /// Items queued.
    pub queued: u64,
    /// Matches not queued, by the rule that skipped them (`do_not_contact`, `no_consent`, `weekly_cap`,
    /// `duplicate`).
    pub skipped: BTreeMap<String, u64>,
    /// Errors, one line each.
    pub errors: Vec<String>,
    /// Who matched and why, and what became of it (the first [`MAX_MATCHES_RECORDED`]).
    #[serde(default)]
    pub matched: Vec<RunMatch>,
}

/// How many matches a run record lists.
pub const MAX_MATCHES_RECORDED: usize = 500;

/// One customer a run matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunMatch {
    /// Customer id.
    pub customer_id: String,
    /// The customer's external id.
    pub external_id: String,
    /// Why, in words.
    pub reason: String,
    /// `queued`, or the rule that skipped it (`do_not_contact`, `no_consent`, `weekly_cap`, `duplicate`), or
    /// `error`.
    pub outcome: String,
}
