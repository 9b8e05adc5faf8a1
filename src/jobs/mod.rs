//! Scheduled work. Jobs only call use cases on [`Services`]: the proactive detectors defined in the top-level
//! `jobs/` folder, and the daily retention sweep.

pub mod definition;
pub mod run;

use std::str::FromStr;
use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use self::definition::JobDefinition;

use crate::service::{Retention, Services};

/// When retention runs: every day at 03:15 UTC (6 fields, seconds first).
pub const RETENTION_SCHEDULE: &str = "0 15 3 * * *";
/// When every customer's health is recomputed and recorded: every day at 04:00 UTC.
pub const HEALTH_SCHEDULE: &str = "0 0 4 * * *";

/// The loaded job definitions, each with a lock so that a job never runs twice at once.
#[derive(Clone, Default)]
pub struct Jobs {
    jobs: Arc<Vec<(JobDefinition, Arc<tokio::sync::Mutex<()>>)>>,
}

impl Jobs {
    /// Wraps validated definitions.
    pub fn new(definitions: Vec<JobDefinition>) -> Self {
        Self {
            jobs: Arc::new(definitions.into_iter().map(|d| (d, Arc::default())).collect()),
        }
    }

    /// Every definition.
    pub fn definitions(&self) -> impl Iterator<Item = &JobDefinition> {
        self.jobs.iter().map(|(d, _)| d)
    }

    /// Runs one job now, unless it is already running (then `None`).
    pub async fn run(
        &self,
        services: &Services,
        id: &str,
        workspaces: Option<Vec<crate::domain::WorkspaceId>>,
        trigger: &str,
    ) -> Option<Result<crate::domain::job_run::JobRun, crate::service::ServiceError>> {
        let (job, lock) = self.jobs.iter().find(|(d, _)| d.id == id)?;
        let Ok(_guard) = lock.try_lock() else {
            tracing::warn!(job = id, "already running; this run is skipped");
            return None;
        };
        Some(run::run(services, job, workspaces, services.now(), trigger).await)
    }

    /// Runs once, at start-up, every enabled job whose last scheduled time passed while the server was down.
    pub async fn catch_up(&self, services: &Services) {
        let now = services.now();
        for job in self.definitions().filter(|j| j.enabled) {
            let Some(due) = job.previous_fire(now) else { continue };
            let last = services
                .job_runs(&job.id, 1)
                .await
                .ok()
                .and_then(|r| r.first().map(|r| r.started_at));
            if last.is_some_and(|l| l < due) {
                tracing::info!(job = %job.id, missed = %due, "running a run missed while the server was down");
                if let Some(Err(e)) = self.run(services, &job.id, None, "startup").await {
                    tracing::error!(job = %job.id, error = %e, "catch-up run failed");
                }
            }
        }
    }
}

/// Starts the scheduler: every enabled job on its schedule, and the retention sweep.
pub async fn start(services: Services, jobs: Jobs, retention: Retention) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    for definition in jobs.definitions().filter(|j| j.enabled) {
        let tz = chrono_tz::Tz::from_str(&definition.timezone).unwrap_or(chrono_tz::UTC);
        let (services, jobs, id) = (services.clone(), jobs.clone(), definition.id.clone());
        let job = Job::new_async_tz(definition.schedule.as_str(), tz, move |_, _| {
            let (services, jobs, id) = (services.clone(), jobs.clone(), id.clone());
            Box::pin(async move {
                if let Some(Err(e)) = jobs.run(&services, &id, None, "schedule").await {
                    tracing::error!(job = %id, error = %e, "job run failed");
                }
            })
        })?;
        scheduler.add(job).await?;
    }
    let services_for_health = services.clone();
    let job = Job::new_async(RETENTION_SCHEDULE, move |_, _| {
        let services = services.clone();
        Box::pin(async move {
            let span = tracing::info_span!("job", name = "retention");
            let _enter = span.enter();
            if let Err(e) = services.enforce_retention(retention).await {
                tracing::error!(error = %e, "retention failed");
            }
        })
    })?;
    scheduler.add(job).await?;
    let health = Job::new_async(HEALTH_SCHEDULE, move |_, _| {
        let services = services_for_health.clone();
        Box::pin(async move {
            if let Err(e) = services.recompute_health().await {
                tracing::error!(error = %e, "health recomputation failed");
            }
        })
    })?;
    scheduler.add(health).await?;
    scheduler.start().await?;
    tracing::info!(schedule = RETENTION_SCHEDULE, "scheduler started");
    Ok(scheduler)
}
