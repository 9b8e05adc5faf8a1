//! The PostgreSQL store against a real PostgreSQL (see [`testkit`]): the shared model tests, the checks made at
//! open, and what several nodes on one database must not break (concurrent claims, upserts and queuing).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use proptest::prelude::*;

use super::testkit::TestDb;
use super::{PostgresStore, SCHEMA_VERSION};
use crate::domain::audit::{AuditAction, AuditDetail, AuditEntry, AuditFilter, TargetKind};
use crate::domain::memory::StoredMemory;
use crate::domain::preferences::{Consent, ConsentByChannel, Tone};
use crate::domain::{ApiKey, Customer, KeyId, Preferences, Workspace, WorkspaceId};
use crate::store::model_tests::{self, fields, op, outreach_item, queue_op, t0, unit8, Backend};
use crate::store::{
    AuditRepo, CustomerRepo, Enqueued, KeyRepo, MemoryRepo, ModelStamp, OutreachRepo, PreferenceRepo, Store,
    StoreError, Upserted,
};

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

#[test]
fn erasing_leaves_no_row_of_the_customer_in_any_table_and_keeps_its_audit_entry() {
    let db = TestDb::new();
    let store = db.open();
    let ws = WorkspaceId::default_workspace();
    let c = reachable_customer(&store, &ws, 1);
    let kept = reachable_customer(&store, &ws, 2);
    for customer in [&c, &kept] {
        store
            .update_preferences(
                &ws,
                &customer.id,
                &mut |p| {
                    Ok(Preferences {
                        tone: Some(Tone::Formal),
                        ..p.clone()
                    })
                },
                t0(),
                "t",
            )
            .unwrap();
        let memory = crate::domain::testkit::memory_for(&customer.id, "prefers e-mail");
        store
            .insert_memories(&[StoredMemory {
                memory,
                vector: unit8(1),
            }])
            .unwrap();
        let item = outreach_item(&customer.id, 1, 3, t0());
        let item = crate::domain::outreach::OutreachItem {
            id: format!("out_{}", customer.id),
            ..item
        };
        assert_eq!(store.enqueue(&item, t0()).unwrap(), Enqueued::Queued);
    }
    let audit = AuditEntry {
        id: crate::domain::audit::first_id_at(t0()),
        workspace: ws.clone(),
        at: t0(),
        actor: "test".into(),
        action: AuditAction::CustomerErased,
        target_kind: TargetKind::Customer,
        target_id: c.id.to_string(),
        detail: AuditDetail::default(),
    };
    assert!(store.erase_customer(&ws, &c.id, Some(&audit)).unwrap());
    assert!(
        !store.erase_customer(&ws, &c.id, Some(&audit)).unwrap(),
        "a second erasure finds nothing"
    );

    // Every table with a customer column, whatever later migrations add: no row of the erased customer, the
    // other customer's rows intact.
    let tables = store.count(
        "SELECT count(*) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name = 'customer_id'",
    );
    assert!(tables >= 7, "{tables} tables have a customer column");
    let names: Vec<String> = store
        .run(async {
            let rows = store
                .client()
                .await?
                .query(
                    "SELECT table_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND column_name = 'customer_id'",
                    &[],
                )
                .await?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
        .unwrap();
    for table in &names {
        let gone = store.count(&format!("SELECT count(*) FROM {table} WHERE customer_id = '{}'", c.id));
        assert_eq!(gone, 0, "{table} keeps rows of the erased customer");
    }
    assert_eq!(
        store.count(&format!("SELECT count(*) FROM customers WHERE id = '{}'", c.id)),
        0
    );
    for table in ["customers", "preferences", "memories", "outreach", "outreach_dedupe"] {
        let column = if table == "customers" { "id" } else { "customer_id" };
        let left = store.count(&format!("SELECT count(*) FROM {table} WHERE {column} = '{}'", kept.id));
        assert_eq!(left, 1, "{table} lost the other customer's row");
    }
    assert!(store.preference_history(&ws, &kept.id, None, 10).unwrap().items.len() > 1);
    let log = store.list_audit(&ws, &AuditFilter::default(), None, 10).unwrap();
    assert_eq!(log.items, vec![audit]);
}

#[test]
fn a_database_of_a_newer_schema_is_refused_untouched() {
    let db = TestDb::new();
    let store = db.open();
    store.execute(&format!(
        "UPDATE rappel_meta SET value = '{}' WHERE key = 'schema_version'",
        SCHEMA_VERSION + 1
    ));
    drop(store);
    let err = PostgresStore::open(&db.config, None).expect_err("refused");
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err}");
    assert!(err.to_string().contains("upgrade Rappel"));
    let again = PostgresStore::open(&db.config, None).expect_err("refused again");
    assert!(
        again
            .to_string()
            .contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
        "{again}"
    );
}

#[test]
fn a_database_of_another_embedding_model_is_refused_and_names_reembed() {
    let db = TestDb::new();
    let mini = ModelStamp {
        name: "all-minilm-l6-v2".into(),
        dim: 384,
    };
    drop(PostgresStore::open(&db.config, Some(&mini)).unwrap());
    let store = PostgresStore::open(&db.config, Some(&mini)).unwrap();
    assert_eq!(store.model_stamp().unwrap(), Some(mini));
    assert_eq!(
        store.count("SELECT count(*) FROM pg_indexes WHERE indexname = 'memories_embedding_hnsw_384'"),
        1,
        "the HNSW index of the model's dimension exists"
    );
    drop(store);
    let other = ModelStamp {
        name: "e5-base".into(),
        dim: 768,
    };
    let err = PostgresStore::open(&db.config, Some(&other)).expect_err("refused");
    assert!(
        err.to_string().contains("768") && err.to_string().contains("384"),
        "{err}"
    );
    let same_size = ModelStamp {
        name: "multilingual-e5-small".into(),
        dim: 384,
    };
    let err = PostgresStore::open(&db.config, Some(&same_size)).expect_err("refused");
    assert!(err.to_string().contains("rappel reembed"), "{err}");
}

#[test]
fn nodes_starting_together_migrate_once() {
    let db = Arc::new(TestDb::new());
    let model = ModelStamp {
        name: "test".into(),
        dim: 8,
    };
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            let (db, model) = (Arc::clone(&db), model.clone());
            std::thread::spawn(move || PostgresStore::open(&db.config, Some(&model)).map(drop))
        })
        .collect();
    for node in nodes {
        node.join().unwrap().unwrap();
    }
    let store = db.open();
    assert_eq!(
        store.count("SELECT value::bigint FROM rappel_meta WHERE key = 'schema_version'"),
        1
    );
}

