//! What the support and operations metrics read, in PostgreSQL: the facts written with each interaction (see
//! memories.rs), a workspace's outreach items, and counts per workspace.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{record, PostgresStore};
use crate::domain::outreach::OutreachItem;
use crate::domain::support_metrics::Fact;
use crate::domain::WorkspaceId;
use crate::store::{MetricsRepo, StoreError, WorkspaceCounts};

/// Per-workspace counts of a table (`workspace` column), as (workspace, count) rows.
const COUNTS: [(&str, &str); 4] = [
    (
        "customers",
        "SELECT workspace, count(*) FROM customers GROUP BY workspace",
    ),
    (
        "memories",
        "SELECT workspace, count(*) FROM memories GROUP BY workspace",
    ),
    (
        "knowledge_docs",
        "SELECT workspace, count(*) FROM knowledge_docs GROUP BY workspace",
    ),
    (
        "knowledge_chunks",
        "SELECT workspace, count(*) FROM knowledge_chunks GROUP BY workspace",
    ),
];

impl MetricsRepo for PostgresStore {
    fn interaction_facts(
        &self,
        workspace: &WorkspaceId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Fact>, StoreError> {
        // Times compare in microseconds, in redb's key order.
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM interaction_facts WHERE workspace = $1 AND opened_at >= $2 AND opened_at < $3 \
                     ORDER BY opened_at, customer_id, interaction_id",
                    &[&workspace.as_str(), &since, &until],
                )
                .await?;
            rows.iter().map(|r| record(r, "interaction_facts")).collect()
        })
    }

    fn workspace_outreach(&self, workspace: &WorkspaceId) -> Result<Vec<OutreachItem>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM outreach WHERE workspace = $1 ORDER BY id",
                    &[&workspace.as_str()],
                )
                .await?;
            rows.iter().map(|r| record(r, "outreach")).collect()
        })
    }

    fn workspace_counts(&self) -> Result<Vec<WorkspaceCounts>, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            // One snapshot for every count.
            let txn = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let mut out: BTreeMap<String, WorkspaceCounts> = BTreeMap::new();
            for row in txn.query("SELECT id FROM workspaces ORDER BY id", &[]).await? {
                let id: String = row.get(0);
                out.insert(
                    id.clone(),
                    WorkspaceCounts {
                        workspace: id,
                        ..Default::default()
                    },
                );
            }
            for (table, sql) in COUNTS {
                for row in txn.query(sql, &[]).await? {
                    let Some(counts) = out.get_mut(row.get::<_, &str>(0)) else {
                        continue;
                    };
                    let n = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
                    match table {
                        "customers" => counts.customers = n,
                        "memories" => counts.memories = n,
                        "knowledge_docs" => counts.knowledge_documents = n,
                        _ => counts.knowledge_chunks = n,
                    }
                }
            }
            for row in txn
                .query(
                    "SELECT workspace, state, count(*) FROM outreach GROUP BY workspace, state",
                    &[],
                )
                .await?
            {
                if let Some(counts) = out.get_mut(row.get::<_, &str>(0)) {
                    let n = u64::try_from(row.get::<_, i64>(2)).unwrap_or(0);
                    counts.outreach_by_state.insert(row.get(1), n);
                }
            }
            Ok(out.into_values().collect())
        })
    }

    /// The database's size (`pg_database_size`): the PostgreSQL counterpart of redb's file.
    fn file_bytes(&self) -> Result<u64, StoreError> {
        self.run(async {
            let bytes: i64 = self
                .client()
                .await?
                .query_one("SELECT pg_database_size(current_database())", &[])
                .await?
                .get(0);
            Ok(u64::try_from(bytes).unwrap_or(0))
        })
    }
}
