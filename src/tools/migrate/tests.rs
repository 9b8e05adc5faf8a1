//! Migrations between a real redb file and a real PostgreSQL database (`store::postgres::testkit`), no mocks:
//! a store holding every kind of record goes to PostgreSQL and back and stays the same; an interrupted migration
//! resumes without duplicates; stores that must not be touched are refused.

use std::path::Path;

use chrono::Duration;

use super::{migrate, Endpoint, MigrateStore, Options, Report};
use crate::domain::audit::AuditEntry;
use crate::domain::campaign::Campaign;
use crate::domain::health::Health;
use crate::domain::incident::Incident;
use crate::domain::interaction::{Interaction, InteractionInput, InteractionStatus};
use crate::domain::job::JobDefinition;
use crate::domain::job_run::JobRun;
use crate::domain::knowledge::gaps::Gap;
use crate::domain::knowledge::{Chunk, KnowledgeDoc, KnowledgeInput, StoredChunk};
use crate::domain::memory::StoredMemory;
use crate::domain::outreach::OutreachItem;
use crate::domain::preferences::{Channel, Consent, ConsentByChannel};
use crate::domain::team::Team;
use crate::domain::{ApiKey, Customer, Preferences, Workspace, WorkspaceId};
use crate::store::model_tests::{fields, outreach_item, t0, unit8};
use crate::store::postgres::testkit::TestDb;
use crate::store::postgres::PostgresStore;
use crate::store::redb::DEFAULT_CACHE_BYTES as DEFAULT_CACHE;
use crate::store::{
    AckOutcome, AuditRepo, CampaignRepo, CopyRepo, CustomerRepo, HealthRepo, IncidentRepo, JobRepo, KeyRepo,
    KnowledgeRepo, MemoryRepo, MetricsRepo, ModelStamp, OutreachRepo, PreferenceRepo, RedbStore, TeamRepo,
};

/// The model the test stores are stamped with (8-dimension vectors, as `unit8` makes).
fn stamp() -> ModelStamp {
    ModelStamp {
        name: "test-model".into(),
        dim: 8,
    }
}

