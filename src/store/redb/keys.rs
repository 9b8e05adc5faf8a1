//! Workspaces and API keys in redb. Keys are found by the hash of their secret.

use ::redb::{ReadableDatabase, ReadableTable};
use chrono::{DateTime, Utc};

use super::{upper, RedbStore};
use crate::domain::{ApiKey, KeyId, Workspace, WorkspaceId};
use crate::store::codec::{decode, encode};
use crate::store::tables::{API_KEYS, API_KEY_IDS, WORKSPACES};
use crate::store::{KeyRepo, StoreError};

impl KeyRepo for RedbStore {
    fn create_workspace(&self, workspace: &Workspace) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(WORKSPACES)?;
            if table.get(workspace.id.as_str())?.is_some() {
                return Err(StoreError::WorkspaceExists(workspace.id.to_string()));
            }
            table.insert(workspace.id.as_str(), encode(workspace).as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    fn get_workspace(&self, id: &WorkspaceId) -> Result<Option<Workspace>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(WORKSPACES)?;
        let value = table.get(id.as_str())?;
        value.map(|v| decode("workspaces", v.value())).transpose()
    }

    fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(WORKSPACES)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            out.push(decode("workspaces", entry?.1.value())?);
        }
        Ok(out)
    }

    fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            txn.open_table(API_KEYS)?
                .insert(key.hash.as_str(), encode(key).as_slice())?;
            txn.open_table(API_KEY_IDS)?
                .insert((key.workspace.as_str(), key.id.as_str()), key.hash.as_str())?;
        }
        txn.commit()?;
        Ok(())
    }

    fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(API_KEYS)?;
        let value = table.get(hash)?;
        value
            .map(|v| {
                decode::<ApiKey>("api_keys", v.value()).map(|k| ApiKey {
                    hash: hash.to_owned(),
                    ..k
                })
            })
            .transpose()
    }

    fn list_keys(&self, workspace: &WorkspaceId) -> Result<Vec<ApiKey>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let ids = txn.open_table(API_KEY_IDS)?;
        let keys = txn.open_table(API_KEYS)?;
        let end = upper("");
        let mut out = Vec::new();
        for entry in ids.range((ws, "")..(ws, end.as_str()))? {
            let (_, hash) = entry?;
            if let Some(v) = keys.get(hash.value())? {
                // The record does not serialise its hash: the index holds it (as `key_by_hash` and PostgreSQL do).
                out.push(ApiKey {
                    hash: hash.value().to_owned(),
                    ..decode("api_keys", v.value())?
                });
            }
        }
        Ok(out)
    }

    fn revoke_key(&self, workspace: &WorkspaceId, id: &KeyId, now: DateTime<Utc>) -> Result<ApiKey, StoreError> {
        let txn = self.db.begin_write()?;
        let key = {
            let ids = txn.open_table(API_KEY_IDS)?;
            let hash = ids
                .get((workspace.as_str(), id.as_str()))?
                .ok_or(StoreError::NotFound)?
                .value()
                .to_owned();
            let mut keys = txn.open_table(API_KEYS)?;
            let mut key: ApiKey = {
                let value = keys.get(hash.as_str())?.ok_or(StoreError::NotFound)?;
                decode("api_keys", value.value())?
            };
            key.revoked_at.get_or_insert(now);
            key.hash = hash.clone();
            keys.insert(hash.as_str(), encode(&key).as_slice())?;
            key
        };
        txn.commit()?;
        Ok(key)
    }
}
