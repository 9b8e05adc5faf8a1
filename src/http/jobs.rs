//! Proactive jobs: their definitions, on-demand runs and run history.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ApiError;
use super::responses::{AuthErrors, NotFound};
use crate::domain::job_run::JobRun;
use crate::domain::Scope;
use crate::jobs::definition::JobDefinition;
use crate::jobs::Jobs;
use crate::service::{ServiceError, Services};

/// Path of one job.
#[derive(Deserialize, IntoParams)]
pub struct JobPath {
    /// The job id.
    pub id: String,
}

/// A job and its last run.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    /// The definition, as in its TOML file.
    pub definition: JobDefinition,
    /// The last run, if any.
    pub last_run: Option<JobRun>,
}

fn job_not_found(id: &str) -> ApiError {
    ApiError::from(ServiceError::JobNotFound(id.to_owned()))
}

async fn view(services: &Services, definition: &JobDefinition) -> Result<JobView, ApiError> {
    let last_run = services.job_runs(&definition.id, 1).await?.into_iter().next();
    Ok(JobView {
        definition: definition.clone(),
        last_run,
    })
}

/// List jobs.
///
/// Every job definition loaded from the `jobs/` folder, with its last run.
#[utoipa::path(tag = "jobs", responses((status = 200, description = "The jobs", body = Vec<JobView>), AuthErrors))]
#[get("/jobs")]
pub async fn list_jobs(
    services: web::Data<Services>,
    jobs: web::Data<Jobs>,
    Caller(principal): Caller,
) -> Result<web::Json<Vec<JobView>>, ApiError> {
    if !principal.grants(Scope::Read) {
        return Err(ServiceError::Forbidden { needed: Scope::Read }.into());
    }
    let mut out = Vec::new();
    for d in jobs.definitions() {
        out.push(view(&services, d).await?);
    }
    Ok(web::Json(out))
}

/// Get a job.
#[utoipa::path(tag = "jobs", params(JobPath), responses((status = 200, description = "The job", body = JobView), NotFound, AuthErrors))]
#[get("/jobs/{id}")]
pub async fn get_job(
    services: web::Data<Services>,
    jobs: web::Data<Jobs>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
) -> Result<web::Json<JobView>, ApiError> {
    if !principal.grants(Scope::Read) {
        return Err(ServiceError::Forbidden { needed: Scope::Read }.into());
    }
    let d = jobs
        .definitions()
        .find(|d| d.id == path.id)
        .ok_or_else(|| job_not_found(&path.id))?;
    Ok(web::Json(view(&services, d).await?))
}

/// Run a job now.
///
/// Over the caller's workspace, at the current time; queues outreach under the same rules as scheduled runs.
/// Returns 409 `job_running` when the job is already running.
#[utoipa::path(tag = "jobs", params(JobPath), responses(
    (status = 200, description = "The run", body = JobRun),
    (status = 409, description = "Already running (`job_running`)", body = super::error::Problem, content_type = "application/problem+json"),
    NotFound, AuthErrors,
))]
#[post("/jobs/{id}/run")]
pub async fn run_job(
    services: web::Data<Services>,
    jobs: web::Data<Jobs>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
) -> Result<HttpResponse, ApiError> {
    if !principal.grants(Scope::Admin) {
        return Err(ServiceError::Forbidden { needed: Scope::Admin }.into());
    }
    if !jobs.definitions().any(|d| d.id == path.id) {
        return Err(job_not_found(&path.id));
    }
    match jobs
        .run(&services, &path.id, Some(vec![principal.workspace.clone()]), "manual")
        .await
    {
        Some(run) => Ok(HttpResponse::Ok().json(run?)),
        None => Err(ServiceError::JobRunning(path.id.clone()).into()),
    }
}

/// List a job's runs.
///
/// Newest first (the last 50): start, end, customers scanned, matches, items queued, items skipped by rule,
/// errors.
#[utoipa::path(tag = "jobs", params(JobPath), responses((status = 200, description = "Runs, newest first", body = Vec<JobRun>), NotFound, AuthErrors))]
#[get("/jobs/{id}/runs")]
pub async fn job_runs(
    services: web::Data<Services>,
    jobs: web::Data<Jobs>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
) -> Result<web::Json<Vec<JobRun>>, ApiError> {
    if !principal.grants(Scope::Read) {
        return Err(ServiceError::Forbidden { needed: Scope::Read }.into());
    }
    if !jobs.definitions().any(|d| d.id == path.id) {
        return Err(job_not_found(&path.id));
    }
    Ok(web::Json(services.job_runs(&path.id, 50).await?))
}
