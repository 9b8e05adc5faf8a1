//! The outreach queue in PostgreSQL, shared by every node.
//!
//! A claim locks the due items it reads with `FOR UPDATE SKIP LOCKED`, so concurrent claims on any nodes never
//! hand out the same item and never wait for each other. It also locks each item's customer the same way before
//! counting that customer's contacts of the week: two claims cannot both pass the weekly cap for one customer,
//! and an item whose customer another claim (or a preference change) holds is left queued for the next claim.
//! Enqueueing takes a transaction-level advisory lock on the de-duplication key, so two nodes queuing the same
//! key at once queue it once.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;

use super::customers::{require_customer, RowLock};
use super::preferences::read_preferences;
use super::{json, record, PostgresStore};
use crate::domain::outreach::{recheck, Audience, OutreachItem, OutreachState, Recheck};
use crate::domain::outreach_state::Transition;
use crate::domain::preferences::{Channel, Preferences};
use crate::domain::{CursorList, Customer, CustomerId, Page, WorkspaceId};
use crate::store::{AckOutcome, Enqueued, OutreachRepo, StoreError};

/// Most due items a claim reads (and locks) per round trip. It reads no more than it still has to hand out: the
/// rows it reads stay locked until it commits, and concurrent claims skip them, so reading more would leave other
/// senders empty-handed while items wait.
const CLAIM_BATCH: usize = 64;

/// A state's name as stored in the `state` column (its JSON name).
fn state_name(state: OutreachState) -> String {
    match json(&state) {
        serde_json::Value::String(name) => name,
        other => other.to_string(),
    }
}

/// Writes an item with its indexed columns.
pub(super) async fn put(client: &impl GenericClient, item: &OutreachItem) -> Result<(), StoreError> {
    let statement = client
        .prepare_cached(
            "INSERT INTO outreach (workspace, id, customer_id, state, priority, not_before, lease_until, sent_at, \
             created_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (workspace, id) DO UPDATE SET customer_id = $3, state = $4, priority = $5, \
             not_before = $6, lease_until = $7, sent_at = $8, created_at = $9, record = $10",
        )
        .await?;
    client
        .execute(
            &statement,
            &[
                &item.workspace.as_str(),
                &item.id,
                &item.customer_id.as_str(),
                &state_name(item.state),
                &i16::from(item.priority),
                &item.not_before,
                &item.lease_until,
                &item.sent_at,
                &item.created_at,
                &json(item),
            ],
        )
        .await?;
    Ok(())
}

/// The item, locked for update when `lock`.
async fn get(client: &impl GenericClient, ws: &str, id: &str, lock: bool) -> Result<Option<OutreachItem>, StoreError> {
    let sql = if lock {
        "SELECT record FROM outreach WHERE workspace = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT record FROM outreach WHERE workspace = $1 AND id = $2"
    };
    let row = client.query_opt(sql, &[&ws, &id]).await?;
    row.map(|r| record(&r, "outreach")).transpose()
}

/// How many of a customer's open or sent items pass `counts` (the rules compare exact times, so they run here).
async fn count_items(
    client: &impl GenericClient,
    ws: &str,
    cid: &str,
    counts: impl Fn(&OutreachItem) -> bool,
) -> Result<u32, StoreError> {
    let rows = client
        .query(
            "SELECT record FROM outreach WHERE workspace = $1 AND customer_id = $2 \
             AND state IN ('queued', 'claimed', 'sent')",
            &[&ws, &cid],
        )
        .await?;
    let mut count = 0;
    for row in &rows {
        count += u32::from(counts(&record(row, "outreach")?));
    }
    Ok(count)
}

/// Contacts that count against the weekly cap at claim time: sent in the last 7 days, or being sent.
async fn contacts_this_week(
    client: &impl GenericClient,
    ws: &str,
    cid: &str,
    now: DateTime<Utc>,
) -> Result<u32, StoreError> {
    count_items(client, ws, cid, |item| match item.state {
        OutreachState::Sent => item.sent_at.is_some_and(|t| t >= now - Duration::days(7)),
        OutreachState::Claimed => true,
        _ => false,
    })
    .await
}

/// A customer's profile for the contact rules, when no other transaction holds the customer.
async fn lock_audience(
    client: &impl GenericClient,
    ws: &str,
    cid: &str,
    now: DateTime<Utc>,
) -> Result<Option<(Customer, Preferences, u32)>, StoreError> {
    let Some(row) = client
        .query_opt(
            "SELECT record FROM customers WHERE workspace = $1 AND id = $2 FOR UPDATE SKIP LOCKED",
            &[&ws, &cid],
        )
        .await?
    else {
        return Ok(None);
    };
    let customer: Customer = record(&row, "customers")?;
    let preferences = read_preferences(client, ws, cid).await?;
    let contacts = contacts_this_week(client, ws, cid, now).await?;
    Ok(Some((customer, preferences, contacts)))
}

