//! Scheduled work. Jobs only call use cases on [`Services`]: the proactive detectors defined in the top-level
//! `jobs/` folder, and the daily retention sweep.

pub mod definition;
pub mod run;

use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use self::definition::JobDefinition;

use crate::service::{Retention, Services};

/// When retention runs: every day at 03:15 UTC (6 fields, seconds first).
pub const RETENTION_SCHEDULE: &str = "0 15 3 * * *";
/// When every customer's health is recomputed and recorded: every day at 04:00 UTC.
pub const HEALTH_SCHEDULE: &str = "0 0 4 * * *";

/// The job definitions, each with a lock so that a job never runs twice at once. Definitions can change while
/// the server runs (the API writes them to the jobs folder); the scheduler's ticker reads them each minute.
#[derive(Clone, Default)]
pub struct Jobs {
    jobs: Arc<std::sync::RwLock<Vec<Entry>>>,
    dir: Option<std::path::PathBuf>,
    started: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone)]
struct Entry {
    definition: JobDefinition,
    lock: Arc<tokio::sync::Mutex<()>>,
}

/// Why a definition change was refused.
#[derive(Debug, thiserror::Error)]
pub enum JobChangeError {
    /// The definition is not valid.
    #[error("{0}")]
    Invalid(String),
    /// A job with this id exists (create) or none does (update, delete).
    #[error("job {0}")]
    Conflict(String),
    /// The file could not be written.
    #[error("job file: {0}")]
    Io(#[from] std::io::Error),
}

impl Jobs {
    /// Wraps validated definitions (not persisted: tests, benchmarks).
    pub fn new(definitions: Vec<JobDefinition>) -> Self {
        let entries = definitions
            .into_iter()
            .map(|definition| Entry {
                definition,
                lock: Arc::default(),
            })
            .collect();
        Self {
            jobs: Arc::new(std::sync::RwLock::new(entries)),
            dir: None,
            started: chrono::Utc::now(),
        }
    }

    /// Definitions loaded from `dir`; changes through the API are written back there.
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, definition::DefinitionError> {
        Ok(Self {
            dir: Some(dir.to_owned()),
            ..Self::new(definition::load_dir(dir)?)
        })
    }

    fn entries(&self) -> Vec<Entry> {
        self.jobs.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Every definition, by id.
    pub fn definitions(&self) -> Vec<JobDefinition> {
        self.entries().into_iter().map(|e| e.definition).collect()
    }

    /// One definition.
    pub fn get(&self, id: &str) -> Option<JobDefinition> {
        self.entries()
            .into_iter()
            .find(|e| e.definition.id == id)
            .map(|e| e.definition)
    }

    /// Creates (`replace` false) or replaces (`replace` true) a definition, validated and written to the folder.
    pub fn save(&self, definition: JobDefinition, replace: bool) -> Result<JobDefinition, JobChangeError> {
        definition.validate().map_err(JobChangeError::Invalid)?;
        let mut jobs = self.jobs.write().unwrap_or_else(|p| p.into_inner());
        let existing = jobs.iter().position(|e| e.definition.id == definition.id);
        match (existing, replace) {
            (Some(_), false) => return Err(JobChangeError::Conflict(format!("{} already exists", definition.id))),
            (None, true) => return Err(JobChangeError::Conflict(format!("{} does not exist", definition.id))),
            _ => {}
        }
        if let Some(dir) = &self.dir {
            let text = toml::to_string_pretty(&definition).map_err(|e| JobChangeError::Invalid(e.to_string()))?;
            let path = dir.join(format!("{}.toml", definition.id));
            let tmp = dir.join(format!(".{}.toml.tmp", definition.id));
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, &path)?;
        }
        match existing {
            Some(i) => jobs[i].definition = definition.clone(),
            None => {
                jobs.push(Entry {
                    definition: definition.clone(),
                    lock: Arc::default(),
                });
                jobs.sort_by(|a, b| a.definition.id.cmp(&b.definition.id));
            }
        }
        Ok(definition)
    }

    /// Deletes a definition and its file.
    pub fn delete(&self, id: &str) -> Result<(), JobChangeError> {
        let mut jobs = self.jobs.write().unwrap_or_else(|p| p.into_inner());
        let i = jobs
            .iter()
            .position(|e| e.definition.id == id)
            .ok_or_else(|| JobChangeError::Conflict(format!("{id} does not exist")))?;
        if let Some(dir) = &self.dir {
            match std::fs::remove_file(dir.join(format!("{id}.toml"))) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        jobs.remove(i);
        Ok(())
    }

    /// Runs one job now, unless it is already running (then `None`).
    pub async fn run(
        &self,
        services: &Services,
        id: &str,
        workspaces: Option<Vec<crate::domain::WorkspaceId>>,
        trigger: &str,
    ) -> Option<Result<crate::domain::job_run::JobRun, crate::service::ServiceError>> {
        let entry = self.entries().into_iter().find(|e| e.definition.id == id)?;
        let Ok(_guard) = entry.lock.try_lock() else {
            tracing::warn!(job = id, "already running; this run is skipped");
            return None;
        };
        Some(run::run(services, &entry.definition, workspaces, services.now(), trigger).await)
    }

    /// Runs every enabled job whose latest scheduled time is after its last run (or, for a job that never ran,
    /// after the server started). At start-up this runs, once, what was missed while the server was down.
    pub async fn tick(&self, services: &Services, trigger: &str) {
        let now = services.now();
        for job in self.definitions().into_iter().filter(|j| j.enabled) {
            let Some(due) = job.previous_fire(now) else { continue };
            let last = services
                .job_runs(&job.id, 1)
                .await
                .ok()
                .and_then(|r| r.first().map(|r| r.started_at));
            if due > last.unwrap_or(self.started) {
                if trigger == "startup" {
                    tracing::info!(job = %job.id, missed = %due, "running a run missed while the server was down");
                }
                if let Some(Err(e)) = self.run(services, &job.id, None, trigger).await {
                    tracing::error!(job = %job.id, error = %e, "job run failed");
                }
            }
        }
    }
}

/// The ticker's schedule: every minute, on the minute.
pub const TICK_SCHEDULE: &str = "0 * * * * *";

/// Starts the scheduler: a ticker that runs the due jobs every minute, the retention sweep and the health sweep.
pub async fn start(services: Services, jobs: Jobs, retention: Retention) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let (ticker_services, ticker_jobs) = (services.clone(), jobs.clone());
    let ticker = Job::new_async(TICK_SCHEDULE, move |_, _| {
        let (services, jobs) = (ticker_services.clone(), ticker_jobs.clone());
        Box::pin(async move {
            jobs.tick(&services, "schedule").await;
            if let Err(e) = services.tick_campaigns().await {
                tracing::error!(error = %e, "campaign tick failed");
            }
        })
    })?;
    scheduler.add(ticker).await?;
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
