//! Migrations between a real redb file and a real PostgreSQL database (`store::postgres::testkit`), no mocks:
//! a store holding every kind of record goes to PostgreSQL and back and stays the same; an interrupted migration
//! resumes without duplicates; stores that must not be touched are refused.

mod fill;

use self::fill::{fill, golden, interaction, source, stamp, DEFAULT_CACHE};
use super::{migrate, Endpoint, MigrateStore, Options, Report};
use crate::domain::job::JobDefinition;
use crate::domain::memory::StoredMemory;
use crate::domain::{Customer, Preferences, Workspace, WorkspaceId};
use crate::store::model_tests::{t0, unit8};
use crate::store::postgres::testkit::TestDb;
use crate::store::postgres::PostgresStore;
use crate::store::{CopyRepo, CustomerRepo, KeyRepo, MemoryRepo, MetricsRepo, ModelStamp, RedbStore};

/// The test's own look at a database, under another application name than a server's (`rappel`), so that a
/// migration does not take it, or its connection closing after a drop, for a server using the database.
fn look(db: &TestDb, model: Option<&ModelStamp>) -> PostgresStore {
    let mut config = db.config.clone();
    config.url = format!("{}?application_name=rappel-test", config.url);
    PostgresStore::open(&config, model).unwrap()
}

fn run(from: &Endpoint, to: &Endpoint) -> Report {
    let report = migrate(from, to, &Options::default()).unwrap();
    assert!(report.passed(), "{:?}", report.problems);
    report
}

#[test]
fn a_store_migrated_to_postgresql_and_back_holds_the_same_records_of_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let from = source(dir.path(), 4);
    let pg = Endpoint::Postgres(db.config.url.clone());
    let there = run(&from, &pg);
    for kind in super::verify::KINDS {
        assert!(there.source.records(kind) > 0, "the filled store holds no {kind}");
    }
    assert_eq!(
        there.source.kinds.len(),
        super::verify::KINDS.len(),
        "a kind the tally does not list"
    );
    assert_eq!(there.source, there.target);
    assert_eq!(there.model, Some(stamp()));
    assert_eq!(there.sampled, 8);
    let states = |counts: Vec<crate::store::WorkspaceCounts>| -> Vec<String> {
        let set: std::collections::BTreeSet<String> = counts
            .into_iter()
            .flat_map(|c| c.outreach_by_state.into_keys())
            .collect();
        set.into_iter().collect()
    };
    let all_states = ["cancelled", "claimed", "expired", "failed", "queued", "sent"];
    let pg_store = look(&db, None);
    assert_eq!(
        states(pg_store.workspace_counts().unwrap()),
        all_states,
        "every state is copied"
    );
    drop(pg_store);

    let back = Endpoint::Redb(dir.path().join("back").join("rappel.redb"));
    let report = run(&pg, &back);
    assert_eq!(
        report.target, there.source,
        "redb -> PostgreSQL -> redb changes nothing"
    );

    // Both copies open as a server opens them (with the model), and carry on where the source was.
    let pg_store = look(&db, Some(&stamp()));
    let back_store = RedbStore::open_file(&dir.path().join("back/rappel.redb"), Some(&stamp()), DEFAULT_CACHE).unwrap();
    for store in [&pg_store as &dyn MigrateStore, &back_store] {
        let ws = WorkspaceId::default_workspace();
        assert_eq!(
            store.next_knowledge_number(&ws).unwrap(),
            4,
            "citation numbers are never reused"
        );
        assert_eq!(
            store.seed_jobs(&[golden::<JobDefinition>("job_definitions")]).unwrap(),
            0,
            "seeded once, in the source"
        );
        assert_eq!(store.list_jobs().unwrap().len(), 1, "the deleted job stays deleted");
        let facts = store.facts_with_ids(&ws).unwrap();
        assert_eq!(
            facts.iter().map(|(_, f)| f.reopens).sum::<u32>(),
            4,
            "one reopen per customer"
        );
        let item = store.workspace_outreach(&ws).unwrap().pop().unwrap();
        assert_eq!(
            store
                .recent_duplicate(&ws, &item.customer_id, &item.dedupe_key, item.created_at)
                .unwrap(),
            Some(item.id.clone()),
            "de-duplication entries come with the items"
        );
    }
}

