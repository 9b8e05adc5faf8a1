//! Customer health: a 0-100 score with its parts explained, from sentiment, open issues, overdue promises,
//! frustration and threats, contact frequency, satisfaction scores and recency.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::detect::{mean, Snapshot};
use super::interaction::AuthorRole;
use super::mood;
use super::sentiment::Cue;
use super::text::Lang;

/// One part of the score: its value (0 bad, 1 good), weight, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthPart {
    /// `sentiment`, `open_issues`, `overdue_commitments`, `frustration`, `contact_frequency`, `satisfaction` or
    /// `recency`.
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
    /// The parts, summing (value × weight) to the score unless a cap holds it lower.
    pub parts: Vec<HealthPart>,
    /// Serious trouble that holds the score at or below a ceiling whatever the parts say (a threat to leave, a
    /// broken promise, a customer left waiting, repeated contacts about one problem).
    #[serde(default)]
    pub caps: Vec<HealthCap>,
    /// When it was computed.
    pub computed_at: DateTime<Utc>,
}

/// A ceiling on the score and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthCap {
    /// `threat_to_leave`, `broken_promise`, `unanswered` or `repeat_contact`.
    pub name: String,
    /// The highest score allowed.
    pub max: u8,
    /// In words.
    pub detail: String,
}

/// Hours a customer's last message may wait for an answer before they count as left waiting.
pub const UNANSWERED_HOURS: i64 = 48;

/// Computes the health of one customer at `now`: how they feel lately, what is still wrong (open issues, broken
/// promises), the signs of trouble in their words (threats to leave, frustration), how often they had to write,
/// their satisfaction scores, and how recently they were in touch.
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
    let moods = mood::moods(s.memories);
    let trouble = mood::trouble(s.memories, &moods, now);
    let trend = mood::trend(&moods, None, &trouble, now, Lang::En);
    let recent: Vec<&mood::MessageMood> = moods
        .iter()
        .filter(|m| m.at >= now - Duration::days(90) && m.at <= now)
        .collect();
    if recent.is_empty() {
        part("sentiment", 0.6, 0.25, "no message in 90 days".into());
    } else {
        part(
            "sentiment",
            (trend.recent + 1.0) / 2.0,
            0.25,
            format!(
                "recent mean {:.2} over {} messages in 90 days, latest weighing most",
                trend.recent,
                recent.len()
            ),
        );
    }
    let open = trouble.open_issues.len();
    part(
        "open_issues",
        1.0 / (1.0 + open as f32),
        0.15,
        format!("{open} unresolved issues"),
    );
    let overdue = trouble.overdue.len();
    part(
        "overdue_commitments",
        1.0 / (1.0 + 2.0 * overdue as f32),
        0.15,
        format!("{overdue} promises past due"),
    );
    let threats: Vec<&str> = trouble
        .cues
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| matches!(c, Cue::ThreatToLeave | Cue::LegalThreat))
        .map(Cue::code)
        .collect();
    let (value, detail) = if !threats.is_empty() {
        (
            0.0,
            format!("{} in the last {} days", threats.join(", "), mood::CUE_DAYS),
        )
    } else if trouble.frustrated_messages > 0 {
        (
            0.3,
            format!(
                "{} frustrated messages in the last {} days",
                trouble.frustrated_messages,
                mood::CUE_DAYS
            ),
        )
    } else {
        (1.0, "no sign of frustration lately".into())
    };
    part("frustration", value, 0.15, detail);
    let contacts = s
        .interactions
        .iter()
        .filter(|i| i.fields.opened_at >= now - Duration::days(30) && i.fields.opened_at <= now)
        .count();
    part(
        "contact_frequency",
        1.0 - (contacts.saturating_sub(1) as f32 / 4.0),
        0.1,
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
    let mut caps = Vec::new();
    let mut cap = |name: &str, max: u8, detail: String| {
        caps.push(HealthCap {
            name: name.into(),
            max,
            detail,
        })
    };
    if !threats.is_empty() {
        cap(
            "threat_to_leave",
            35,
            format!("{} in the last {} days", threats.join(", "), mood::CUE_DAYS),
        );
    }
    if let Some(p) = trouble.overdue.first() {
        let due = p.due_at.unwrap_or(p.observed_at).format("%Y-%m-%d");
        cap("broken_promise", 45, format!("promise due {due} not kept: {}", p.text));
    }
    let waiting = s
        .interactions
        .iter()
        .filter(|i| i.fields.status.is_active())
        .filter_map(|i| i.fields.messages.iter().rfind(|m| m.sent_at <= now).map(|m| (i, m)))
        .filter(|(_, m)| m.role == AuthorRole::Customer && m.sent_at <= now - Duration::hours(UNANSWERED_HOURS))
        .min_by_key(|(_, m)| m.sent_at);
    if let Some((i, m)) = waiting {
        cap(
            "unanswered",
            45,
            format!(
                "waiting {} hours for an answer in {}",
                (now - m.sent_at).num_hours(),
                i.fields.external_id
            ),
        );
    }
    if trouble.recent_contacts >= 3 && !trouble.open_issues.is_empty() {
        cap(
            "repeat_contact",
            45,
            format!(
                "{} contacts in {} days about an unresolved problem",
                trouble.recent_contacts,
                mood::REPEAT_DAYS
            ),
        );
    }
    let weighted = parts.iter().map(|p| p.value * p.weight).sum::<f32>() * 100.0;
    let ceiling = caps.iter().map(|c| c.max as f32).fold(100.0f32, f32::min);
    Health {
        score: weighted.min(ceiling).round().clamp(0.0, 100.0) as u8,
        parts,
        caps,
        computed_at: now,
    }
}
