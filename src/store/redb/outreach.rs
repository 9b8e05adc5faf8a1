//! The outreach queue in redb. Claims run in one write transaction, and redb has a single writer: two senders
//! claiming at the same moment are serialised, so no item is handed out twice.

use std::collections::HashMap;

use ::redb::{ReadableDatabase, ReadableTable};
use chrono::{DateTime, Duration, Utc};

use super::{upper, RedbStore};
use crate::domain::outreach::{recheck, Audience, OutreachItem, OutreachState, Recheck};
use crate::domain::outreach_state::Transition;
use crate::domain::preferences::{Channel, Preferences};
use crate::domain::{CursorList, Customer, CustomerId, Page, WorkspaceId};
use crate::store::codec::{decode, encode};
use crate::store::tables::{
    CUSTOMERS, OUTREACH, OUTREACH_BY_CUSTOMER, OUTREACH_DEDUPE, OUTREACH_DUE, OUTREACH_LEASED, PREFERENCES,
};
use crate::store::{AckOutcome, Enqueued, OutreachRepo, StoreError};

type Items<'t> = ::redb::Table<'t, (&'static str, &'static str), &'static [u8]>;
type Due<'t> = ::redb::Table<'t, (&'static str, u8, i64, &'static str), &'static str>;
type Leased<'t> = ::redb::Table<'t, (&'static str, i64, &'static str), &'static str>;

/// The tables an item lives in: the item itself and its place in the due or leased index.
pub(super) struct Queue<'t> {
    items: Items<'t>,
    due: Due<'t>,
    leased: Leased<'t>,
}

