//! Support metrics: the KPIs of a workspace's interactions over a period, in day, week or month buckets, optionally
//! split by channel, plan, language, team or handler. Pure rules: the service hands in the [`Fact`]s of the
//! period and the outreach samples.
//!
//! Every KPI is defined once, on the fields of [`Kpis`] (those doc comments are the API description); README
//! repeats them.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

pub mod fact;
pub mod outreach;
pub mod period;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use fact::{Fact, Handler};
pub use outreach::{OutreachKpis, OutreachSample};
pub use period::{GroupBy, Period};

/// What to split each bucket by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    /// The interaction's channel.
    Channel,
    /// The customer's current plan (`none` when unset).
    Plan,
    /// The customer's current language (`none` when unset).
    Language,
    /// The interaction's team (`none` when unset).
    Team,
    /// `bot`, `human`, `both` (a handoff) or `unknown` (see `handled_by` on interactions).
    HandledBy,
}

/// What an interaction costs, by who handled it (settings `metrics_bot_cost`, `metrics_human_cost`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Costs {
    /// Cost of an interaction the bot handled alone.
    #[schema(example = 0.5)]
    pub bot: f64,
    /// Cost of an interaction people handled (alone, or after the bot: then the bot's cost is added).
    #[schema(example = 6.0)]
    pub human: f64,
}

impl Costs {
    /// Bot alone: `bot`; people alone or unknown: `human`; both: `bot + human`.
    pub fn of(&self, handler: Handler) -> f64 {
        match handler {
            Handler::Bot => self.bot,
            Handler::Human | Handler::Unknown => self.human,
            Handler::Both => self.bot + self.human,
        }
    }
}

/// Median and 90th percentile of durations, by the nearest-rank method: the p-th percentile of n sorted values is
/// the value at rank ⌈p·n/100⌉ (so the median of 4 values is the 2nd).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Durations {
    /// Values measured.
    pub count: u64,
    /// Median, seconds (null when none).
    pub median: Option<i64>,
    /// 90th percentile, seconds (null when none).
    pub p90: Option<i64>,
}

impl Durations {
    fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        Self {
            count: values.len() as u64,
            median: nearest_rank(&values, 50),
            p90: nearest_rank(&values, 90),
        }
    }
}

/// The value at rank ⌈p·n/100⌉ of sorted `values`.
pub fn nearest_rank(values: &[i64], p: usize) -> Option<i64> {
    let rank = (p * values.len()).div_ceil(100).max(1);
    values.get(rank - 1).copied()
}

/// Interactions one human agent resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentKpi {
    /// The agent: the `author` of the last message with role `agent`.
    #[schema(example = "Margaret Okafor")]
    pub agent: String,
    /// Resolved interactions credited to them.
    pub resolved: u64,
}

