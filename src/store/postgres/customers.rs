//! Customer profiles in PostgreSQL. The external id is a unique column: a writer that loses a race on it (another
//! node took the id between the check and the write) gets the same `ExternalIdConflict` as one that lost the check.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::{json, record, unique_violation, PostgresStore};
use crate::domain::audit::AuditEntry;
use crate::domain::{CursorList, Customer, CustomerFields, CustomerFilter, CustomerId, Page, WorkspaceId};
use crate::store::{Change, CustomerRepo, Lease, StoreError, Upserted};

/// The unique constraint on (workspace, external id).
const EXTERNAL_ID: &str = "customers_external_id";

/// How many times an upsert retries after another node created the same customer between its read and its write.
const UPSERT_ATTEMPTS: usize = 3;

/// The customer, locked for update when `lock`.
pub(super) async fn read_customer(
    client: &impl GenericClient,
    ws: &str,
    id: &str,
    lock: bool,
) -> Result<Option<Customer>, StoreError> {
    let sql = if lock {
        "SELECT record FROM customers WHERE workspace = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT record FROM customers WHERE workspace = $1 AND id = $2"
    };
    let row = client
        .query_opt(&client.prepare_cached(sql).await?, &[&ws, &id])
        .await?;
    row.map(|r| record(&r, "customers")).transpose()
}

/// How [`require_customer`] locks the customer's row for the rest of the transaction.
#[derive(Clone, Copy)]
pub(super) enum RowLock {
    /// Not locked: a read.
    None,
    /// `FOR SHARE`: an erasure on another node waits for this transaction (or this one sees the customer gone).
    Share,
    /// `FOR UPDATE`: writers of the customer's row (and its preferences) apply one after the other.
    Update,
}

/// `NotFound` unless the customer exists, its row locked as asked.
pub(super) async fn require_customer(
    client: &impl GenericClient,
    ws: &str,
    id: &str,
    lock: RowLock,
) -> Result<(), StoreError> {
    let sql = match lock {
        RowLock::None => "SELECT 1 FROM customers WHERE workspace = $1 AND id = $2",
        RowLock::Share => "SELECT 1 FROM customers WHERE workspace = $1 AND id = $2 FOR SHARE",
        RowLock::Update => "SELECT 1 FROM customers WHERE workspace = $1 AND id = $2 FOR UPDATE",
    };
    match client
        .query_opt(&client.prepare_cached(sql).await?, &[&ws, &id])
        .await?
    {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound),
    }
}

/// The id of the customer holding `external_id`.
async fn holder(client: &impl GenericClient, ws: &str, external_id: &str) -> Result<Option<String>, StoreError> {
    let row = client
        .query_opt(
            "SELECT id FROM customers WHERE workspace = $1 AND external_id = $2",
            &[&ws, &external_id],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The conflict of `external_id` with the customer holding it, or `e` itself when it was something else.
async fn as_conflict(client: &impl GenericClient, e: tokio_postgres::Error, ws: &str, external_id: &str) -> StoreError {
    if !unique_violation(&e, EXTERNAL_ID) {
        return e.into();
    }
    match holder(client, ws, external_id).await {
        Ok(Some(existing)) => StoreError::ExternalIdConflict {
            external_id: external_id.to_owned(),
            existing: CustomerId::from_client(&existing),
        },
        Ok(None) => e.into(),
        Err(other) => other,
    }
}

const INSERT: &str =
    "INSERT INTO customers (workspace, id, external_id, updated_at, record) VALUES ($1, $2, $3, $4, $5) \
                      ON CONFLICT ON CONSTRAINT customers_external_id DO NOTHING";

const UPDATE: &str =
    "UPDATE customers SET external_id = $3, updated_at = $4, record = $5 WHERE workspace = $1 AND id = $2";

/// Runs `sql` (INSERT or UPDATE) with the customer's columns.
async fn write(client: &impl GenericClient, sql: &str, c: &Customer) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            sql,
            &[
                &c.workspace.as_str(),
                &c.id.as_str(),
                &c.fields.external_id,
                &c.updated_at,
                &json(c),
            ],
        )
        .await
}

