//! Customer health: a 0-100 score with its parts explained, from sentiment, open issues, overdue promises,
//! contact frequency, satisfaction scores and recency.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::detect::{mean, sentiments, Snapshot};
use super::memory::MemoryKind;

/// One part of the score: its value (0 bad, 1 good), weight, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthPart {
    /// `sentiment`, `open_issues`, `overdue_commitments`, `contact_frequency`, `satisfaction` or `recency`.
    pub name: String,
    /// 0 (bad) to 1 (good).
    pub value: f32,
    /// Share of the score.
    pub weight: f32,
    /// In words.
    pub detail: String,
}

/// A health score and its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// 0 (about to leave) to 100 (thriving).
    #[schema(example = 72)]
    pub score: u8,
    /// The parts, summing (value × weight) to the score.
    pub parts: Vec<HealthPart>,
    /// When it was computed.
    pub computed_at: DateTime<Utc>,
}

/// Computes the health of one customer at `now`.
pub fn compute(s: &Snapshot<'_>, now: DateTime<Utc>) -> Health {
    let mut parts = Vec::new();
    let mut part = |name: &str, value: f32, weight: f32, detail: String| {
        parts.push(HealthPart {
            name: name.into(),
            value: value.clamp(0.0, 1.0),
            weight,
            detail,
        });
    };
    let recent: Vec<f32> = sentiments(s, now - Duration::days(90), now)
        .into_iter()
        .map(|(x, _)| x)
        .collect();
    match mean(&recent) {
        Some(m) => part(
            "sentiment",
            (m + 1.0) / 2.0,
            0.3,
            format!("mean {m:.2} over {} messages in 90 days", recent.len()),
        ),
        None => part("sentiment", 0.6, 0.3, "no message in 90 days".into()),
    }
    let open = s
        .memories
        .iter()
        .filter(|m| m.memory.kind == MemoryKind::Issue && m.memory.open)
        .count();
    part(
        "open_issues",
        1.0 / (1.0 + open as f32),
        0.2,
        format!("{open} unresolved issues"),
    );
    let overdue = s
        .memories
        .iter()
        .filter(|m| {
            m.memory.kind == MemoryKind::Commitment && m.memory.open && m.memory.due_at.is_some_and(|d| d < now)
        })
        .count();
    part(
        "overdue_commitments",
        1.0 / (1.0 + 2.0 * overdue as f32),
        0.15,
        format!("{overdue} promises past due"),
    );
    let contacts = s
        .interactions
        .iter()
        .filter(|i| i.fields.opened_at >= now - Duration::days(30) && i.fields.opened_at <= now)
        .count();
    part(
        "contact_frequency",
        1.0 - (contacts.saturating_sub(1) as f32 / 5.0),
        0.15,
        format!("{contacts} contacts in 30 days"),
    );
    let scores: Vec<f32> = s
        .interactions
        .iter()
        .filter(|i| i.fields.opened_at >= now - Duration::days(180))
        .flat_map(|i| {
            i.fields
                .csat
                .map(|c| (c as f32 - 1.0) / 4.0)
                .into_iter()
                .chain(i.fields.nps.map(|n| n as f32 / 10.0))
        })
        .collect();
    match mean(&scores) {
        Some(m) => part(
            "satisfaction",
            m,
            0.15,
            format!("mean of {} CSAT/NPS scores in 180 days", scores.len()),
        ),
        None => part("satisfaction", 0.6, 0.15, "no score in 180 days".into()),
    }
    let last = s
        .interactions
        .iter()
        .map(|i| i.fields.opened_at)
        .filter(|t| *t <= now)
        .max();
    match last {
        Some(t) => {
            let days = (now - t).num_days();
            part(
                "recency",
                1.0 - (days as f32 / 180.0),
                0.05,
                format!("last contact {days} days ago"),
            )
        }
        None => part("recency", 0.5, 0.05, "never in contact".into()),
    }
    let score = parts.iter().map(|p| p.value * p.weight).sum::<f32>() * 100.0;
    Health {
        score: score.round().clamp(0.0, 100.0) as u8,
        parts,
        computed_at: now,
    }
}
