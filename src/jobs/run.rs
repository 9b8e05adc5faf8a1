//! One run of a job: every customer of the given workspaces through the detector, findings queued as outreach
//! under the contact rules, and the run recorded.

use chrono::{DateTime, Utc};

use super::definition::JobDefinition;
use crate::domain::detect::{Finding, Snapshot};
use crate::domain::job_run::JobRun;
use crate::domain::outreach::OutreachSource;
use crate::domain::{Customer, WorkspaceId};
use crate::service::outreach::Target;
use crate::service::{operator, ServiceError, Services};

/// Every customer of `workspace` the job's detector matches at `now`, with its finding (nothing is queued).
pub async fn findings(
    services: &Services,
    job: &JobDefinition,
    workspace: &WorkspaceId,
    now: DateTime<Utc>,
) -> Result<Vec<(Customer, Finding)>, ServiceError> {
    let customers = services
        .all_customers(&operator(workspace.clone()), Default::default())
        .await?;
    findings_among(services, job, workspace, customers, now).await
}

/// The detector's matches among `customers` of `workspace`.
async fn findings_among(
    services: &Services,
    job: &JobDefinition,
    workspace: &WorkspaceId,
    customers: Vec<Customer>,
    now: DateTime<Utc>,
) -> Result<Vec<(Customer, Finding)>, ServiceError> {
    let incidents = services.incidents_embedded(workspace).await?;
    let mut out = Vec::new();
    for customer in customers {
        let (interactions, memories) = services.history(&customer).await?;
        let snapshot = Snapshot {
            customer: &customer,
            interactions: &interactions,
            memories: &memories,
            incidents: &incidents,
        };
        let healthy_enough = job
            .max_health
            .is_some_and(|max| crate::domain::health::compute(&snapshot, now).score > max);
        if healthy_enough {
            continue;
        }
        if let Some(finding) = job.detector.detect(&snapshot, now) {
            out.push((customer, finding));
        }
    }
    Ok(out)
}

/// Runs `job` at `now` over `workspaces` (every workspace when `None`) and records the run.
pub async fn run(
    services: &Services,
    job: &JobDefinition,
    workspaces: Option<Vec<WorkspaceId>>,
    now: DateTime<Utc>,
    trigger: &str,
) -> Result<JobRun, ServiceError> {
    let span = tracing::info_span!("job", id = %job.id, trigger);
    let _enter = span.enter();
    let mut record = JobRun {
        id: format!("run_{}", ulid::Ulid::new().to_string().to_lowercase()),
        job_id: job.id.clone(),
        trigger: trigger.to_owned(),
        started_at: now,
        ..Default::default()
    };
    let workspaces = match workspaces {
        Some(w) => w,
        None => services
            .list_workspaces(&operator(WorkspaceId::default_workspace()))
            .await?
            .into_iter()
            .map(|w| w.id)
            .collect(),
    };
    for ws in workspaces {
        let principal = operator(ws.clone());
        let customers = services.all_customers(&principal, Default::default()).await?;
        record.customers_scanned += customers.len() as u64;
        for (customer, finding) in findings_among(services, job, &ws, customers, now).await? {
            record.matches += 1;
            let target = Target {
                customer_id: customer.id.to_string(),
                external_id: customer.fields.external_id.clone(),
                reason_code: finding.reason_code,
                reason: finding.reason,
                evidence: finding.evidence,
                topic: Some(finding.topic),
            };
            let source = OutreachSource {
                kind: "job".into(),
                id: job.id.clone(),
            };
            services
                .queue_into_run(
                    &principal,
                    source,
                    &job.outreach,
                    job.cooldown_hours,
                    target,
                    &mut record,
                )
                .await;
        }
    }
    record.finished_at = Some(services.now().max(now));
    tracing::info!(
        scanned = record.customers_scanned,
        matches = record.matches,
        queued = record.queued,
        "job run"
    );
    services.save_job_run(record.clone()).await?;
    Ok(record)
}
