//! Customer profiles and the external-id index in redb.

use ::redb::{ReadableDatabase, ReadableTable, Table, WriteTransaction};
use chrono::{DateTime, Utc};

use super::{upper, RedbStore};
use crate::domain::audit::AuditEntry;
use crate::domain::{CursorList, Customer, CustomerFields, CustomerFilter, CustomerId, Page, WorkspaceId};
use crate::store::codec::{decode, encode};
use crate::store::tables::{
    CUSTOMERS, EXTERNAL_IDS, INTERACTIONS, INTERACTION_EXTERNAL_IDS, MEMORIES, OUTREACH, OUTREACH_BY_CUSTOMER,
    OUTREACH_DEDUPE, OUTREACH_DUE, OUTREACH_LEASED, PREFERENCES, PREFERENCE_HISTORY, VECTORS,
};
use crate::store::{Change, CustomerRepo, StoreError, Upserted};

type Customers<'t> = Table<'t, (&'static str, &'static str), &'static [u8]>;
type ExternalIds<'t> = Table<'t, (&'static str, &'static str), &'static str>;

fn read_customer(table: &Customers<'_>, ws: &str, id: &str) -> Result<Option<Customer>, StoreError> {
    table.get((ws, id))?.map(|v| decode("customers", v.value())).transpose()
}

/// Writes `customer`, moving its external-id index entry from `old_external_id` if it changed.
fn write_customer(
    customers: &mut Customers<'_>,
    external_ids: &mut ExternalIds<'_>,
    customer: &Customer,
    old_external_id: Option<&str>,
) -> Result<(), StoreError> {
    let ws = customer.workspace.as_str();
    let ext = customer.fields.external_id.as_str();
    if old_external_id != Some(ext) {
        if let Some(holder) = external_ids.get((ws, ext))? {
            return Err(StoreError::ExternalIdConflict {
                external_id: ext.to_owned(),
                existing: CustomerId::from_client(holder.value()),
            });
        }
        if let Some(old) = old_external_id {
            external_ids.remove((ws, old))?;
        }
        external_ids.insert((ws, ext), customer.id.as_str())?;
    }
    customers.insert((ws, customer.id.as_str()), encode(customer).as_slice())?;
    Ok(())
}

fn commit<T>(txn: WriteTransaction, value: T) -> Result<T, StoreError> {
    txn.commit()?;
    Ok(value)
}

