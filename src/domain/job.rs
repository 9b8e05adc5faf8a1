//! A job definition: a scheduled detector and the outreach it queues. Operators write them (the `jobs/` folder
//! seeds a new store; the API changes them afterwards), the service stores them with the data.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::detect::{params, Detector};
use super::schedule::parse_cron;
use super::WorkspaceId;

pub use super::outreach::OutreachSpec;

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

fn week() -> u32 {
    168
}

/// A scheduled detector and the outreach it queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobDefinition {
    /// Slug (the seed file's name without `.toml`).
    #[schema(example = "sentiment_decline", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub id: String,
    /// What the job is for.
    pub description: String,
    /// Cron schedule with seconds first (`0 0 9 * * *`: every day at 09:00).
    #[schema(example = "0 0 9 * * *")]
    pub schedule: String,
    /// Time zone of the schedule (default UTC).
    #[serde(default = "utc")]
    #[schema(value_type = super::schemas::TimeZoneName)]
    pub timezone: String,
    /// Disabled jobs only run on demand.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The same customer, reason and evidence give no second item within this many hours (default 168, at most
    /// 87,600: ten years).
    #[schema(minimum = 0, maximum = 87600)]
    #[serde(default = "week", deserialize_with = "crate::domain::whole::int")]
    pub cooldown_hours: u32,
    /// Only customers whose health (0-100) is at most this.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::domain::whole::opt"
    )]
    pub max_health: Option<u8>,
    /// The detector and its parameters.
    #[schema(value_type = super::schemas::DetectorSchema)]
    pub detector: Detector,
    /// What to queue.
    pub outreach: OutreachSpec,
}

impl JobDefinition {
    /// The parts a merge patch replaces whole: a detector is its kind with that kind's parameters.
    pub const PATCHED_WHOLE: &'static [&'static str] = &["detector"];

    /// Checks the id, the schedule, the time zone, the templates and the priority.
    pub fn validate(&self) -> Result<(), String> {
        WorkspaceId::parse(&self.id).map_err(|_| "id must be a slug of a-z, 0-9, '-' and '_'".to_owned())?;
        parse_cron(&self.schedule)?;
        chrono_tz::Tz::from_str(&self.timezone).map_err(|_| format!("unknown time zone {:?}", self.timezone))?;
        super::outreach::check_templates("outreach.templates", &self.outreach.templates)
            .map_err(|e| format!("outreach.templates: {}", e.message))?;
        super::outreach::check_cooldown("cooldown_hours", self.cooldown_hours)
            .map_err(|e| format!("cooldown_hours {}", e.message))?;
        params::check(&serde_json::to_value(&self.detector).expect("detectors serialise to JSON"))?;
        if !(1..=5).contains(&self.outreach.priority) {
            return Err("outreach.priority must be between 1 and 5".into());
        }
        Ok(())
    }

    /// The latest scheduled time at or before `now`, in whole seconds (see [`super::schedule::previous_fire`]).
    pub fn previous_fire(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        super::schedule::previous_fire(&self.schedule, &self.timezone, now)
    }
}