/// A record as the redb store's golden files hold it (one realistic value of each type).
fn golden<T: serde::de::DeserializeOwned>(table: &str) -> T {
    let path = format!("{}/src/store/golden/{table}.bin", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&bytes[1..]).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An interaction of `c` opened on day `day` of November 2026.
fn interaction(c: &Customer, ext: &str, status: &str, day: u32) -> Interaction {
    let opened = format!("2026-11-{day:02}T10:00:00Z");
    let input: InteractionInput = serde_json::from_value(serde_json::json!({"external_id": ext, "channel": "chat",
        "status": status, "opened_at": opened, "messages": [
            {"id": "m1", "role": "customer", "text": format!("help with {ext}"), "sent_at": opened}]}))
    .unwrap();
    Interaction::new(c.workspace.clone(), c.id.clone(), input, opened.parse().unwrap())
}

/// Fills a store with records of every kind, in two workspaces, through the repositories as the services write
/// them: customers with preferences (and their history), interactions (one reopened, so its fact counts a
/// reopen), memories with vectors, health history, outreach in every state, job definitions (one deleted after
/// it ran) and runs, incidents, teams, campaigns, audit entries, knowledge documents with chunks, citation
/// numbers and counts, and unanswered questions.
fn fill(store: &RedbStore, customers_per_workspace: u8) {
    let default = WorkspaceId::default_workspace();
    let other = WorkspaceId::parse("acme").unwrap();
    let golden_workspace: Workspace = golden("workspaces");
    for ws in [&default, &other] {
        store
            .create_workspace(&Workspace {
                id: ws.clone(),
                ..golden_workspace.clone()
            })
            .unwrap();
    }
    let key: ApiKey = golden("api_keys");
    store
        .insert_key(&ApiKey {
            workspace: default.clone(),
            hash: "h1".into(),
            ..key.clone()
        })
        .unwrap();
    let revoked = ApiKey {
        workspace: other.clone(),
        hash: "h2".into(),
        id: crate::domain::KeyId::from_client("key_2"),
        ..key
    };
    store.insert_key(&revoked).unwrap();
    store.revoke_key(&other, &revoked.id, t0()).unwrap();

    let job: JobDefinition = golden("job_definitions");
    let gone = JobDefinition {
        id: "gone".into(),
        ..job.clone()
    };
    assert_eq!(store.seed_jobs(&[job.clone(), gone.clone()]).unwrap(), 2);
    let run: JobRun = golden("job_runs");

    let mut n = 0usize;
    for ws in [&default, &other] {
        for e in 0..customers_per_workspace {
            n += 1;
            let c = Customer::new(
                ws.clone(),
                fields(e, Some("pro".into())),
                t0() + Duration::seconds(n as i64),
            );
            store.create_customer(&c).unwrap();
            let consent = Consent {
                granted: true,
                at: Some(t0()),
                source: Some("test".into()),
            };
            for cap in [3, 1000] {
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
                                max_contacts_per_week: Some(cap),
                                ..p.clone()
                            })
                        },
                        t0() + Duration::minutes(cap as i64),
                        "test",
                    )
                    .unwrap();
            }
            let mut first = interaction(&c, "t-1", "resolved", 2);
            let memories: Vec<StoredMemory> = (0..3)
                .map(|m| {
                    let mut memory = crate::domain::testkit::memory_for(&c.id, &format!("memory {m} of {n}"));
                    memory.id = format!("mem_{m}");
                    memory.workspace = ws.clone();
                    StoredMemory {
                        memory,
                        vector: unit8(n * 3 + m),
                    }
                })
                .collect();
            store.save_ingest(&first, &memories, &[]).unwrap();
            // Reopened: its support-metrics fact counts one reopen, which only the fact remembers.
            first.fields.status = InteractionStatus::Open;
            store.save_ingest(&first, &[], &[]).unwrap();
            store.save_ingest(&interaction(&c, "t-2", "open", 9), &[], &[]).unwrap();
            let mut health: Health = golden("health");
            for day in 0..2 {
                health.computed_at = t0() + Duration::days(day);
                health.score = 50 + day as u8;
                store.save_health(ws, &c.id, &health).unwrap();
            }
            for k in 0..4 {
                let mut item = outreach_item(&c.id, n * 10 + k, 3, t0());
                item.workspace = ws.clone();
                store.enqueue(&item, t0() - Duration::days(7)).unwrap();
            }
        }
        // Outreach in every state: claimed, then sent, failed; cancelled; queued; expired (a due item whose
        // expiry passed is expired by the next claim).
        let now = t0() + Duration::hours(1);
        let claimed = store
            .claim(ws, Some(Channel::Email), 3, now, Duration::hours(3))
            .unwrap();
        assert_eq!(claimed.len(), 3);
        store
            .ack(ws, &claimed[0].id, &AckOutcome::Sent(Some("p-1".into())), now, 3)
            .unwrap();
        store
            .ack(ws, &claimed[1].id, &AckOutcome::Failed("bounced".into()), now, 1)
            .unwrap();
        let queued = store
            .list_outreach(ws, None, 100, &|i| {
                i.state == crate::domain::outreach::OutreachState::Queued
            })
            .unwrap();
        store.cancel_outreach(ws, &queued.items[0].id, now).unwrap();
        let mut expiring: OutreachItem = outreach_item(&claimed[2].customer_id, 9000 + n, 1, t0());
        expiring.workspace = ws.clone();
        expiring.expires_at = Some(now);
        store.enqueue(&expiring, t0() - Duration::days(7)).unwrap();
        store
            .claim(
                ws,
                Some(Channel::Sms),
                1,
                now + Duration::hours(1),
                Duration::minutes(5),
            )
            .unwrap();

        for (i, job_id) in [&job.id, &gone.id].into_iter().enumerate() {
            store
                .save_job_run(&JobRun {
                    id: format!("run_{i}"),
                    job_id: job_id.clone(),
                    workspace: ws.clone(),
                    ..run.clone()
                })
                .unwrap();
        }
        let incident: Incident = golden("incidents");
        store
            .put_incident(&Incident {
                workspace: ws.clone(),
                ..incident
            })
            .unwrap();
        let team: Team = golden("teams");
        store
            .put_team(&Team {
                workspace: ws.clone(),
                ..team
            })
            .unwrap();
        let campaign: Campaign = golden("campaigns");
        store
            .put_campaign(&Campaign {
                workspace: ws.clone(),
                ..campaign
            })
            .unwrap();
        let entry: AuditEntry = golden("audit_log");
        let entries: Vec<AuditEntry> = (0..3)
            .map(|i| AuditEntry {
                id: format!("{}{i}", entry.id),
                workspace: ws.clone(),
                ..entry.clone()
            })
            .collect();
        store.append_audit(&entries).unwrap();

        for label in 1..=3 {
            assert_eq!(store.next_knowledge_number(ws).unwrap(), label);
        }
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
        let chunks: Vec<StoredChunk> = (0..2)
            .map(|position| StoredChunk {
                chunk: Chunk {
                    doc_id: "kb_1".into(),
                    position,
                    headings: vec!["Paiement".into()],
                    text: format!("chunk {position}"),
                },
                vector: unit8(100 + position as usize),
            })
            .collect();
        store.put_knowledge(&doc, Some(&chunks)).unwrap();
        store.count_citations(ws, &["kb_1".into()], 20_000).unwrap();
        store.count_citations(ws, &["kb_1".into()], 20_000).unwrap();
        store.count_citations(ws, &["kb_1".into()], 20_001).unwrap();
        let gap = Gap {
            at: t0(),
            customer_id: None,
            text: "where is my parcel".into(),
            language: "en".into(),
            best_similarity: 0.25,
            vector: unit8(7),
        };
        // The same question twice: both are kept, and copied twice.
        store.add_gap(ws, &gap).unwrap();
        store.add_gap(ws, &gap).unwrap();
    }
    store.delete_job(&gone.id).unwrap();
}

/// A new redb store in `dir` stamped with the test model, filled.
fn source(dir: &Path, customers: u8) -> Endpoint {
    let file = dir.join("source.redb");
    let store = RedbStore::open_file(&file, Some(&stamp()), DEFAULT_CACHE).unwrap();
    fill(&store, customers);
    Endpoint::Redb(file)
}

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