#[test]
fn an_interrupted_migration_resumes_without_duplicating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let from = source(dir.path(), 5);
    let pg = Endpoint::Postgres(db.config.url.clone());
    let interrupted = Options {
        batch: 2,
        stop_after_batches: Some(2),
    };
    let error = migrate(&from, &pg, &interrupted).unwrap_err();
    assert!(error.to_string().contains("interrupted"), "{error}");
    let partial = look(&db, None);
    // Workspaces go in id order: `acme` first.
    let acme = WorkspaceId::parse("acme").unwrap();
    assert_eq!(
        partial
            .list_customers(&acme, &Default::default(), None, 100)
            .unwrap()
            .items
            .len(),
        4
    );
    assert_eq!(
        partial
            .list_customers(&WorkspaceId::default_workspace(), &Default::default(), None, 100)
            .unwrap()
            .items
            .len(),
        0
    );
    drop(partial);

    // A server on the database: the migration waits for it to stop.
    let server = PostgresStore::open(&db.config, None).unwrap();
    let error = migrate(&from, &pg, &Options::default()).unwrap_err();
    assert!(error.to_string().contains("is in use"), "{error}");
    drop(server);
    let watcher = look(&db, None);
    while watcher.rappel_sessions().unwrap() > 0 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(watcher);

    let resumed = run(&from, &pg);
    assert!(resumed.resumed);
    assert_eq!((resumed.copied.customers, resumed.copied.customers_skipped), (6, 4));
    assert_eq!(resumed.source, resumed.target);

    // A crash after every row was written but before the check: every phase runs again over a full target.
    let target = look(&db, None);
    target.set_meta_value("migration_state", Some("copying")).unwrap();
    target.set_meta_value("migration_customers/default", None).unwrap();
    drop(target);
    let again = run(&from, &pg);
    assert_eq!((again.copied.customers, again.copied.customers_skipped), (0, 10));
    assert_eq!(again.source, again.target, "nothing was written twice");

    // Done: a further run copies nothing and checks again.
    let done = run(&from, &pg);
    assert!(done.already_done);
}

#[test]
fn a_migration_refuses_the_same_store_a_store_in_use_and_a_target_holding_other_data() {
    let dir = tempfile::tempdir().unwrap();
    let from = source(dir.path(), 1);
    let error = migrate(
        &from,
        &Endpoint::parse(dir.path().join("source.redb").to_str().unwrap()),
        &Options::default(),
    );
    assert!(error.unwrap_err().to_string().contains("same store"));

    let held = RedbStore::open_file(&dir.path().join("source.redb"), None, DEFAULT_CACHE).unwrap();
    let error = migrate(&from, &Endpoint::Redb(dir.path().join("t1.redb")), &Options::default()).unwrap_err();
    assert!(error.to_string().contains("in use"), "{error}");
    drop(held);

    let other = dir.path().join("other");
    let other_store = RedbStore::open(&other, None).unwrap();
    other_store
        .create_workspace(&Workspace {
            id: WorkspaceId::default_workspace(),
            ..golden("workspaces")
        })
        .unwrap();
    drop(other_store);
    let error = migrate(&from, &Endpoint::parse(other.to_str().unwrap()), &Options::default()).unwrap_err();
    assert!(error.to_string().contains("already holds data"), "{error}");

    // A target filled by another migration is not resumed by this one.
    let first = Endpoint::Redb(dir.path().join("copy.redb"));
    run(&from, &first);
    let second_source = Endpoint::Redb(dir.path().join("second").join("source.redb"));
    std::fs::create_dir_all(dir.path().join("second")).unwrap();
    fill(
        &RedbStore::open_file(&dir.path().join("second/source.redb"), None, DEFAULT_CACHE).unwrap(),
        1,
    );
    let error = migrate(&second_source, &first, &Options::default()).unwrap_err();
    assert!(error.to_string().contains("holds a migration from"), "{error}");
}

