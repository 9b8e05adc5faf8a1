//! Bulk import of the fixture format: JSON (one record or an array) or NDJSON (one record per line). Each record
//! is an object with a `type`: `customer` (profile fields plus optional `preferences`) or `interaction` (an
//! interaction with `customer_external_id`). Import is an upsert by external ids, so importing the same file
//! twice changes nothing.

use std::path::Path;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::interaction::InteractionInput;

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

/// Whether a record is an interaction (imported through the services, which form memories).
fn is_interaction(record: &Record) -> bool {
    record
        .body
        .as_ref()
        .is_ok_and(|b| b.get("type").and_then(Value::as_str) == Some("interaction"))
}

impl super::Services {
    /// Imports records in order: customers straight into the store, interactions through ingest (memories,
    /// sentiment, stated preferences). Calls `progress` after each record.
    pub async fn import(
        &self,
        workspace: &WorkspaceId,
        records: Vec<Record>,
        mut progress: impl FnMut(&ImportStats),
    ) -> Result<ImportStats, super::ServiceError> {
        let principal = super::operator(workspace.clone());
        let mut stats = ImportStats::default();
        let mut pending: Vec<Record> = Vec::new();
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            // A run of customer records goes to the store in one blocking call.
            while records.peek().is_some_and(|r| !is_interaction(r)) {
                pending.extend(records.next());
            }
            if !pending.is_empty() {
                let (store, ws, now, batch) = (
                    Arc::clone(self.store()),
                    workspace.clone(),
                    self.now(),
                    std::mem::take(&mut pending),
                );
                let done = tokio::task::spawn_blocking(move || apply(store.as_ref(), &ws, batch, now, |_| {}))
                    .await
                    .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?;
                stats.absorb(done);
                progress(&stats);
            }
            let Some(record) = records.next() else { break };
            stats.records += 1;
            let outcome = self
                .import_interaction(&principal, record.body.unwrap_or_default())
                .await;
            match outcome {
                Ok(Upserted::Created) => stats.created += 1,
                Ok(Upserted::Updated) => stats.updated += 1,
                Ok(Upserted::Unchanged) => stats.unchanged += 1,
                Err(e @ (super::ServiceError::Store(_) | super::ServiceError::Embed(_))) => return Err(e),
                Err(e) => stats.fail(&record.origin, &e.to_string()),
            }
            progress(&stats);
        }
        Ok(stats)
    }

    async fn import_interaction(
        &self,
        principal: &crate::domain::Principal,
        body: Value,
    ) -> Result<Upserted, super::ServiceError> {
        let Value::Object(mut map) = body else {
            return Err(InvalidInput::new("invalid_body", "", "an interaction record is a JSON object").into());
        };
        map.remove("type");
        let Some(Value::String(customer)) = map.remove("customer_external_id") else {
            return Err(InvalidInput::new(
                "invalid_field",
                "customer_external_id",
                "an interaction record names its customer's external id",
            )
            .into());
        };
        let input: InteractionInput = serde_json::from_value(Value::Object(map))
            .map_err(|e| InvalidInput::new("invalid_body", "", e.to_string()))?;
        let customer = self.get_customer_by_external_id(principal, &customer).await?;
        Ok(self.ingest_interaction(principal, customer.id.as_str(), input).await?.1)
    }
}

impl ImportStats {
    fn absorb(&mut self, other: ImportStats) {
        self.records += other.records;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
        self.errors.extend(
            other
                .errors
                .into_iter()
                .take(100usize.saturating_sub(self.errors.len())),
        );
    }

    fn fail(&mut self, origin: &str, reason: &str) {
        self.failed += 1;
        if self.errors.len() < 100 {
            self.errors.push(format!("{origin}: {reason}"));
        }
    }
}

/// Applies customer records to the store in order, calling `progress` after each.
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
            Err(reason) => stats.fail(&record.origin, &reason),
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
        Some(other) => {
            return Ok(Err(format!(
                "unknown record type {other:?} (expected \"customer\" or \"interaction\")"
            )))
        }
        None => return Ok(Err("missing \"type\" (expected \"customer\" or \"interaction\")".into())),
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
    // A file's preferences seed a customer's; once anything else changed them (the API, a stated preference in
    // a message), a re-import leaves them alone.
    let changed_elsewhere = outcome != Upserted::Created
        && store
            .preference_history(workspace, &customer.id, None, 10_000)?
            .items
            .iter()
            .any(|c| c.source != IMPORT_SOURCE);
    if let Some(preferences) = preferences.filter(|_| !changed_elsewhere) {
        let (_, changes) = store.update_preferences(
            workspace,
            &customer.id,
            &mut |old| Ok(keep_consent_times(old, preferences.clone())),
            now,
            IMPORT_SOURCE,
        )?;
        if !changes.is_empty() && outcome == Upserted::Unchanged {
            outcome = Upserted::Updated;
        }
    }
    Ok(Ok(outcome))
}

/// Keeps the recorded time of a consent the file states again unchanged (the file may leave `at` out, and the
/// import time must not make a re-import look like a change).
fn keep_consent_times(old: &Preferences, mut new: Preferences) -> Preferences {
    use crate::domain::preferences::Channel;
    for channel in [
        Channel::Email,
        Channel::Sms,
        Channel::Phone,
        Channel::Chat,
        Channel::Push,
    ] {
        if let (Some(o), Some(n)) = (old.consent.get(channel), new.consent.get(channel)) {
            if o.granted == n.granted && o.source == n.source && o.at != n.at {
                let kept = crate::domain::preferences::Consent { at: o.at, ..n.clone() };
                new.consent.set(channel, Some(kept));
            }
        }
    }
    new
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
