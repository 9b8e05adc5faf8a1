//! Authentication and key management: bearer keys, scopes, workspaces.

use serde::Serialize;
use utoipa::ToSchema;

use super::{require, ServiceError, Services};
use crate::domain::audit::{AuditAction, AuditDetail, TargetKind};
use crate::domain::auth::{generate_secret, hash_secret, BOOTSTRAP_KEY_ID};
use crate::domain::{validate, ApiKey, KeyId, Principal, Scope, Workspace, WorkspaceId};
use crate::store::StoreError;

/// A key as created: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedKey {
    /// The stored key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret to send as `Authorization: Bearer <secret>`. Shown once; Rappel keeps only its hash.
    #[schema(example = "rpl_3fK9qL0xS2mN8vB4cD6eF1gH7jK5lP9oQ2rS4tU6")]
    pub secret: String,
}

/// A workspace as created, with its first admin key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedWorkspace {
    /// The workspace.
    pub workspace: Workspace,
    /// An admin key of the new workspace (secret shown once).
    pub admin_key: CreatedKey,
}

impl Services {
    /// Resolves a bearer secret to the caller: the bootstrap admin key, or a stored, unrevoked key; and counts the
    /// request against the key's rate (`rate_limited` when over it).
    pub async fn authenticate(&self, secret: Option<&str>) -> Result<Principal, ServiceError> {
        let secret = secret
            .filter(|s| !s.is_empty())
            .ok_or(ServiceError::MissingCredentials)?;
        let hash = hash_secret(secret);
        if self.admin_key_hash.as_deref() == Some(hash.as_str()) {
            let principal = Principal {
                workspace: WorkspaceId::default_workspace(),
                key_id: BOOTSTRAP_KEY_ID.into(),
                scopes: vec![Scope::Admin],
            };
            self.count_request(&principal)?;
            return Ok(principal);
        }
        let key = self.blocking(move |s| s.key_by_hash(&hash)).await?;
        let principal = match key {
            Some(key) if key.revoked_at.is_none() => Principal {
                workspace: key.workspace,
                key_id: key.id.to_string(),
                scopes: key.scopes,
            },
            _ => return Err(ServiceError::InvalidCredentials),
        };
        self.count_request(&principal)?;
        Ok(principal)
    }

    /// Creates the workspace when it does not exist yet; returns whether it was created.
    pub async fn ensure_workspace(&self, id: &WorkspaceId) -> Result<bool, ServiceError> {
        let name = if id.as_str() == WorkspaceId::DEFAULT {
            "Default".to_owned()
        } else {
            id.to_string()
        };
        let workspace = Workspace {
            id: id.clone(),
            name,
            created_at: self.now(),
        };
        match self.blocking(move |s| s.create_workspace(&workspace)).await {
            Ok(()) => Ok(true),
            Err(StoreError::WorkspaceExists(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates a key in the caller's workspace (admin scope).
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace))]
    pub async fn create_key(
        &self,
        principal: &Principal,
        name: &str,
        scopes: Vec<Scope>,
    ) -> Result<CreatedKey, ServiceError> {
        require(principal, Scope::Admin)?;
        let created = self.insert_key(principal.workspace.clone(), name, scopes).await?;
        let detail = AuditDetail {
            scopes: Some(created.key.scopes.clone()),
            ..AuditDetail::default()
        };
        self.audit(
            principal,
            AuditAction::KeyCreated,
            TargetKind::ApiKey,
            created.key.id.as_str(),
            detail,
        )
        .await?;
        Ok(created)
    }

    async fn insert_key(
        &self,
        workspace: WorkspaceId,
        name: &str,
        mut scopes: Vec<Scope>,
    ) -> Result<CreatedKey, ServiceError> {
        let name = validate::text("name", name, 100)?;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(crate::domain::InvalidInput::new("invalid_field", "scopes", "give at least one scope").into());
        }
        let secret = generate_secret();
        let key = ApiKey {
            id: KeyId::generate(),
            workspace,
            name,
            scopes,
            prefix: secret[..8].to_owned(),
            created_at: self.now(),
            revoked_at: None,
            hash: hash_secret(&secret),
        };
        let stored = key.clone();
        self.blocking(move |s| s.insert_key(&stored)).await?;
        tracing::info!(key = %key.id, "API key created");
        Ok(CreatedKey { key, secret })
    }