#[test]
fn statements_past_the_timeout_are_cancelled_and_the_pool_has_the_configured_size() {
    let db = TestDb::new();
    let mut config = db.config.clone();
    config.statement_timeout = std::time::Duration::from_millis(200);
    config.pool_size = 3;
    let store = PostgresStore::open(&config, None).unwrap();
    assert_eq!(store.pool.status().max_size, 3);
    let err = store
        .run(async { Ok(store.client().await?.batch_execute("SELECT pg_sleep(5)").await?) })
        .expect_err("cancelled");
    let StoreError::Postgres(e) = &err else { panic!("{err}") };
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        "{err}"
    );
    assert!(err.to_string().contains("statement timeout"), "{err}");
    store.ping().unwrap();
}

#[test]
fn workspaces_and_keys_round_trip_and_revoking_twice_keeps_the_first_time() {
    let db = TestDb::new();
    let store = db.open();
    let ws = Workspace {
        id: WorkspaceId::default_workspace(),
        name: "Default".into(),
        created_at: t0(),
    };
    store.create_workspace(&ws).unwrap();
    assert!(matches!(
        store.create_workspace(&ws),
        Err(StoreError::WorkspaceExists(_))
    ));
    assert_eq!(store.get_workspace(&ws.id).unwrap(), Some(ws.clone()));
    assert_eq!(store.list_workspaces().unwrap(), vec![ws.clone()]);
    let key = ApiKey {
        id: KeyId::generate(),
        workspace: ws.id.clone(),
        name: "bot".into(),
        scopes: vec![],
        prefix: "rpl_abcd".into(),
        created_at: t0(),
        revoked_at: None,
        hash: "f".repeat(64),
    };
    store.insert_key(&key).unwrap();
    assert_eq!(
        store.key_by_hash(&key.hash).unwrap(),
        Some(key.clone()),
        "the hash is kept"
    );
    assert_eq!(store.key_by_hash("nope").unwrap(), None);
    let first = store.revoke_key(&ws.id, &key.id, t0()).unwrap();
    let second = store.revoke_key(&ws.id, &key.id, t0() + Duration::hours(1)).unwrap();
    assert_eq!(first.revoked_at, Some(t0()));
    assert_eq!(second.revoked_at, Some(t0()));
    assert_eq!(store.list_keys(&ws.id).unwrap(), vec![second]);
    assert!(matches!(
        store.revoke_key(&ws.id, &KeyId::generate(), t0()),
        Err(StoreError::NotFound)
    ));
}

