//! Proactive jobs as use cases: their definitions (stored with the data, seeded once from the `jobs/` folder),
//! runs in one workspace at a time (a job never runs twice at once in a workspace), each workspace's run history,
//! and the ticker that runs what is due in every workspace, jobs and scheduled campaigns alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::outreach::Target;
use super::runs::{new_run, RunPlan};
use super::{operator, require, require_operator, ServiceError, Services};
use crate::domain::audit::{AuditAction, AuditDetail, TargetKind};
use crate::domain::detect::{Finding, Snapshot};
use crate::domain::job::JobDefinition;
use crate::domain::job_run::JobRun;
use crate::domain::outreach::OutreachSource;
use crate::domain::{Customer, InvalidInput, Principal, Scope, WorkspaceId};
use crate::store::ScheduleTake;

/// Runs listed by `GET /v1/jobs/{id}/runs`.
pub const RUNS_LISTED: usize = 50;

/// A job and its last run in the caller's workspace.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    /// The definition.
    pub definition: JobDefinition,
    /// The last run in the caller's workspace, if any.
    pub last_run: Option<JobRun>,
}

type LockMap = HashMap<(String, WorkspaceId), Arc<tokio::sync::Mutex<()>>>;

/// One lock per (job, workspace): a job never runs twice at once in a workspace.
#[derive(Clone, Default)]
pub(super) struct JobLocks(Arc<Mutex<LockMap>>);

impl JobLocks {
    fn get(&self, job: &str, ws: &WorkspaceId) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry((job.to_owned(), ws.clone())).or_default())
    }
}

fn invalid_job(reason: impl Into<String>) -> ServiceError {
    InvalidInput::new("invalid_job", "", reason).into()
}

impl Services {
    /// Seeds the store with job definitions the first time it is opened with any; returns how many were stored.
    pub async fn seed_jobs(&self, jobs: Vec<JobDefinition>) -> Result<usize, ServiceError> {
        Ok(self.blocking(move |s| s.seed_jobs(&jobs)).await?)
    }

    async fn definition(&self, id: &str) -> Result<JobDefinition, ServiceError> {
        let key = id.to_owned();
        self.blocking(move |s| s.get_job(&key))
            .await?
            .ok_or_else(|| ServiceError::JobNotFound(id.to_owned()))
    }

    async fn view(&self, ws: &WorkspaceId, definition: JobDefinition) -> Result<JobView, ServiceError> {
        let (w, id) = (ws.clone(), definition.id.clone());
        let last_run = self.blocking(move |s| s.job_runs(&w, &id, 1)).await?.into_iter().next();
        Ok(JobView { definition, last_run })
    }

    /// Every job, with its last run in the caller's workspace.
    pub async fn list_jobs(&self, principal: &Principal) -> Result<Vec<JobView>, ServiceError> {
        require(principal, Scope::Read)?;
        let mut out = Vec::new();
        for d in self.blocking(|s| s.list_jobs()).await? {
            out.push(self.view(&principal.workspace, d).await?);
        }
        Ok(out)
    }

    /// One job, with its last run in the caller's workspace.
    pub async fn get_job(&self, principal: &Principal, id: &str) -> Result<JobView, ServiceError> {
        require(principal, Scope::Read)?;
        let d = self.definition(id).await?;
        self.view(&principal.workspace, d).await
    }

    /// Creates a job (operators only).
    pub async fn create_job(&self, principal: &Principal, body: Value) -> Result<JobView, ServiceError> {
        require_operator(principal)?;
        let definition: JobDefinition = serde_json::from_value(body).map_err(|e| invalid_job(e.to_string()))?;
        definition.validate().map_err(invalid_job)?;
        let stored = definition.clone();
        if !self.blocking(move |s| s.insert_job(&stored)).await? {
            return Err(ServiceError::JobExists(definition.id));
        }
        self.audit(
            principal,
            AuditAction::JobCreated,
            TargetKind::Job,
            &definition.id,
            AuditDetail::default(),
        )
        .await?;
        self.view(&principal.workspace, definition).await
    }

    /// Changes a job with a JSON merge patch (operators only).
    pub async fn update_job(&self, principal: &Principal, id: &str, patch: Value) -> Result<JobView, ServiceError> {
        require_operator(principal)?;
        let current = self.definition(id).await?;
        let definition = crate::domain::merge_patch::patched_whole(&current, &patch, JobDefinition::PATCHED_WHOLE)
            .map_err(|e| InvalidInput {
                code: "invalid_job",
                ..e
            })?;
        if definition.id != current.id {
            return Err(InvalidInput::new("invalid_job", "id", "a job's id cannot change").into());
        }
        definition.validate().map_err(invalid_job)?;
        let stored = definition.clone();
        if !self.blocking(move |s| s.replace_job(&stored)).await? {
            return Err(ServiceError::JobNotFound(id.to_owned()));
        }
        self.audit(
            principal,
            AuditAction::JobUpdated,
            TargetKind::Job,
            &definition.id,
            AuditDetail::default(),
        )
        .await?;
        self.view(&principal.workspace, definition).await
    }

