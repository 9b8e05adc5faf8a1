//! `low_csat_followup`: a CSAT of 1-2 or an NPS detractor score (0-6) gets a human follow-up.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{topic, Finding, Snapshot};

/// Parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Only interactions opened within this many days (default 30).
    #[serde(default = "thirty", deserialize_with = "crate::domain::whole::int")]
    pub days: i64,
    /// CSAT at or below this (default 2).
    #[serde(default = "two", deserialize_with = "crate::domain::whole::int")]
    pub max_csat: u8,
    /// NPS at or below this (default 6).
    #[serde(default = "six", deserialize_with = "crate::domain::whole::int")]
    pub max_nps: u8,
}

fn thirty() -> i64 {
    30
}
fn two() -> u8 {
    2
}
fn six() -> u8 {
    6
}

/// Finds the latest recent interaction with a low score.
pub fn detect(p: &Params, s: &Snapshot<'_>, now: DateTime<Utc>) -> Option<Finding> {
    let low: Vec<_> = s
        .interactions
        .iter()
        .filter(|i| i.fields.opened_at >= now - Duration::days(p.days) && i.fields.opened_at <= now)
        .filter(|i| i.fields.csat.is_some_and(|c| c <= p.max_csat) || i.fields.nps.is_some_and(|n| n <= p.max_nps))
        .collect();
    let latest = low.iter().max_by_key(|i| i.fields.opened_at)?;
    let score = match (latest.fields.csat, latest.fields.nps) {
        (Some(c), _) if c <= p.max_csat => format!("CSAT {c}"),
        (_, Some(n)) => format!("NPS {n}"),
        _ => "a low score".into(),
    };
    let mut evidence: Vec<String> = low.iter().map(|i| i.fields.external_id.clone()).collect();
    evidence.sort();
    Some(Finding {
        reason_code: "low_csat".into(),
        reason: format!("{score} on \"{}\": a person should follow up", topic(latest)),
        evidence,
        topic: topic(latest),
    })
}
