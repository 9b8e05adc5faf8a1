//! The stored encoding, pinned: one record of every table, as the store writes it today, is kept under
//! `src/store/golden/` and checked in both directions: it still decodes (a store written by this release opens in
//! the next), and encoding the decoded value gives the same bytes (renaming or retyping a field of a domain type
//! changes stored data, which must be a deliberate, versioned decision, never a side effect of an API change).
//!
//! To record the files again from a store (for example after `make run` and a few API calls):
//! `RAPPEL_GOLDEN_FROM=data/rappel.redb cargo test --lib bless_golden -- --ignored`.

use std::path::PathBuf;

use ::redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{de::DeserializeOwned, Serialize};

use crate::domain::audit::AuditEntry;
use crate::domain::auth::{ApiKey, Workspace};
use crate::domain::campaign::Campaign;
use crate::domain::health::Health;
use crate::domain::incident::Incident;
use crate::domain::interaction::Interaction;
use crate::domain::job::JobDefinition;
use crate::domain::job_run::JobRun;
use crate::domain::memory::Memory;
use crate::domain::outreach::OutreachItem;
use crate::domain::preferences::{PreferenceChange, Preferences};
use crate::domain::team::Team;
use crate::domain::Customer;
use crate::store::codec::{decode, encode};
use crate::store::tables::*;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/store/golden")
}

/// Decodes the golden record of `table` as `T` and checks that encoding it again gives the same bytes.
fn check<T: Serialize + DeserializeOwned>(table: &'static str) {
    let path = golden_dir().join(format!("{table}.bin"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: T = decode(table, &bytes).unwrap_or_else(|e| panic!("the golden {table} record no longer decodes: {e}"));
    assert!(
        encode(&value) == bytes,
        "the stored encoding of {table} changed: version the record type (see store/codec.rs) before changing it"
    );
}

#[test]
fn every_table_reads_and_writes_the_pinned_encoding() {
    check::<Customer>("customers");
    check::<Preferences>("preferences");
    check::<PreferenceChange>("preference_history");
    check::<Workspace>("workspaces");
    check::<ApiKey>("api_keys");
    check::<Interaction>("interactions");
    check::<Memory>("memories");
    check::<OutreachItem>("outreach");
    check::<JobRun>("job_runs");
    check::<JobDefinition>("job_definitions");
    check::<Incident>("incidents");
    check::<Health>("health");
    check::<Campaign>("campaigns");
    check::<AuditEntry>("audit_log");
    check::<Team>("teams");
}

/// Copies the first record of every table from the store named by `RAPPEL_GOLDEN_FROM`.
#[test]
#[ignore = "records the golden files from a store"]
fn bless_golden() {
    let from = std::env::var("RAPPEL_GOLDEN_FROM").expect("RAPPEL_GOLDEN_FROM names a rappel.redb");
    let db = ::redb::Database::open(from).expect("the store opens");
    let txn = db.begin_read().unwrap();
    std::fs::create_dir_all(golden_dir()).unwrap();
    let save = |name: &str, bytes: Option<Vec<u8>>| {
        let bytes = bytes.unwrap_or_else(|| panic!("the store holds no {name} record"));
        std::fs::write(golden_dir().join(format!("{name}.bin")), bytes).unwrap();
    };
    fn first<K: ::redb::Key + 'static>(
        txn: &::redb::ReadTransaction,
        table: TableDefinition<K, &[u8]>,
    ) -> Option<Vec<u8>> {
        let t = txn.open_table(table).ok()?;
        let mut it = t.iter().ok()?;
        it.next().and_then(|e| e.ok()).map(|(_, v)| v.value().to_vec())
    }
    save("customers", first(&txn, CUSTOMERS));
    save("preferences", first(&txn, PREFERENCES));
    save("preference_history", first(&txn, PREFERENCE_HISTORY));
    save("workspaces", first(&txn, WORKSPACES));
    save("api_keys", first(&txn, API_KEYS));
    save("interactions", first(&txn, INTERACTIONS));
    save("memories", first(&txn, MEMORIES));
    save("outreach", first(&txn, OUTREACH));
    save("job_runs", first(&txn, JOB_RUNS));
    save("job_definitions", first(&txn, JOB_DEFINITIONS));
    save("incidents", first(&txn, INCIDENTS));
    save("health", first(&txn, HEALTH));
    save("campaigns", first(&txn, CAMPAIGNS));
    save("audit_log", first(&txn, AUDIT_LOG));
    save("teams", first(&txn, TEAMS));
}