    /// Deletes a job (operators only); its runs stay readable.
    pub async fn delete_job(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        require_operator(principal)?;
        let key = id.to_owned();
        if self.blocking(move |s| s.delete_job(&key)).await? {
            self.audit(
                principal,
                AuditAction::JobDeleted,
                TargetKind::Job,
                id,
                AuditDetail::default(),
            )
            .await
        } else {
            Err(ServiceError::JobNotFound(id.to_owned()))
        }
    }

    /// Every job definition (the ticker, the demo start, `rappel jobs export`).
    pub async fn job_definitions(&self) -> Result<Vec<JobDefinition>, ServiceError> {
        Ok(self.blocking(|s| s.list_jobs()).await?)
    }

    /// A job's runs in the caller's workspace, newest first.
    pub async fn job_runs(&self, principal: &Principal, id: &str) -> Result<Vec<JobRun>, ServiceError> {
        require(principal, Scope::Read)?;
        self.definition(id).await?;
        let (ws, key) = (principal.workspace.clone(), id.to_owned());
        Ok(self.blocking(move |s| s.job_runs(&ws, &key, RUNS_LISTED)).await?)
    }

    /// Runs a daily sweep (retention, health) unless another node sharing the store is running it: at most one
    /// node sweeps at a time, the others skip (`None`). The sweeps are idempotent; this spares the database the
    /// same full pass from every node at the same minute.
    pub async fn sweep_once<T>(
        &self,
        name: &str,
        sweep: impl std::future::Future<Output = Result<T, ServiceError>>,
    ) -> Result<Option<T>, ServiceError> {
        let (ws, key) = (crate::domain::WorkspaceId::default_workspace(), format!("sweep/{name}"));
        let Some(lease) = self.blocking(move |s| s.try_job_lease(&ws, &key)).await? else {
            tracing::info!(sweep = name, "another node is running this sweep; skipped here");
            return Ok(None);
        };
        let swept = sweep.await.map(Some);
        self.release(lease).await;
        swept
    }

    /// Runs a job now in the caller's workspace; `job_running` when it is already running there.
    pub async fn run_job(&self, principal: &Principal, id: &str, trigger: &str) -> Result<JobRun, ServiceError> {
        require(principal, Scope::Admin)?;
        let job = self.definition(id).await?;
        let lock = self.job_locks.get(&job.id, &principal.workspace);
        let Ok(_guard) = lock.try_lock() else {
            return Err(ServiceError::JobRunning(job.id));
        };
        // Another node sharing the store may be running it.
        let (w, key) = (principal.workspace.clone(), job.id.clone());
        let Some(lease) = self.blocking(move |s| s.try_job_lease(&w, &key)).await? else {
            return Err(ServiceError::JobRunning(job.id));
        };
        let run = self.run_locked(principal, &job, trigger).await;
        self.release(lease).await;
        let run = run?;
        let detail = AuditDetail {
            run_id: Some(run.id.clone()),
            ..AuditDetail::default()
        };
        self.audit(principal, AuditAction::JobRun, TargetKind::Job, &job.id, detail)
            .await?;
        Ok(run)
    }

    /// Runs a job with its lock held, timed for the operations metrics.
    async fn run_locked(
        &self,
        principal: &Principal,
        job: &JobDefinition,
        trigger: &str,
    ) -> Result<JobRun, ServiceError> {
        let started = std::time::Instant::now();
        let result = self.run_timed(principal, job, trigger).await;
        crate::ops_metrics::job_run(&job.id, result.is_ok(), started.elapsed().as_secs_f64());
        result
    }

    async fn run_timed(
        &self,
        principal: &Principal,
        job: &JobDefinition,
        trigger: &str,
    ) -> Result<JobRun, ServiceError> {
        let now = self.now();
        let span = tracing::info_span!("job", id = %job.id, workspace = %principal.workspace, trigger);
        let _enter = span.enter();
        let mut run = new_run(&job.id, principal, trigger, now);
        let customers = self.all_customers(principal, Default::default()).await?;
        run.customers_scanned = customers.len() as u64;
        let mut targets = Vec::new();
        for (customer, finding) in self.findings_among(&principal.workspace, job, customers, now).await? {
            targets.push(Target {
                customer_id: customer.id.to_string(),
                external_id: customer.fields.external_id.clone(),
                reason_code: finding.reason_code,
                reason: finding.reason,
                evidence: finding.evidence,
                topic: Some(finding.topic),
            });
        }
        let plan = RunPlan {
            job_id: job.id.clone(),
            trigger,
            source: OutreachSource {
                kind: "job".into(),
                id: job.id.clone(),
            },
            spec: &job.outreach,
            cooldown_hours: job.cooldown_hours,
        };
        self.execute_run(principal, plan, run, targets).await
    }

