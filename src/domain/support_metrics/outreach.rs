//! Proactive outreach in the support metrics: queued, sent, and deflection against a comparable group.
//!
//! - The *topic* of an outreach item is the set of products and tags of the interactions its evidence names
//!   (`int_...` ids); when the evidence names none (or they carry neither), the topic is "any": every new
//!   interaction of the customer is on it.
//! - A *ticket on the topic* is an interaction of the customer opened within 7 days after the contact (after
//!   `sent_at`, or `created_at` for the comparison group) whose product or one of whose tags is in the topic.
//! - The *comparable group* is the items of the same source (the same job or campaign) created in the period that
//!   were never sent (cancelled by a rule, expired or failed): customers the same rule selected but nobody
//!   contacted.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::interaction::Interaction;
use crate::domain::outreach::{OutreachItem, OutreachState};

/// Days after a contact in which a ticket on its topic counts against deflection.
pub const DEFLECTION_DAYS: i64 = 7;

/// What an outreach item is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    /// Products and tags of the interactions in its evidence.
    Of(BTreeSet<String>),
    /// Nothing known: any interaction is on it.
    Any,
}

impl Topic {
    /// The topic of `item`, given the customer's interactions.
    pub fn of(item: &OutreachItem, interactions: &[Interaction]) -> Self {
        let words: BTreeSet<String> = interactions
            .iter()
            .filter(|i| item.evidence.contains(&i.id))
            .flat_map(words)
            .collect();
        if words.is_empty() {
            Self::Any
        } else {
            Self::Of(words)
        }
    }

    /// Whether `interaction` is on this topic.
    pub fn covers(&self, interaction: &Interaction) -> bool {
        match self {
            Self::Any => true,
            Self::Of(set) => words(interaction).any(|w| set.contains(&w)),
        }
    }
}

fn words(i: &Interaction) -> impl Iterator<Item = String> + '_ {
    i.fields
        .product
        .iter()
        .map(|p| format!("product:{}", p.to_lowercase()))
        .chain(i.fields.tags.iter().map(|t| format!("tag:{}", t.to_lowercase())))
}

/// Whether the customer opened a ticket on the item's topic within [`DEFLECTION_DAYS`] after `from`.
pub fn ticket_after(item: &OutreachItem, from: DateTime<Utc>, interactions: &[Interaction]) -> bool {
    let topic = Topic::of(item, interactions);
    let until = from + Duration::days(DEFLECTION_DAYS);
    interactions
        .iter()
        .filter(|i| !item.evidence.contains(&i.id))
        .any(|i| i.fields.opened_at > from && i.fields.opened_at <= until && topic.covers(i))
}

/// Whether an item was never sent and never will be.
pub fn never_sent(item: &OutreachItem) -> bool {
    matches!(
        item.state,
        OutreachState::Cancelled | OutreachState::Expired | OutreachState::Failed
    )
}

/// One outreach item as the metrics count it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutreachSample {
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// In the comparable group (never sent, same source as a sent item).
    pub comparison: bool,
    /// A ticket on its topic followed within 7 days (of `sent_at`, or of `queued_at` in the comparable group).
    pub ticket_within_7_days: bool,
}

/// Proactive outreach over a bucket or the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutreachKpis {
    /// Items queued (`created_at`) in it, whatever became of them.
    pub queued: u64,
    /// Items sent (`sent_at`) in it.
    pub sent: u64,
    /// Deflection of the items sent in it.
    pub deflection: Deflection,
}

/// Did contacting customers spare a ticket? Contacted customers who opened no ticket on the item's topic within 7
/// days, against the comparable group (see the endpoint's description for "topic" and "comparable group").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deflection {
    /// Items sent (each is one contacted customer).
    pub contacted: u64,
    /// Of them, followed by no ticket on the topic within 7 days.
    pub contacted_without_ticket: u64,
    /// `contacted_without_ticket / contacted`.
    pub rate: Option<f64>,
    /// Items of the comparable group queued in it.
    pub comparison: u64,
    /// Of them, followed by no ticket on the topic within 7 days of being queued.
    pub comparison_without_ticket: u64,
    /// `comparison_without_ticket / comparison`.
    pub comparison_rate: Option<f64>,
    /// `rate - comparison_rate`: the share of tickets the contact spared (null when either is).
    pub lift: Option<f64>,
}

/// The outreach KPIs of the samples in [since, until).
pub fn tally(samples: &[OutreachSample], since: DateTime<Utc>, until: DateTime<Utc>) -> OutreachKpis {
    let within = |t: DateTime<Utc>| since <= t && t < until;
    let mut k = OutreachKpis::default();
    for s in samples {
        if within(s.queued_at) {
            k.queued += 1;
            if s.comparison {
                k.deflection.comparison += 1;
                k.deflection.comparison_without_ticket += u64::from(!s.ticket_within_7_days);
            }
        }
        if s.sent_at.is_some_and(within) {
            k.sent += 1;
            k.deflection.contacted += 1;
            k.deflection.contacted_without_ticket += u64::from(!s.ticket_within_7_days);
        }
    }
    let d = &mut k.deflection;
    d.rate = super::ratio(d.contacted_without_ticket, d.contacted);
    d.comparison_rate = super::ratio(d.comparison_without_ticket, d.comparison);
    d.lift = d.rate.zip(d.comparison_rate).map(|(a, b)| a - b);
    k
}
