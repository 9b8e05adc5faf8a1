//! What a migration checks at the end, reading both stores the same way through the repository traits:
//! - a [`Tally`] of every kind of record, each record serialised to JSON (vectors included): a count and an
//!   order-independent digest per kind, so equal tallies mean equal counts and, but for a hash collision, equal
//!   records;
//! - a sample of customers (up to [`SAMPLE`], spread over the store) compared record by record as JSON, which
//!   names the first customer and kind that differ.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::MigrateStore;
use crate::domain::audit::AuditFilter;
use crate::domain::{Customer, CustomerFilter, CustomerId, WorkspaceId};

/// Customers compared record by record.
pub const SAMPLE: usize = 200;

/// Rows read per page when walking a list.
const PAGE: usize = 500;

/// Every kind of record a store holds, as the tally names them (each is counted, zero included).
pub const KINDS: [&str; 23] = [
    "api keys",
    "audit entries",
    "campaigns",
    "citation counts",
    "citation labels",
    "customers",
    "health",
    "incidents",
    "interaction facts",
    "interactions",
    "job definitions",
    "job runs",
    "jobs seeded flag",
    "knowledge chunks",
    "knowledge documents",
    "knowledge gaps",
    "memories",
    "memories, whole store",
    "outreach items",
    "preference history",
    "preferences",
    "teams",
    "workspaces",
];

/// Count and digest of one kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// Records.
    pub records: u64,
    /// Wrapping sum of the records' hashes.
    pub digest: u64,
}

/// Every kind of record of a store, counted and digested.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// By kind.
    pub kinds: BTreeMap<&'static str, Count>,
}

impl Tally {
    fn add(&mut self, kind: &'static str, record: &impl Serialize) {
        // Through `Value`, whose maps are sorted, so a record's JSON does not depend on a map's iteration order.
        let text = serde_json::to_value(record)
            .expect("stored records serialise")
            .to_string();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        let count = self.kinds.entry(kind).or_default();
        count.records += 1;
        count.digest = count.digest.wrapping_add(hasher.finish());
    }

    /// The records of a kind (0 when none).
    pub fn records(&self, kind: &str) -> u64 {
        self.kinds.get(kind).map_or(0, |c| c.records)
    }

    /// The kinds whose count or digest differ from `other`'s.
    pub fn differences(&self, other: &Tally) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self.kinds.keys().chain(other.kinds.keys()).copied().collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds.retain(|k| self.kinds.get(k) != other.kinds.get(k));
        kinds
    }
}

/// The earliest time, for reading every record "since".
fn beginning() -> DateTime<Utc> {
    DateTime::<Utc>::MIN_UTC
}

