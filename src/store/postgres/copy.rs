//! Rows as they are in PostgreSQL, for `rappel migrate` (see [`CopyRepo`]).

use super::customers::{require_customer, RowLock};
use super::schema::{meta, set_meta};
use super::{json, record, PostgresStore};
use crate::domain::job_run::JobRun;
use crate::domain::outreach::OutreachItem;
use crate::domain::support_metrics::Fact;
use crate::domain::{CustomerId, PreferenceChange, WorkspaceId};
use crate::store::copy::{CitationCount, CopyRepo};
use crate::store::StoreError;

/// A count that fits a `bigint` column.
fn bigint(n: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt {
        table: what,
        reason: format!("{n} does not fit a bigint"),
    })
}

impl PostgresStore {
    /// How many other connections of Rappel servers or commands (`application_name` `rappel`) are open on this
    /// database: a migration refuses to read or write a database in use.
    pub fn rappel_sessions(&self) -> Result<u64, StoreError> {
        self.run(async {
            let n: i64 = self
                .client()
                .await?
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND application_name = 'rappel' AND pid <> pg_backend_pid()",
                    &[],
                )
                .await?
                .get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}

impl CopyRepo for PostgresStore {
    fn meta_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.run(async { meta(&self.client().await?, key).await })
    }

    fn set_meta_value(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        self.run(async {
            let client = self.client().await?;
            match value {
                Some(value) => set_meta(&client, key, value).await,
                None => {
                    client
                        .execute("DELETE FROM rappel_meta WHERE key = $1", &[&key])
                        .await?;
                    Ok(())
                }
            }
        })
    }

    fn put_preference_history(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        entries: &[PreferenceChange],
    ) -> Result<(), StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            require_customer(&txn, ws, cid, RowLock::Share).await?;
            let upsert = txn
                .prepare(
                    "INSERT INTO preference_history (workspace, customer_id, seq, record) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (workspace, customer_id, seq) DO UPDATE SET record = $4",
                )
                .await?;
            for entry in entries {
                let seq = bigint(entry.seq, "preference_history")?;
                txn.execute(&upsert, &[&ws, &cid, &seq, &json(entry)]).await?;
            }
            txn.commit().await?;
            Ok(())
        })
    }

    fn facts_with_ids(&self, workspace: &WorkspaceId) -> Result<Vec<(String, Fact)>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT interaction_id, record FROM interaction_facts WHERE workspace = $1 \
                     ORDER BY opened_at, customer_id, interaction_id",
                    &[&workspace.as_str()],
                )
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, record(r, "interaction_facts")?)))
                .collect()
        })
    }

    fn put_facts(&self, workspace: &WorkspaceId, facts: &[(String, Fact)]) -> Result<(), StoreError> {
        let ws = workspace.as_str();
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let upsert = txn
                .prepare(
                    "INSERT INTO interaction_facts (workspace, customer_id, interaction_id, opened_at, record) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace, customer_id, interaction_id) \
                     DO UPDATE SET opened_at = $4, record = $5",
                )
                .await?;
            for (id, fact) in facts {
                txn.execute(&upsert, &[&ws, &fact.customer_id, id, &fact.opened_at, &json(fact)])
                    .await?;
            }
            txn.commit().await?;
            Ok(())
        })
    }

    fn put_outreach_items(&self, items: &[OutreachItem]) -> Result<(), StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let dedupe = txn
                .prepare(
                    "INSERT INTO outreach_dedupe (workspace, customer_id, key, item_id) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (workspace, customer_id, key) DO UPDATE SET item_id = $4",
                )
                .await?;
            for item in items {
                super::outreach::put(&txn, item).await?;
                txn.execute(
                    &dedupe,
                    &[
                        &item.workspace.as_str(),
                        &item.customer_id.as_str(),
                        &item.dedupe_key,
                        &item.id,
                    ],
                )
                .await?;
            }
            txn.commit().await?;
            Ok(())
        })
    }

    fn all_job_runs(&self, workspace: &WorkspaceId) -> Result<Vec<JobRun>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM job_runs WHERE workspace = $1 ORDER BY job_id, id",
                    &[&workspace.as_str()],
                )
                .await?;
            rows.iter().map(|r| record(r, "job_runs")).collect()
        })
    }

    fn knowledge_label(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        self.run(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT last FROM knowledge_labels WHERE workspace = $1",
                    &[&workspace.as_str()],
                )
                .await?;
            Ok(row.map_or(0, |r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0)))
        })
    }

    fn set_knowledge_label(&self, workspace: &WorkspaceId, last: u64) -> Result<(), StoreError> {
        let last = bigint(last, "knowledge_labels")?;
        self.run(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO knowledge_labels (workspace, last) VALUES ($1, $2) \
                     ON CONFLICT (workspace) DO UPDATE SET last = $2",
                    &[&workspace.as_str(), &last],
                )
                .await?;
            Ok(())
        })
    }

    fn citation_counts(&self, workspace: &WorkspaceId) -> Result<Vec<CitationCount>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT doc_id, day, count FROM knowledge_citations WHERE workspace = $1 ORDER BY doc_id, day",
                    &[&workspace.as_str()],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), u64::try_from(r.get::<_, i64>(2)).unwrap_or(0)))
                .collect())
        })
    }

    fn put_citation_counts(&self, workspace: &WorkspaceId, counts: &[CitationCount]) -> Result<(), StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let upsert = txn
                .prepare(
                    "INSERT INTO knowledge_citations (workspace, doc_id, day, count) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (workspace, doc_id, day) DO UPDATE SET count = $4",
                )
                .await?;
            for (doc, day, count) in counts {
                let count = bigint(*count, "knowledge_citations")?;
                txn.execute(&upsert, &[&workspace.as_str(), doc, day, &count]).await?;
            }
            txn.commit().await?;
            Ok(())
        })
    }
}