#[test]
fn memory_text_is_searchable_in_its_language() {
    let db = TestDb::new();
    let store = db.open();
    let ws = WorkspaceId::default_workspace();
    let c = Customer::new(ws.clone(), fields(1, None), t0());
    store.create_customer(&c).unwrap();
    let mut fr = crate::domain::testkit::memory_for(&c.id, "Les factures arrivent toujours en retard");
    fr.id = "mem_fr".into();
    fr.language = crate::domain::text::Lang::Fr;
    let mut en = crate::domain::testkit::memory_for(&c.id, "The invoices were delivered late");
    en.id = "mem_en".into();
    let stored: Vec<StoredMemory> = [fr, en]
        .into_iter()
        .enumerate()
        .map(|(i, memory)| StoredMemory {
            memory,
            vector: unit8(i),
        })
        .collect();
    store.insert_memories(&stored).unwrap();
    // French stemming finds "facture" in "factures", English finds "invoice" in "invoices".
    let found = |query: &str| {
        store.count(&format!(
            "SELECT count(*) FROM memories WHERE text_search @@ plainto_tsquery(text_config, '{query}')"
        ))
    };
    assert_eq!(found("facture retard"), 1);
    assert_eq!(found("invoice deliver"), 1);
    assert_eq!(found("parapluie"), 0);
}

#[test]
fn claims_from_two_nodes_hand_out_every_item_exactly_once() {
    let db = TestDb::new();
    let nodes = [Arc::new(db.open()), Arc::new(db.open())];
    let ws = WorkspaceId::default_workspace();
    let customers: Vec<Customer> = (0..5).map(|e| reachable_customer(&nodes[0], &ws, e)).collect();
    let mut expected = BTreeSet::new();
    for n in 0..60 {
        let item = outreach_item(&customers[n % customers.len()].id, n, (n % 5) as u8 + 1, t0());
        assert_eq!(nodes[n % 2].enqueue(&item, t0()).unwrap(), Enqueued::Queued);
        expected.insert(item.id);
    }
    let now = t0() + Duration::minutes(1);
    // Four senders, two on each node, claiming small batches until the queue is empty.
    let senders: Vec<_> = (0..4)
        .map(|s| {
            let (node, ws) = (Arc::clone(&nodes[s % 2]), ws.clone());
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut empty = 0;
                while empty < 3 {
                    let claimed = node.claim(&ws, None, 3, now, Duration::hours(1)).unwrap();
                    if claimed.is_empty() {
                        empty += 1;
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    got.extend(claimed.into_iter().map(|i| i.id));
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for sender in senders {
        all.extend(sender.join().unwrap());
    }
    let unique: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), unique.len(), "an item was handed out twice");
    assert_eq!(unique, expected, "every item was handed out");
}

#[test]
fn concurrent_upserts_of_one_external_id_create_one_customer() {
    let db = TestDb::new();
    let nodes = [Arc::new(db.open()), Arc::new(db.open())];
    let ws = WorkspaceId::default_workspace();
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let (node, ws) = (Arc::clone(&nodes[w % 2]), ws.clone());
            std::thread::spawn(move || node.upsert_customer(&ws, fields(7, Some("pro".into())), t0()).unwrap())
        })
        .collect();
    let outcomes: Vec<(Customer, Upserted)> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let created = outcomes.iter().filter(|(_, o)| *o == Upserted::Created).count();
    assert_eq!(created, 1, "{outcomes:?}");
    let ids: BTreeSet<_> = outcomes.iter().map(|(c, _)| c.id.clone()).collect();
    assert_eq!(ids.len(), 1, "every writer sees the same customer");
    assert_eq!(
        nodes[0]
            .list_customers(&ws, &Default::default(), None, 10)
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn concurrent_enqueues_of_one_key_queue_it_once() {
    let db = TestDb::new();
    let nodes = [Arc::new(db.open()), Arc::new(db.open())];
    let ws = WorkspaceId::default_workspace();
    let c = reachable_customer(&nodes[0], &ws, 1);
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let node = Arc::clone(&nodes[w % 2]);
            let item = crate::domain::outreach::OutreachItem {
                dedupe_key: "renewal".into(),
                ..outreach_item(&c.id, w, 3, t0())
            };
            std::thread::spawn(move || node.enqueue(&item, t0() - Duration::days(7)).unwrap())
        })
        .collect();
    let outcomes: Vec<Enqueued> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == Enqueued::Queued).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        nodes[1].list_outreach(&ws, None, 100, &|_| true).unwrap().items.len(),
        1
    );
}

#[test]
fn customer_pages_filter_in_the_database_and_in_rust_alike() {
    let db = TestDb::new();
    let store = db.open();
    let ws = WorkspaceId::default_workspace();
    for e in 0..150u8 {
        let plan = ["free", "pro"][usize::from(e % 2)];
        store
            .upsert_customer(&ws, fields(e, Some(plan.into())), t0() + Duration::seconds(e.into()))
            .unwrap();
    }
    let filter = crate::domain::CustomerFilter {
        plan: Some("pro".into()),
        updated_since: Some(t0() + Duration::seconds(10)),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_customers(&ws, &filter, cursor.as_deref(), 20).unwrap();
        seen.extend(page.items.iter().map(|c| c.id.to_string()));
        let Some(next) = page.next_cursor else { break };
        let last = page.items.last().unwrap().id.to_string();
        assert!(next.starts_with("c."), "{next}");
        cursor = Some(last);
    }
    // Customers 11, 13, ..., 149: odd external ids, changed at or after second 10.
    assert_eq!(seen.len(), 70);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "pages are in id order");
}

