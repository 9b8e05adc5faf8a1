//! The record of one job run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What one run of a job did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct JobRun {
    /// Run id (`run_...`).
    pub id: String,
    /// The job.
    pub job_id: String,
    /// `schedule`, `startup` (a run missed while the server was down) or `manual`.
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
}
