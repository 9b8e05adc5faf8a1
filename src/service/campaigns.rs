//! Campaigns: create, change, delete; preview who would be contacted and why; run (queue under the contact
//! rules); scheduled campaigns run from the jobs' ticker.

use std::collections::HashMap;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::outreach::Target;
use super::runs::{new_run, RunPlan};
use super::{require, ServiceError, Services};
use crate::domain::audit::{AuditAction, AuditDetail, TargetKind};
use crate::domain::campaign::{Campaign, CampaignInput};
use crate::domain::detect::Snapshot;
use crate::domain::health::compute;
use crate::domain::job_run::JobRun;
use crate::domain::memory::MemoryKind;
use crate::domain::outreach::OutreachSource;
use crate::domain::recall::{rank, Indexed, Mode, RankQuery, Weights};
use crate::domain::text::{detect, terms, Lang};
use crate::domain::{validate, Customer, CustomerFilter, InvalidInput, Principal, Scope};

/// Fused score (meaning standardised over the workspace's messages, plus keywords) from which a message is
/// "something like" a segment's query. Measured on the demo: messages about the queried problem score 0.55-0.9,
/// the rest of the workspace below 0.45 (see README, "Thresholds").
pub const DEFAULT_QUERY_THRESHOLD: f32 = 0.5;

/// One customer a campaign selects, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Selected {
    /// Customer id.
    pub customer_id: String,
    /// Customer's external id.
    pub external_id: String,
    /// Name.
    pub name: Option<String>,
    /// Why, in words.
    pub reason: String,
    /// Memory and interaction ids behind the choice.
    pub evidence: Vec<String>,
}

/// What a campaign would do now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    /// How many customers the segment selects (before the contact rules).
    pub count: usize,
    /// The first 20 of them.
    pub sample: Vec<Selected>,
}

fn check(input: CampaignInput) -> Result<CampaignInput, InvalidInput> {
    let mut input = input;
    input.name = validate::text("name", &input.name, 200)?;
    if let Some(schedule) = &input.schedule {
        crate::domain::schedule::parse_cron(schedule)
            .map_err(|e| InvalidInput::new("invalid_schedule", "schedule", e))?;
    }
    chrono_tz::Tz::from_str(&input.timezone)
        .map_err(|_| InvalidInput::new("invalid_timezone", "timezone", "not an IANA time zone"))?;
    crate::domain::outreach::check_templates("outreach.templates", &input.outreach.templates)?;
    crate::domain::outreach::check_cooldown("cooldown_hours", input.cooldown_hours)?;
    if !(1..=5).contains(&input.outreach.priority) {
        return Err(InvalidInput::new(
            "invalid_field",
            "outreach.priority",
            "must be between 1 and 5",
        ));
    }
    let s = &input.segment;
    if s.health_min.is_some_and(|h| h > 100) || s.health_max.is_some_and(|h| h > 100) {
        return Err(InvalidInput::new(
            "invalid_field",
            "segment",
            "health bounds are between 0 and 100",
        ));
    }
    if let Some(q) = &s.query {
        validate::text("segment.query", q, 1000)?;
    }
    Ok(input)
}

impl Services {
    /// Creates a campaign.
    pub async fn create_campaign(&self, principal: &Principal, input: CampaignInput) -> Result<Campaign, ServiceError> {
        require(principal, Scope::Write)?;
        let now = self.now();
        let campaign = Campaign {
            id: format!("cmp_{}", ulid::Ulid::new().to_string().to_lowercase()),
            workspace: principal.workspace.clone(),
            fields: check(input)?,
            last_run_at: None,
            created_at: now,
            updated_at: now,
        };
        let stored = campaign.clone();
        self.blocking(move |s| s.put_campaign(&stored)).await?;
        self.audit(
            principal,
            AuditAction::CampaignCreated,
            TargetKind::Campaign,
            &campaign.id,
            AuditDetail::default(),
        )
        .await?;
        Ok(campaign)
    }

    /// One campaign.
    pub async fn get_campaign(&self, principal: &Principal, id: &str) -> Result<Campaign, ServiceError> {
        require(principal, Scope::Read)?;
        let (ws, key) = (principal.workspace.clone(), id.to_owned());
        self.blocking(move |s| s.get_campaign(&ws, &key))
            .await?
            .ok_or_else(|| ServiceError::CampaignNotFound(id.to_owned()))
    }

    /// Every campaign of the workspace.
    pub async fn list_campaigns(&self, principal: &Principal) -> Result<Vec<Campaign>, ServiceError> {
        require(principal, Scope::Read)?;
        let ws = principal.workspace.clone();
        Ok(self.blocking(move |s| s.list_campaigns(&ws)).await?)
    }

