//! The redb store against plain in-memory models (the shared [`model_tests`], reopening included), and the checks
//! made at open.

use proptest::prelude::*;

use super::{meta, RedbStore};
use crate::domain::preferences::Tone;
use crate::domain::{Customer, WorkspaceId};
use crate::store::model_tests::{self, fields, op, queue_op, t0, Backend};
use crate::store::{CustomerRepo, ModelStamp, PreferenceRepo, StoreError};

/// A redb store in a temporary folder.
struct Folder(tempfile::TempDir);

impl Backend for Folder {
    type Store = RedbStore;

    fn open(&self) -> RedbStore {
        RedbStore::open(self.0.path(), None).unwrap()
    }
}

fn folder() -> Folder {
    Folder(tempfile::tempdir().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn store_agrees_with_an_in_memory_model(ops in proptest::collection::vec(op(), 1..40)) {
        model_tests::customers_agree_with_a_model(&folder(), ops)?;
    }

    #[test]
    fn memories_and_the_outreach_queue_agree_with_an_in_memory_model(
        ops in proptest::collection::vec(queue_op(), 1..40)
    ) {
        model_tests::queue_agrees_with_a_model(&folder(), ops)?;
    }
}

#[test]
fn erasing_leaves_no_trace_in_any_table() {
    use ::redb::{ReadableDatabase, ReadableTableMetadata};
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path(), None).unwrap();
    let ws = WorkspaceId::default_workspace();
    let c = Customer::new(ws.clone(), fields(1, None), t0());
    store.create_customer(&c).unwrap();
    for tone in [Tone::Formal, Tone::Casual] {
        store
            .update_preferences(
                &ws,
                &c.id,
                &mut |p| {
                    Ok(crate::domain::Preferences {
                        tone: Some(tone),
                        ..p.clone()
                    })
                },
                t0(),
                "t",
            )
            .unwrap();
    }
    assert!(store.erase_customer(&ws, &c.id, None).unwrap());
    let txn = store.db.begin_read().unwrap();
    use crate::store::tables::*;
    assert_eq!(txn.open_table(CUSTOMERS).unwrap().len().unwrap(), 0);
    assert_eq!(txn.open_table(EXTERNAL_IDS).unwrap().len().unwrap(), 0);
    assert_eq!(txn.open_table(PREFERENCES).unwrap().len().unwrap(), 0);
    assert_eq!(txn.open_table(PREFERENCE_HISTORY).unwrap().len().unwrap(), 0);
}

#[test]
fn a_store_from_a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RedbStore::open(dir.path(), None).unwrap();
        meta::set_schema_version(&store.db, meta::SCHEMA_VERSION + 1).unwrap();
    }
    let err = RedbStore::open(dir.path(), None).err().expect("refused");
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err}");
    assert!(err.to_string().contains("upgrade Rappel"));
    // Still refused, still stamped with the newer version: nothing was rewritten.
    let again = RedbStore::open(dir.path(), None).err().expect("refused again");
    assert!(
        again
            .to_string()
            .contains(&format!("schema version {}", meta::SCHEMA_VERSION + 1)),
        "{again}"
    );
}

#[test]
fn a_store_built_with_another_embedding_model_is_refused_and_names_reembed() {
    let dir = tempfile::tempdir().unwrap();
    let mini = ModelStamp {
        name: "all-minilm-l6-v2".into(),
        dim: 384,
    };
    drop(RedbStore::open(dir.path(), Some(&mini)).unwrap());
    let store = RedbStore::open(dir.path(), Some(&mini)).unwrap();
    assert_eq!(store.model_stamp().unwrap(), Some(mini));
    drop(store);
    let other = ModelStamp {
        name: "e5-base".into(),
        dim: 768,
    };
    let err = RedbStore::open(dir.path(), Some(&other)).err().expect("refused");
    assert!(
        err.to_string().contains("768") && err.to_string().contains("384"),
        "{err}"
    );
    let same_size = ModelStamp {
        name: "multilingual-e5-small".into(),
        dim: 384,
    };
    let err = RedbStore::open(dir.path(), Some(&same_size)).err().expect("refused");
    assert!(err.to_string().contains("rappel reembed"), "{err}");
}

#[test]
fn a_store_open_in_another_handle_is_reported_as_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _held = RedbStore::open(dir.path(), None).unwrap();
    assert!(matches!(RedbStore::open(dir.path(), None), Err(StoreError::InUse(_))));
}
