//! The meta table: schema version and embedding model, written once and checked at every open.

use ::redb::{Database, ReadableDatabase, ReadableTable};

use crate::store::tables::{
    API_KEYS, API_KEY_IDS, CUSTOMERS, EXTERNAL_IDS, INTERACTIONS, INTERACTION_EXTERNAL_IDS, MEMORIES, META, OUTREACH,
    OUTREACH_BY_CUSTOMER, OUTREACH_DEDUPE, PREFERENCES, PREFERENCE_HISTORY, VECTORS, WORKSPACES,
};
use crate::store::{ModelStamp, StoreError};

/// Meta keys of an unfinished re-embedding: the target model, its dimension, the last memory key done (JSON) and
/// the count done.
pub const REEMBED_TARGET: &str = "reembed_target";
/// See [`REEMBED_TARGET`].
pub const REEMBED_DIM: &str = "reembed_dim";
/// See [`REEMBED_TARGET`].
pub const REEMBED_CURSOR: &str = "reembed_cursor";
/// See [`REEMBED_TARGET`].
pub const REEMBED_DONE: &str = "reembed_done";

/// The schema this binary writes and reads. Version 2 keys job runs by workspace (schema 1's shared run table is
/// dropped on open: its runs could not be told apart by workspace) and stores job definitions.
pub const SCHEMA_VERSION: u32 = 2;

/// Refuses stores it must not touch (checked in a read transaction, before anything is written), then creates
/// missing tables and stamps a new store.
pub fn init(db: &Database, model: Option<&ModelStamp>) -> Result<(), StoreError> {
    check_schema(db)?;
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        let found = meta.get("schema_version")?.and_then(|v| v.value().parse::<u32>().ok());
        if found.is_some_and(|v| v < 2) {
            let old: ::redb::TableDefinition<(&str, &str), &[u8]> =
                ::redb::TableDefinition::new(crate::store::tables::JOB_RUNS_V1);
            txn.delete_table(old)?;
        }
        if found != Some(SCHEMA_VERSION) {
            meta.insert("schema_version", SCHEMA_VERSION.to_string().as_str())?;
        }
        if let Some(model) = model {
            if let Some(target) = meta.get(REEMBED_TARGET)?.map(|v| v.value().to_owned()) {
                let done = meta
                    .get(REEMBED_DONE)?
                    .and_then(|v| v.value().parse().ok())
                    .unwrap_or(0);
                return Err(StoreError::ReembedUnfinished { target, done });
            }
            let stored_model = meta.get("embedding_model")?.map(|v| v.value().to_owned());
            let stored_dim = meta.get("embedding_dim")?.and_then(|v| v.value().parse::<usize>().ok());
            match (stored_model, stored_dim) {
                (Some(stored_model), Some(stored_dim)) if stored_dim != model.dim || stored_model != model.name => {
                    return Err(StoreError::EmbeddingMismatch {
                        stored_model,
                        stored_dim,
                        model: model.name.clone(),
                        dim: model.dim,
                    });
                }
                (Some(_), Some(_)) => {}
                _ => {
                    meta.insert("embedding_model", model.name.as_str())?;
                    meta.insert("embedding_dim", model.dim.to_string().as_str())?;
                }
            }
        }
        txn.open_table(CUSTOMERS)?;
        txn.open_table(EXTERNAL_IDS)?;
        txn.open_table(PREFERENCES)?;
        txn.open_table(PREFERENCE_HISTORY)?;
        txn.open_table(WORKSPACES)?;
        txn.open_table(API_KEYS)?;
        txn.open_table(API_KEY_IDS)?;
        txn.open_table(INTERACTIONS)?;
        txn.open_table(INTERACTION_EXTERNAL_IDS)?;
        txn.open_table(MEMORIES)?;
        txn.open_table(VECTORS)?;
        txn.open_table(OUTREACH)?;
        txn.open_table(crate::store::tables::CAMPAIGNS)?;
        txn.open_table(crate::store::tables::TEAMS)?;
        txn.open_table(crate::store::tables::HEALTH)?;
        txn.open_table(crate::store::tables::INCIDENTS)?;
        txn.open_table(crate::store::tables::OUTREACH_DUE)?;
        txn.open_table(crate::store::tables::OUTREACH_LEASED)?;
        txn.open_table(crate::store::tables::JOB_RUNS)?;
        txn.open_table(crate::store::tables::JOB_DEFINITIONS)?;
        txn.open_table(OUTREACH_BY_CUSTOMER)?;
        txn.open_table(OUTREACH_DEDUPE)?;
        txn.open_table(crate::store::tables::AUDIT_LOG)?;
        txn.open_table(crate::store::tables::KNOWLEDGE_DOCS)?;
        txn.open_table(crate::store::tables::KNOWLEDGE_CHUNKS)?;
        txn.open_table(crate::store::tables::KNOWLEDGE_VECTORS)?;
        txn.open_table(crate::store::tables::KNOWLEDGE_SOURCES)?;
        txn.open_table(crate::store::tables::KNOWLEDGE_LABELS)?;
        txn.open_table(crate::store::tables::KNOWLEDGE_CITATIONS)?;
        txn.open_table(crate::store::tables::KNOWLEDGE_GAPS)?;
        txn.open_table(crate::store::tables::INTERACTION_FACTS)?;
    }
    txn.commit()?;
    Ok(())
}

pub(super) fn check_schema(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(::redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    match meta.get("schema_version")?.map(|v| v.value().parse::<u32>()) {
        Some(Ok(found)) if found > SCHEMA_VERSION => Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(Err(e)) => Err(StoreError::Corrupt {
            table: "meta",
            reason: e.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The embedding model recorded in the store.
pub fn model_stamp(db: &Database) -> Result<Option<ModelStamp>, StoreError> {
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    let name = meta.get("embedding_model")?.map(|v| v.value().to_owned());
    let dim = meta.get("embedding_dim")?.and_then(|v| v.value().parse().ok());
    Ok(name.zip(dim).map(|(name, dim)| ModelStamp { name, dim }))
}

/// Overwrites the schema version (tests use it to fake a store from a newer Rappel).
#[cfg(test)]
pub fn set_schema_version(db: &Database, version: u32) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    txn.open_table(META)?
        .insert("schema_version", version.to_string().as_str())?;
    txn.commit()?;
    Ok(())
}
