//! Preferences and their change history in redb.

use ::redb::{ReadableDatabase, ReadableTable};
use chrono::{DateTime, Utc};

use super::RedbStore;
use crate::domain::{CursorList, CustomerId, Page, PreferenceChange, Preferences, WorkspaceId};
use crate::store::codec::{decode, encode};
use crate::store::tables::{CUSTOMERS, PREFERENCES, PREFERENCE_HISTORY};
use crate::store::{Change, PreferenceRepo, StoreError};

impl PreferenceRepo for RedbStore {
    fn get_preferences(&self, workspace: &WorkspaceId, id: &CustomerId) -> Result<Preferences, StoreError> {
        let key = (workspace.as_str(), id.as_str());
        let txn = self.db.begin_read()?;
        if txn.open_table(CUSTOMERS)?.get(key)?.is_none() {
            return Err(StoreError::NotFound);
        }
        let table = txn.open_table(PREFERENCES)?;
        let value = table.get(key)?;
        value
            .map(|v| decode("preferences", v.value()))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    fn update_preferences(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        change: Change<'_, Preferences>,
        now: DateTime<Utc>,
        source: &str,
    ) -> Result<(Preferences, Vec<PreferenceChange>), StoreError> {
        let (ws, cid) = (workspace.as_str(), id.as_str());
        let txn = self.db.begin_write()?;
        let result = {
            if txn.open_table(CUSTOMERS)?.get((ws, cid))?.is_none() {
                return Err(StoreError::NotFound);
            }
            let mut prefs = txn.open_table(PREFERENCES)?;
            let old: Preferences = prefs
                .get((ws, cid))?
                .map(|v| decode("preferences", v.value()))
                .transpose()?
                .unwrap_or_default();
            let mut new = change(&old)?;
            new.updated_at = old.updated_at;
            let diff = old.diff(&new);
            if diff.is_empty() {
                Err(old)
            } else {
                new.updated_at = Some(now);
                prefs.insert((ws, cid), encode(&new).as_slice())?;
                let mut history = txn.open_table(PREFERENCE_HISTORY)?;
                let last = history
                    .range((ws, cid, 0)..=(ws, cid, u64::MAX))?
                    .next_back()
                    .transpose()?;
                let mut seq = last.map_or(0, |(k, _)| k.value().2);
                let mut changes = Vec::with_capacity(diff.len());
                for (field, old_value, new_value) in diff {
                    seq += 1;
                    let entry = PreferenceChange {
                        seq,
                        field,
                        old_value,
                        new_value,
                        changed_at: now,
                        source: source.to_owned(),
                    };
                    history.insert((ws, cid, seq), encode(&entry).as_slice())?;
                    changes.push(entry);
                }
                Ok((new, changes))
            }
        };
        match result {
            Ok(changed) => {
                txn.commit()?;
                Ok(changed)
            }
            Err(unchanged) => {
                txn.abort()?;
                Ok((unchanged, Vec::new()))
            }
        }
    }

    fn preference_history(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<PreferenceChange>, StoreError> {
        let (ws, cid) = (workspace.as_str(), id.as_str());
        let txn = self.db.begin_read()?;
        if txn.open_table(CUSTOMERS)?.get((ws, cid))?.is_none() {
            return Err(StoreError::NotFound);
        }
        let table = txn.open_table(PREFERENCE_HISTORY)?;
        let start = after.map_or(0, |a| a.saturating_add(1));
        let mut items = Vec::with_capacity(limit + 1);
        for entry in table.range((ws, cid, start)..=(ws, cid, u64::MAX))?.take(limit + 1) {
            items.push(decode("preference_history", entry?.1.value())?);
        }
        Ok(Page::from_overfetch(
            items,
            limit,
            CursorList::Preferences,
            |c: &PreferenceChange| c.seq.to_string(),
        ))
    }
}
