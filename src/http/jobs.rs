//! Proactive jobs: their definitions, on-demand runs and each workspace's run history.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::body::Body;
use super::error::ApiError;
use super::responses::{AuthErrors, NotFound};
use crate::domain::job_run::JobRun;
use crate::service::jobs::JobView;
use crate::service::Services;

/// Path of one job.
#[derive(Deserialize, IntoParams)]
pub struct JobPath {
    /// The job id.
    pub id: String,
}

/// List jobs.
///
/// Every job definition (seeded from the `jobs/` folder when the store was created, changed through this API
/// since), with its last run in the caller's workspace.
#[utoipa::path(tag = "jobs", responses((status = 200, description = "The jobs", body = Vec<JobView>), AuthErrors))]
#[get("/jobs")]
pub async fn list_jobs(
    services: web::Data<Services>,
    Caller(principal): Caller,
) -> Result<web::Json<Vec<JobView>>, ApiError> {
    Ok(web::Json(services.list_jobs(&principal).await?))
}

/// Get a job.
#[utoipa::path(tag = "jobs", params(JobPath), responses((status = 200, description = "The job", body = JobView), NotFound, AuthErrors))]
#[get("/jobs/{id}")]
pub async fn get_job(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
) -> Result<web::Json<JobView>, ApiError> {
    Ok(web::Json(services.get_job(&principal, &path.id).await?))
}

/// Run a job now.
///
/// Over the caller's workspace, at the current time; queues outreach under the same rules as scheduled runs.
/// The run lists who matched, why, and what became of each (queued or the rule that skipped it). Returns 409
/// `job_running` when the job is already running in this workspace.
#[utoipa::path(tag = "jobs", params(JobPath), responses(
    (status = 200, description = "The run", body = JobRun),
    (status = 409, description = "Already running (`job_running`)", body = super::error::Problem, content_type = "application/problem+json"),
    NotFound, AuthErrors,
))]
#[post("/jobs/{id}/run")]
pub async fn run_job(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
) -> Result<web::Json<JobRun>, ApiError> {
    Ok(web::Json(services.run_job(&principal, &path.id, "manual").await?))
}

/// List a job's runs.
///
/// The caller's workspace only, newest first (the last 50): start, end, customers scanned, matches, items
/// queued, items skipped by rule, errors, and who matched.
#[utoipa::path(tag = "jobs", params(JobPath), responses((status = 200, description = "Runs, newest first", body = Vec<JobRun>), NotFound, AuthErrors))]
#[get("/jobs/{id}/runs")]
pub async fn job_runs(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
) -> Result<web::Json<Vec<JobRun>>, ApiError> {
    Ok(web::Json(services.job_runs(&principal, &path.id).await?))
}

/// Create a job.
///
/// Operators only (admins of the default workspace). The definition (the format of `jobs/README.md`) is
/// validated and stored with the data; the ticker picks it up within a minute. The `jobs/` folder is not
/// touched (it only seeds a new store; `rappel jobs export` writes the live definitions out).
#[utoipa::path(tag = "jobs", request_body(content = crate::domain::job::JobDefinition, description = "A job definition (see jobs/README.md)"),
    responses((status = 201, description = "Created", body = JobView), super::responses::Conflict, super::responses::BodyErrors, AuthErrors))]
#[post("/jobs")]
pub async fn create_job(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let view = services.create_job(&principal, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Update a job (JSON merge patch).
///
/// Operators only. For example `{"enabled": false}` disables a job, `{"schedule": "0 0 8 * * *"}` moves it.
#[utoipa::path(tag = "jobs", params(JobPath), request_body(content = crate::domain::patch_schemas::JobPatch, content_type = "application/merge-patch+json", description = "Fields to change", example = json!({"enabled": false})),
    responses((status = 200, description = "The job", body = JobView), NotFound, super::responses::BodyErrors, AuthErrors))]
#[patch("/jobs/{id}")]
pub async fn update_job(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
    body: Body<serde_json::Value>,
) -> Result<web::Json<JobView>, ApiError> {
    Ok(web::Json(
        services.update_job(&principal, &path.id, body.into_inner()).await?,
    ))
}

/// Delete a job.
///
/// Operators only. Its past runs stay readable.
#[utoipa::path(tag = "jobs", params(JobPath), responses((status = 204, description = "Deleted"), NotFound, AuthErrors))]
#[delete("/jobs/{id}")]
pub async fn delete_job(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
) -> Result<HttpResponse, ApiError> {
    services.delete_job(&principal, &path.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
