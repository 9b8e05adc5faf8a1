//! Scheduled work. The scheduler only calls use cases on [`Services`]: a ticker every minute (due jobs and
//! campaigns in every workspace), the daily retention sweep and the daily health sweep. The job files live in
//! [`files`].

pub mod files;

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::service::Services;

/// When retention runs: every day at 03:15 UTC (6 fields, seconds first).
pub const RETENTION_SCHEDULE: &str = "0 15 3 * * *";
/// When every customer's health is recomputed and recorded: every day at 04:00 UTC.
pub const HEALTH_SCHEDULE: &str = "0 0 4 * * *";
/// The ticker's schedule: every minute, on the minute.
pub const TICK_SCHEDULE: &str = "0 * * * * *";

/// Starts the scheduler: the ticker, the retention sweep and the health sweep.
pub async fn start(services: Services) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let ticker_services = services.clone();
    let ticker = Job::new_async(TICK_SCHEDULE, move |_, _| {
        let services = ticker_services.clone();
        Box::pin(async move { services.tick("schedule").await })
    })?;
    scheduler.add(ticker).await?;
    let services_for_health = services.clone();
    let job = Job::new_async(RETENTION_SCHEDULE, move |_, _| {
        let services = services.clone();
        Box::pin(async move {
            let span = tracing::info_span!("job", name = "retention");
            let _enter = span.enter();
            if let Err(e) = services.enforce_retention(services.retention()).await {
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
    tracing::info!(
        tick = TICK_SCHEDULE,
        retention = RETENTION_SCHEDULE,
        health = HEALTH_SCHEDULE,
        "scheduler started"
    );
    Ok(scheduler)
}