    /// Changes a campaign with a merge patch.
    pub async fn patch_campaign(
        &self,
        principal: &Principal,
        id: &str,
        patch: Value,
    ) -> Result<Campaign, ServiceError> {
        require(principal, Scope::Write)?;
        let mut campaign = self.get_campaign(principal, id).await?;
        campaign.fields = check(crate::domain::merge_patch::patched(&campaign.fields, &patch)?)?;
        campaign.updated_at = self.now();
        let stored = campaign.clone();
        self.blocking(move |s| s.put_campaign(&stored)).await?;
        self.audit(
            principal,
            AuditAction::CampaignUpdated,
            TargetKind::Campaign,
            &campaign.id,
            AuditDetail::default(),
        )
        .await?;
        Ok(campaign)
    }

    /// Deletes a campaign (items it queued stay).
    pub async fn delete_campaign(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        require(principal, Scope::Write)?;
        let (ws, key) = (principal.workspace.clone(), id.to_owned());
        if self.blocking(move |s| s.delete_campaign(&ws, &key)).await? {
            self.audit(
                principal,
                AuditAction::CampaignDeleted,
                TargetKind::Campaign,
                id,
                AuditDetail::default(),
            )
            .await
        } else {
            Err(ServiceError::CampaignNotFound(id.to_owned()))
        }
    }

    /// The customers the campaign's segment selects now, with why.
    async fn select(
        &self,
        principal: &Principal,
        campaign: &Campaign,
    ) -> Result<Vec<(Customer, Selected)>, ServiceError> {
        let seg = &campaign.fields.segment;
        let threshold = seg.query_threshold.unwrap_or(DEFAULT_QUERY_THRESHOLD);
        // "Said something like": every customer message of the workspace, scored once by meaning and keywords,
        // normalised over the workspace (see domain::recall::rank).
        let scores: Option<HashMap<String, f32>> = match &seg.query {
            Some(q) => {
                self.count_embedding(principal, q.chars().count())?;
                let vector = self.embed_query(q).await?;
                // Read from the store: a campaign is a batch run, and scores are normalised over every message.
                let messages = self
                    .workspace_memories(&principal.workspace, |m| {
                        m.kind == MemoryKind::Message && m.sentiment.is_some()
                    })
                    .await?;
                let candidates: Vec<&Indexed> = messages.iter().map(|m| m.as_ref()).collect();
                let query_terms = terms(q, detect(q, Lang::En));
                let weights = Weights {
                    neighbour: 0.0,
                    recency: 0.0,
                    importance: 0.0,
                    time: 0.0,
                    ..self.weights
                };
                let rank_query = RankQuery {
                    vector: &vector,
                    terms: &query_terms,
                    hint: None,
                };
                let ranked = rank(
                    &candidates,
                    &rank_query,
                    &weights,
                    self.now(),
                    Mode::Hybrid,
                    candidates.len(),
                );
                Some(
                    ranked
                        .into_iter()
                        .filter_map(|r| Some((candidates.get(r.index)?.memory.id.clone(), r.score)))
                        .collect(),
                )
            }
            None => None,
        };
        let filter = CustomerFilter {
            tag: seg.tag.clone(),
            plan: seg.plan.clone(),
            updated_since: None,
        };
        let now = self.now();
        let mut out = Vec::new();
        for customer in self.all_customers(principal, filter).await? {
            let (interactions, memories) = self.history(&customer).await?;
            let mut reasons = Vec::new();
            let mut evidence = Vec::new();
            if seg.health_min.is_some() || seg.health_max.is_some() {
                let snapshot = Snapshot {
                    customer: &customer,
                    interactions: &interactions,
                    memories: &memories,
                    incidents: &[],
                };
                let health = compute(&snapshot, now).score;
                if seg.health_min.is_some_and(|m| health < m) || seg.health_max.is_some_and(|m| health > m) {
                    continue;
                }
                reasons.push(format!("health {health}"));
            }
            if let (Some(scores), Some(text)) = (&scores, &seg.query) {
                let best = memories
                    .iter()
                    .filter_map(|m| scores.get(&m.memory.id).map(|s| (m, *s)))
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                match best {
                    Some((m, score)) if score >= threshold => {
                        reasons.push(format!(
                            "said something like \"{text}\" ({score:.2}): {}",
                            m.memory.text
                        ));
                        evidence.push(m.memory.provenance.interaction_id.clone());
                        evidence.push(m.memory.id.clone());
                    }
                    _ => continue,
                }
            }
            if reasons.is_empty() {
                reasons.push("in the segment".into());
            }
            let selected = Selected {
                customer_id: customer.id.to_string(),
                external_id: customer.fields.external_id.clone(),
                name: customer.fields.name.clone(),
                reason: reasons.join("; "),
                evidence,
            };
            out.push((customer, selected));
        }
        Ok(out)
    }

