//! Detectors: pure functions from one customer's recent history to a finding (why Rappel should reach out, with
//! evidence). Each detector is its own module; the jobs call them for every customer at a chosen time.

pub mod churn_risk;
pub mod expansion;
pub mod incident_match;
pub mod low_csat;
pub mod params;
pub mod repeat_contact;
pub mod sentiment_decline;
pub mod unresolved_aging;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::interaction::{AuthorRole, Interaction};
use super::recall::Indexed;
use super::Customer;

/// What a detector sees of one customer.
pub struct Snapshot<'a> {
    /// The profile.
    pub customer: &'a Customer,
    /// Every interaction.
    pub interactions: &'a [Interaction],
    /// Every memory.
    pub memories: &'a [Arc<Indexed>],
    /// Declared incidents of the workspace, with the embedding of their text.
    pub incidents: &'a [(super::incident::Incident, Vec<f32>)],
}

/// Why to reach out, with the ids that justify it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Stable code, part of the de-duplication key.
    pub reason_code: String,
    /// The reason in words.
    pub reason: String,
    /// Interaction and memory ids.
    pub evidence: Vec<String>,
    /// What `{topic}` stands for in the templates.
    pub topic: String,
}

/// A detector and its parameters, as written in a job definition (`kind = "..."`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Detector {
    /// N or more interactions about the same problem within D days.
    RepeatContact(repeat_contact::Params),
    /// Recent sentiment below a threshold, or fallen by a margin against the customer's own average.
    SentimentDecline(sentiment_decline::Params),
    /// An open interaction waiting for an agent for more than H hours, or a promise past due.
    UnresolvedAging(unresolved_aging::Params),
    /// Renewal soon with signs of trouble, or an active customer gone silent.
    ChurnRisk(churn_risk::Params),
    /// A CSAT of 1-2 or an NPS detractor score.
    LowCsatFollowup(low_csat::Params),
    /// Reports matching a declared incident (and a follow-up once it is resolved).
    IncidentMatch(incident_match::Params),
    /// A healthy, happy customer whose usage fits a higher plan (upsell), or on the top plan (referral ask).
    Expansion(expansion::Params),
}

impl Detector {
    /// Runs the detector on one customer at `now`.
    pub fn detect(&self, s: &Snapshot<'_>, now: DateTime<Utc>) -> Option<Finding> {
        match self {
            Self::RepeatContact(p) => repeat_contact::detect(p, s, now),
            Self::SentimentDecline(p) => sentiment_decline::detect(p, s, now),
            Self::UnresolvedAging(p) => unresolved_aging::detect(p, s, now),
            Self::ChurnRisk(p) => churn_risk::detect(p, s, now),
            Self::LowCsatFollowup(p) => low_csat::detect(p, s, now),
            Self::IncidentMatch(p) => incident_match::detect(p, s, now),
            Self::Expansion(p) => expansion::detect(p, s, now),
        }
    }
}

/// Sentiment scores of the customer's messages observed in `[from, to)`, with their interaction ids.
pub fn sentiments(s: &Snapshot<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(f32, String)> {
    s.interactions
        .iter()
        .flat_map(|i| i.fields.messages.iter().map(move |m| (i, m)))
        .filter(|(_, m)| m.role == AuthorRole::Customer && m.sent_at >= from && m.sent_at < to)
        .filter_map(|(i, m)| m.sentiment.as_ref().map(|x| (x.score, i.fields.external_id.clone())))
        .collect()
}

/// Mean of a list, when it is not empty.
pub fn mean(xs: &[f32]) -> Option<f32> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f32>() / xs.len() as f32)
}

/// A short topic for an interaction: its subject, or its first customer words.
pub fn topic(i: &Interaction) -> String {
    i.fields.subject.clone().unwrap_or_else(|| {
        let text = i.fields.messages.first().map(|m| m.text.as_str()).unwrap_or("");
        text.split_whitespace().take(8).collect::<Vec<_>>().join(" ")
    })
}

#[cfg(test)]
mod tests;