impl CustomerRepo for PostgresStore {
    fn create_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let (ws, ext) = (customer.workspace.as_str(), customer.fields.external_id.as_str());
        self.run(async {
            let client = self.client().await?;
            if write(&client, INSERT, customer).await? == 0 {
                return Err(match holder(&client, ws, ext).await? {
                    Some(existing) => StoreError::ExternalIdConflict {
                        external_id: ext.to_owned(),
                        existing: CustomerId::from_client(&existing),
                    },
                    None => StoreError::Corrupt {
                        table: "customers",
                        reason: format!("external id {ext:?} conflicted but has no holder"),
                    },
                });
            }
            Ok(())
        })
    }

    fn upsert_customer(
        &self,
        workspace: &WorkspaceId,
        fields: CustomerFields,
        now: DateTime<Utc>,
    ) -> Result<(Customer, Upserted), StoreError> {
        let ws = workspace.as_str();
        self.run(async {
            let mut client = self.client().await?;
            for _ in 0..UPSERT_ATTEMPTS {
                let txn = client.transaction().await?;
                let row = txn
                    .query_opt(
                        "SELECT record FROM customers WHERE workspace = $1 AND external_id = $2 FOR UPDATE",
                        &[&ws, &fields.external_id],
                    )
                    .await?;
                if let Some(row) = row {
                    let mut customer: Customer = record(&row, "customers")?;
                    if !customer.replace_fields(fields.clone(), now) {
                        return Ok((customer, Upserted::Unchanged));
                    }
                    write(&txn, UPDATE, &customer).await?;
                    txn.commit().await?;
                    return Ok((customer, Upserted::Updated));
                }
                let customer = Customer::new(workspace.clone(), fields.clone(), now);
                if write(&txn, INSERT, &customer).await? == 1 {
                    txn.commit().await?;
                    return Ok((customer, Upserted::Created));
                }
                // Another node created it since the read: read it again, now that it exists.
            }
            Err(StoreError::Pool(format!(
                "upserting external id {:?} kept racing with other writers",
                fields.external_id
            )))
        })
    }

    fn update_customer(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        change: Change<'_, CustomerFields>,
        now: DateTime<Utc>,
    ) -> Result<Customer, StoreError> {
        let ws = workspace.as_str();
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let mut customer = read_customer(&txn, ws, id.as_str(), true)
                .await?
                .ok_or(StoreError::NotFound)?;
            let old_external_id = customer.fields.external_id.clone();
            let fields = change(&customer.fields)?;
            if !customer.replace_fields(fields, now) {
                return Ok(customer);
            }
            let ext = customer.fields.external_id.clone();
            if ext != old_external_id {
                if let Some(existing) = holder(&txn, ws, &ext).await? {
                    return Err(StoreError::ExternalIdConflict {
                        external_id: ext,
                        existing: CustomerId::from_client(&existing),
                    });
                }
            }
            if let Err(e) = write(&txn, UPDATE, &customer).await {
                drop(txn);
                return Err(as_conflict(&client, e, ws, &ext).await);
            }
            txn.commit().await?;
            Ok(customer)
        })
    }

    fn get_customer(&self, workspace: &WorkspaceId, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            read_customer(&client, workspace.as_str(), id.as_str(), false).await
        })
    }

    fn customer_by_external_id(
        &self,
        workspace: &WorkspaceId,
        external_id: &str,
    ) -> Result<Option<Customer>, StoreError> {
        self.run(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT record FROM customers WHERE workspace = $1 AND external_id = $2",
                    &[&workspace.as_str(), &external_id],
                )
                .await?;
            row.map(|r| record(&r, "customers")).transpose()
        })
    }

    fn list_customers(
        &self,
        workspace: &WorkspaceId,
        filter: &CustomerFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Customer>, StoreError> {
        // The filter runs in the database on the record (a time truncated to microseconds keeps a superset), then
        // exactly in Rust, batch after batch until a page and one more are found.
        let batch = i64::try_from(limit.saturating_add(1).max(64)).unwrap_or(i64::MAX);
        self.run(async {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT id, record FROM customers WHERE workspace = $1 AND id > $2 \
                     AND ($3::text IS NULL OR record->'tags' ? $3) \
                     AND ($4::text IS NULL OR record->>'plan' = $4) \
                     AND ($5::timestamptz IS NULL OR updated_at >= $5) \
                     ORDER BY id LIMIT $6",
                )
                .await?;
            let mut cursor = after.unwrap_or("").to_owned();
            let mut items = Vec::with_capacity(limit + 1);
            loop {
                let rows = client
                    .query(
                        &statement,
                        &[
                            &workspace.as_str(),
                            &cursor,
                            &filter.tag,
                            &filter.plan,
                            &filter.updated_since,
                            &batch,
                        ],
                    )
                    .await?;
                let full = rows.len() as i64 == batch;
                for row in &rows {
                    let customer: Customer = record(row, "customers")?;
                    if filter.matches(&customer) {
                        items.push(customer);
                    }
                }
                if let Some(last) = rows.last() {
                    cursor = last.try_get("id")?;
                }
                if items.len() > limit || !full {
                    break;
                }
            }
            items.truncate(limit + 1);
            Ok(Page::from_overfetch(items, limit, CursorList::Customers, |c| {
                c.id.to_string()
            }))
        })
    }

    fn erase_customer(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            // Every row of the customer references it ON DELETE CASCADE (see schema.rs), but for run records,
            // unanswered questions and the memory version, handled below.
            let deleted = txn
                .execute(
                    "DELETE FROM customers WHERE workspace = $1 AND id = $2",
                    &[&workspace.as_str(), &id.as_str()],
                )
                .await?;
            if deleted == 0 {
                return Ok(false);
            }
            // Run records are not the customer's rows but name them: they are rewritten.
            super::jobs::scrub_runs(&txn, workspace.as_str(), id.as_str()).await?;
            // Unanswered questions may name a customer Rappel does not know: no foreign key, deleted here.
            txn.execute(
                "DELETE FROM knowledge_gaps WHERE workspace = $1 AND customer_id = $2",
                &[&workspace.as_str(), &id.as_str()],
            )
            .await?;
            // The cascade moved the customer's memory version (a trigger); the row goes too.
            txn.execute(
                "DELETE FROM memory_versions WHERE workspace = $1 AND customer_id = $2",
                &[&workspace.as_str(), &id.as_str()],
            )
            .await?;
            if let Some(entry) = audit {
                super::audit::append(&txn, std::slice::from_ref(entry)).await?;
            }
            txn.commit().await?;
            Ok(true)
        })
    }

    fn lock_customer(&self, workspace: &WorkspaceId, id: &CustomerId) -> Result<Box<dyn Lease>, StoreError> {
        self.lock_customer_session(workspace, id)
    }
}
