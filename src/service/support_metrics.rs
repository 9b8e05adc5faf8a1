//! Support metrics over a period (`GET /v1/metrics/support`).
//!
//! Efficiency: an index, not a rollup. Each interaction write also writes a small fact row keyed by (workspace,
//! `opened_at`, customer, interaction) in the same transaction (see `store::redb::metrics`); a request reads the
//! period's range of facts and computes every KPI from them. A daily rollup would answer counts and rates in fewer
//! reads, but not exact medians and 90th percentiles, nor splits by the customer's *current* plan or language,
//! without keeping every value anyway; and it would have to be corrected on every re-post, PATCH and erasure. A
//! year of a 200,000-interaction workspace is one range scan of about 200,000 facts of ~250 bytes (see `rappel
//! bench --support-metrics` for the measured time).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{require, ServiceError, Services};
use crate::domain::interaction::Interaction;
use crate::domain::support_metrics::outreach::{never_sent, ticket_after};
use crate::domain::support_metrics::{self, Fact, GroupBy, OutreachSample, Period, SplitBy, SupportMetrics};
use crate::domain::{CustomerId, Principal, Scope, WorkspaceId};
use crate::store::{Store, StoreError};

/// A support-metrics request.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsQuery {
    /// Start (default: 30 days before `until`).
    pub since: Option<DateTime<Utc>>,
    /// End (default: the end of the current UTC day).
    pub until: Option<DateTime<Utc>>,
    /// Bucket size.
    pub group_by: GroupBy,
    /// Split.
    pub split_by: Option<SplitBy>,
}

impl Services {
    /// The support metrics of the caller's workspace (read scope).
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace))]
    pub async fn support_metrics(
        &self,
        principal: &Principal,
        query: MetricsQuery,
    ) -> Result<SupportMetrics, ServiceError> {
        require(principal, Scope::Read)?;
        let period = Period::new(query.since, query.until, query.group_by, self.now())?;
        let costs = self.costs;
        let ws = principal.workspace.clone();
        Ok(self
            .blocking(move |s| {
                let facts = s.interaction_facts(&ws, period.since, period.until)?;
                let segments = match query.split_by {
                    Some(SplitBy::Plan | SplitBy::Language) => segments(s, &ws, &facts)?,
                    _ => HashMap::new(),
                };
                let split = |f: &Fact| split_key(query.split_by, f, &segments);
                let samples = outreach_samples(s, &ws, &period)?;
                Ok(support_metrics::compute(
                    &period,
                    query.split_by,
                    costs,
                    &facts,
                    &split,
                    &samples,
                ))
            })
            .await?)
    }
}

/// (plan, language) by customer id.
type Segments = HashMap<String, (Option<String>, Option<String>)>;

/// The (plan, language) of each customer of `facts`, as their profile says now.
fn segments(s: &dyn Store, ws: &WorkspaceId, facts: &[Fact]) -> Result<Segments, StoreError> {
    let mut out = HashMap::new();
    for f in facts {
        if out.contains_key(&f.customer_id) {
            continue;
        }
        let c = s.get_customer(ws, &CustomerId::from_client(&f.customer_id))?;
        let seg = c.map(|c| (c.fields.plan, c.fields.language)).unwrap_or_default();
        out.insert(f.customer_id.clone(), seg);
    }
    Ok(out)
}

fn split_key(split_by: Option<SplitBy>, f: &Fact, segments: &Segments) -> String {
    let none = || "none".to_owned();
    let json = |v: serde_json::Value| v.as_str().map(str::to_owned).unwrap_or_else(none);
    match split_by {
        None => String::new(),
        Some(SplitBy::Channel) => json(serde_json::to_value(f.channel).unwrap_or_default()),
        Some(SplitBy::HandledBy) => f.handler.as_str().to_owned(),
        Some(SplitBy::Team) => f.team.clone().unwrap_or_else(none),
        Some(SplitBy::Plan) => segments
            .get(&f.customer_id)
            .and_then(|s| s.0.clone())
            .unwrap_or_else(none),
        Some(SplitBy::Language) => segments
            .get(&f.customer_id)
            .and_then(|s| s.1.clone())
            .unwrap_or_else(none),
    }
}

/// The outreach items queued or sent in the period, each with whether a ticket on its topic followed within 7
/// days, and whether it belongs to the comparable group.
fn outreach_samples(s: &dyn Store, ws: &WorkspaceId, period: &Period) -> Result<Vec<OutreachSample>, StoreError> {
    let items = s.workspace_outreach(ws)?;
    let in_period = |t: DateTime<Utc>| period.contains(t);
    let sent_sources: Vec<(String, String)> = items
        .iter()
        .filter(|i| i.sent_at.is_some_and(in_period))
        .map(|i| (i.source.kind.clone(), i.source.id.clone()))
        .collect();
    let mut histories: HashMap<CustomerId, Vec<Interaction>> = HashMap::new();
    let mut out = Vec::new();
    for item in &items {
        let sent_in = item.sent_at.filter(|t| in_period(*t));
        let comparison = in_period(item.created_at)
            && never_sent(item)
            && sent_sources.contains(&(item.source.kind.clone(), item.source.id.clone()));
        if sent_in.is_none() && !in_period(item.created_at) {
            continue;
        }
        let from = sent_in.or(comparison.then_some(item.created_at));
        let ticket = match from {
            Some(from) => {
                if !histories.contains_key(&item.customer_id) {
                    let list = s.list_interactions(ws, &item.customer_id)?;
                    histories.insert(item.customer_id.clone(), list);
                }
                let history = histories.get(&item.customer_id).map(Vec::as_slice).unwrap_or_default();
                ticket_after(item, from, history)
            }
            None => false,
        };
        out.push(OutreachSample {
            queued_at: item.created_at,
            sent_at: sent_in,
            comparison,
            ticket_within_7_days: ticket,
        });
    }
    Ok(out)
}
