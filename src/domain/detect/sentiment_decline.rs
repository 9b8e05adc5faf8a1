//! `sentiment_decline`: recent sentiment below a threshold, or fallen by a margin against the customer's own
//! longer-term average.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{mean, Finding, Snapshot};
use crate::domain::mood;

/// Parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Recent (recency-weighted) mean at or below this fires with a frustrated message (default -0.5).
    #[serde(default = "threshold")]
    pub threshold: f32,
    /// A fall to below zero of at least this against the baseline fires too (default 0.6).
    #[serde(default = "margin")]
    pub margin: f32,
    /// Recent window in days (default 30).
    #[serde(default = "thirty", deserialize_with = "crate::domain::whole::int")]
    pub recent_days: i64,
    /// Baseline window before it, in days (default 180).
    #[serde(default = "one_eighty", deserialize_with = "crate::domain::whole::int")]
    pub baseline_days: i64,
    /// Recent messages needed (default 2).
    #[serde(default = "two", deserialize_with = "crate::domain::whole::int")]
    pub min_messages: usize,
}

fn threshold() -> f32 {
    -0.5
}
fn margin() -> f32 {
    0.6
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

/// Fires when the customer's recent messages are negative (recency-weighted mean at or below the threshold) with
/// one of them frustrated, or when they turned negative, falling by the margin against the customer's own
/// baseline: a calm problem report is not a decline, an exasperated run of messages is; a clearly happy last
/// message ends it.
pub fn detect(p: &Params, s: &Snapshot<'_>, now: DateTime<Utc>) -> Option<Finding> {
    let split = now - Duration::days(p.recent_days);
    let moods = mood::moods(s.memories);
    // A clearly happy message ends what came before it ("angry, then happy").
    let happy_since = moods
        .iter()
        .filter(|m| m.score > 0.5 && m.at <= now)
        .map(|m| m.at)
        .max();
    let latest = moods.iter().filter(|m| m.at <= now).max_by_key(|m| m.at);
    if happy_since.is_some_and(|h| latest.is_none_or(|l| l.at <= h)) || latest.is_some_and(|l| l.score > 0.2) {
        // The customer's last word is content: whatever came before is settled.
        return None;
    }
    let recent: Vec<&mood::MessageMood> = moods.iter().filter(|m| m.at >= split && m.at <= now).collect();
    if recent.len() < p.min_messages {
        return None;
    }
    let baseline: Vec<f32> = moods
        .iter()
        .filter(|m| m.at >= split - Duration::days(p.baseline_days) && m.at < split)
        .map(|m| m.score)
        .collect();
    let weights: Vec<f32> = recent
        .iter()
        .map(|m| 0.5f32.powf((now - m.at).num_hours().max(0) as f32 / 24.0 / 7.0))
        .collect();
    let total: f32 = weights.iter().sum();
    let r = recent.iter().zip(&weights).map(|(m, w)| m.score * w).sum::<f32>() / total.max(1e-6);
    let b = mean(&baseline);
    let frustrated = recent.iter().filter(|m| m.frustrated).count();
    let reason = if r <= p.threshold && frustrated > 0 {
        format!(
            "recent sentiment is low ({r:.2} over {} days) with {frustrated} frustrated messages",
            p.recent_days
        )
    } else if let Some(b) = b.filter(|b| r < 0.0 && b - r >= p.margin) {
        format!("sentiment fell from {b:.2} to {r:.2}")
    } else {
        return None;
    };
    let mut evidence: Vec<String> = recent
        .iter()
        .filter(|m| m.score < 0.0)
        .map(|m| m.interaction.clone())
        .collect();
    evidence.sort();
    evidence.dedup();
    Some(Finding {
        reason_code: "sentiment_decline".into(),
        reason,
        evidence,
        topic: "your recent experience".into(),
    })
}
