//! Preferences and their change history in PostgreSQL. An update locks the customer's row, so concurrent
//! updates on several nodes apply one after the other and number their history entries without gaps.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::customers::{require_customer, RowLock};
use super::{json, record, PostgresStore};
use crate::domain::{CursorList, CustomerId, Page, PreferenceChange, Preferences, WorkspaceId};
use crate::store::{Change, PreferenceRepo, StoreError};

/// The customer's preferences, defaults when never set.
pub(super) async fn read_preferences(
    client: &impl GenericClient,
    ws: &str,
    cid: &str,
) -> Result<Preferences, StoreError> {
    let read = client
        .prepare_cached("SELECT record FROM preferences WHERE workspace = $1 AND customer_id = $2")
        .await?;
    let row = client.query_opt(&read, &[&ws, &cid]).await?;
    Ok(row.map(|r| record(&r, "preferences")).transpose()?.unwrap_or_default())
}

impl PreferenceRepo for PostgresStore {
    fn get_preferences(&self, workspace: &WorkspaceId, id: &CustomerId) -> Result<Preferences, StoreError> {
        let (ws, cid) = (workspace.as_str(), id.as_str());
        self.run(async {
            let mut client = self.client().await?;
            // One snapshot for both reads: an erasure between them cannot show defaults of a gone customer.
            let txn = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            require_customer(&txn, ws, cid, RowLock::None).await?;
            read_preferences(&txn, ws, cid).await
        })
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
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            require_customer(&txn, ws, cid, RowLock::Update).await?;
            let old = read_preferences(&txn, ws, cid).await?;
            let mut new = change(&old)?;
            new.updated_at = old.updated_at;
            let diff = old.diff(&new);
            if diff.is_empty() {
                return Ok((old, Vec::new()));
            }
            new.updated_at = Some(now);
            txn.execute(
                "INSERT INTO preferences (workspace, customer_id, record) VALUES ($1, $2, $3) \
                 ON CONFLICT (workspace, customer_id) DO UPDATE SET record = $3",
                &[&ws, &cid, &json(&new)],
            )
            .await?;
            let last: i64 = txn
                .query_one(
                    "SELECT coalesce(max(seq), 0) FROM preference_history WHERE workspace = $1 AND customer_id = $2",
                    &[&ws, &cid],
                )
                .await?
                .get(0);
            let mut seq = u64::try_from(last).unwrap_or(0);
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
                txn.execute(
                    "INSERT INTO preference_history (workspace, customer_id, seq, record) VALUES ($1, $2, $3, $4)",
                    &[&ws, &cid, &(seq as i64), &json(&entry)],
                )
                .await?;
                changes.push(entry);
            }
            txn.commit().await?;
            Ok((new, changes))
        })
    }

    fn preference_history(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<PreferenceChange>, StoreError> {
        let (ws, cid) = (workspace.as_str(), id.as_str());
        let after = after.map_or(0, |a| i64::try_from(a).unwrap_or(i64::MAX));
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        self.run(async {
            let mut client = self.client().await?;
            let txn = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            require_customer(&txn, ws, cid, RowLock::None).await?;
            let rows = txn
                .query(
                    "SELECT record FROM preference_history WHERE workspace = $1 AND customer_id = $2 AND seq > $3 \
                     ORDER BY seq LIMIT $4",
                    &[&ws, &cid, &after, &fetch],
                )
                .await?;
            let items = rows
                .iter()
                .map(|r| record(r, "preference_history"))
                .collect::<Result<Vec<PreferenceChange>, _>>()?;
            Ok(Page::from_overfetch(items, limit, CursorList::Preferences, |c| {
                c.seq.to_string()
            }))
        })
    }
}
