//! The redb store against a plain in-memory model (random operation sequences, reopening included), and the
//! checks made at open.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::{meta, RedbStore};
use crate::domain::preferences::Tone;
use crate::domain::{Customer, CustomerFields, CustomerId, WorkspaceId};
use crate::store::{CustomerRepo, ModelStamp, PreferenceRepo, StoreError, Upserted};

#[derive(Debug, Clone)]
enum Op {
    Create(u8),
    Upsert(u8, u8),
    RenameExternalId(u8, u8),
    Erase(u8),
    SetTone(u8, bool),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..6u8).prop_map(Op::Create),
        (0..6u8, 0..3u8).prop_map(|(e, p)| Op::Upsert(e, p)),
        (0..6u8, 0..6u8).prop_map(|(a, b)| Op::RenameExternalId(a, b)),
        (0..6u8).prop_map(Op::Erase),
        (0..6u8, any::<bool>()).prop_map(|(e, t)| Op::SetTone(e, t)),
        Just(Op::Reopen),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct Modelled {
    id: CustomerId,
    plan: Option<String>,
    tone: Option<Tone>,
    history: usize,
}

fn fields(ext: u8, plan: Option<String>) -> CustomerFields {
    CustomerFields {
        external_id: format!("e{ext}"),
        plan,
        ..Default::default()
    }
}

fn t0() -> DateTime<Utc> {
    "2026-11-25T10:00:00Z".parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn store_agrees_with_an_in_memory_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let ws = WorkspaceId::default_workspace();
        let mut store = RedbStore::open(dir.path(), None).unwrap();
        let mut model: BTreeMap<String, Modelled> = BTreeMap::new();
        for (step, op) in ops.into_iter().enumerate() {
            let now = t0() + Duration::seconds(step as i64);
            match op {
                Op::Create(e) => {
                    let c = Customer::new(ws.clone(), fields(e, None), now);
                    let result = store.create_customer(&c);
                    match model.entry(format!("e{e}")) {
                        std::collections::btree_map::Entry::Occupied(_) => {
                            prop_assert!(matches!(result, Err(StoreError::ExternalIdConflict { .. })), "expected a conflict");
                        }
                        std::collections::btree_map::Entry::Vacant(slot) => {
                            result.unwrap();
                            slot.insert(Modelled { id: c.id, plan: None, tone: None, history: 0 });
                        }
                    }
                }
                Op::Upsert(e, p) => {
                    let plan = ["free", "pro"].get(p as usize).map(|s| s.to_string());
                    let (c, outcome) = store.upsert_customer(&ws, fields(e, plan.clone()), now).unwrap();
                    let expected = match model.get_mut(&format!("e{e}")) {
                        None => {
                            model.insert(format!("e{e}"), Modelled { id: c.id.clone(), plan, tone: None, history: 0 });
                            Upserted::Created
                        }
                        Some(m) if m.plan == plan => Upserted::Unchanged,
                        Some(m) => {
                            m.plan = plan;
                            Upserted::Updated
                        }
                    };
                    prop_assert_eq!(outcome, expected);
                }
                Op::RenameExternalId(a, b) => {
                    let (from, to) = (format!("e{a}"), format!("e{b}"));
                    let Some(m) = model.get(&from).cloned() else { continue };
                    let result = store.update_customer(&ws, &m.id, &mut |f| Ok(CustomerFields { external_id: to.clone(), ..f.clone() }), now);
                    if from != to && model.contains_key(&to) {
                        prop_assert!(matches!(result, Err(StoreError::ExternalIdConflict { .. })), "expected a conflict");
                    } else {
                        result.unwrap();
                        model.remove(&from);
                        model.insert(to, m);
                    }
                }
                Op::Erase(e) => {
                    let key = format!("e{e}");
                    let id = model.get(&key).map(|m| m.id.clone()).unwrap_or_else(CustomerId::generate);
                    prop_assert_eq!(store.erase_customer(&ws, &id).unwrap(), model.remove(&key).is_some());
                }
                Op::SetTone(e, formal) => {
                    let Some(m) = model.get_mut(&format!("e{e}")) else { continue };
                    let tone = Some(if formal { Tone::Formal } else { Tone::Casual });
                    let (prefs, changes) = store.update_preferences(&ws, &m.id, &mut |p| Ok(crate::domain::Preferences { tone, ..p.clone() }), now, "test").unwrap();
                    prop_assert_eq!(prefs.tone, tone);
                    prop_assert_eq!(changes.len(), usize::from(m.tone != tone));
                    m.history += changes.len();
                    m.tone = tone;
                }
                Op::Reopen => {
                    drop(store);
                    store = RedbStore::open(dir.path(), None).unwrap();
                }
            }
            // The whole visible state matches the model.
            let listed = store.list_customers(&ws, &Default::default(), None, 100).unwrap();
            prop_assert_eq!(listed.items.len(), model.len());
            for c in &listed.items {
                let m = model.get(&c.fields.external_id).expect("listed customer is modelled");
                prop_assert_eq!(&c.id, &m.id);
                prop_assert_eq!(&c.fields.plan, &m.plan);
                let by_ext = store.customer_by_external_id(&ws, &c.fields.external_id).unwrap().unwrap();
                prop_assert_eq!(&by_ext.id, &m.id);
                prop_assert_eq!(store.get_preferences(&ws, &c.id).unwrap().tone, m.tone);
                prop_assert_eq!(store.preference_history(&ws, &c.id, None, 100).unwrap().items.len(), m.history);
            }
        }
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
    assert!(store.erase_customer(&ws, &c.id).unwrap());
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