/// The KPIs of a set of interactions (those opened in a bucket, or in the whole period). Rates are fractions
/// from 0 to 1, null when their denominator is 0; "resolved" means status `resolved` or `closed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Kpis {
    /// Interactions opened (`opened_at`) in the bucket.
    pub interactions: u64,
    /// Of them, with status `resolved` or `closed`.
    pub resolved: u64,
    /// Of them, reopened at least once: Rappel saw the status go from `resolved`/`closed` back to
    /// `open`/`pending` (by a re-post or a PATCH); a reopen before Rappel first stored the interaction is unseen.
    pub reopened: u64,
    /// Interactions with a `csat` rating.
    pub rated: u64,
    /// CSAT: the share of ratings of 4 or 5 among rated interactions.
    pub csat: Option<f64>,
    /// Interactions with an `nps` score.
    pub scored: u64,
    /// NPS: the percentage of scores 9-10 minus the percentage of scores 0-6 among scored interactions (-100 to
    /// 100).
    pub nps: Option<f64>,
    /// Resolved interactions with at most one reply by an agent or the bot, never reopened.
    pub first_contact_resolutions: u64,
    /// First-contact resolutions among resolved interactions.
    pub first_contact_resolution_rate: Option<f64>,
    /// From `opened_at` to the first agent or bot message sent at or after it (interactions with one).
    pub first_response_seconds: Durations,
    /// From `opened_at` to `closed_at` (resolved interactions with a `closed_at`).
    pub resolution_seconds: Durations,
    /// Resolved by the bot with no human: `handled_by` bot (or only bot messages), resolved, not escalated.
    pub ai_resolved: u64,
    /// AI-resolved interactions among all interactions.
    pub ai_resolution_rate: Option<f64>,
    /// Interactions the bot took part in (`handled_by` bot or both).
    pub bot_handled: u64,
    /// Of them, escalated from the bot to people: `handled_by` both, or flagged `escalated`, or with a handoff
    /// brief.
    pub escalated: u64,
    /// Escalated among bot-handled interactions.
    pub escalation_rate: Option<f64>,
    /// Total cost: each interaction costs `costs.bot` (bot alone), `costs.human` (people alone, or unknown) or
    /// both added (bot then people).
    pub cost_total: f64,
    /// Total cost per interaction.
    pub cost_per_interaction: Option<f64>,
    /// Resolved interactions that people took part in (`handled_by` human or both).
    pub human_resolved: u64,
    /// Human-resolved interactions per agent (the author of the last `agent` message; unnamed ones are not
    /// credited), most first.
    pub agents: Vec<AgentKpi>,
    /// Agent productivity: human-resolved interactions credited to a named agent, divided by the number of those
    /// agents.
    pub resolved_per_agent: Option<f64>,
}

/// A share, null when nothing was counted.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Counts over a set of facts, turned into [`Kpis`] at the end.
#[derive(Debug, Default)]
struct Tally {
    kpis: Kpis,
    satisfied: u64,
    promoters: u64,
    detractors: u64,
    first_response: Vec<i64>,
    resolution: Vec<i64>,
    agents: HashMap<String, u64>,
}

impl Tally {
    fn add(&mut self, f: &Fact, costs: &Costs) {
        let k = &mut self.kpis;
        k.interactions += 1;
        k.resolved += u64::from(f.resolved);
        k.reopened += u64::from(f.reopens > 0);
        if let Some(c) = f.csat {
            k.rated += 1;
            self.satisfied += u64::from(c >= 4);
        }
        if let Some(n) = f.nps {
            k.scored += 1;
            self.promoters += u64::from(n >= 9);
            self.detractors += u64::from(n <= 6);
        }
        k.first_contact_resolutions += u64::from(f.first_contact_resolution());
        self.first_response.extend(f.first_response_secs);
        if f.resolved {
            self.resolution.extend(f.resolution_secs);
        }
        k.ai_resolved += u64::from(f.ai_resolved());
        let bot = matches!(f.handler, Handler::Bot | Handler::Both);
        k.bot_handled += u64::from(bot);
        k.escalated += u64::from(bot && f.escalated_to_human);
        k.cost_total += costs.of(f.handler);
        if f.resolved && matches!(f.handler, Handler::Human | Handler::Both) {
            k.human_resolved += 1;
            if let Some(agent) = &f.agent {
                *self.agents.entry(agent.clone()).or_default() += 1;
            }
        }
    }

    fn finish(self) -> Kpis {
        let mut k = self.kpis;
        k.csat = ratio(self.satisfied, k.rated);
        k.nps = (k.scored > 0).then(|| 100.0 * (self.promoters as f64 - self.detractors as f64) / k.scored as f64);
        k.first_contact_resolution_rate = ratio(k.first_contact_resolutions, k.resolved);
        k.first_response_seconds = Durations::of(self.first_response);
        k.resolution_seconds = Durations::of(self.resolution);
        k.ai_resolution_rate = ratio(k.ai_resolved, k.interactions);
        k.escalation_rate = ratio(k.escalated, k.bot_handled);
        k.cost_per_interaction = (k.interactions > 0).then(|| k.cost_total / k.interactions as f64);
        let credited: u64 = self.agents.values().sum();
        k.resolved_per_agent = ratio(credited, self.agents.len() as u64);
        let mut agents: Vec<AgentKpi> = self
            .agents
            .into_iter()
            .map(|(agent, resolved)| AgentKpi { agent, resolved })
            .collect();
        agents.sort_by(|a, b| b.resolved.cmp(&a.resolved).then_with(|| a.agent.cmp(&b.agent)));
        k.agents = agents;
        k
    }
}