    /// The detector's matches among `customers` of `workspace` at `now` (nothing is queued).
    async fn findings_among(
        &self,
        workspace: &WorkspaceId,
        job: &JobDefinition,
        customers: Vec<Customer>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Customer, Finding)>, ServiceError> {
        let incidents = self.incidents_embedded(workspace).await?;
        let mut out = Vec::new();
        for customer in customers {
            let (interactions, memories) = self.history(&customer).await?;
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

    /// Runs, in every workspace, each enabled job whose latest scheduled time is after its last run there (or, for
    /// a job that never ran there, after the server started), then the due scheduled campaigns. At start-up this
    /// runs, once, what was missed while the server was down. A failing run is logged and recorded; it never stops
    /// the others.
    pub async fn tick(&self, trigger: &str) {
        let now = self.now();
        let workspaces = match self.list_workspaces(&operator(WorkspaceId::default_workspace())).await {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "tick: cannot list workspaces");
                return;
            }
        };
        let jobs = match self.job_definitions().await {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "tick: cannot read job definitions");
                Vec::new()
            }
        };
        for ws in workspaces {
            let principal = operator(ws.id.clone());
            for job in jobs.iter().filter(|j| j.enabled) {
                let Some(due) = job.previous_fire(now) else { continue };
                let (w, id) = (ws.id.clone(), job.id.clone());
                let last = self
                    .blocking(move |s| s.job_runs(&w, &id, 1))
                    .await
                    .ok()
                    .and_then(|r| r.first().map(|r| r.started_at));
                if due <= last.unwrap_or(self.started_at) {
                    continue;
                }
                if trigger == "startup" {
                    tracing::info!(job = %job.id, workspace = %ws.id, missed = %due, "running a run missed while the server was down");
                }
                let lock = self.job_locks.get(&job.id, &ws.id);
                let Ok(_guard) = lock.try_lock() else { continue };
                // Once per schedule across the nodes sharing the store: the run's lease (one run at a time), the
                // last run read again under it (another node may have run it since the first look), then the
                // scheduled time taken for this node (whatever the interleaving, one node takes it; one that
                // stopped mid-run leaves it unfinished, and the next node to hold the lease runs it again).
                let (w, id) = (ws.id.clone(), job.id.clone());
                let started_at = self.started_at;
                let leased = self
                    .blocking(move |s| {
                        let Some(lease) = s.try_job_lease(&w, &id)? else {
                            return Ok(None);
                        };
                        let last = s.job_runs(&w, &id, 1)?.first().map(|r| r.started_at);
                        if due <= last.unwrap_or(started_at) {
                            return Ok(None);
                        }
                        Ok(match s.take_schedule(&w, &id, due)? {
                            ScheduleTake::Finished => None,
                            take => Some((lease, take)),
                        })
                    })
                    .await;
                let (lease, take) = match leased {
                    Ok(Some(leased)) => leased,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::error!(job = %job.id, workspace = %ws.id, error = %e, "tick: cannot take the job's lease");
                        continue;
                    }
                };
                let trigger = if take == ScheduleTake::Unfinished {
                    tracing::warn!(job = %job.id, workspace = %ws.id, due = %due, "running again a scheduled run whose node stopped before it finished");
                    "rerun"
                } else {
                    trigger
                };
                // A run that fails, even by a bug that panics, is recorded and the others go on: a scheduled or
                // catch-up run must never take the server down.
                let outcome = std::panic::AssertUnwindSafe(self.run_locked(&principal, job, trigger))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| Err(ServiceError::RunPanicked(super::error::panic_message(&*panic))));
                if let Err(e) = outcome {
                    tracing::error!(job = %job.id, workspace = %ws.id, error = %e, "job run failed");
                    let mut failed = new_run(&job.id, &principal, trigger, now);
                    failed.errors.push(e.to_string());
                    failed.finished_at = Some(now);
                    if let Err(e) = self.blocking(move |s| s.save_job_run(&failed)).await {
                        tracing::error!(error = %e, "the failed run could not be recorded");
                    }
                }
                let (w, id) = (ws.id.clone(), job.id.clone());
                if let Err(e) = self.blocking(move |s| s.finish_schedule(&w, &id, due)).await {
                    tracing::error!(job = %job.id, workspace = %ws.id, error = %e, "the finished run's scheduled time could not be marked: the next node to hold the lease runs it again");
                }
                self.release(lease).await;
            }
            if let Err(e) = self.tick_campaigns(&principal).await {
                tracing::error!(workspace = %ws.id, error = %e, "campaign tick failed");
            }
        }
    }
}
