//! The outreach queue in redb. Claims run in one write transaction, and redb has a single writer: two senders
//! claiming at the same moment are serialised, so no item is handed out twice.

use std::collections::HashMap;

use ::redb::{ReadableDatabase, ReadableTable};
use chrono::{DateTime, Duration, Utc};

use super::{upper, RedbStore};
use crate::domain::outreach::{recheck, Audience, OutreachItem, OutreachState, Recheck};
use crate::domain::preferences::{Channel, Preferences};
use crate::domain::{Customer, CustomerId, InvalidInput, Page, WorkspaceId};
use crate::store::codec::{decode, encode};
use crate::store::tables::{CUSTOMERS, OUTREACH, OUTREACH_BY_CUSTOMER, OUTREACH_DEDUPE, PREFERENCES};
use crate::store::{AckOutcome, Enqueued, OutreachRepo, StoreError};

/// Whether an item counts against the weekly cap at `now`: sent in the last 7 days, or being sent.
fn counts_as_contact(item: &OutreachItem, now: DateTime<Utc>) -> bool {
    match item.state {
        OutreachState::Sent => item.sent_at.is_some_and(|t| t >= now - Duration::days(7)),
        OutreachState::Claimed => true,
        _ => false,
    }
}

impl OutreachRepo for RedbStore {
    fn enqueue(&self, item: &OutreachItem, cooldown_since: DateTime<Utc>) -> Result<Enqueued, StoreError> {
        let (ws, cid) = (item.workspace.as_str(), item.customer_id.as_str());
        let txn = self.db.begin_write()?;
        {
            if txn.open_table(CUSTOMERS)?.get((ws, cid))?.is_none() {
                return Err(StoreError::NotFound);
            }
            let mut dedupe = txn.open_table(OUTREACH_DEDUPE)?;
            let mut items = txn.open_table(OUTREACH)?;
            let previous = dedupe
                .get((ws, cid, item.dedupe_key.as_str()))?
                .map(|v| v.value().to_owned());
            if let Some(previous) = previous {
                let earlier: Option<OutreachItem> = items
                    .get((ws, previous.as_str()))?
                    .map(|v| decode("outreach", v.value()))
                    .transpose()?;
                if earlier.is_some_and(|e| e.created_at >= cooldown_since) {
                    return Ok(Enqueued::Duplicate(previous));
                }
            }
            items.insert((ws, item.id.as_str()), encode(item).as_slice())?;
            dedupe.insert((ws, cid, item.dedupe_key.as_str()), item.id.as_str())?;
            txn.open_table(OUTREACH_BY_CUSTOMER)?
                .insert((ws, cid, item.id.as_str()), "")?;
        }
        txn.commit()?;
        Ok(Enqueued::Queued)
    }

    fn recent_duplicate(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        let txn = self.db.begin_read()?;
        let Some(id) = txn
            .open_table(OUTREACH_DEDUPE)?
            .get((ws, cid, key))?
            .map(|v| v.value().to_owned())
        else {
            return Ok(None);
        };
        let items = txn.open_table(OUTREACH)?;
        let earlier: Option<OutreachItem> = items
            .get((ws, id.as_str()))?
            .map(|v| decode("outreach", v.value()))
            .transpose()?;
        Ok(earlier.filter(|e| e.created_at >= since).map(|e| e.id))
    }

