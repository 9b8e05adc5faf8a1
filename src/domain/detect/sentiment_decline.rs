//! `sentiment_decline`: recent sentiment below a threshold, or fallen by a margin against the customer's own
//! longer-term average.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{mean, sentiments, Finding, Snapshot};

/// Parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Recent mean at or below this fires (default -0.4).
    #[serde(default = "threshold")]
    pub threshold: f32,
    /// A fall of at least this against the baseline fires (default 0.35).
    #[serde(default = "margin")]
    pub margin: f32,
    /// Recent window in days (default 30).
    #[serde(default = "thirty")]
    pub recent_days: i64,
    /// Baseline window before it, in days (default 180).
    #[serde(default = "one_eighty")]
    pub baseline_days: i64,
    /// Recent messages needed (default 2).
    #[serde(default = "two")]
    pub min_messages: usize,
}

fn threshold() -> f32 {
    -0.4
}
fn margin() -> f32 {
    0.35
}
fn thirty() -> i64 {
    30
}
fn one_eighty() -> i64 {
    180
}
fn two() -> usize {
    2
}

/// Compares recent sentiment to the threshold and to the baseline.
pub fn detect(p: &Params, s: &Snapshot<'_>, now: DateTime<Utc>) -> Option<Finding> {
    let split = now - Duration::days(p.recent_days);
    let recent = sentiments(s, split, now);
    if recent.len() < p.min_messages {
        return None;
    }
    let baseline = sentiments(s, split - Duration::days(p.baseline_days), split);
    let r = mean(&recent.iter().map(|(x, _)| *x).collect::<Vec<_>>())?;
    let b = mean(&baseline.iter().map(|(x, _)| *x).collect::<Vec<_>>());
    let reason = if r <= p.threshold {
        format!("recent sentiment is low ({r:.2} over {} days)", p.recent_days)
    } else if b.is_some_and(|b| b - r >= p.margin) {
        format!("sentiment fell from {:.2} to {r:.2}", b.unwrap_or_default())
    } else {
        return None;
    };
    let mut evidence: Vec<String> = recent.into_iter().filter(|(x, _)| *x < 0.0).map(|(_, i)| i).collect();
    evidence.sort();
    evidence.dedup();
    Some(Finding {
        reason_code: "sentiment_decline".into(),
        reason,
        evidence,
        topic: "your recent experience".into(),
    })
}
