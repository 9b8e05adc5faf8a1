//! Campaigns: a segment of customers (profile, health, and optionally what they said), a message, and a schedule.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::outreach::OutreachSpec;
use super::WorkspaceId;

/// Who a campaign targets; every given filter must match.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Only customers on this plan.
    pub plan: Option<String>,
    /// Only customers with this tag.
    pub tag: Option<String>,
    /// Only customers whose health is at least this (0-100).
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub health_min: Option<u8>,
    /// Only customers whose health is at most this (0-100).
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub health_max: Option<u8>,
    /// Only customers who said something like this (matched by meaning against their messages).
    #[schema(example = "complained about battery life")]
    pub query: Option<String>,
    /// Score from which a customer's message matches `query` (default 0.5): meaning standardised over the
    /// workspace's messages (0.65) plus keyword overlap (0.35), the same fusion as recall.
    pub query_threshold: Option<f32>,
}

/// What a client sends to create or replace a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// Name (1-200 characters).
    #[schema(
        example = "Battery life check-in",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub name: String,
    /// Who it targets.
    #[serde(default)]
    pub segment: Segment,
    /// What it queues.
    pub outreach: OutreachSpec,
    /// Cron schedule with seconds first; absent: it runs once, when asked.
    #[schema(example = "0 0 9 * * 1")]
    pub schedule: Option<String>,
    /// Time zone of the schedule (default UTC).
    #[serde(default = "utc")]
    #[schema(value_type = super::schemas::TimeZoneName)]
    pub timezone: String,
    /// The same customer gets no second item from this campaign within this many hours (default 720, at most
    /// 87,600: ten years).
    #[schema(minimum = 0, maximum = 87600)]
    #[serde(default = "month", deserialize_with = "crate::domain::whole::int")]
    pub cooldown_hours: u32,
}

fn utc() -> String {
    "UTC".into()
}

fn month() -> u32 {
    720
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    /// Id (`cmp_...`).
    pub id: String,
    /// Workspace.
    pub workspace: WorkspaceId,
    /// The campaign.
    #[serde(flatten)]
    pub fields: CampaignInput,
    /// When it last ran.
    pub last_run_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}
