//! Scheduled work. The scheduler only calls use cases on [`Services`]: a ticker every minute (due jobs and
//! campaigns in every workspace), the daily retention sweep and the daily health sweep. The job files live in
//! [`files`].

pub mod files;

use std::sync::{Arc, Weak};

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::service::Services;

/// When retention runs: every day at 03:15 UTC (6 fields, seconds first).
pub const RETENTION_SCHEDULE: &str = "0 15 3 * * *";
/// When every customer's health is recomputed and recorded: every day at 04:00 UTC.
pub const HEALTH_SCHEDULE: &str = "0 0 4 * * *";
/// The ticker's schedule: every minute, on the minute.
pub const TICK_SCHEDULE: &str = "0 * * * * *";

/// The running scheduler. Its jobs reach the services through a weak handle, so once this is shut down and
/// dropped nothing of the scheduler keeps the store open (the store file is rewritten after a stop).
pub struct Scheduler {
    inner: JobScheduler,
    _services: Arc<Services>,
}

impl Scheduler {
    /// Stops the schedules; a run in progress finishes first.
    pub async fn shutdown(mut self) -> Result<(), JobSchedulerError> {
        self.inner.shutdown().await
    }
}

/// A scheduled job's body: the use case to call with the services, if they are still there.
fn job<F, Fut>(schedule: &str, services: &Arc<Services>, body: F) -> Result<Job, JobSchedulerError>
where
    F: Fn(Services) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let services: Weak<Services> = Arc::downgrade(services);
    Job::new_async(schedule, move |_, _| {
        let (services, body) = (services.upgrade(), body.clone());
        Box::pin(async move {
            if let Some(services) = services {
                body(Services::clone(&services)).await;
            }
        })
    })
}

/// Starts the scheduler: the ticker, the retention sweep and the health sweep.
pub async fn start(services: Services) -> Result<Scheduler, JobSchedulerError> {
    let services = Arc::new(services);
    let scheduler = JobScheduler::new().await?;
    scheduler
        .add(job(
            TICK_SCHEDULE,
            &services,
            |s| async move { s.tick("schedule").await },
        )?)
        .await?;
    scheduler
        .add(job(RETENTION_SCHEDULE, &services, |s| async move {
            let span = tracing::info_span!("job", name = "retention");
            let _enter = span.enter();
            if let Err(e) = s.sweep_once("retention", s.enforce_retention(s.retention())).await {
                tracing::error!(error = %e, "retention failed");
            }
        })?)
        .await?;
    scheduler
        .add(job(HEALTH_SCHEDULE, &services, |s| async move {
            if let Err(e) = s.sweep_once("health", s.recompute_health()).await {
                tracing::error!(error = %e, "health recomputation failed");
            }
        })?)
        .await?;
    scheduler.start().await?;
    tracing::info!(
        tick = TICK_SCHEDULE,
        retention = RETENTION_SCHEDULE,
        health = HEALTH_SCHEDULE,
        "scheduler started"
    );
    Ok(Scheduler {
        inner: scheduler,
        _services: services,
    })
}