    /// Who the campaign would contact now and why, without queuing anything.
    pub async fn preview_campaign(&self, principal: &Principal, id: &str) -> Result<Preview, ServiceError> {
        let campaign = self.get_campaign(principal, id).await?;
        let selected = self.select(principal, &campaign).await?;
        Ok(Preview {
            count: selected.len(),
            sample: selected.into_iter().take(20).map(|(_, s)| s).collect(),
        })
    }

    /// Runs the campaign now: queues an item for each selected customer under the contact rules.
    /// `job_running` while the campaign runs, on this node or another sharing the store.
    pub async fn run_campaign(&self, principal: &Principal, id: &str, trigger: &str) -> Result<JobRun, ServiceError> {
        require(principal, Scope::Write)?;
        let campaign = self.get_campaign(principal, id).await?;
        let (ws, key) = (principal.workspace.clone(), campaign_lease(&campaign.id));
        let Some(lease) = self.blocking(move |s| s.try_job_lease(&ws, &key)).await? else {
            return Err(ServiceError::JobRunning(format!("campaign:{}", campaign.id)));
        };
        let run = self.run_campaign_leased(principal, campaign, trigger).await;
        self.release(lease).await;
        run
    }

    /// Runs a campaign whose lease the caller holds, as read.
    async fn run_campaign_leased(
        &self,
        principal: &Principal,
        mut campaign: Campaign,
        trigger: &str,
    ) -> Result<JobRun, ServiceError> {
        let now = self.now();
        let job_id = format!("campaign:{}", campaign.id);
        let mut run = new_run(&job_id, principal, trigger, now);
        run.customers_scanned = self.all_customers(principal, Default::default()).await?.len() as u64;
        let targets = self
            .select(principal, &campaign)
            .await?
            .into_iter()
            .map(|(customer, selected)| Target {
                customer_id: customer.id.to_string(),
                external_id: customer.fields.external_id.clone(),
                reason_code: format!("campaign:{}", campaign.id),
                reason: format!("{}: {}", campaign.fields.name, selected.reason),
                evidence: Vec::new(),
                topic: campaign.fields.segment.query.clone(),
            })
            .collect();
        let plan = RunPlan {
            job_id,
            trigger,
            source: OutreachSource {
                kind: "campaign".into(),
                id: campaign.id.clone(),
            },
            spec: &campaign.fields.outreach,
            cooldown_hours: campaign.fields.cooldown_hours,
        };
        let run = self.execute_run(principal, plan, run, targets).await?;
        campaign.last_run_at = Some(now);
        let campaign_id = campaign.id.clone();
        self.blocking(move |s| s.put_campaign(&campaign)).await?;
        let detail = AuditDetail {
            run_id: Some(run.id.clone()),
            ..AuditDetail::default()
        };
        self.audit(
            principal,
            AuditAction::CampaignRun,
            TargetKind::Campaign,
            &campaign_id,
            detail,
        )
        .await?;
        Ok(run)
    }

    /// Runs the workspace's scheduled campaigns whose latest scheduled time is after their last run (or their
    /// creation); one failing campaign is logged and the others run.
    pub(super) async fn tick_campaigns(&self, principal: &Principal) -> Result<(), ServiceError> {
        let now = self.now();
        for campaign in self.list_campaigns(principal).await? {
            let Some(schedule) = &campaign.fields.schedule else {
                continue;
            };
            let Some(due) = crate::domain::schedule::previous_fire(schedule, &campaign.fields.timezone, now) else {
                continue;
            };
            if due > campaign.last_run_at.unwrap_or(campaign.created_at) {
                // Once across the nodes sharing the store: the run's lease, then the campaign read again under it
                // (another node may have run it since it was listed).
                let (ws, id) = (principal.workspace.clone(), campaign.id.clone());
                let leased = self
                    .blocking(move |s| {
                        let Some(lease) = s.try_job_lease(&ws, &campaign_lease(&id))? else {
                            return Ok(None);
                        };
                        Ok(s.get_campaign(&ws, &id)?.map(|c| (lease, c)))
                    })
                    .await?;
                let Some((lease, current)) = leased else { continue };
                if due > current.last_run_at.unwrap_or(current.created_at) {
                    if let Err(e) = self.run_campaign_leased(principal, current, "schedule").await {
                        tracing::error!(campaign = %campaign.id, error = %e, "campaign run failed");
                    }
                }
                self.release(lease).await;
            }
        }
        Ok(())
    }
}

/// The key of a campaign's run lease (see [`crate::store::JobRepo::try_job_lease`]): one run at a time across
/// the nodes, scheduled or manual.
fn campaign_lease(id: &str) -> String {
    format!("campaign/{id}")
}
