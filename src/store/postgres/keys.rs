//! Workspaces and API keys in PostgreSQL. Keys are found by the hash of their secret, which their record does
//! not serialise: it lives in its own column.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::{json, record, PostgresStore};
use crate::domain::{ApiKey, KeyId, Workspace, WorkspaceId};
use crate::store::{KeyRepo, StoreError};

fn key_of(row: &Row) -> Result<ApiKey, StoreError> {
    let key: ApiKey = record(row, "api_keys")?;
    Ok(ApiKey {
        hash: row.try_get("hash")?,
        ..key
    })
}

impl KeyRepo for PostgresStore {
    fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        self.run(async {
            let inserted = self
                .client()
                .await?
                .execute(
                    "INSERT INTO workspaces (id, record) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                    &[&workspace.id.as_str(), &json(workspace)],
                )
                .await?;
            if inserted == 0 {
                return Err(StoreError::WorkspaceExists(workspace.id.to_string()));
            }
            Ok(())
        })
    }

    fn get_workspace(&self, id: &WorkspaceId) -> Result<Option<Workspace>, StoreError> {
        self.run(async {
            let row = self
                .client()
                .await?
                .query_opt("SELECT record FROM workspaces WHERE id = $1", &[&id.as_str()])
                .await?;
            row.map(|r| record(&r, "workspaces")).transpose()
        })
    }

    fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query("SELECT record FROM workspaces ORDER BY id", &[])
                .await?;
            rows.iter().map(|r| record(r, "workspaces")).collect()
        })
    }

    fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.run(async {
            // As on redb, a key stored again under the same hash replaces the first.
            self.client()
                .await?
                .execute(
                    "INSERT INTO api_keys (hash, workspace, id, record) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (hash) DO UPDATE SET workspace = $2, id = $3, record = $4",
                    &[&key.hash, &key.workspace.as_str(), &key.id.as_str(), &json(key)],
                )
                .await?;
            Ok(())
        })
    }

    fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.run(async {
            let row = self
                .client()
                .await?
                .query_opt("SELECT hash, record FROM api_keys WHERE hash = $1", &[&hash])
                .await?;
            row.as_ref().map(key_of).transpose()
        })
    }

    fn list_keys(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT hash, record FROM api_keys WHERE workspace = $1 ORDER BY id",
                    &[&workspace.as_str()],
                )
                .await?;
            rows.iter().map(key_of).collect()
        })
    }

    fn revoke_key(&self, workspace: &WorkspaceId, id: &KeyId, now: DateTime<Utc>) -> Result<ApiKey, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let row = txn
                .query_opt(
                    "SELECT hash, record FROM api_keys WHERE workspace = $1 AND id = $2 FOR UPDATE",
                    &[&workspace.as_str(), &id.as_str()],
                )
                .await?
                .ok_or(StoreError::NotFound)?;
            let mut key = key_of(&row)?;
            key.revoked_at.get_or_insert(now);
            txn.execute(
                "UPDATE api_keys SET record = $2 WHERE hash = $1",
                &[&key.hash, &json(&key)],
            )
            .await?;
            txn.commit().await?;
            Ok(key)
        })
    }
}
