//! The one runner behind job runs and campaign runs: the targets a run selected are queued under the contact
//! rules, each outcome counted and listed, and the run recorded in its workspace.

use chrono::{DateTime, Utc};

use super::outreach::{QueueOutcome, QueueRequest, Target};
use super::{ServiceError, Services};
use crate::domain::job_run::{JobRun, RunMatch, MAX_MATCHES_RECORDED};
use crate::domain::outreach::{OutreachSource, OutreachSpec};
use crate::domain::Principal;

/// What a run queues, and under which name it is recorded.
pub(super) struct RunPlan<'a> {
    /// The job id (`campaign:<id>` for campaigns).
    pub job_id: String,
    /// `schedule`, `startup`, `manual`, `demo`.
    pub trigger: &'a str,
    /// Where items come from.
    pub source: OutreachSource,
    /// Channels, templates, priority.
    pub spec: &'a OutreachSpec,
    /// No second item for the same customer, reason and evidence within this many hours.
    pub cooldown_hours: u32,
}

/// A new run record.
pub(super) fn new_run(job_id: &str, principal: &Principal, trigger: &str, started_at: DateTime<Utc>) -> JobRun {
    JobRun {
        id: format!("run_{}", ulid::Ulid::new().to_string().to_lowercase()),
        job_id: job_id.to_owned(),
        workspace: principal.workspace.clone(),
        trigger: trigger.to_owned(),
        started_at,
        ..Default::default()
    }
}

impl Services {
    /// Queues every target of a run in the principal's workspace and records the run. One target's failure is
    /// an error line of the run, not the run's failure.
    pub(super) async fn execute_run(
        &self,
        principal: &Principal,
        plan: RunPlan<'_>,
        mut run: JobRun,
        targets: Vec<Target>,
    ) -> Result<JobRun, ServiceError> {
        for target in targets {
            run.matches += 1;
            let (customer_id, external_id, reason) = (
                target.customer_id.clone(),
                target.external_id.clone(),
                target.reason.clone(),
            );
            let request = QueueRequest {
                customer_id: target.customer_id,
                reason_code: target.reason_code,
                reason: target.reason,
                evidence: target.evidence,
                channels: plan.spec.channels.clone(),
                templates: plan.spec.templates.clone(),
                topic: target.topic,
                priority: Some(plan.spec.priority),
                not_before: None,
                expires_at: None,
                cooldown_hours: Some(plan.cooldown_hours),
            };
            let outcome = match self.queue_outreach(principal, plan.source.clone(), request).await {
                Ok(QueueOutcome::Queued { .. }) => {
                    run.queued += 1;
                    "queued".to_owned()
                }
                Ok(QueueOutcome::Skipped { rule }) => {
                    *run.skipped.entry(rule.code().to_owned()).or_default() += 1;
                    rule.code().to_owned()
                }
                Err(e) => {
                    run.errors.push(format!("{external_id}: {e}"));
                    "error".to_owned()
                }
            };
            if run.matched.len() < MAX_MATCHES_RECORDED {
                run.matched.push(RunMatch {
                    customer_id,
                    external_id,
                    reason,
                    outcome,
                });
            }
        }
        run.finished_at = Some(self.now().max(run.started_at));
        tracing::info!(
            job = %plan.job_id,
            trigger = plan.trigger,
            workspace = %run.workspace,
            scanned = run.customers_scanned,
            matches = run.matches,
            queued = run.queued,
            errors = run.errors.len(),
            "run"
        );
        let stored = run.clone();
        self.blocking(move |s| s.save_job_run(&stored)).await?;
        Ok(run)
    }
}