#[test]
fn a_copy_that_differs_from_its_source_fails_the_check_and_names_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let from = source(dir.path(), 2);
    let to = Endpoint::Redb(dir.path().join("copy.redb"));
    run(&from, &to);
    let copy = RedbStore::open_file(&dir.path().join("copy.redb"), None, DEFAULT_CACHE).unwrap();
    let ws = WorkspaceId::default_workspace();
    let c = copy
        .list_customers(&ws, &Default::default(), None, 1)
        .unwrap()
        .items
        .remove(0);
    let mut memory = copy.customer_memories(&ws, &c.id).unwrap().remove(0);
    memory.vector = unit8(999);
    copy.replace_memory(&memory).unwrap();
    drop(copy);
    let report = migrate(&from, &to, &Options::default()).unwrap();
    assert!(report.already_done && !report.passed());
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert_eq!(
        report.problems[0],
        "memories: 12 in the source, 12 in the target (same count, different records)"
    );
    assert_eq!(
        report.problems[1],
        format!("customer {} of workspace default differs in: memories", c.id)
    );
}

/// Times a migration of a generated store to PostgreSQL and back (`RAPPEL_MEASURE_CUSTOMERS`, default 2,000, each
/// with 10 memories of 384 dimensions and 2 interactions): `cargo test --lib tools::migrate::tests::measure --
/// --ignored --nocapture`.
#[test]
#[ignore = "a measurement, minutes long"]
fn measure_migration_throughput() {
    const DIM: usize = 384;
    let customers: usize = std::env::var("RAPPEL_MEASURE_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let model = ModelStamp {
        name: "measure".into(),
        dim: DIM,
    };
    let vector = |seed: usize| -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM).map(|i| ((seed * 31 + i * 17) % 97) as f32 - 48.0).collect();
        crate::domain::normalise_unit(&mut v);
        v
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("source.redb");
    let store = RedbStore::open_file(&file, Some(&model), DEFAULT_CACHE).unwrap();
    let ws = WorkspaceId::default_workspace();
    store
        .create_workspace(&Workspace {
            id: ws.clone(),
            ..golden("workspaces")
        })
        .unwrap();
    for chunk in (0..customers).collect::<Vec<_>>().chunks(500) {
        let (mut loaded, mut interactions, mut memories) = (Vec::new(), Vec::new(), Vec::new());
        for &n in chunk {
            let fields = crate::domain::CustomerFields {
                external_id: format!("c{n}"),
                ..Default::default()
            };
            let c = Customer::new(ws.clone(), fields, t0());
            for i in 0..2 {
                interactions.push(interaction(&c, &format!("t-{i}"), "resolved", 2 + i));
            }
            for m in 0..10 {
                let mut memory = crate::domain::testkit::memory_for(&c.id, &format!("memory {m} of {n}"));
                memory.id = format!("mem_{m}");
                memories.push(StoredMemory {
                    memory,
                    vector: vector(n * 10 + m),
                });
            }
            loaded.push((c, Preferences::default()));
        }
        store.bulk_load(&loaded, &interactions, &memories).unwrap();
    }
    drop(store);
    let db = TestDb::new();
    let pg = Endpoint::Postgres(db.config.url.clone());
    let there = run(&Endpoint::Redb(file), &pg);
    let back = run(&pg, &Endpoint::Redb(dir.path().join("back.redb")));
    println!(
        "{customers} customers, {} memories ({DIM} dimensions), {} interactions: redb -> PostgreSQL {:.1} s, \
         PostgreSQL -> redb {:.1} s\n{:?}\n{:?}",
        there.source.records("memories"),
        there.source.records("interactions"),
        there.elapsed.as_secs_f64(),
        back.elapsed.as_secs_f64(),
        there.steps,
        back.steps,
    );
}
