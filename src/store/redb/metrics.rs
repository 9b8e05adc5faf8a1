//! The support metrics' index: one [`Fact`] per interaction keyed by (workspace, `opened_at`, customer,
//! interaction), written in the transaction that writes the interaction, so a period is one range scan of small
//! values; and the counts the operations metrics read.

use std::collections::BTreeMap;

use ::redb::{ReadableDatabase, ReadableTable, Table, WriteTransaction};
use chrono::{DateTime, Utc};

use super::{upper, RedbStore};
use crate::domain::interaction::Interaction;
use crate::domain::outreach::OutreachItem;
use crate::domain::support_metrics::Fact;
use crate::domain::WorkspaceId;
use crate::store::codec::{decode, encode};
use crate::store::tables::{CUSTOMERS, INTERACTIONS, INTERACTION_FACTS, MEMORIES, META, OUTREACH, WORKSPACES};
use crate::store::{MetricsRepo, StoreError, WorkspaceCounts};

/// Meta key set once every stored interaction has its fact (stores written before the facts existed are
/// backfilled at open).
const FACTS_BUILT: &str = "interaction_facts_built";

type Facts<'t> = Table<'t, (&'static str, i64, &'static str, &'static str), &'static [u8]>;

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Writes the fact of `interaction`, whose previous stored version (if any) is `previous`: the old fact's key is
/// removed (its `opened_at` may have changed) and its reopen count carried over.
pub(super) fn put_fact(
    facts: &mut Facts<'_>,
    interaction: &Interaction,
    previous: Option<&Interaction>,
) -> Result<(), StoreError> {
    let (ws, cid, iid) = (
        interaction.workspace.as_str(),
        interaction.customer_id.as_str(),
        interaction.id.as_str(),
    );
    let old = match previous {
        Some(p) => facts
            .remove((ws, micros(p.fields.opened_at), cid, iid))?
            .map(|v| decode::<Fact>("interaction_facts", v.value()))
            .transpose()?,
        None => None,
    };
    let fact = Fact::of(interaction, old.as_ref());
    facts.insert(
        (ws, micros(interaction.fields.opened_at), cid, iid),
        encode(&fact).as_slice(),
    )?;
    Ok(())
}

/// Removes the facts of a customer's interactions (erasure), given their stored values.
pub(super) fn remove_facts(txn: &WriteTransaction, ws: &str, cid: &str) -> Result<(), StoreError> {
    let end = upper("");
    let interactions = txn.open_table(INTERACTIONS)?;
    let mut facts = txn.open_table(INTERACTION_FACTS)?;
    for entry in interactions.range((ws, cid, "")..(ws, cid, end.as_str()))? {
        let i: Interaction = decode("interactions", entry?.1.value())?;
        facts.remove((ws, micros(i.fields.opened_at), cid, i.id.as_str()))?;
    }
    Ok(())
}

/// Builds the fact of every interaction of a store written before facts existed (once; a no-op after).
pub(super) fn backfill(db: &::redb::Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        if meta.get(FACTS_BUILT)?.is_some() {
            drop(meta);
            txn.abort()?;
            return Ok(());
        }
        meta.insert(FACTS_BUILT, "1")?;
        let interactions = txn.open_table(INTERACTIONS)?;
        let mut facts = txn.open_table(INTERACTION_FACTS)?;
        for entry in interactions.iter()? {
            let i: Interaction = decode("interactions", entry?.1.value())?;
            put_fact(&mut facts, &i, None)?;
        }
    }
    txn.commit()?;
    Ok(())
}

impl MetricsRepo for RedbStore {
    fn interaction_facts(
        &self,
        workspace: &WorkspaceId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Fact>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let facts = txn.open_table(INTERACTION_FACTS)?;
        let mut out = Vec::new();
        for entry in facts.range((ws, micros(since), "", "")..(ws, micros(until), "", ""))? {
            out.push(decode("interaction_facts", entry?.1.value())?);
        }
        Ok(out)
    }

    fn workspace_outreach(&self, workspace: &WorkspaceId) -> Result<Vec<OutreachItem>, StoreError> {
        let ws = workspace.as_str();
        let end = upper("");
        let txn = self.db.begin_read()?;
        let table = txn.open_table(OUTREACH)?;
        let mut out = Vec::new();
        for entry in table.range((ws, "")..(ws, end.as_str()))? {
            out.push(decode("outreach", entry?.1.value())?);
        }
        Ok(out)
    }

