//! `expansion`: a healthy customer, happy lately, whose usage fits a higher plan gets an upsell; one already on
//! the top plan gets a referral ask. Never while an issue is open or a promise is pending.
//!
//! Usage is what the store holds: the devices on the profile (`attributes.devices`, `attributes.hub_count`), its
//! sites (`attributes.sites`), and the customer's own words in the last `usage_days` asking for what a higher
//! plan brings (more seats or users, another site or office, more hubs, the API, single sign-on, an upgrade).

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{mean, sentiments, Finding, Snapshot};
use crate::domain::interaction::AuthorRole;
use crate::domain::lifecycle::{issue_open_at, promise_open_at};
use crate::domain::sentiment::cues::normalise;
use crate::domain::text::Lang;

/// Parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Health score (0-100) at least this (default 70).
    #[serde(default = "seventy", deserialize_with = "crate::domain::whole::int")]
    pub min_health: u8,
    /// Mean sentiment of the customer's messages in the last `recent_days` at least this (default 0.3).
    #[serde(default = "min_sentiment")]
    pub min_sentiment: f32,
    /// The window of that sentiment, in days (default 90).
    #[serde(default = "ninety", deserialize_with = "crate::domain::whole::int")]
    pub recent_days: i64,
    /// Messages needed in that window (default 1).
    #[serde(default = "one", deserialize_with = "crate::domain::whole::int")]
    pub min_messages: usize,
    /// Devices on the profile that fit a higher plan (default 4).
    #[serde(default = "four", deserialize_with = "crate::domain::whole::int")]
    pub min_devices: usize,
    /// How far back the customer's asks for more count, in days (default 180).
    #[serde(default = "half_year", deserialize_with = "crate::domain::whole::int")]
    pub usage_days: i64,
}

fn seventy() -> u8 {
    70
}
fn min_sentiment() -> f32 {
    0.3
}
fn ninety() -> i64 {
    90
}
fn one() -> usize {
    1
}
fn four() -> usize {
    4
}
fn half_year() -> i64 {
    180
}

/// The plans in order; the last one has no higher plan.
pub const PLANS: [&str; 5] = ["free", "starter", "pro", "business", "enterprise"];

/// Asks for what a higher plan brings, on [`normalise`]d text.
static MORE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used, reason = "a constant pattern")]
    Regex::new(concat!(
        r"\b(?:more|extra|additional|another|\d+ (?:more|extra|additional|new)) (?:seats?|users?|licen[cs]es?|hubs?|sites?|offices?|locations?|buildings?|members?)\b",
        r"|\b(?:second|third|new) (?:site|office|location|building|studio|shop|store|warehouse|campus)\b|\bupgrade\b|\boutgrown\b",
        r"|\b(?:api|sso|single sign-on|webhooks?)\b",
        r"|\bplus (?:de |d')(?:sieges|utilisateurs|licences|box|hubs|sites)\b|\b(?:deuxieme|troisieme|nouveau|nouvelle|autre) (?:site|agence|boutique|bureau|entrepot|batiment)\b",
        r"|\b(?:passer|monter) (?:a|sur) (?:l'offre|la formule|l'abonnement)\b|\bsieges? supplementaires?\b|\bhubs? supplementaires?\b"
    ))
    .expect("the expansion pattern is valid")
});

fn count(attributes: &serde_json::Map<String, serde_json::Value>, key: &str) -> usize {
    match attributes.get(key) {
        Some(serde_json::Value::Array(items)) => items.len(),
        Some(v) => v.as_u64().map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        None => 0,
    }
}

/// Healthy, happy lately, nothing pending, and usage that fits a higher plan (or the top plan already).
pub fn detect(p: &Params, s: &Snapshot<'_>, now: DateTime<Utc>) -> Option<Finding> {
    if s.memories
        .iter()
        .any(|m| issue_open_at(&m.memory, now) || promise_open_at(&m.memory, now))
    {
        return None;
    }
    let recent = sentiments(s, now - Duration::days(p.recent_days), now);
    if recent.len() < p.min_messages {
        return None;
    }
    let mood = mean(&recent.iter().map(|(x, _)| *x).collect::<Vec<_>>())?;
    if mood < p.min_sentiment {
        return None;
    }
    let health = crate::domain::health::compute(s, now).score;
    if health < p.min_health {
        return None;
    }
    let attributes = &s.customer.fields.attributes;
    let devices = count(attributes, "devices").max(count(attributes, "hub_count"));
    let sites = count(attributes, "sites");
    let since = now - Duration::days(p.usage_days);
    let asks: Vec<String> = s
        .interactions
        .iter()
        .filter(|i| {
            i.fields.messages.iter().any(|m| {
                m.role == AuthorRole::Customer
                    && m.sent_at >= since
                    && m.sent_at <= now
                    && MORE.is_match(&normalise(&m.text))
            })
        })
        .map(|i| i.fields.external_id.clone())
        .collect();
    let plan = s.customer.fields.plan.as_deref().map(str::to_lowercase);
    let rank = plan.as_deref().and_then(|p| PLANS.iter().position(|x| *x == p));
    let next = rank.and_then(|r| PLANS.get(r + 1));
    let mut usage = Vec::new();
    if devices >= p.min_devices {
        usage.push(format!("{devices} devices"));
    }
    if sites >= 2 {
        usage.push(format!("{sites} sites"));
    }
    if !asks.is_empty() {
        usage.push(format!("asked for more in {}", asks.join(", ")));
    }
    if usage.is_empty() {
        return None;
    }
    let fr = s.customer.lang() == Lang::Fr;
    let mut evidence: Vec<String> = recent.into_iter().filter(|(x, _)| *x > 0.0).map(|(_, i)| i).collect();
    evidence.extend(asks);
    evidence.sort();
    evidence.dedup();
    let happy = format!("health {health}, sentiment {mood:.2}; {}", usage.join(", "));
    Some(match next {
        Some(next) => Finding {
            reason_code: "expansion_upsell".into(),
            reason: format!("{happy}: fits the {next} plan"),
            evidence,
            topic: if fr {
                format!(
                    "la formule {} (plus d'appareils, d'utilisateurs et de sites)",
                    title(next)
                )
            } else {
                format!("the {} plan (more devices, users and sites)", title(next))
            },
        },
        // The top plan, or a plan Rappel does not know: ask for a referral rather than guess an upgrade.
        None => Finding {
            reason_code: "expansion_referral".into(),
            reason: format!("{happy}: on the top plan, a referral ask"),
            evidence,
            topic: if fr {
                "recommander Lumen à un proche ou un collègue (notre programme de parrainage)".into()
            } else {
                "recommending Lumen to a friend or colleague (our referral programme)".into()
            },
        },
    })
}

fn title(plan: &str) -> String {
    let mut chars = plan.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
