//! Support metrics: CSAT, NPS, first-contact resolution, response and resolution times, AI resolution, escalation,
//! cost, agent productivity and proactive outreach over a period.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::error::ApiError;
use super::responses::{AuthErrors, TimeQueryErrors};
use crate::domain::support_metrics::{GroupBy, SplitBy, SupportMetrics};
use crate::service::support_metrics::MetricsQuery;
use crate::service::Services;

/// Support metrics query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SupportMetricsQuery {
    /// Start of the period, inclusive (RFC 3339; default: 30 days before `until`).
    pub since: Option<DateTime<Utc>>,
    /// End of the period, exclusive (RFC 3339; default: the end of the current UTC day). Must be after `since` (422 `invalid_period`).
    pub until: Option<DateTime<Utc>>,
    /// Bucket size: `day` (default), `week` (Monday to Monday) or `month`, in UTC; at most 1,100 buckets
    /// (422 `invalid_period`).
    pub group_by: Option<GroupBy>,
    /// Split every bucket (and the totals) by this.
    pub split_by: Option<SplitBy>,
}

/// Support metrics.
///
/// The KPIs of the caller's workspace's interactions opened in the period (read scope), for the whole period and
/// per day, week or month, optionally split by channel, plan, language, team or handler. Each KPI's definition is
/// on its field of `Kpis`; in short: CSAT is the share of ratings 4-5 among rated interactions; NPS the % of
/// scores 9-10 minus the % of scores 0-6; first-contact resolution counts resolved (status `resolved` or
/// `closed`) interactions with at most one agent or bot reply and no reopen (Rappel saw the status go from
/// resolved/closed back to open/pending); first response and resolution times are medians and 90th percentiles
/// (nearest rank) in seconds from `opened_at`; AI resolution rate is the share of all interactions resolved by the
/// bot alone (`handled_by` bot, not escalated); escalation rate the share of bot-handled interactions handed to
/// people (`handled_by` both, `escalated`, or a handoff brief); cost per interaction prices each interaction with
/// the configured `metrics_bot_cost` (bot alone), `metrics_human_cost` (people) or both (bot then people); agent
/// productivity is human-resolved interactions per named agent (the author of the last `agent` message).
///
/// Outreach (not split): items queued and sent, and deflection: the share of contacted customers (items sent)
/// who opened no ticket on the item's topic within 7 days, against a comparable group. The topic is the set of
/// products and tags of the interactions the item's evidence names (any interaction when none); the comparable
/// group is the items of the same job or campaign queued in the period that were never sent (cancelled,
/// expired or failed), measured from when they were queued.
#[utoipa::path(
    tag = "metrics",
    params(SupportMetricsQuery),
    responses((status = 200, description = "The metrics", body = SupportMetrics), TimeQueryErrors, AuthErrors)
)]
#[get("/metrics/support")]
pub async fn support_metrics(
    services: web::Data<Services>,
    Caller(principal): Caller,
    query: web::Query<SupportMetricsQuery>,
) -> Result<web::Json<SupportMetrics>, ApiError> {
    let q = query.into_inner();
    let query = MetricsQuery {
        since: q.since,
        until: q.until,
        group_by: q.group_by.unwrap_or_default(),
        split_by: q.split_by,
    };
    Ok(web::Json(services.support_metrics(&principal, query).await?))
}
