//! Bulk import of the fixture format: JSON (one record or an array) or NDJSON (one record per line). Each record
//! is an object with a `type`; today `customer` (profile fields plus optional `preferences`). Import is an upsert
//! by external id, so importing the same file twice changes nothing.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::{CustomerFields, InvalidInput, Preferences, WorkspaceId};
use crate::store::{Store, StoreError, Upserted};

/// The history source recorded for changes made by an import.
pub const IMPORT_SOURCE: &str = "import";

/// One parsed record, with where it came from.
#[derive(Debug)]
pub struct Record {
    /// `file:line` (NDJSON) or `file[index]` (JSON array), for error messages.
    pub origin: String,
    /// The record, or why it could not be parsed.
    pub body: Result<Value, String>,
}

/// Counts of an import so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Records read.
    pub records: u64,
    /// Customers created.
    pub created: u64,
    /// Customers whose profile or preferences changed.
    pub updated: u64,
    /// Records that changed nothing.
    pub unchanged: u64,
    /// Records refused, with their reasons in `errors`.
    pub failed: u64,
    /// `origin: reason` of each refused record (the first 100).
    pub errors: Vec<String>,
}

/// Reads every record of a file: a JSON array or object when the file starts with `[` or `{` and parses whole,
/// NDJSON otherwise. Bytes that are not UTF-8 make that line (or the whole JSON document) a failed record.
pub fn read_file(path: &Path) -> std::io::Result<Vec<Record>> {
    let bytes = std::fs::read(path)?;
    let name = path.display().to_string();
    let trimmed = bytes.trim_ascii_start();
    if trimmed.first() == Some(&b'[') || path.extension().is_some_and(|e| e == "json") {
        return Ok(match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| Record {
                    origin: format!("{name}[{i}]"),
                    body: Ok(v),
                })
                .collect(),
            Ok(v) => vec![Record {
                origin: name,
                body: Ok(v),
            }],
            Err(e) => vec![Record {
                origin: name,
                body: Err(format!("not valid JSON: {e}")),
            }],
        });
    }
    Ok(bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.trim_ascii().is_empty())
        .map(|(i, line)| Record {
            origin: format!("{name}:{}", i + 1),
            body: serde_json::from_slice(line).map_err(|e| format!("not valid JSON: {e}")),
        })
        .collect())
}

/// Applies records to the store in order, calling `progress` after each.
pub fn apply(
    store: &dyn Store,
    workspace: &WorkspaceId,
    records: impl IntoIterator<Item = Record>,
    now: DateTime<Utc>,
    mut progress: impl FnMut(&ImportStats),
) -> Result<ImportStats, StoreError> {
    let mut stats = ImportStats::default();
    for record in records {
        stats.records += 1;
        let outcome = match record.body {
            Ok(body) => apply_one(store, workspace, body, now),
            Err(reason) => Ok(Err(reason)),
        };
        match outcome? {
            Ok(Upserted::Created) => stats.created += 1,
            Ok(Upserted::Updated) => stats.updated += 1,
            Ok(Upserted::Unchanged) => stats.unchanged += 1,
            Err(reason) => {
                stats.failed += 1;
                if stats.errors.len() < 100 {
                    stats.errors.push(format!("{}: {reason}", record.origin));
                }
            }
        }
        progress(&stats);
    }
    Ok(stats)
}

/// Applies one record. The outer error is a store failure (abort the import); the inner one a bad record.
fn apply_one(
    store: &dyn Store,
    workspace: &WorkspaceId,
    body: Value,
    now: DateTime<Utc>,
) -> Result<Result<Upserted, String>, StoreError> {
    let Value::Object(mut map) = body else {
        return Ok(Err("a record must be a JSON object".into()));
    };
    match map.remove("type").as_ref().and_then(Value::as_str) {
        Some("customer") => {}
        Some(other) => return Ok(Err(format!("unknown record type {other:?} (expected \"customer\")"))),
        None => return Ok(Err("missing \"type\" (expected \"customer\")".into())),
    }
    let preferences = map.remove("preferences");
    let parsed = (|| -> Result<(CustomerFields, Option<Preferences>), InvalidInput> {
        let invalid = |e: serde_json::Error| InvalidInput::new("invalid_body", "", e.to_string());
        let fields: CustomerFields = serde_json::from_value(Value::Object(map)).map_err(invalid)?;
        let prefs = preferences
            .filter(|p| !p.is_null())
            .map(|p| {
                serde_json::from_value::<Preferences>(p)
                    .map_err(invalid)?
                    .validated(now, IMPORT_SOURCE)
            })
            .transpose()?;
        Ok((fields.validated()?, prefs))
    })();
    let (fields, preferences) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let (customer, mut outcome) = match store.upsert_customer(workspace, fields, now) {
        Ok(done) => done,
        Err(e @ (StoreError::ExternalIdConflict { .. } | StoreError::Invalid(_))) => return Ok(Err(e.to_string())),
        Err(e) => return Err(e),
    };
    if let Some(preferences) = preferences {
        let (_, changes) = store.update_preferences(
            workspace,
            &customer.id,
            &mut |_| Ok(preferences.clone()),
            now,
            IMPORT_SOURCE,
        )?;
        if !changes.is_empty() && outcome == Upserted::Unchanged {
            outcome = Upserted::Updated;
        }
    }
    Ok(Ok(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn ndjson_lines_and_json_arrays_are_both_read() {
        let dir = tempfile::tempdir().unwrap();
        let nd = dir.path().join("a.ndjson");
        let mut f = std::fs::File::create(&nd).unwrap();
        f.write_all(b"{\"type\":\"customer\",\"external_id\":\"a\"}\n\n{broken\n\xff\xfe\n")
            .unwrap();
        let records = read_file(&nd).unwrap();
        assert_eq!(records.len(), 3);
        assert!(records[0].body.is_ok());
        assert_eq!(records[1].origin, format!("{}:3", nd.display()));
        assert!(records[1].body.is_err() && records[2].body.is_err());

        let js = dir.path().join("b.json");
        std::fs::write(
            &js,
            br#"[{"type":"customer","external_id":"a"},{"type":"customer","external_id":"b"}]"#,
        )
        .unwrap();
        assert_eq!(read_file(&js).unwrap().len(), 2);
    }
}