/// A record as the redb store's golden files hold it (one realistic value of each type).
fn golden<T: serde::de::DeserializeOwned>(table: &'static str) -> T {
    let path = format!("{}/src/store/golden/{table}.bin", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    crate::store::codec::decode(table, &bytes).unwrap()
}

#[test]
fn incidents_teams_and_campaigns_round_trip_in_id_order() {
    use crate::domain::campaign::Campaign;
    use crate::domain::incident::Incident;
    use crate::domain::team::Team;
    use crate::store::{CampaignRepo, IncidentRepo, TeamRepo};
    let db = TestDb::new();
    let store = db.open();
    let team: Team = golden("teams");
    let ws = team.workspace.clone();
    let first = Team {
        id: "aaa".into(),
        ..team.clone()
    };
    store.put_team(&team).unwrap();
    store.put_team(&first).unwrap();
    store.put_team(&first).unwrap();
    assert_eq!(store.get_team(&ws, &team.id).unwrap(), Some(team.clone()));
    assert_eq!(store.list_teams(&ws).unwrap(), vec![first.clone(), team.clone()]);
    assert!(store.delete_team(&ws, "aaa").unwrap());
    assert!(!store.delete_team(&ws, "aaa").unwrap());
    assert_eq!(store.list_teams(&WorkspaceId::parse("other").unwrap()).unwrap(), vec![]);

    let campaign: Campaign = golden("campaigns");
    store.put_campaign(&campaign).unwrap();
    assert_eq!(
        store.get_campaign(&campaign.workspace, &campaign.id).unwrap(),
        Some(campaign.clone())
    );
    assert_eq!(
        store.list_campaigns(&campaign.workspace).unwrap(),
        vec![campaign.clone()]
    );
    assert!(store.delete_campaign(&campaign.workspace, &campaign.id).unwrap());
    assert_eq!(store.get_campaign(&campaign.workspace, &campaign.id).unwrap(), None);

    let incident: Incident = golden("incidents");
    store.put_incident(&incident).unwrap();
    store.put_incident(&incident).unwrap();
    assert_eq!(
        store.get_incident(&incident.workspace, &incident.id).unwrap(),
        Some(incident.clone())
    );
    assert_eq!(store.list_incidents(&incident.workspace).unwrap(), vec![incident]);
}

#[test]
fn health_history_is_newest_first_and_erased_with_the_customer() {
    use crate::domain::health::Health;
    use crate::store::HealthRepo;
    let db = TestDb::new();
    let store = db.open();
    let ws = WorkspaceId::default_workspace();
    let c = Customer::new(ws.clone(), fields(1, None), t0());
    store.create_customer(&c).unwrap();
    let health: Health = golden("health");
    let at = |hours: i64| Health {
        computed_at: t0() + Duration::hours(hours),
        ..health.clone()
    };
    for hours in [1, 3, 2] {
        store.save_health(&ws, &c.id, &at(hours)).unwrap();
    }
    let times = |limit| {
        store
            .health_history(&ws, &c.id, limit)
            .unwrap()
            .into_iter()
            .map(|h| h.computed_at)
            .collect::<Vec<_>>()
    };
    assert_eq!(times(10), vec![at(3).computed_at, at(2).computed_at, at(1).computed_at]);
    assert_eq!(times(1), vec![at(3).computed_at]);
    assert!(matches!(
        store.save_health(&ws, &crate::domain::CustomerId::generate(), &at(1)),
        Err(StoreError::NotFound)
    ));
    store.erase_customer(&ws, &c.id, None).unwrap();
    assert_eq!(store.count("SELECT count(*) FROM health"), 0);
}

#[test]
fn job_definitions_are_seeded_once_across_nodes_and_runs_list_newest_first() {
    use crate::domain::job::JobDefinition;
    use crate::domain::job_run::JobRun;
    use crate::store::JobRepo;
    let db = TestDb::new();
    let nodes = [Arc::new(db.open()), Arc::new(db.open())];
    let job: JobDefinition = golden("job_definitions");
    let seeders: Vec<_> = (0..4)
        .map(|n| {
            let (node, jobs) = (Arc::clone(&nodes[n % 2]), vec![job.clone()]);
            std::thread::spawn(move || node.seed_jobs(&jobs).unwrap())
        })
        .collect();
    let seeded: usize = seeders.into_iter().map(|s| s.join().unwrap()).sum();
    assert_eq!(seeded, 1, "one node seeds, the others find the store seeded");
    let store = &nodes[0];
    assert_eq!(store.list_jobs().unwrap(), vec![job.clone()]);
    assert!(!store.insert_job(&job).unwrap());
    let other = JobDefinition {
        id: "zz_other".into(),
        ..job.clone()
    };
    assert!(!store.replace_job(&other).unwrap());
    assert!(store.insert_job(&other).unwrap());
    assert!(store.replace_job(&other).unwrap());
    assert_eq!(store.get_job("zz_other").unwrap(), Some(other));
    assert!(store.delete_job("zz_other").unwrap());
    assert!(!store.delete_job("zz_other").unwrap());
    assert_eq!(
        store.seed_jobs(&[job]).unwrap(),
        0,
        "a seeded store is never seeded again"
    );

    let run: JobRun = golden("job_runs");
    let ws = run.workspace.clone();
    let later = JobRun {
        id: format!("{}z", run.id),
        ..run.clone()
    };
    store.save_job_run(&later).unwrap();
    store.save_job_run(&run).unwrap();
    let ids = |limit| {
        store
            .job_runs(&ws, &run.job_id, limit)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(10), vec![later.id.clone(), run.id.clone()]);
    assert_eq!(ids(1), vec![later.id.clone()]);
    assert!(store.job_runs(&ws, "another_job", 10).unwrap().is_empty());
}

#[test]
fn erasing_a_customer_scrubs_them_from_job_runs() {
    use crate::domain::job_run::JobRun;
    use crate::store::JobRepo;
    let db = TestDb::new();
    let store = db.open();
    let run: JobRun = golden("job_runs");
    let ws = run.workspace.clone();
    let c = Customer::new(ws.clone(), fields(1, None), t0());
    store.create_customer(&c).unwrap();
    let mut run = run;
    let mut erased = run.matched[0].clone();
    erased.customer_id = c.id.to_string();
    run.matched.push(erased);
    let others = run.matched.len() - 1;
    store.save_job_run(&run).unwrap();
    assert!(store.erase_customer(&ws, &c.id, None).unwrap());
    let after = store.job_runs(&ws, &run.job_id, 1).unwrap().remove(0);
    assert_eq!(after.matched.len(), others);
    assert!(after.matched.iter().all(|m| m.customer_id != c.id.as_str()));
}

#[test]
fn a_reembedding_resumes_refuses_to_open_meanwhile_and_moves_the_vector_index() {
    use crate::store::ReembedRepo;
    let db = TestDb::new();
    let (old, new) = (
        ModelStamp {
            name: "old".into(),
            dim: 8,
        },
        ModelStamp {
            name: "new".into(),
            dim: 4,
        },
    );
    let store = PostgresStore::open(&db.config, Some(&old)).unwrap();
    let ws = WorkspaceId::default_workspace();
    let c = Customer::new(ws.clone(), fields(1, None), t0());
    store.create_customer(&c).unwrap();
    let memories: Vec<StoredMemory> = (0..5)
        .map(|n| {
            let mut memory = crate::domain::testkit::memory_for(&c.id, &format!("memory {n}"));
            memory.id = format!("mem_{n}");
            StoredMemory {
                memory,
                vector: unit8(n),
            }
        })
        .collect();
    store.insert_memories(&memories).unwrap();

    let begun = store.reembed_begin(&new).unwrap();
    assert_eq!(
        (begun.target.clone(), begun.done, begun.total),
        (Some(new.clone()), 0, 5)
    );
    assert_eq!(store.reembed_begin(&new).unwrap(), begun, "beginning again continues");
    let unit4 = |n: usize| {
        let mut v: Vec<f32> = (0..4).map(|i| (n + i) as f32 + 1.0).collect();
        crate::domain::normalise_unit(&mut v);
        v
    };
    let batch = store.memory_texts_after(None, 3).unwrap();
    assert_eq!(batch.len(), 3);
    store
        .reembed_write(
            &batch
                .iter()
                .enumerate()
                .map(|(n, (k, _))| (k.clone(), unit4(n)))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let err = PostgresStore::open(&db.config, Some(&new)).expect_err("refused while unfinished");
    assert!(matches!(err, StoreError::ReembedUnfinished { done: 3, .. }), "{err}");
    let state = store.reembed_state().unwrap();
    assert_eq!(state.cursor.as_ref(), Some(&batch[2].0));
    let rest = store.memory_texts_after(state.cursor.as_ref(), 10).unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0].1, "memory 3");
    store
        .reembed_write(&rest.iter().map(|(k, _)| (k.clone(), unit4(9))).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(store.reembed_finish().unwrap(), new);
    assert!(store
        .customer_memories(&ws, &c.id)
        .unwrap()
        .iter()
        .all(|m| m.vector.len() == 4));
    let indexes = |dim: usize| {
        store.count(&format!(
            "SELECT count(*) FROM pg_indexes WHERE indexname IN \
             ('memories_embedding_hnsw_{dim}', 'knowledge_chunks_embedding_hnsw_{dim}')"
        ))
    };
    assert_eq!((indexes(4), indexes(8)), (2, 0), "the indexes follow the model");
    drop(store);
    let reopened = PostgresStore::open(&db.config, Some(&new)).unwrap();
    assert_eq!(reopened.model_stamp().unwrap(), Some(new));
    assert_eq!(reopened.reembed_state().unwrap().target, None);
}

#[test]
fn knowledge_documents_chunks_sources_citations_and_gaps_round_trip() {
    use crate::domain::knowledge::gaps::Gap;
    use crate::domain::knowledge::{Chunk, KnowledgeDoc, KnowledgeInput, StoredChunk};
    use crate::store::KnowledgeRepo;
    let db = TestDb::new();
    let nodes = [Arc::new(db.open()), Arc::new(db.open())];
    let ws = WorkspaceId::default_workspace();
    // Citation numbers: unique across nodes, 1 to 8.
    let askers: Vec<_> = (0..8)
        .map(|n| {
            let (node, ws) = (Arc::clone(&nodes[n % 2]), ws.clone());
            std::thread::spawn(move || node.next_knowledge_number(&ws).unwrap())
        })
        .collect();
    let numbers: BTreeSet<u64> = askers.into_iter().map(|a| a.join().unwrap()).collect();
    assert_eq!(numbers, (1..=8).collect());

    let store = &nodes[0];
    let input: KnowledgeInput = serde_json::from_value(serde_json::json!({
        "title": "Factures", "body": "Les factures partent le premier du mois.", "language": "fr",
        "source": "faq/factures.md"
    }))
    .unwrap();
    let doc = KnowledgeDoc {
        id: "kb_1".into(),
        workspace: ws.clone(),
        label: "KB-1".into(),
        fields: input,
        chunks: 2,
        created_at: t0(),
        updated_at: t0(),
    };
    let chunk = |position: u32, text: &str| StoredChunk {
        chunk: Chunk {
            doc_id: "kb_1".into(),
            position,
            headings: vec!["Paiement".into()],
            text: text.into(),
        },
        vector: unit8(position as usize),
    };
    let chunks = [
        chunk(1, "Elles sont envoyées par courriel."),
        chunk(0, "Les factures partent le premier du mois."),
    ];
    store.put_knowledge(&doc, Some(&chunks)).unwrap();
    assert_eq!(store.get_knowledge(&ws, "kb_1").unwrap(), Some(doc.clone()));
    assert_eq!(
        store.knowledge_by_source(&ws, "faq/factures.md").unwrap(),
        Some(doc.clone())
    );
    let stored = store.knowledge_chunks(&ws).unwrap();
    assert_eq!(stored.iter().map(|c| c.chunk.position).collect::<Vec<_>>(), vec![0, 1]);
    assert!(crate::domain::dot(&stored[0].vector, &unit8(0)) > 0.999);
    // French stemming over the chunk, its headings and the document's title.
    let found = |query: &str| {
        store.count(&format!(
            "SELECT count(*) FROM knowledge_chunks WHERE text_search @@ plainto_tsquery('french', '{query}')"
        ))
    };
    assert_eq!(found("facture"), 2, "the title is in every chunk's text");
    assert_eq!(found("envoyer courriel"), 1);

    // A new source and fewer chunks: the old source no longer finds it; chunks are replaced.
    let moved = KnowledgeDoc {
        fields: KnowledgeInput {
            source: Some("faq/billing.md".into()),
            ..doc.fields.clone()
        },
        ..doc.clone()
    };
    store.put_knowledge(&moved, Some(&chunks[1..])).unwrap();
    assert_eq!(store.knowledge_by_source(&ws, "faq/factures.md").unwrap(), None);
    assert_eq!(
        store.knowledge_by_source(&ws, "faq/billing.md").unwrap(),
        Some(moved.clone())
    );
    assert_eq!(store.knowledge_chunks(&ws).unwrap().len(), 1);
    store.put_knowledge(&moved, None).unwrap();
    assert_eq!(
        store.knowledge_chunks(&ws).unwrap().len(),
        1,
        "no chunks given: chunks kept"
    );
    assert_eq!(store.list_knowledge(&ws).unwrap(), vec![moved]);

    let docs = vec!["kb_1".to_owned(), "kb_gone".to_owned()];
    store.count_citations(&ws, &docs, 10).unwrap();
    store.count_citations(&ws, &docs[..1], 11).unwrap();
    store.count_citations(&ws, &docs[..1], 9).unwrap();
    assert_eq!(
        store.citations_since(&ws, 10).unwrap(),
        vec![("kb_1".to_owned(), 2), ("kb_gone".to_owned(), 1)]
    );
    assert!(store.delete_knowledge(&ws, "kb_1").unwrap());
    assert!(!store.delete_knowledge(&ws, "kb_1").unwrap());
    assert!(store.knowledge_chunks(&ws).unwrap().is_empty());
    assert_eq!(store.knowledge_by_source(&ws, "faq/billing.md").unwrap(), None);
    assert_eq!(store.citations_since(&ws, 0).unwrap(), vec![("kb_gone".to_owned(), 1)]);

    // Gaps: oldest first from a time; a customer's go with them.
    let c = Customer::new(ws.clone(), fields(1, None), t0());
    store.create_customer(&c).unwrap();
    let gap = |minutes: i64, customer: Option<String>| Gap {
        at: t0() + Duration::minutes(minutes),
        customer_id: customer,
        text: format!("question {minutes}"),
        language: "en".into(),
        best_similarity: 0.2,
        vector: unit8(minutes as usize),
    };
    for g in [
        gap(2, Some(c.id.to_string())),
        gap(1, None),
        gap(3, Some("cus_unknown".into())),
    ] {
        store.add_gap(&ws, &g).unwrap();
    }
    let texts = |s: &PostgresStore, minutes: i64| {
        s.gaps_since(&ws, t0() + Duration::minutes(minutes))
            .unwrap()
            .into_iter()
            .map(|g| g.text)
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(store, 0), vec!["question 1", "question 2", "question 3"]);
    assert_eq!(texts(store, 2), vec!["question 2", "question 3"]);
    store.erase_customer(&ws, &c.id, None).unwrap();
    assert_eq!(texts(store, 0), vec!["question 1", "question 3"]);
}

#[test]
fn a_rewritten_interaction_keeps_one_fact_with_its_reopens_and_erasure_removes_it() {
    use crate::domain::interaction::{Interaction, InteractionInput, InteractionStatus};
    use crate::store::MetricsRepo;
    let db = TestDb::new();
    let store = db.open();
    let ws = WorkspaceId::default_workspace();
    let at = |s: &str| -> chrono::DateTime<chrono::Utc> { s.parse().unwrap() };
    let c = Customer::new(ws.clone(), fields(1, None), at("2026-11-01T00:00:00Z"));
    store.create_customer(&c).unwrap();
    let input: InteractionInput = serde_json::from_value(serde_json::json!({"external_id": "t-1",
        "channel": "chat", "status": "resolved", "opened_at": "2026-11-02T10:00:00Z"}))
    .unwrap();
    let mut i = Interaction::new(ws.clone(), c.id.clone(), input, at("2026-11-02T10:00:00Z"));
    store.save_ingest(&i, &[], &[]).unwrap();
    // Reopened, and its opened_at corrected: one fact, the reopen counted once.
    i.fields.status = InteractionStatus::Open;
    i.fields.opened_at = at("2026-11-05T10:00:00Z");
    store.save_ingest(&i, &[], &[]).unwrap();
    let all = |ws: &WorkspaceId| {
        store
            .interaction_facts(ws, at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
            .unwrap()
    };
    let facts = all(&ws);
    assert_eq!(facts.len(), 1);
    assert_eq!((facts[0].opened_at, facts[0].reopens), (at("2026-11-05T10:00:00Z"), 1));
    assert!(
        store
            .interaction_facts(&ws, at("2026-11-05T10:00:00Z"), at("2026-11-05T10:00:00Z"))
            .unwrap()
            .is_empty(),
        "the end is exclusive"
    );
    assert!(all(&WorkspaceId::parse("other").unwrap()).is_empty());
    assert_eq!(
        store.interaction_by_external_id(&ws, &c.id, "t-1").unwrap(),
        Some(i.clone())
    );
    assert_eq!(store.list_interactions(&ws, &c.id).unwrap(), vec![i]);
    assert!(store.erase_customer(&ws, &c.id, None).unwrap());
    assert!(all(&ws).is_empty());
}

#[test]
fn workspace_counts_count_each_workspace_and_the_store_answers_but_makes_no_backup_file() {
    use crate::store::MetricsRepo;
    let db = TestDb::new();
    let store = db.open();
    let ws = WorkspaceId::default_workspace();
    for id in [ws.clone(), WorkspaceId::parse("empty").unwrap()] {
        store
            .create_workspace(&Workspace {
                id,
                name: "w".into(),
                created_at: t0(),
            })
            .unwrap();
    }
    let c = reachable_customer(&store, &ws, 1);
    store
        .insert_memories(&[StoredMemory {
            memory: crate::domain::testkit::memory_for(&c.id, "likes tea"),
            vector: unit8(1),
        }])
        .unwrap();
    for n in 0..3 {
        store.enqueue(&outreach_item(&c.id, n, 3, t0()), t0()).unwrap();
    }
    store.claim(&ws, None, 1, t0(), Duration::hours(1)).unwrap();
    let counts = store.workspace_counts().unwrap();
    assert_eq!(counts.len(), 2);
    let default = &counts[0];
    assert_eq!(
        (default.workspace.as_str(), default.customers, default.memories),
        ("default", 1, 1)
    );
    assert_eq!(
        default.outreach_by_state,
        [("claimed".to_owned(), 1), ("queued".to_owned(), 2)]
            .into_iter()
            .collect()
    );
    assert_eq!((counts[1].workspace.as_str(), counts[1].customers), ("empty", 0));
    assert_eq!(store.workspace_outreach(&ws).unwrap().len(), 3);
    assert!(store.file_bytes().unwrap() > 0);
    store.ping().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = store.snapshot_to(&dir.path().join("backup.redb")).unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("pg_dump"), "{err}");
}

#[test]
fn bulk_loads_scans_and_lookups_by_key_agree_with_what_was_written() {
    let db = TestDb::new();
    let store = db.open();
    let (ws, other) = (WorkspaceId::default_workspace(), WorkspaceId::parse("other").unwrap());
    let customers: Vec<Customer> = [(&ws, 1u8), (&ws, 2), (&other, 1)]
        .into_iter()
        .map(|(w, e)| Customer::new(w.clone(), fields(e, None), t0()))
        .collect();
    let memory = |c: &Customer, n: usize| {
        let mut memory = crate::domain::testkit::memory_for(&c.id, &format!("memory {n}"));
        memory.id = format!("mem_{n:02}");
        memory.workspace = c.workspace.clone();
        StoredMemory {
            memory,
            vector: unit8(n),
        }
    };
    let memories: Vec<StoredMemory> = (0..9).map(|n| memory(&customers[n % 3], n)).collect();
    let loaded: Vec<(Customer, Preferences)> = customers.iter().map(|c| (c.clone(), Preferences::default())).collect();
    store.bulk_load(&loaded, &[], &memories).unwrap();
    assert_eq!(store.count_memories().unwrap(), 9);
    assert_eq!(
        store.get_preferences(&other, &customers[2].id).unwrap(),
        Preferences::default()
    );

    // Lookups by key keep the keys' order and skip missing keys.
    let keys = vec![
        (customers[1].id.clone(), "mem_04".to_owned()),
        (customers[0].id.clone(), "mem_missing".to_owned()),
        (customers[0].id.clone(), "mem_00".to_owned()),
        (customers[2].id.clone(), "mem_02".to_owned()),
    ];
    let found: Vec<String> = store
        .memories_by_key(&ws, &keys)
        .unwrap()
        .into_iter()
        .map(|m| m.memory.id)
        .collect();
    assert_eq!(
        found,
        vec!["mem_04", "mem_00"],
        "another workspace's memory is not found"
    );

    let mut scanned = Vec::new();
    store.scan_memories(&mut |m| scanned.push(m.memory.id)).unwrap();
    assert_eq!(scanned.len(), 9);
    let mut in_ws = Vec::new();
    store
        .scan_workspace_memories(&ws, &mut |m| {
            assert!(crate::domain::dot(&m.vector, &unit8(m.memory.id[4..].parse().unwrap())) > 0.999);
            in_ws.push(m.memory.id)
        })
        .unwrap();
    assert_eq!(in_ws.len(), 6);

    // A memory deleted meanwhile is not written back by an update; replacing it is NotFound.
    let gone = memories[0].clone();
    assert!(store.delete_memory(&ws, &customers[0].id, "mem_00").unwrap());
    store.update_memories(std::slice::from_ref(&gone.memory)).unwrap();
    assert!(matches!(store.replace_memory(&gone), Err(StoreError::NotFound)));
    let listed: Vec<String> = store
        .list_memories(&ws, &customers[0].id)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(listed, vec!["mem_03", "mem_06"]);
    let mut replaced = memories[3].clone();
    replaced.memory.text = "memory 3, replaced".into();
    replaced.vector = unit8(7);
    store.replace_memory(&replaced).unwrap();
    let back = store
        .memories_by_key(&ws, &[(customers[0].id.clone(), "mem_03".into())])
        .unwrap();
    assert_eq!(back[0].memory.text, "memory 3, replaced");
    assert!(crate::domain::dot(&back[0].vector, &unit8(7)) > 0.999);
}
