//! Key and workspace administration.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::body::Body;
use super::error::ApiError;
use super::responses::{AuthErrors, BodyErrors, Conflict, NotFound};
use crate::domain::{ApiKey, Scope, Workspace, WorkspaceId};
use crate::service::{CreatedKey, CreatedWorkspace, Services};

/// A key to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// What the key is for (1-100 characters).
    #[schema(
        example = "zendesk-bot",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 100
    )]
    pub name: String,
    /// What it may do.
    #[schema(example = json!(["read", "write"]), min_items = 1)]
    pub scopes: Vec<Scope>,
}

/// A workspace to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    /// Slug: 1-64 of `a-z 0-9 - _`, starting with a letter or digit.
    #[schema(example = "lumen-eu", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub id: String,
    /// Display name (1-100 characters).
    #[schema(
        example = "Lumen support (EU)",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 100
    )]
    pub name: String,
}

/// The calling key, as `GET /v1/whoami` describes it.
#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    /// The key's id (`key_...`), or `bootstrap` for `RAPPEL_ADMIN_KEY`.
    #[schema(example = "key_01JD8X3Q5V6W7Y8Z9A0B1C2D3E")]
    pub key_id: String,
    /// The workspace every call of this key is confined to.
    pub workspace: WorkspaceId,
    /// What the key may do (`admin` grants `write`, which grants `read`).
    #[schema(example = json!(["read", "write"]))]
    pub scopes: Vec<Scope>,
}

/// Path of one key.
#[derive(Deserialize, IntoParams)]
pub struct KeyPath {
    /// The key's id (`key_...`).
    pub id: String,
}

/// Describe the calling key.
///
/// Any valid key: its id, workspace and scopes, so a client (the console) shows only what the key may do.
#[utoipa::path(tag = "keys", responses((status = 200, description = "The calling key", body = WhoAmI), AuthErrors))]
#[get("/whoami")]
pub async fn whoami(Caller(principal): Caller) -> web::Json<WhoAmI> {
    web::Json(WhoAmI {
        key_id: principal.key_id,
        workspace: principal.workspace,
        scopes: principal.scopes,
    })
}

/// Create an API key.
///
/// In the caller's workspace (admin scope). The secret is in the response only; Rappel stores its hash.
#[utoipa::path(tag = "keys", request_body = NewKey, responses((status = 201, description = "Created; the secret is shown this once", body = CreatedKey), BodyErrors, AuthErrors))]
#[post("/keys")]
pub async fn create_key(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<NewKey>,
) -> Result<HttpResponse, ApiError> {
    let NewKey { name, scopes } = body.into_inner();
    Ok(HttpResponse::Created().json(services.create_key(&principal, &name, scopes).await?))
}

/// List API keys.
///
/// The caller's workspace's keys, revoked ones included (admin scope). Secrets are never shown.
#[utoipa::path(tag = "keys", responses((status = 200, description = "The workspace's keys", body = Vec<ApiKey>), AuthErrors))]
#[get("/keys")]
pub async fn list_keys(
    services: web::Data<Services>,
    Caller(principal): Caller,
) -> Result<web::Json<Vec<ApiKey>>, ApiError> {
    Ok(web::Json(services.list_keys(&principal).await?))
}

/// Revoke an API key.
///
/// The key stops working at once. Revoking twice is harmless.
#[utoipa::path(tag = "keys", params(KeyPath), responses((status = 200, description = "The revoked key", body = ApiKey), NotFound, AuthErrors))]
#[delete("/keys/{id}")]
pub async fn revoke_key(
    services: web::Data<Services>,
    Caller(principal): Caller,
    path: web::Path<KeyPath>,
) -> Result<web::Json<ApiKey>, ApiError> {
    Ok(web::Json(services.revoke_key(&principal, &path.id).await?))
}

/// Create a workspace.
///
/// Operators only (admin keys of the default workspace). Returns the workspace's first admin key.
#[utoipa::path(tag = "workspaces", request_body = NewWorkspace, responses((status = 201, description = "Created, with its first admin key", body = CreatedWorkspace), Conflict, BodyErrors, AuthErrors))]
#[post("/workspaces")]
pub async fn create_workspace(
    services: web::Data<Services>,
    Caller(principal): Caller,
    body: Body<NewWorkspace>,
) -> Result<HttpResponse, ApiError> {
    let NewWorkspace { id, name } = body.into_inner();
    Ok(HttpResponse::Created().json(services.create_workspace(&principal, &id, &name).await?))
}

/// List workspaces.
///
/// Operators only.
#[utoipa::path(tag = "workspaces", responses((status = 200, description = "Every workspace", body = Vec<Workspace>), AuthErrors))]
#[get("/workspaces")]
pub async fn list_workspaces(
    services: web::Data<Services>,
    Caller(principal): Caller,
) -> Result<web::Json<Vec<Workspace>>, ApiError> {
    Ok(web::Json(services.list_workspaces(&principal).await?))
}
