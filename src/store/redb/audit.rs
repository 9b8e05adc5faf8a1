//! Erasure audit: which tables still hold a given text anywhere in their keys or values.

use ::redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::RedbStore;
use crate::store::tables::*;
use crate::store::StoreError;

fn scan<K: ::redb::Key + 'static, V: ::redb::Value + 'static>(
    txn: &::redb::ReadTransaction,
    table: TableDefinition<K, V>,
    needle: &str,
) -> Result<bool, StoreError>
where
    for<'a> K::SelfType<'a>: std::fmt::Debug,
    for<'a> V::SelfType<'a>: std::fmt::Debug,
{
    let t = txn.open_table(table)?;
    for entry in t.iter()? {
        let (k, v) = entry?;
        // Debug renders strings and byte slices alike, so the needle is found in either (byte values are
        // checked raw below as well).
        if format!("{:?}", k.value()).contains(needle) || format!("{:?}", v.value()).contains(needle) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl RedbStore {
    /// Names of the tables whose keys or values mention `needle` (as text, or inside a stored JSON value).
    pub fn tables_mentioning(&self, needle: &str) -> Result<Vec<&'static str>, StoreError> {
        let txn = self.db.begin_read()?;
        let mut found = Vec::new();
        let bytes_hit = |table: &'static str, hit: bool, found: &mut Vec<&'static str>| {
            if hit {
                found.push(table);
            }
        };
        bytes_hit("meta", scan(&txn, META, needle)?, &mut found);
        bytes_hit("customers", scan_bytes(&txn, CUSTOMERS, needle)?, &mut found);
        bytes_hit("customer_external_ids", scan(&txn, EXTERNAL_IDS, needle)?, &mut found);
        bytes_hit("preferences", scan_bytes(&txn, PREFERENCES, needle)?, &mut found);
        bytes_hit(
            "preference_history",
            scan_bytes(&txn, PREFERENCE_HISTORY, needle)?,
            &mut found,
        );
        bytes_hit("workspaces", scan_bytes(&txn, WORKSPACES, needle)?, &mut found);
        bytes_hit("api_keys", scan_bytes(&txn, API_KEYS, needle)?, &mut found);
        bytes_hit("api_key_ids", scan(&txn, API_KEY_IDS, needle)?, &mut found);
        bytes_hit("interactions", scan_bytes(&txn, INTERACTIONS, needle)?, &mut found);
        bytes_hit(
            "interaction_external_ids",
            scan(&txn, INTERACTION_EXTERNAL_IDS, needle)?,
            &mut found,
        );
        bytes_hit("memories", scan_bytes(&txn, MEMORIES, needle)?, &mut found);
        bytes_hit("vectors", scan_bytes(&txn, VECTORS, needle)?, &mut found);
        bytes_hit("outreach", scan_bytes(&txn, OUTREACH, needle)?, &mut found);
        bytes_hit("health", scan_bytes(&txn, HEALTH, needle)?, &mut found);
        bytes_hit(
            "outreach_by_customer",
            scan(&txn, OUTREACH_BY_CUSTOMER, needle)?,
            &mut found,
        );
        bytes_hit("outreach_dedupe", scan(&txn, OUTREACH_DEDUPE, needle)?, &mut found);
        bytes_hit("outreach_due", scan(&txn, OUTREACH_DUE, needle)?, &mut found);
        bytes_hit("outreach_leased", scan(&txn, OUTREACH_LEASED, needle)?, &mut found);
        bytes_hit("job_runs", scan_bytes(&txn, JOB_RUNS, needle)?, &mut found);
        bytes_hit("audit_log", scan_bytes(&txn, AUDIT_LOG, needle)?, &mut found);
        bytes_hit(
            "knowledge_gaps",
            scan_bytes(&txn, crate::store::tables::KNOWLEDGE_GAPS, needle)?,
            &mut found,
        );
        bytes_hit(
            "interaction_facts",
            scan_bytes(&txn, INTERACTION_FACTS, needle)?,
            &mut found,
        );
        Ok(found)
    }
}

/// Like [`scan`], for tables whose values are bytes: the value is searched as (lossy) UTF-8.
fn scan_bytes<K: ::redb::Key + 'static>(
    txn: &::redb::ReadTransaction,
    table: TableDefinition<K, &'static [u8]>,
    needle: &str,
) -> Result<bool, StoreError>
where
    for<'a> K::SelfType<'a>: std::fmt::Debug,
{
    let t = txn.open_table(table)?;
    for entry in t.iter()? {
        let (k, v) = entry?;
        if format!("{:?}", k.value()).contains(needle) || String::from_utf8_lossy(v.value()).contains(needle) {
            return Ok(true);
        }
    }
    Ok(false)
}