    fn contacts_since(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        let txn = self.db.begin_read()?;
        let ids = txn.open_table(OUTREACH_BY_CUSTOMER)?;
        let items = txn.open_table(OUTREACH)?;
        let end = upper("");
        let mut count = 0;
        for entry in ids.range((ws, cid, "")..(ws, cid, end.as_str()))? {
            let (key, _) = entry?;
            if let Some(v) = items.get((ws, key.value().2))? {
                let item: OutreachItem = decode("outreach", v.value())?;
                let contact = match item.state {
                    OutreachState::Sent => item.sent_at.is_some_and(|t| t >= since),
                    OutreachState::Claimed | OutreachState::Queued => true,
                    _ => false,
                };
                count += u32::from(contact);
            }
        }
        Ok(count)
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
        let txn = self.db.begin_write()?;
        let claimed = {
            let mut items = txn.open_table(OUTREACH)?;
            let customers = txn.open_table(CUSTOMERS)?;
            let prefs = txn.open_table(PREFERENCES)?;
            let end = upper("");
            let mut contacts: HashMap<String, u32> = HashMap::new();
            let mut due: Vec<OutreachItem> = Vec::new();
            let mut changed: Vec<OutreachItem> = Vec::new();
            for entry in items.range((ws, "")..(ws, end.as_str()))? {
                let (_, v) = entry?;
                let mut item: OutreachItem = decode("outreach", v.value())?;
                if item.state == OutreachState::Claimed && item.lease_until.is_some_and(|l| l <= now) {
                    // The sender never reported back: the item returns to the queue.
                    item.state = OutreachState::Queued;
                    item.lease_until = None;
                    item.updated_at = now;
                    changed.push(item.clone());
                }
                if counts_as_contact(&item, now) {
                    *contacts.entry(item.customer_id.to_string()).or_default() += 1;
                }
                let active = matches!(item.state, OutreachState::Queued);
                if active && item.expires_at.is_some_and(|e| e <= now) {
                    item.state = OutreachState::Expired;
                    item.updated_at = now;
                    changed.push(item);
                    continue;
                }
                if active && item.not_before <= now && channel.is_none_or(|c| c == item.channel) {
                    due.push(item);
                }
            }
            due.sort_by(|a, b| {
                b.priority
                    .cmp(&a.priority)
                    .then(a.not_before.cmp(&b.not_before))
                    .then(a.id.cmp(&b.id))
            });
            let mut handed = Vec::new();
            let mut profiles: HashMap<String, (Option<Customer>, Preferences)> = HashMap::new();
            for mut item in due {
                if handed.len() >= max {
                    break;
                }
                let cid = item.customer_id.to_string();
                if !profiles.contains_key(&cid) {
                    let customer: Option<Customer> = customers
                        .get((ws, cid.as_str()))?
                        .map(|v| decode("customers", v.value()))
                        .transpose()?;
                    let p: Preferences = prefs
                        .get((ws, cid.as_str()))?
                        .map(|v| decode("preferences", v.value()))
                        .transpose()?
                        .unwrap_or_default();
                    profiles.insert(cid.clone(), (customer, p));
                }
                let (customer, p) = &profiles[&cid];
                let audience = Audience {
                    preferences: p,
                    timezone: customer.as_ref().and_then(|c| c.fields.timezone.as_deref()),
                    contacts_this_week: contacts.get(&cid).copied().unwrap_or(0),
                };
                match recheck(&item, &audience, now) {
                    Recheck::Hand(channel_now) if channel.is_none_or(|c| c == channel_now) => {
                        item.channel = channel_now;
                        item.state = OutreachState::Claimed;
                        item.lease_until = Some(now + lease);
                        item.updated_at = now;
                        *contacts.entry(cid).or_default() += 1;
                        handed.push(item);
                    }
                    // Consent moved it to another channel than the one claimed: it waits for that channel's sender.
                    Recheck::Hand(channel_now) => {
                        item.channel = channel_now;
                        item.updated_at = now;
                        changed.push(item);
                    }
                    Recheck::Wait(until) => {
                        item.not_before = until;
                        item.updated_at = now;
                        changed.push(item);
                    }
                    Recheck::Cancel(rule) => {
                        item.state = OutreachState::Cancelled;
                        item.error = Some(format!(
                            "cancelled at claim: {}",
                            serde_json::to_value(rule).map(|v| v.to_string()).unwrap_or_default()
                        ));
                        item.updated_at = now;
                        changed.push(item);
                    }
                }
            }
            for item in changed.iter().chain(&handed) {
                items.insert((ws, item.id.as_str()), encode(item).as_slice())?;
            }
            handed
        };
        txn.commit()?;
        Ok(claimed)
    }