    fn workspace_counts(&self) -> Result<Vec<WorkspaceCounts>, StoreError> {
        let txn = self.db.begin_read()?;
        let end = upper("");
        let customers = txn.open_table(CUSTOMERS)?;
        let memories = txn.open_table(MEMORIES)?;
        let outreach = txn.open_table(OUTREACH)?;
        let docs = txn.open_table(crate::store::tables::KNOWLEDGE_DOCS)?;
        let chunks = txn.open_table(crate::store::tables::KNOWLEDGE_CHUNKS)?;
        let mut out = Vec::new();
        for entry in txn.open_table(WORKSPACES)?.iter()? {
            let (key, _) = entry?;
            let ws = key.value().to_owned();
            let w = ws.as_str();
            let mut counts = WorkspaceCounts {
                workspace: ws.clone(),
                customers: customers.range((w, "")..(w, end.as_str()))?.count() as u64,
                memories: memories.range((w, "", "")..(w, end.as_str(), ""))?.count() as u64,
                outreach_by_state: BTreeMap::new(),
                knowledge_documents: docs.range((w, "")..(w, end.as_str()))?.count() as u64,
                knowledge_chunks: chunks.range((w, "", 0)..(w, end.as_str(), 0))?.count() as u64,
            };
            for item in outreach.range((w, "")..(w, end.as_str()))? {
                let item: OutreachItem = decode("outreach", item?.1.value())?;
                *counts.outreach_by_state.entry(state_name(&item)).or_default() += 1;
            }
            out.push(counts);
        }
        Ok(out)
    }

    fn file_bytes(&self) -> Result<u64, StoreError> {
        std::fs::metadata(self.path())
            .map(|m| m.len())
            .map_err(|source| StoreError::Io {
                path: self.path().to_owned(),
                source,
            })
    }
}

fn state_name(item: &OutreachItem) -> String {
    serde_json::to_value(item.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::interaction::InteractionInput;
    use crate::domain::{Customer, CustomerFields};
    use crate::store::{CustomerRepo, MemoryRepo};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn interaction(c: &Customer, opened: &str, status: &str) -> Interaction {
        let input: InteractionInput = serde_json::from_value(serde_json::json!({"external_id": "t-1",
            "channel": "chat", "status": status, "opened_at": opened}))
        .unwrap();
        Interaction::new(c.workspace.clone(), c.id.clone(), input, at(opened))
    }

    #[test]
    fn a_rewritten_interaction_keeps_one_fact_with_its_reopens_and_erasure_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path(), None).unwrap();
        let ws = WorkspaceId::default_workspace();
        let fields = CustomerFields {
            external_id: "c".into(),
            ..Default::default()
        };
        let c = Customer::new(ws.clone(), fields, at("2026-11-01T00:00:00Z"));
        store.create_customer(&c).unwrap();
        let mut i = interaction(&c, "2026-11-02T10:00:00Z", "resolved");
        store.save_ingest(&i, &[], &[]).unwrap();
        // Reopened, and its opened_at corrected: the old key goes, the reopen is counted once.
        i.fields.status = crate::domain::interaction::InteractionStatus::Open;
        i.fields.opened_at = at("2026-11-05T10:00:00Z");
        store.save_ingest(&i, &[], &[]).unwrap();
        let all = |s: &RedbStore| {
            s.interaction_facts(&ws, at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
                .unwrap()
        };
        let facts = all(&store);
        assert_eq!(facts.len(), 1);
        assert_eq!((facts[0].opened_at, facts[0].reopens), (at("2026-11-05T10:00:00Z"), 1));
        // Another workspace's range is empty.
        let other = WorkspaceId::parse("other").unwrap();
        assert!(store
            .interaction_facts(&other, at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
            .unwrap()
            .is_empty());
        assert!(store.erase_customer(&ws, &c.id, None).unwrap());
        assert!(all(&store).is_empty());
    }

    #[test]
    fn a_store_without_facts_is_backfilled_once_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let ws = WorkspaceId::default_workspace();
        {
            let store = RedbStore::open(dir.path(), None).unwrap();
            let c = Customer::new(
                ws.clone(),
                CustomerFields {
                    external_id: "c".into(),
                    ..Default::default()
                },
                at("2026-11-01T00:00:00Z"),
            );
            store.create_customer(&c).unwrap();
            store
                .save_ingest(&interaction(&c, "2026-11-02T10:00:00Z", "open"), &[], &[])
                .unwrap();
            // As a store written before the facts existed: no fact, no mark.
            let txn = store.db.begin_write().unwrap();
            txn.open_table(INTERACTION_FACTS).unwrap().retain(|_, _| false).unwrap();
            txn.open_table(META).unwrap().remove(FACTS_BUILT).unwrap();
            txn.commit().unwrap();
        }
        let store = RedbStore::open(dir.path(), None).unwrap();
        let facts = store
            .interaction_facts(&ws, at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"))
            .unwrap();
        assert_eq!(facts.len(), 1);
    }
}