impl CustomerRepo for RedbStore {
    fn create_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut customers = txn.open_table(CUSTOMERS)?;
            let mut external_ids = txn.open_table(EXTERNAL_IDS)?;
            write_customer(&mut customers, &mut external_ids, customer, None)?;
        }
        commit(txn, ())
    }

    fn upsert_customer(
        &self,
        workspace: &WorkspaceId,
        fields: CustomerFields,
        now: DateTime<Utc>,
    ) -> Result<(Customer, Upserted), StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_write()?;
        let result = {
            let mut customers = txn.open_table(CUSTOMERS)?;
            let mut external_ids = txn.open_table(EXTERNAL_IDS)?;
            let existing_id = external_ids
                .get((ws, fields.external_id.as_str()))?
                .map(|v| v.value().to_owned());
            match existing_id {
                Some(id) => {
                    let mut customer = read_customer(&customers, ws, &id)?.ok_or(StoreError::Corrupt {
                        table: "customer_external_ids",
                        reason: format!("dangling id {id}"),
                    })?;
                    if customer.replace_fields(fields, now) {
                        let old = customer.fields.external_id.clone();
                        write_customer(&mut customers, &mut external_ids, &customer, Some(&old))?;
                        (customer, Upserted::Updated)
                    } else {
                        (customer, Upserted::Unchanged)
                    }
                }
                None => {
                    let customer = Customer::new(workspace.clone(), fields, now);
                    write_customer(&mut customers, &mut external_ids, &customer, None)?;
                    (customer, Upserted::Created)
                }
            }
        };
        if result.1 == Upserted::Unchanged {
            txn.abort()?;
            return Ok(result);
        }
        commit(txn, result)
    }

    fn update_customer(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        change: Change<'_, CustomerFields>,
        now: DateTime<Utc>,
    ) -> Result<Customer, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_write()?;
        let (customer, changed) = {
            let mut customers = txn.open_table(CUSTOMERS)?;
            let mut external_ids = txn.open_table(EXTERNAL_IDS)?;
            let mut customer = read_customer(&customers, ws, id.as_str())?.ok_or(StoreError::NotFound)?;
            let old_external_id = customer.fields.external_id.clone();
            let fields = change(&customer.fields)?;
            let changed = customer.replace_fields(fields, now);
            if changed {
                write_customer(&mut customers, &mut external_ids, &customer, Some(&old_external_id))?;
            }
            (customer, changed)
        };
        if !changed {
            txn.abort()?;
            return Ok(customer);
        }
        commit(txn, customer)
    }

    fn get_customer(&self, workspace: &WorkspaceId, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CUSTOMERS)?;
        let value = table.get((workspace.as_str(), id.as_str()))?;
        value.map(|v| decode("customers", v.value())).transpose()
    }

    fn customer_by_external_id(
        &self,
        workspace: &WorkspaceId,
        external_id: &str,
    ) -> Result<Option<Customer>, StoreError> {
        let txn = self.db.begin_read()?;
        let ids = txn.open_table(EXTERNAL_IDS)?;
        let Some(id) = ids
            .get((workspace.as_str(), external_id))?
            .map(|v| v.value().to_owned())
        else {
            return Ok(None);
        };
        let customers = txn.open_table(CUSTOMERS)?;
        let value = customers.get((workspace.as_str(), id.as_str()))?;
        value.map(|v| decode("customers", v.value())).transpose()
    }

    fn list_customers(
        &self,
        workspace: &WorkspaceId,
        filter: &CustomerFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Customer>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CUSTOMERS)?;
        let end = upper("");
        let mut items = Vec::with_capacity(limit + 1);
        for entry in table.range((ws, after.unwrap_or(""))..(ws, end.as_str()))? {
            let (key, value) = entry?;
            if Some(key.value().1) == after {
                continue;
            }
            let customer: Customer = decode("customers", value.value())?;
            if filter.matches(&customer) {
                items.push(customer);
                if items.len() > limit {
                    break;
                }
            }
        }
        Ok(Page::from_overfetch(items, limit, CursorList::Customers, |c| {
            c.id.to_string()
        }))
    }

    fn erase_customer(
        &self,
        workspace: &WorkspaceId,
        id: &CustomerId,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let (ws, cid) = (workspace.as_str(), id.as_str());
        let txn = self.db.begin_write()?;
        {
            let mut customers = txn.open_table(CUSTOMERS)?;
            let Some(customer) = read_customer(&customers, ws, cid)? else {
                drop(customers);
                txn.abort()?;
                return Ok(false);
            };
            customers.remove((ws, cid))?;
            // The next open rewrites the file, so that no freed page keeps the customer's bytes.
            txn.open_table(crate::store::tables::META)?
                .insert(super::snapshot::SCRUB_PENDING, "1")?;
            txn.open_table(EXTERNAL_IDS)?
                .remove((ws, customer.fields.external_id.as_str()))?;
            txn.open_table(PREFERENCES)?.remove((ws, cid))?;
            txn.open_table(PREFERENCE_HISTORY)?
                .retain_in((ws, cid, 0)..=(ws, cid, u64::MAX), |_, _| false)?;
            let end = upper("");
            let range = (ws, cid, "")..(ws, cid, end.as_str());
            super::metrics::remove_facts(&txn, ws, cid)?;
            txn.open_table(INTERACTIONS)?.retain_in(range.clone(), |_, _| false)?;
            txn.open_table(INTERACTION_EXTERNAL_IDS)?
                .retain_in(range.clone(), |_, _| false)?;
            txn.open_table(MEMORIES)?.retain_in(range.clone(), |_, _| false)?;
            txn.open_table(VECTORS)?.retain_in(range.clone(), |_, _| false)?;
            txn.open_table(crate::store::tables::HEALTH)?
                .retain_in((ws, cid, i64::MIN)..=(ws, cid, i64::MAX), |_, _| false)?;
            txn.open_table(OUTREACH_DEDUPE)?
                .retain_in(range.clone(), |_, _| false)?;
            super::knowledge::erase_gaps(&txn, ws, cid)?;
            let mut by_customer = txn.open_table(OUTREACH_BY_CUSTOMER)?;
            let mut outreach = txn.open_table(OUTREACH)?;
            let mut due = txn.open_table(OUTREACH_DUE)?;
            let mut leased = txn.open_table(OUTREACH_LEASED)?;
            // Run records list who matched and why: the customer's lines go too.
            let mut runs = txn.open_table(crate::store::tables::JOB_RUNS)?;
            let run_range = (ws, "", "")..(ws, end.as_str(), "");
            let mut scrubbed: Vec<((String, String), Vec<u8>)> = Vec::new();
            for entry in runs.range(run_range)? {
                let (key, value) = entry?;
                let mut run: crate::domain::job_run::JobRun = decode("job_runs", value.value())?;
                let before = run.matched.len();
                run.matched.retain(|m| m.customer_id != cid);
                if run.matched.len() != before {
                    let (_, job, id) = key.value();
                    scrubbed.push(((job.to_owned(), id.to_owned()), encode(&run)));
                }
            }
            for ((job, id), bytes) in scrubbed {
                runs.insert((ws, job.as_str(), id.as_str()), bytes.as_slice())?;
            }
            for entry in by_customer.extract_from_if(range, |_, _| true)? {
                let (key, _) = entry?;
                if let Some(v) = outreach.remove((ws, key.value().2))? {
                    let item: crate::domain::outreach::OutreachItem = decode("outreach", v.value())?;
                    due.remove((
                        ws,
                        5 - item.priority,
                        item.not_before.timestamp_micros(),
                        item.id.as_str(),
                    ))?;
                    if let Some(lease) = item.lease_until {
                        leased.remove((ws, lease.timestamp_micros(), item.id.as_str()))?;
                    }
                }
            }
        }
        if let Some(entry) = audit {
            super::audit_log::append(&txn, std::slice::from_ref(entry))?;
        }
        commit(txn, true)
    }
}