    /// The caller's workspace's keys (admin scope).
    pub async fn list_keys(&self, principal: &Principal) -> Result<Vec<ApiKey>, ServiceError> {
        require(principal, Scope::Admin)?;
        let ws = principal.workspace.clone();
        Ok(self.blocking(move |s| s.list_keys(&ws)).await?)
    }

    /// Revokes a key of the caller's workspace (admin scope).
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace, key = id))]
    pub async fn revoke_key(&self, principal: &Principal, id: &str) -> Result<ApiKey, ServiceError> {
        require(principal, Scope::Admin)?;
        let (ws, kid, now) = (principal.workspace.clone(), KeyId::from_client(id), self.now());
        let key = match self.blocking(move |s| s.revoke_key(&ws, &kid, now)).await {
            Err(StoreError::NotFound) => return Err(ServiceError::KeyNotFound(id.to_owned())),
            other => other?,
        };
        self.audit(
            principal,
            AuditAction::KeyRevoked,
            TargetKind::ApiKey,
            key.id.as_str(),
            AuditDetail::default(),
        )
        .await?;
        Ok(key)
    }

    /// Creates a workspace and its first admin key. Only admins of the default workspace (the operators) may.
    #[tracing::instrument(skip_all)]
    pub async fn create_workspace(
        &self,
        principal: &Principal,
        id: &str,
        name: &str,
    ) -> Result<CreatedWorkspace, ServiceError> {
        require_operator(principal)?;
        let workspace = Workspace {
            id: WorkspaceId::parse(id)?,
            name: validate::text("name", name, 100)?,
            created_at: self.now(),
        };
        let stored = workspace.clone();
        self.blocking(move |s| s.create_workspace(&stored)).await?;
        let admin_key = self
            .insert_key(workspace.id.clone(), "initial admin", vec![Scope::Admin])
            .await?;
        // Recorded in the operator's workspace and in the new one, whose admins see where it came from.
        let (created, none) = (workspace.id.as_str(), AuditDetail::default);
        let key_detail = AuditDetail {
            scopes: Some(admin_key.key.scopes.clone()),
            ..AuditDetail::default()
        };
        let entries = vec![
            self.audit_entry(
                principal,
                AuditAction::WorkspaceCreated,
                TargetKind::Workspace,
                created,
                none(),
            ),
            self.audit_entry_in(
                &workspace.id,
                principal,
                AuditAction::WorkspaceCreated,
                TargetKind::Workspace,
                created,
                none(),
            ),
            self.audit_entry_in(
                &workspace.id,
                principal,
                AuditAction::KeyCreated,
                TargetKind::ApiKey,
                admin_key.key.id.as_str(),
                key_detail,
            ),
        ];
        self.record(entries).await?;
        Ok(CreatedWorkspace { workspace, admin_key })
    }

    /// Every workspace (operators only).
    pub async fn list_workspaces(&self, principal: &Principal) -> Result<Vec<Workspace>, ServiceError> {
        require_operator(principal)?;
        Ok(self.blocking(|s| s.list_workspaces()).await?)
    }

    /// Creates a fresh key for local development and revokes earlier ones of the same name, so that the key
    /// printed at the last demo start is the one that works.
    pub async fn issue_demo_key(&self, workspace: &WorkspaceId) -> Result<CreatedKey, ServiceError> {
        const NAME: &str = "local development (serve --demo)";
        let (ws, now) = (workspace.clone(), self.now());
        self.blocking(move |s| {
            for key in s
                .list_keys(&ws)?
                .into_iter()
                .filter(|k| k.name == NAME && k.revoked_at.is_none())
            {
                s.revoke_key(&ws, &key.id, now)?;
            }
            Ok(())
        })
        .await?;
        self.insert_key(workspace.clone(), NAME, vec![Scope::Admin]).await
    }
}

/// Checks that `principal` is an operator: an admin of the default workspace.
pub fn require_operator(principal: &Principal) -> Result<(), ServiceError> {
    require(principal, Scope::Admin)?;
    if principal.workspace.as_str() == WorkspaceId::DEFAULT {
        Ok(())
    } else {
        Err(ServiceError::Forbidden { needed: Scope::Admin })
    }
}
