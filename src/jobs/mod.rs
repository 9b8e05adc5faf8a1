//! Scheduled work. Jobs only call use cases on [`Services`]; today the daily retention sweep (the proactive
//! detectors defined in the top-level `jobs/` folder come with the proactive-support work).

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::service::{Retention, Services};

/// When retention runs: every day at 03:15 UTC (6 fields, seconds first).
pub const RETENTION_SCHEDULE: &str = "0 15 3 * * *";

/// Starts the scheduler with the retention job.
pub async fn start(services: Services, retention: Retention) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
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
    scheduler.start().await?;
    tracing::info!(schedule = RETENTION_SCHEDULE, "scheduler started");
    Ok(scheduler)
}
