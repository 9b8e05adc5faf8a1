//! `unresolved_aging`: an open interaction whose last word is the customer's for more than H hours, or an
//! agent's promise past its due time and not kept (whatever the ticket's status).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{topic, Finding, Snapshot};
use crate::domain::interaction::AuthorRole;
use crate::domain::lifecycle::overdue_at;

/// Parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Hours without an agent reply (default 48).
    #[serde(default = "forty_eight", deserialize_with = "crate::domain::whole::int")]
    pub hours: i64,
}

fn forty_eight() -> i64 {
    48
}

/// Finds the oldest unanswered open interaction, or an overdue promise.
pub fn detect(p: &Params, s: &Snapshot<'_>, now: DateTime<Utc>) -> Option<Finding> {
    let waiting = s
        .interactions
        .iter()
        .filter(|i| i.fields.status.is_active())
        .filter_map(|i| i.fields.messages.iter().rfind(|m| m.sent_at <= now).map(|m| (i, m)))
        .filter(|(_, m)| m.role == AuthorRole::Customer && m.sent_at <= now - Duration::hours(p.hours))
        .min_by_key(|(_, m)| m.sent_at);
    if let Some((i, m)) = waiting {
        let hours = (now - m.sent_at).num_hours();
        return Some(Finding {
            reason_code: "unresolved_aging".into(),
            reason: format!("waiting {hours} hours for a reply on \"{}\"", topic(i)),
            evidence: vec![i.fields.external_id.clone()],
            topic: topic(i),
        });
    }
    let overdue = s
        .memories
        .iter()
        .filter(|m| overdue_at(&m.memory, now))
        .min_by_key(|m| m.memory.due_at.unwrap_or(m.memory.observed_at))?;
    Some(Finding {
        reason_code: "overdue_commitment".into(),
        reason: format!(
            "a promise was due on {}: {}",
            overdue
                .memory
                .due_at
                .unwrap_or(overdue.memory.observed_at)
                .format("%Y-%m-%d"),
            overdue.memory.text
        ),
        evidence: vec![
            overdue.memory.provenance.interaction_id.clone(),
            overdue.memory.id.clone(),
        ],
        topic: overdue.memory.text.clone(),
    })
}
