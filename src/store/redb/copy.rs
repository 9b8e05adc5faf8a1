//! Rows as they are in redb, for `rappel migrate` (see [`CopyRepo`]).

use ::redb::{ReadableDatabase, ReadableTable};

use super::outreach::Queue;
use super::{upper, RedbStore};
use crate::domain::job_run::JobRun;
use crate::domain::outreach::OutreachItem;
use crate::domain::support_metrics::Fact;
use crate::domain::{CustomerId, PreferenceChange, WorkspaceId};
use crate::store::codec::{decode, encode};
use crate::store::copy::{CitationCount, CopyRepo};
use crate::store::tables::{
    CUSTOMERS, INTERACTION_FACTS, JOB_RUNS, KNOWLEDGE_CITATIONS, KNOWLEDGE_LABELS, META, OUTREACH_BY_CUSTOMER,
    OUTREACH_DEDUPE, PREFERENCE_HISTORY,
};
use crate::store::StoreError;

impl CopyRepo for RedbStore {
    fn meta_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let value = txn.open_table(META)?.get(key)?.map(|v| v.value().to_owned());
        Ok(value)
    }

    fn set_meta_value(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            match value {
                Some(value) => meta.insert(key, value)?,
                None => meta.remove(key)?,
            };
        }
        txn.commit()?;
        Ok(())
    }

    fn put_preference_history(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        entries: &[PreferenceChange],
    ) -> Result<(), StoreError> {
        let (ws, cid) = (workspace.as_str(), customer.as_str());
        let txn = self.db.begin_write()?;
        {
            if txn.open_table(CUSTOMERS)?.get((ws, cid))?.is_none() {
                return Err(StoreError::NotFound);
            }
            let mut history = txn.open_table(PREFERENCE_HISTORY)?;
            for entry in entries {
                history.insert((ws, cid, entry.seq), encode(entry).as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn facts_with_ids(&self, workspace: &WorkspaceId) -> Result<Vec<(String, Fact)>, StoreError> {
        let ws = workspace.as_str();
        let end = upper("");
        let txn = self.db.begin_read()?;
        let facts = txn.open_table(INTERACTION_FACTS)?;
        let mut out = Vec::new();
        for entry in facts.range((ws, i64::MIN, "", "")..=(ws, i64::MAX, end.as_str(), end.as_str()))? {
            let (key, value) = entry?;
            out.push((key.value().3.to_owned(), decode("interaction_facts", value.value())?));
        }
        Ok(out)
    }

    fn put_facts(&self, workspace: &WorkspaceId, facts: &[(String, Fact)]) -> Result<(), StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(INTERACTION_FACTS)?;
            for (id, fact) in facts {
                // The key holds the interaction's opened_at, which its fact repeats.
                let key = (
                    ws,
                    fact.opened_at.timestamp_micros(),
                    fact.customer_id.as_str(),
                    id.as_str(),
                );
                table.insert(key, encode(fact).as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn put_outreach_items(&self, items: &[OutreachItem]) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut queue = Queue::open(&txn)?;
            let mut by_customer = txn.open_table(OUTREACH_BY_CUSTOMER)?;
            let mut dedupe = txn.open_table(OUTREACH_DEDUPE)?;
            for item in items {
                let (ws, cid, id) = (item.workspace.as_str(), item.customer_id.as_str(), item.id.as_str());
                let old = queue.get(ws, id)?;
                queue.put(old.as_ref(), item)?;
                by_customer.insert((ws, cid, id), "")?;
                dedupe.insert((ws, cid, item.dedupe_key.as_str()), id)?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn all_job_runs(&self, workspace: &WorkspaceId) -> Result<Vec<JobRun>, StoreError> {
        let (ws, end) = (workspace.as_str(), upper(""));
        let txn = self.db.begin_read()?;
        let table = txn.open_table(JOB_RUNS)?;
        let mut out = Vec::new();
        for entry in table.range((ws, "", "")..(ws, end.as_str(), ""))? {
            out.push(decode("job_runs", entry?.1.value())?);
        }
        Ok(out)
    }

    fn knowledge_label(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let last = txn
            .open_table(KNOWLEDGE_LABELS)?
            .get(workspace.as_str())?
            .map_or(0, |v| v.value());
        Ok(last)
    }

    fn set_knowledge_label(&self, workspace: &WorkspaceId, last: u64) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(KNOWLEDGE_LABELS)?.insert(workspace.as_str(), last)?;
        txn.commit()?;
        Ok(())
    }

    fn citation_counts(&self, workspace: &WorkspaceId) -> Result<Vec<CitationCount>, StoreError> {
        let (ws, end) = (workspace.as_str(), upper(""));
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KNOWLEDGE_CITATIONS)?;
        let mut out = Vec::new();
        for entry in table.range((ws, "", i64::MIN)..(ws, end.as_str(), i64::MIN))? {
            let (key, count) = entry?;
            let (_, doc, day) = key.value();
            out.push((doc.to_owned(), day, count.value()));
        }
        Ok(out)
    }

    fn put_citation_counts(&self, workspace: &WorkspaceId, counts: &[CitationCount]) -> Result<(), StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(KNOWLEDGE_CITATIONS)?;
            for (doc, day, count) in counts {
                table.insert((ws, doc.as_str(), *day), *count)?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}
