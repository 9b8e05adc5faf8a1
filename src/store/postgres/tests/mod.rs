//! The PostgreSQL store against a real PostgreSQL (see `testkit`): the shared model tests, the checks made at
//! open, and what several nodes on one database must not break (concurrent claims, upserts and queuing).

use proptest::prelude::*;

use super::testkit::TestDb;
use super::PostgresStore;
use crate::domain::preferences::{Consent, ConsentByChannel};
use crate::domain::{Customer, Preferences, WorkspaceId};
use crate::store::model_tests::{self, fields, op, queue_op, t0, Backend};
use crate::store::{CustomerRepo, PreferenceRepo};

mod bulk;
mod customers;
mod knowledge;
mod nodes;
mod open;
mod ranking;
mod records;
mod sharing;

impl Backend for TestDb {
    type Store = PostgresStore;

    fn open(&self) -> PostgresStore {
        PostgresStore::open(&self.config, None).unwrap()
    }
}

proptest! {
    // Each case creates a database: fewer cases than on redb, the same operations.
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn store_agrees_with_an_in_memory_model(ops in proptest::collection::vec(op(), 1..40)) {
        model_tests::customers_agree_with_a_model(&TestDb::new(), ops)?;
    }

    #[test]
    fn memories_and_the_outreach_queue_agree_with_an_in_memory_model(
        ops in proptest::collection::vec(queue_op(), 1..40)
    ) {
        model_tests::queue_agrees_with_a_model(&TestDb::new(), ops)?;
    }
}

/// Creates the workspace `other` beside the default one (for tests of what one workspace must not see) and
/// returns its id.
fn other_workspace(store: &dyn crate::store::Store) -> WorkspaceId {
    let other = WorkspaceId::parse("other").unwrap();
    store
        .create_workspace(&crate::domain::Workspace {
            id: other.clone(),
            name: "other".into(),
            created_at: t0(),
        })
        .unwrap();
    other
}

/// A customer who accepts e-mail and a weekly cap no test reaches.
fn reachable_customer(store: &PostgresStore, ws: &WorkspaceId, ext: u8) -> Customer {
    let c = Customer::new(ws.clone(), fields(ext, None), t0());
    store.create_customer(&c).unwrap();
    let consent = Consent {
        granted: true,
        at: Some(t0()),
        source: Some("test".into()),
    };
    store
        .update_preferences(
            ws,
            &c.id,
            &mut |p| {
                Ok(Preferences {
                    consent: ConsentByChannel {
                        email: Some(consent.clone()),
                        ..Default::default()
                    },
                    max_contacts_per_week: Some(1000),
                    ..p.clone()
                })
            },
            t0(),
            "test",
        )
        .unwrap();
    c
}

/// A record as the redb store's golden files hold it (one realistic value of each type).
fn golden<T: serde::de::DeserializeOwned>(table: &'static str) -> T {
    let path = format!("{}/src/store/golden/{table}.bin", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    crate::store::codec::decode(table, &bytes).unwrap()
}