impl OutreachRepo for PostgresStore {
    fn enqueue(&self, item: &OutreachItem, cooldown_since: DateTime<Utc>) -> Result<Enqueued, StoreError> {
        let (ws, cid, key) = (
            item.workspace.as_str(),
            item.customer_id.as_str(),
            item.dedupe_key.as_str(),
        );
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            require_customer(&txn, ws, cid, RowLock::Share).await?;
            txn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(json_build_array($1::text, $2::text, $3::text)::text, 0))",
                &[&ws, &cid, &key],
            )
            .await?;
            let previous: Option<String> = txn
                .query_opt(
                    "SELECT item_id FROM outreach_dedupe WHERE workspace = $1 AND customer_id = $2 AND key = $3",
                    &[&ws, &cid, &key],
                )
                .await?
                .map(|r| r.get(0));
            if let Some(previous) = previous {
                if get(&txn, ws, &previous, false)
                    .await?
                    .is_some_and(|e| e.created_at >= cooldown_since)
                {
                    return Ok(Enqueued::Duplicate(previous));
                }
            }
            put(&txn, item).await?;
            txn.execute(
                "INSERT INTO outreach_dedupe (workspace, customer_id, key, item_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace, customer_id, key) DO UPDATE SET item_id = $4",
                &[&ws, &cid, &key, &item.id],
            )
            .await?;
            txn.commit().await?;
            Ok(Enqueued::Queued)
        })
    }

    fn recent_duplicate(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        self.run(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT o.record FROM outreach_dedupe d JOIN outreach o \
                     ON o.workspace = d.workspace AND o.id = d.item_id \
                     WHERE d.workspace = $1 AND d.customer_id = $2 AND d.key = $3",
                    &[&workspace.as_str(), &customer.as_str(), &key],
                )
                .await?;
            let earlier: Option<OutreachItem> = row.map(|r| record(&r, "outreach")).transpose()?;
            Ok(earlier.filter(|e| e.created_at >= since).map(|e| e.id))
        })
    }

    fn contacts_since(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.run(async {
            let client = self.client().await?;
            // At queue time, items already queued count too: they will be sent within the week.
            count_items(&client, workspace.as_str(), customer.as_str(), |item| {
                match item.state {
                    OutreachState::Sent => item.sent_at.is_some_and(|t| t >= since),
                    OutreachState::Claimed | OutreachState::Queued => true,
                    _ => false,
                }
            })
            .await
        })
    }

    fn claim(
        &self,
        workspace: &WorkspaceId,
        channel: Option<Channel>,
        max: usize,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<OutreachItem>, StoreError> {
        let ws = workspace.as_str();
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            // Expired leases first: those items return to the queue. Times compare in microseconds, as redb's
            // index keys do.
            let expired = txn
                .query(
                    "SELECT record FROM outreach WHERE workspace = $1 AND state = 'claimed' AND lease_until <= $2 \
                     FOR UPDATE SKIP LOCKED",
                    &[&ws, &now],
                )
                .await?;
            for row in &expired {
                let old: OutreachItem = record(row, "outreach")?;
                put(&txn, &old.lease_released(now)).await?;
            }
            let due = txn
                .prepare(
                    "SELECT record FROM outreach WHERE workspace = $1 AND state = 'queued' AND not_before <= $2 \
                     AND NOT (id = ANY($3)) AND ($5::text IS NULL OR record->>'channel' = $5) \
                     ORDER BY priority DESC, not_before, id LIMIT $4 FOR UPDATE SKIP LOCKED",
                )
                .await?;
            // A claim for one channel reads that channel's items only (as stored: consent may move an item to
            // another channel when it is claimed), so it neither locks nor expires other channels' items.
            let wanted_channel: Option<String> =
                channel.and_then(|c| serde_json::to_value(c).ok()?.as_str().map(str::to_owned));
            let mut handed = Vec::new();
            // Items this claim has read: an item left queued (another channel, customer held elsewhere) is not
            // read twice.
            let mut passed: Vec<String> = Vec::new();
            let mut audiences: HashMap<String, Option<(Customer, Preferences, u32)>> = HashMap::new();
            'batches: while handed.len() < max {
                let batch = i64::try_from((max - handed.len()).min(CLAIM_BATCH)).unwrap_or(1);
                let rows = txn.query(&due, &[&ws, &now, &passed, &batch, &wanted_channel]).await?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    if handed.len() >= max {
                        break 'batches;
                    }
                    let old: OutreachItem = record(row, "outreach")?;
                    // Whatever happens to it below, this claim does not read it again.
                    passed.push(old.id.clone());
                    if let Some(expired) = old.expired(now) {
                        put(&txn, &expired).await?;
                        continue;
                    }
                    let mut item = old.clone();
                    item.updated_at = now;
                    if channel.is_some_and(|c| c != item.channel) {
                        continue;
                    }
                    let cid = item.customer_id.to_string();
                    if !audiences.contains_key(&cid) {
                        let audience = lock_audience(&txn, ws, &cid, now).await?;
                        audiences.insert(cid.clone(), audience);
                    }
                    let Some(Some((customer, preferences, contacts))) = audiences.get_mut(&cid) else {
                        // Another claim or a preference change holds the customer: the item waits for a later claim.
                        continue;
                    };
                    let audience = Audience {
                        preferences,
                        timezone: customer.fields.timezone.as_deref(),
                        contacts_this_week: *contacts,
                    };
                    match recheck(&item, &audience, now) {
                        Recheck::Hand(channel_now) if channel.is_none_or(|c| c == channel_now) => {
                            let item = old.claimed(channel_now, now, lease);
                            *contacts += 1;
                            put(&txn, &item).await?;
                            handed.push(item);
                        }
                        // Consent moved it to another channel than the one claimed: it waits for that channel's
                        // sender.
                        Recheck::Hand(channel_now) => {
                            item.channel = channel_now;
                            put(&txn, &item).await?;
                        }
                        Recheck::Wait(until) => {
                            item.not_before = until;
                            put(&txn, &item).await?;
                        }
                        Recheck::Cancel(rule) => {
                            item.state = OutreachState::Cancelled;
                            let rule = rule.code().to_owned();
                            item.error = Some(format!("cancelled at claim: {rule}"));
                            put(&txn, &item).await?;
                        }
                    }
                }
            }
            txn.commit().await?;
            Ok(handed)
        })
    }

    fn ack(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        outcome: &AckOutcome,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> Result<OutreachItem, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let old = get(&txn, workspace.as_str(), id, true)
                .await?
                .ok_or(StoreError::NotFound)?;
            let item = match old.acked(outcome, now, max_failures)? {
                Transition::Changed(item) => {
                    put(&txn, &item).await?;
                    item
                }
                Transition::Unchanged(item) => item,
            };
            txn.commit().await?;
            Ok(item)
        })
    }

    fn cancel_outreach(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<OutreachItem, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let old = get(&txn, workspace.as_str(), id, true)
                .await?
                .ok_or(StoreError::NotFound)?;
            let item = match old.cancelled(now)? {
                Transition::Changed(item) => {
                    put(&txn, &item).await?;
                    item
                }
                Transition::Unchanged(item) => item,
            };
            txn.commit().await?;
            Ok(item)
        })
    }

    fn get_outreach(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<OutreachItem>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            get(&client, workspace.as_str(), id, false).await
        })
    }

    fn list_outreach(
        &self,
        workspace: &WorkspaceId,
        after: Option<&str>,
        limit: usize,
        keep: &dyn Fn(&OutreachItem) -> bool,
    ) -> Result<Page<OutreachItem>, StoreError> {
        let batch = i64::try_from(limit.saturating_add(1).max(64)).unwrap_or(i64::MAX);
        self.run(async {
            let client = self.client().await?;
            let statement = client
                .prepare_cached("SELECT id, record FROM outreach WHERE workspace = $1 AND id > $2 ORDER BY id LIMIT $3")
                .await?;
            let mut cursor = after.unwrap_or("").to_owned();
            let mut out = Vec::with_capacity(limit + 1);
            loop {
                let rows = client
                    .query(&statement, &[&workspace.as_str(), &cursor, &batch])
                    .await?;
                let full = rows.len() as i64 == batch;
                for row in &rows {
                    let item: OutreachItem = record(row, "outreach")?;
                    if keep(&item) {
                        out.push(item);
                    }
                }
                if let Some(last) = rows.last() {
                    cursor = last.try_get("id")?;
                }
                if out.len() > limit || !full {
                    break;
                }
            }
            out.truncate(limit + 1);
            Ok(Page::from_overfetch(out, limit, CursorList::Outreach, |i| i.id.clone()))
        })
    }
}