    fn ack(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        outcome: &AckOutcome,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> Result<OutreachItem, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_write()?;
        let item = {
            let mut items = txn.open_table(OUTREACH)?;
            let mut item: OutreachItem = {
                let v = items.get((ws, id))?.ok_or(StoreError::NotFound)?;
                decode("outreach", v.value())?
            };
            match (item.state, outcome) {
                // A repeated report of the same result changes nothing.
                (OutreachState::Sent, AckOutcome::Sent(provider)) if item.provider_message_id == *provider => {
                    return Ok(item)
                }
                (OutreachState::Claimed, AckOutcome::Sent(provider)) => {
                    item.state = OutreachState::Sent;
                    item.sent_at = Some(now);
                    item.provider_message_id = provider.clone();
                    item.lease_until = None;
                }
                (OutreachState::Claimed, AckOutcome::Failed(error)) => {
                    item.failures += 1;
                    item.error = Some(error.clone());
                    item.lease_until = None;
                    if item.failures >= max_failures {
                        item.state = OutreachState::Failed;
                    } else {
                        item.state = OutreachState::Queued;
                        // Back off: 5 minutes, doubling with each failure.
                        item.not_before = now + Duration::minutes(5 * (1 << item.failures.min(10)));
                    }
                }
                (OutreachState::Failed | OutreachState::Queued, AckOutcome::Failed(error))
                    if item.error.as_deref() == Some(error.as_str()) =>
                {
                    return Ok(item);
                }
                (state, _) => {
                    return Err(StoreError::Invalid(InvalidInput::new(
                        "outreach_not_claimed",
                        "id",
                        format!("the item is {state:?}, not claimed; claim it first").to_lowercase(),
                    )));
                }
            }
            item.updated_at = now;
            items.insert((ws, id), encode(&item).as_slice())?;
            item
        };
        txn.commit()?;
        Ok(item)
    }

    fn cancel_outreach(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<OutreachItem, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_write()?;
        let item = {
            let mut items = txn.open_table(OUTREACH)?;
            let mut item: OutreachItem = {
                let v = items.get((ws, id))?.ok_or(StoreError::NotFound)?;
                decode("outreach", v.value())?
            };
            match item.state {
                OutreachState::Queued | OutreachState::Claimed => {
                    item.state = OutreachState::Cancelled;
                    item.lease_until = None;
                    item.updated_at = now;
                    items.insert((ws, id), encode(&item).as_slice())?;
                }
                OutreachState::Cancelled => {}
                state => {
                    return Err(StoreError::Invalid(InvalidInput::new(
                        "outreach_finished",
                        "id",
                        format!("the item is already {state:?}").to_lowercase(),
                    )))
                }
            }
            item
        };
        txn.commit()?;
        Ok(item)
    }

    fn get_outreach(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<OutreachItem>, StoreError> {
        let txn = self.db.begin_read()?;
        let items = txn.open_table(OUTREACH)?;
        let v = items.get((workspace.as_str(), id))?;
        v.map(|v| decode("outreach", v.value())).transpose()
    }

    fn list_outreach(
        &self,
        workspace: &WorkspaceId,
        after: Option<&str>,
        limit: usize,
        keep: &dyn Fn(&OutreachItem) -> bool,
    ) -> Result<Page<OutreachItem>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let items = txn.open_table(OUTREACH)?;
        let end = upper("");
        let mut out = Vec::with_capacity(limit + 1);
        for entry in items.range((ws, after.unwrap_or(""))..(ws, end.as_str()))? {
            let (k, v) = entry?;
            if Some(k.value().1) == after {
                continue;
            }
            let item: OutreachItem = decode("outreach", v.value())?;
            if keep(&item) {
                out.push(item);
                if out.len() > limit {
                    break;
                }
            }
        }
        Ok(Page::from_overfetch(out, limit, |i| i.id.clone()))
    }
}