/// The KPIs of one split value in a bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SplitKpis {
    /// The value split by (`chat`, `pro`, `fr`, `billing`, `bot`; `none` when unset).
    #[schema(example = "chat")]
    pub key: String,
    /// Its KPIs.
    pub kpis: Kpis,
}

/// One day, week (Monday to Monday) or month, in UTC, cut to the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Bucket {
    /// Start (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// KPIs of the interactions opened in it.
    pub kpis: Kpis,
    /// The same KPIs per split value, by key (empty without `split_by`).
    pub splits: Vec<SplitKpis>,
    /// Proactive outreach in it (not split).
    pub outreach: OutreachKpis,
}

/// The support metrics of a workspace over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupportMetrics {
    /// Start of the period (inclusive).
    pub since: DateTime<Utc>,
    /// End of the period (exclusive).
    pub until: DateTime<Utc>,
    /// Bucket size.
    pub group_by: GroupBy,
    /// The split, if any.
    pub split_by: Option<SplitBy>,
    /// The costs used.
    pub costs: Costs,
    /// KPIs of the whole period.
    pub totals: Kpis,
    /// The whole period's splits (empty without `split_by`).
    pub splits: Vec<SplitKpis>,
    /// Proactive outreach over the whole period.
    pub outreach: OutreachKpis,
    /// Every bucket of the period, oldest first, empty ones included.
    pub buckets: Vec<Bucket>,
}

/// Computes the metrics of `facts` (those opened in the period; others are ignored) and the outreach `samples`.
/// `split` names the split value of a fact (called only with `split_by`).
pub fn compute(
    period: &Period,
    split_by: Option<SplitBy>,
    costs: Costs,
    facts: &[Fact],
    split: &dyn Fn(&Fact) -> String,
    samples: &[OutreachSample],
) -> SupportMetrics {
    let bounds = period.buckets();
    let mut totals = Tally::default();
    let mut total_splits: BTreeMap<String, Tally> = BTreeMap::new();
    let mut buckets: Vec<(Tally, BTreeMap<String, Tally>)> = bounds.iter().map(|_| Default::default()).collect();
    for f in facts.iter().filter(|f| period.contains(f.opened_at)) {
        totals.add(f, &costs);
        let key = split_by.map(|_| split(f));
        if let Some(key) = &key {
            total_splits.entry(key.clone()).or_default().add(f, &costs);
        }
        if let Some((tally, splits)) = period::index(&bounds, f.opened_at).and_then(|i| buckets.get_mut(i)) {
            tally.add(f, &costs);
            if let Some(key) = key {
                splits.entry(key).or_default().add(f, &costs);
            }
        }
    }
    let finish_splits = |splits: BTreeMap<String, Tally>| {
        splits
            .into_iter()
            .map(|(key, t)| SplitKpis { key, kpis: t.finish() })
            .collect::<Vec<_>>()
    };
    SupportMetrics {
        since: period.since,
        until: period.until,
        group_by: period.group_by,
        split_by,
        costs,
        totals: totals.finish(),
        splits: finish_splits(total_splits),
        outreach: outreach::tally(samples, period.since, period.until),
        buckets: bounds
            .iter()
            .zip(buckets)
            .map(|((start, end), (tally, splits))| Bucket {
                start: *start,
                end: *end,
                kpis: tally.finish(),
                splits: finish_splits(splits),
                outreach: outreach::tally(samples, *start, *end),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_takes_the_ceiling_rank() {
        let v = [10, 20, 30, 40];
        assert_eq!(nearest_rank(&v, 50), Some(20));
        assert_eq!(nearest_rank(&v, 90), Some(40));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn costs_add_up_by_handler() {
        let c = Costs { bot: 0.5, human: 6.0 };
        assert_eq!(c.of(Handler::Both), 6.5);
        assert_eq!(c.of(Handler::Unknown), 6.0);
    }
}
