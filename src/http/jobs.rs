//! Proactive jobs: their definitions, on-demand runs and run history.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ApiError;
use super::responses::{AuthErrors, NotFound};
use crate::domain::job_run::JobRun;
use crate::domain::Scope;
use crate::jobs::definition::JobDefinition;
use crate::jobs::Jobs;
use crate::service::{require, require_operator, ServiceError, Services};

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
    require(&principal, Scope::Read)?;
    let mut out = Vec::new();
    for d in jobs.definitions() {
        out.push(view(&services, &d).await?);
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
    require(&principal, Scope::Read)?;
    let d = jobs.get(&path.id).ok_or_else(|| job_not_found(&path.id))?;
    Ok(web::Json(view(&services, &d).await?))
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
    require(&principal, Scope::Admin)?;
    if jobs.get(&path.id).is_none() {
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
    require(&principal, Scope::Read)?;
    if jobs.get(&path.id).is_none() {
        return Err(job_not_found(&path.id));
    }
    Ok(web::Json(services.job_runs(&path.id, 50).await?))
}

fn change_error(e: crate::jobs::JobChangeError) -> ApiError {
    use crate::jobs::JobChangeError as E;
    match e {
        E::Invalid(reason) => ServiceError::Invalid(crate::domain::InvalidInput::new("invalid_job", "", reason)).into(),
        E::Conflict(what) if what.ends_with("does not exist") => {
            ServiceError::JobNotFound(what.trim_end_matches(" does not exist").to_owned()).into()
        }
        E::Conflict(what) => ServiceError::JobExists(what.trim_end_matches(" already exists").to_owned()).into(),
        E::Io(e) => ServiceError::Store(crate::store::StoreError::Io {
            path: "jobs".into(),
            source: e,
        })
        .into(),
    }
}

/// Create a job.
///
/// Operators only (admins of the default workspace). The definition is validated and written to the jobs folder
/// as `<id>.toml`; the scheduler picks it up within a minute.
#[utoipa::path(tag = "jobs", request_body(content = Object, description = "A job definition (see jobs/README.md)"),
    responses((status = 201, description = "Created", body = JobView), super::responses::Conflict, super::responses::BodyErrors, AuthErrors))]
#[post("/jobs")]
pub async fn create_job(
    services: web::Data<Services>,
    jobs: web::Data<Jobs>,
    Caller(principal): Caller,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    require_operator(&principal)?;
    let definition: JobDefinition = serde_json::from_value(body.into_inner()).map_err(|e| {
        ApiError::from(ServiceError::Invalid(crate::domain::InvalidInput::new(
            "invalid_job",
            "",
            e.to_string(),
        )))
    })?;
    let saved = jobs.save(definition, false).map_err(change_error)?;
    Ok(HttpResponse::Created().json(view(&services, &saved).await?))
}

/// Update a job (JSON merge patch).
///
/// Operators only. For example `{"enabled": false}` disables a job, `{"schedule": "0 0 8 * * *"}` moves it; the
/// result is validated and written back to its file.
#[utoipa::path(tag = "jobs", params(JobPath), request_body(content = Object, content_type = "application/merge-patch+json", description = "Fields to change", example = json!({"enabled": false})),
    responses((status = 200, description = "The job", body = JobView), NotFound, super::responses::BodyErrors, AuthErrors))]
#[patch("/jobs/{id}")]
pub async fn update_job(
    services: web::Data<Services>,
    jobs: web::Data<Jobs>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
    body: web::Json<serde_json::Value>,
) -> Result<web::Json<JobView>, ApiError> {
    require_operator(&principal)?;
    let current = jobs.get(&path.id).ok_or_else(|| job_not_found(&path.id))?;
    let definition = crate::domain::merge_patch::patched(&current, &body.into_inner()).map_err(|e| {
        ApiError::from(ServiceError::Invalid(crate::domain::InvalidInput {
            code: "invalid_job",
            ..e
        }))
    })?;
    if definition.id != current.id {
        return Err(ServiceError::Invalid(crate::domain::InvalidInput::new(
            "invalid_job",
            "id",
            "a job's id cannot change",
        ))
        .into());
    }
    let saved = jobs.save(definition, true).map_err(change_error)?;
    Ok(web::Json(view(&services, &saved).await?))
}

/// Delete a job.
///
/// Operators only. Its file is removed; its past runs stay readable.
#[utoipa::path(tag = "jobs", params(JobPath), responses((status = 204, description = "Deleted"), NotFound, AuthErrors))]
#[delete("/jobs/{id}")]
pub async fn delete_job(
    jobs: web::Data<Jobs>,
    Caller(principal): Caller,
    path: web::Path<JobPath>,
) -> Result<HttpResponse, ApiError> {
    require_operator(&principal)?;
    jobs.delete(&path.id).map_err(change_error)?;
    Ok(HttpResponse::NoContent().finish())
}