/// Every customer of a workspace, a page at a time.
pub fn each_customer(
    store: &dyn MigrateStore,
    ws: &WorkspaceId,
    f: &mut dyn FnMut(Vec<Customer>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut after: Option<String> = None;
    loop {
        let page = store.list_customers(ws, &CustomerFilter::default(), after.as_deref(), PAGE)?;
        let last = page.items.last().map(|c| c.id.to_string());
        let more = page.next_cursor.is_some();
        f(page.items)?;
        match last {
            Some(last) if more => after = Some(last),
            _ => return Ok(()),
        }
    }
}

/// Everything stored about one customer, as JSON (the sample's unit, and what the tally adds per customer).
pub fn customer_record(store: &dyn MigrateStore, ws: &WorkspaceId, c: &CustomerId) -> anyhow::Result<Value> {
    let customer = store.get_customer(ws, c)?;
    let preferences = store.get_preferences(ws, c)?;
    let mut history = Vec::new();
    let mut after = None;
    loop {
        let page = store.preference_history(ws, c, after, PAGE)?;
        after = page.items.last().map(|h| h.seq);
        let more = page.next_cursor.is_some();
        history.extend(page.items);
        if !more {
            break;
        }
    }
    let mut interactions = store.list_interactions(ws, c)?;
    interactions.sort_by(|a, b| a.id.cmp(&b.id));
    let mut memories: Vec<Value> = store
        .customer_memories(ws, c)?
        .into_iter()
        .map(|m| json!({"memory": m.memory, "vector": m.vector}))
        .collect();
    memories.sort_by(|a, b| a["memory"]["id"].as_str().cmp(&b["memory"]["id"].as_str()));
    let health = store.health_history(ws, c, usize::MAX)?;
    Ok(json!({
        "customer": customer, "preferences": preferences, "preference_history": history,
        "interactions": interactions, "memories": memories, "health": health,
    }))
}

/// Reads every record of `store` through the traits and tallies it by kind; `sample` is called with every
/// customer whose position in the store is a multiple of `every`.
pub fn tally(
    store: &dyn MigrateStore,
    every: u64,
    sample: &mut dyn FnMut(&WorkspaceId, &CustomerId),
) -> anyhow::Result<Tally> {
    let mut t = Tally {
        kinds: KINDS.iter().map(|k| (*k, Count::default())).collect(),
    };
    let workspaces = store.list_workspaces()?;
    for w in &workspaces {
        t.add("workspaces", w);
    }
    for job in store.list_jobs()? {
        t.add("job definitions", &job);
    }
    if let Some(seeded) = store.meta_value("jobs_seeded")? {
        t.add("jobs seeded flag", &seeded);
    }
    let mut seen = 0u64;
    for w in &workspaces {
        let ws = &w.id;
        for key in store.list_keys(ws)? {
            t.add("api keys", &json!({"key": key, "hash": key.hash}));
        }
        each_customer(store, ws, &mut |customers| {
            for c in customers {
                let record = customer_record(store, ws, &c.id)?;
                t.add("customers", &record["customer"]);
                t.add("preferences", &record["preferences"]);
                for (kind, field) in [
                    ("preference history", "preference_history"),
                    ("interactions", "interactions"),
                    ("memories", "memories"),
                    ("health", "health"),
                ] {
                    for item in record[field].as_array().into_iter().flatten() {
                        t.add(kind, item);
                    }
                }
                if seen.is_multiple_of(every.max(1)) {
                    sample(ws, &c.id);
                }
                seen += 1;
            }
            Ok(())
        })?;
        for fact in store.facts_with_ids(ws)? {
            t.add("interaction facts", &fact);
        }
        for item in store.workspace_outreach(ws)? {
            t.add("outreach items", &item);
        }
        for run in store.all_job_runs(ws)? {
            t.add("job runs", &run);
        }
        for incident in store.list_incidents(ws)? {
            t.add("incidents", &incident);
        }
        for team in store.list_teams(ws)? {
            t.add("teams", &team);
        }
        for campaign in store.list_campaigns(ws)? {
            t.add("campaigns", &campaign);
        }
        let mut after: Option<String> = None;
        loop {
            let page = store.list_audit(ws, &AuditFilter::default(), after.as_deref(), PAGE)?;
            after = page.items.last().map(|e| e.id.clone());
            let more = page.next_cursor.is_some();
            for entry in &page.items {
                t.add("audit entries", entry);
            }
            if !more {
                break;
            }
        }
        for doc in store.list_knowledge(ws)? {
            t.add("knowledge documents", &doc);
        }
        for chunk in store.knowledge_chunks(ws)? {
            t.add("knowledge chunks", &chunk);
        }
        let label = store.knowledge_label(ws)?;
        if label > 0 {
            t.add("citation labels", &(ws, label));
        }
        for count in store.citation_counts(ws)? {
            t.add("citation counts", &count);
        }
        for gap in store.gaps_since(ws, beginning())? {
            t.add("knowledge gaps", &gap);
        }
    }
    // Memories outside any listed workspace would be missed above: the store's own count catches them.
    let all = store.count_memories().context("counting memories")?;
    t.kinds.insert(
        "memories, whole store",
        Count {
            records: all,
            digest: all,
        },
    );
    Ok(t)
}
