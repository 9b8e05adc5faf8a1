//! `churn_risk`: renewal within N days together with signs of trouble (low recent sentiment, an unresolved
//! issue, a low score), or a previously active customer gone silent for D days.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{mean, sentiments, Finding, Snapshot};
use crate::domain::lifecycle::issue_open_at;

/// Parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Renewal within this many days (default 30).
    #[serde(default = "thirty", deserialize_with = "crate::domain::whole::int")]
    pub renewal_days: i64,
    /// Recent (90 days) mean sentiment below this is trouble (default -0.2).
    #[serde(default = "sentiment_below")]
    pub sentiment_below: f32,
    /// Silence of this many days after being active is a risk (default 90).
    #[serde(default = "ninety", deserialize_with = "crate::domain::whole::int")]
    pub silent_days: i64,
    /// Interactions in the 180 days before the silence that make a customer "active" (default 4).
    #[serde(default = "four", deserialize_with = "crate::domain::whole::int")]
    pub active_contacts: usize,
}

fn thirty() -> i64 {
    30
}
fn sentiment_below() -> f32 {
    -0.2
}
fn ninety() -> i64 {
    90
}
fn four() -> usize {
    4
}

/// Renewal trouble first, then silence.
pub fn detect(p: &Params, s: &Snapshot<'_>, now: DateTime<Utc>) -> Option<Finding> {
    let today = now.date_naive();
    if let Some(renewal) = s
        .customer
        .fields
        .renewal_date
        .filter(|r| *r >= today && (*r - today).num_days() <= p.renewal_days)
    {
        let recent = sentiments(s, now - Duration::days(90), now);
        let mood = mean(&recent.iter().map(|(x, _)| *x).collect::<Vec<_>>());
        let low_score = s.interactions.iter().any(|i| {
            i.fields.opened_at >= now - Duration::days(90)
                && (i.fields.csat.is_some_and(|c| c <= 2) || i.fields.nps.is_some_and(|n| n <= 6))
        });
        let open_issue = s.memories.iter().any(|m| issue_open_at(&m.memory, now));
        let mut signs = Vec::new();
        if mood.is_some_and(|m| m < p.sentiment_below) {
            signs.push(format!("sentiment {:.2}", mood.unwrap_or_default()));
        }
        if low_score {
            signs.push("a low CSAT/NPS".to_owned());
        }
        if open_issue {
            signs.push("an unresolved issue".to_owned());
        }
        if !signs.is_empty() {
            let mut evidence: Vec<String> = recent.into_iter().filter(|(x, _)| *x < 0.0).map(|(_, i)| i).collect();
            evidence.sort();
            evidence.dedup();
            return Some(Finding {
                reason_code: "churn_risk_renewal".into(),
                reason: format!("renewal on {renewal} with {}", signs.join(", ")),
                evidence,
                topic: "your renewal".into(),
            });
        }
    }
    let last = s
        .interactions
        .iter()
        .map(|i| i.fields.opened_at)
        .filter(|t| *t <= now)
        .max()?;
    let silent_since = now - Duration::days(p.silent_days);
    if last >= silent_since {
        return None;
    }
    let active = s
        .interactions
        .iter()
        .filter(|i| {
            last.checked_sub_signed(Duration::days(180))
                .is_none_or(|from| i.fields.opened_at > from)
        })
        .count();
    (active >= p.active_contacts).then(|| Finding {
        reason_code: "churn_risk_silent".into(),
        reason: format!(
            "no contact since {} after {active} interactions in the six months before",
            last.format("%Y-%m-%d")
        ),
        evidence: s
            .interactions
            .iter()
            .filter(|i| i.fields.opened_at == last)
            .map(|i| i.fields.external_id.clone())
            .collect(),
        topic: "how things are going".into(),
    })
}