impl<'t> Queue<'t> {
    pub(super) fn open(txn: &'t ::redb::WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            items: txn.open_table(OUTREACH)?,
            due: txn.open_table(OUTREACH_DUE)?,
            leased: txn.open_table(OUTREACH_LEASED)?,
        })
    }

    pub(super) fn get(&self, ws: &str, id: &str) -> Result<Option<OutreachItem>, StoreError> {
        self.items
            .get((ws, id))?
            .map(|v| decode("outreach", v.value()))
            .transpose()
    }

    /// Removes an item's index entries (as it was before a change).
    fn unindex(&mut self, old: &OutreachItem) -> Result<(), StoreError> {
        let (ws, id) = (old.workspace.as_str(), old.id.as_str());
        self.due
            .remove((ws, 5 - old.priority, old.not_before.timestamp_micros(), id))?;
        if let Some(lease) = old.lease_until {
            self.leased.remove((ws, lease.timestamp_micros(), id))?;
        }
        Ok(())
    }

    /// Writes an item and indexes it by its state.
    pub(super) fn put(&mut self, old: Option<&OutreachItem>, item: &OutreachItem) -> Result<(), StoreError> {
        if let Some(old) = old {
            self.unindex(old)?;
        }
        let (ws, id) = (item.workspace.as_str(), item.id.as_str());
        self.items.insert((ws, id), encode(item).as_slice())?;
        match (item.state, item.lease_until) {
            (OutreachState::Queued, _) => {
                self.due
                    .insert((ws, 5 - item.priority, item.not_before.timestamp_micros(), id), "")?;
            }
            (OutreachState::Claimed, Some(lease)) => {
                self.leased.insert((ws, lease.timestamp_micros(), id), "")?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// How many of a customer's items pass `counts`.
fn count_items(
    by_customer: &impl ReadableTable<(&'static str, &'static str, &'static str), &'static str>,
    items: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    ws: &str,
    cid: &str,
    counts: impl Fn(&OutreachItem) -> bool,
) -> Result<u32, StoreError> {
    let end = upper("");
    let mut count = 0;
    for entry in by_customer.range((ws, cid, "")..(ws, cid, end.as_str()))? {
        let (key, _) = entry?;
        if let Some(v) = items.get((ws, key.value().2))? {
            count += u32::from(counts(&decode("outreach", v.value())?));
        }
    }
    Ok(count)
}

/// Contacts that count against the weekly cap at claim time: sent in the last 7 days, or being sent.
fn contacts_this_week(
    by_customer: &impl ReadableTable<(&'static str, &'static str, &'static str), &'static str>,
    items: &Items<'_>,
    ws: &str,
    cid: &str,
    now: DateTime<Utc>,
) -> Result<u32, StoreError> {
    count_items(by_customer, items, ws, cid, |item| match item.state {
        OutreachState::Sent => item.sent_at.is_some_and(|t| t >= now - Duration::days(7)),
        OutreachState::Claimed => true,
        _ => false,
    })
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
            let mut queue = Queue::open(&txn)?;
            let previous = dedupe
                .get((ws, cid, item.dedupe_key.as_str()))?
                .map(|v| v.value().to_owned());
            if let Some(previous) = previous {
                if queue
                    .get(ws, &previous)?
                    .is_some_and(|e| e.created_at >= cooldown_since)
                {
                    return Ok(Enqueued::Duplicate(previous));
                }
            }
            queue.put(None, item)?;
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
        // At queue time, items already queued count too: they will be sent within the week.
        count_items(&ids, &items, ws, cid, |item| match item.state {
            OutreachState::Sent => item.sent_at.is_some_and(|t| t >= since),
            OutreachState::Claimed | OutreachState::Queued => true,
            _ => false,
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
        let now_us = now.timestamp_micros();
        let txn = self.db.begin_write()?;
        let claimed = {
            let mut queue = Queue::open(&txn)?;
            let by_customer = txn.open_table(OUTREACH_BY_CUSTOMER)?;
            let customers = txn.open_table(CUSTOMERS)?;
            let prefs = txn.open_table(PREFERENCES)?;
            let end = upper("");
            // Expired leases first: those items return to the queue.
            let expired: Vec<String> = queue
                .leased
                .range((ws, i64::MIN, "")..=(ws, now_us, end.as_str()))?
                .map(|e| e.map(|(k, _)| k.value().2.to_owned()))
                .collect::<Result<_, _>>()?;
            for id in expired {
                if let Some(old) = queue.get(ws, &id)? {
                    queue.put(Some(&old), &old.lease_released(now))?;
                }
            }
            // Due items, most urgent first; each priority's entries are in not_before order.
            let mut due: Vec<String> = Vec::new();
            for rank in 0..=4u8 {
                for entry in queue
                    .due
                    .range((ws, rank, i64::MIN, "")..=(ws, rank, now_us, end.as_str()))?
                {
                    due.push(entry?.0.value().3.to_owned());
                }
            }
            let mut handed = Vec::new();
            let mut contacts: HashMap<String, u32> = HashMap::new();
            let mut profiles: HashMap<String, (Option<Customer>, Preferences)> = HashMap::new();
            for id in due {
                if handed.len() >= max {
                    break;
                }
                let Some(old) = queue.get(ws, &id)? else { continue };
                if let Some(expired) = old.expired(now) {
                    queue.put(Some(&old), &expired)?;
                    continue;
                }
                let mut item = old.clone();
                item.updated_at = now;
                if channel.is_some_and(|c| c != item.channel) {
                    continue;
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
                    let count = contacts_this_week(&by_customer, &queue.items, ws, &cid, now)?;
                    contacts.insert(cid.clone(), count);
                }
                let (customer, p) = &profiles[&cid];
                let audience = Audience {
                    preferences: p,
                    timezone: customer.as_ref().and_then(|c| c.fields.timezone.as_deref()),
                    contacts_this_week: contacts[&cid],
                };
                match recheck(&item, &audience, now) {
                    Recheck::Hand(channel_now) if channel.is_none_or(|c| c == channel_now) => {
                        let item = old.claimed(channel_now, now, lease);
                        *contacts.entry(cid).or_default() += 1;
                        queue.put(Some(&old), &item)?;
                        handed.push(item);
                    }
                    // Consent moved it to another channel than the one claimed: it waits for that channel's sender.
                    Recheck::Hand(channel_now) => {
                        item.channel = channel_now;
                        queue.put(Some(&old), &item)?;
                    }
                    Recheck::Wait(until) => {
                        item.not_before = until;
                        queue.put(Some(&old), &item)?;
                    }
                    Recheck::Cancel(rule) => {
                        item.state = OutreachState::Cancelled;
                        let rule = rule.code().to_owned();
                        item.error = Some(format!("cancelled at claim: {rule}"));
                        queue.put(Some(&old), &item)?;
                    }
                }
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
            let mut queue = Queue::open(&txn)?;
            let old = queue.get(ws, id)?.ok_or(StoreError::NotFound)?;
            match old.acked(outcome, now, max_failures)? {
                Transition::Changed(item) => {
                    queue.put(Some(&old), &item)?;
                    item
                }
                Transition::Unchanged(item) => item,
            }
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
            let mut queue = Queue::open(&txn)?;
            let old = queue.get(ws, id)?.ok_or(StoreError::NotFound)?;
            match old.cancelled(now)? {
                Transition::Changed(item) => {
                    queue.put(Some(&old), &item)?;
                    item
                }
                Transition::Unchanged(item) => item,
            }
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
        Ok(Page::from_overfetch(out, limit, CursorList::Outreach, |i| i.id.clone()))
    }
}
