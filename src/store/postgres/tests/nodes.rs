//! Several nodes on one database: claims, upserts, queuing and seeding at the same time, from two stores.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;

use super::{golden, reachable_customer};
use crate::domain::{Customer, WorkspaceId};
use crate::store::model_tests::{fields, outreach_item, t0, Backend};
use crate::store::postgres::testkit::TestDb;
use crate::store::postgres::PostgresStore;
use crate::store::{CustomerRepo, Enqueued, OutreachRepo, Upserted};

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
fn a_job_lease_is_held_by_one_node_at_a_time_and_let_go_when_dropped_or_released() {
    use crate::store::JobRepo;
    let db = TestDb::new();
    let (a, b) = (db.open(), db.open());
    let ws = WorkspaceId::default_workspace();
    let lease = a.try_job_lease(&ws, "weekly").unwrap().expect("free");
    assert!(
        b.try_job_lease(&ws, "weekly").unwrap().is_none(),
        "held by the other node"
    );
    assert!(
        a.try_job_lease(&ws, "weekly").unwrap().is_none(),
        "a lease is not re-entrant"
    );
    let other_job = b.try_job_lease(&ws, "daily").unwrap();
    let other_ws = b
        .try_job_lease(&WorkspaceId::parse("other").unwrap(), "weekly")
        .unwrap();
    assert!(
        other_job.is_some() && other_ws.is_some(),
        "leases are per job and workspace"
    );
    drop(lease);
    let taken = lease_once_let_go(&b, &ws, "weekly");
    // No connection holding a lease is left in the pool: the pool still serves queries.
    assert_eq!(b.count("SELECT 1::bigint"), 1);
    // A released lease is free at once, for the other node as for its own (a run that answers has let go).
    taken.release().unwrap();
    let again = a
        .try_job_lease(&ws, "weekly")
        .unwrap()
        .expect("free as soon as released");
    again.release().unwrap();
    assert!(b.try_job_lease(&ws, "weekly").unwrap().is_some());
}

/// A job's lease taken by `node` once its holder let it go: the holder's session ends when its connection
/// closes, a moment after the drop (longer on a loaded machine). Panics after 30 s.
fn lease_once_let_go(node: &PostgresStore, ws: &WorkspaceId, job: &str) -> Box<dyn crate::store::Lease> {
    use crate::store::JobRepo;
    for _ in 0..300 {
        if let Some(lease) = node.try_job_lease(ws, job).unwrap() {
            return lease;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the lease of {job} was not let go within 30 s");
}

#[test]
fn a_customer_lock_makes_another_node_wait_and_is_let_go_when_dropped() {
    use crate::domain::CustomerId;
    use std::sync::mpsc;
    let db = TestDb::new();
    let (a, b) = (db.open(), Arc::new(db.open()));
    let ws = WorkspaceId::default_workspace();
    let (ann, bob) = (CustomerId::from_client("ann"), CustomerId::from_client("bob"));
    let held = a.lock_customer(&ws, &ann).unwrap();
    // Another customer's lock is free on the other node.
    drop(b.lock_customer(&ws, &bob).unwrap());
    // The same customer's lock waits on the other node until the first is dropped.
    let (tx, rx) = mpsc::channel();
    let waiter = {
        let (b, ws, ann) = (Arc::clone(&b), ws.clone(), ann.clone());
        std::thread::spawn(move || {
            let lease = b.lock_customer(&ws, &ann).unwrap();
            tx.send(()).unwrap();
            drop(lease);
        })
    };
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(300)).is_err(),
        "the other node waits while the lock is held"
    );
    drop(held);
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("the other node gets the lock once it is dropped");
    waiter.join().unwrap();
    // Many locks taken and dropped in turn leave no lock held and the pools serving.
    for n in 0..40 {
        drop(a.lock_customer(&ws, &CustomerId::from_client(format!("c{n}"))).unwrap());
    }
    let again = b.lock_customer(&ws, &ann).unwrap();
    drop(again);
    assert_eq!(a.count("SELECT 1::bigint"), 1);
}

#[test]
fn a_customers_memory_version_moves_with_every_change_of_their_memories_whoever_writes() {
    use crate::domain::memory::StoredMemory;
    use crate::domain::CustomerId;
    use crate::store::model_tests::unit8;
    use crate::store::MemoryRepo;
    let stored_memory = |c: &CustomerId, n: usize| StoredMemory {
        memory: crate::domain::testkit::memory_for(c, &format!("memory {n}")),
        vector: unit8(n),
    };
    let db = TestDb::new();
    let (a, b) = (db.open(), db.open());
    let ws = WorkspaceId::default_workspace();
    let ann = reachable_customer(&a, &ws, 1);
    let other = reachable_customer(&a, &ws, 2);
    let version = |store: &crate::store::postgres::PostgresStore, c: &CustomerId| {
        store.memory_version(&ws, c).unwrap().expect("PostgreSQL has versions")
    };
    assert_eq!(version(&b, &ann.id), 0);
    let memory = stored_memory(&ann.id, 0);
    a.insert_memories(std::slice::from_ref(&memory)).unwrap();
    let inserted = version(&b, &ann.id);
    assert!(inserted > 0, "another node sees the insert");
    assert_eq!(version(&b, &other.id), 0, "per customer");
    let mut changed = memory.memory.clone();
    changed.text = "changed".into();
    b.update_memories(&[changed]).unwrap();
    let updated = version(&a, &ann.id);
    assert!(updated > inserted);
    assert!(b.delete_memory(&ws, &ann.id, &memory.memory.id).unwrap());
    assert!(version(&a, &ann.id) > updated);
    // An ingest that writes memories answers the version it left, the one every node then reads.
    let mut interaction = crate::domain::testkit::interaction("t-1", "open", serde_json::json!([]));
    interaction.customer_id = ann.id.clone();
    let left = a.save_ingest(&interaction, &[stored_memory(&ann.id, 7)], &[]).unwrap();
    assert_eq!(left, Some(version(&b, &ann.id)));
    assert!(left > Some(updated));
    assert_eq!(
        a.save_ingest(&interaction, &[], &[]).unwrap(),
        None,
        "no memory changed"
    );
    // Erasure leaves no version row behind.
    a.insert_memories(&[stored_memory(&ann.id, 1)]).unwrap();
    assert!(a.erase_customer(&ws, &ann.id, None).unwrap());
    assert_eq!(
        a.count(&format!(
            "SELECT count(*) FROM memory_versions WHERE customer_id = '{}'",
            ann.id
        )),
        0
    );
    assert_eq!(version(&a, &other.id), 0);
}

#[test]
fn a_scheduled_time_runs_once_across_nodes_and_again_only_after_its_node_stopped_mid_run() {
    use crate::store::{JobRepo, ScheduleTake};
    let db = TestDb::new();
    let nodes = [Arc::new(db.open()), Arc::new(db.open())];
    let ws = WorkspaceId::default_workspace();
    let due = t0();
    // Six tickers on two nodes, each as the service does it: the lease, the time, the run, the time finished.
    let tickers: Vec<_> = (0..6)
        .map(|n| {
            let (node, ws) = (Arc::clone(&nodes[n % 2]), ws.clone());
            std::thread::spawn(move || {
                let lease = node.try_job_lease(&ws, "weekly").unwrap()?;
                let take = node.take_schedule(&ws, "weekly", due).unwrap();
                if take != ScheduleTake::Finished {
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    node.finish_schedule(&ws, "weekly", due).unwrap();
                }
                drop(lease);
                Some(take)
            })
        })
        .collect();
    let takes: Vec<Option<ScheduleTake>> = tickers.into_iter().map(|t| t.join().unwrap()).collect();
    let ran = takes.iter().filter(|t| **t == Some(ScheduleTake::Taken)).count();
    assert_eq!(ran, 1, "{takes:?}");
    assert!(!takes.contains(&Some(ScheduleTake::Unfinished)), "{takes:?}");
    let (a, b) = (&nodes[0], &nodes[1]);
    assert_eq!(
        b.take_schedule(&ws, "daily", due).unwrap(),
        ScheduleTake::Taken,
        "per job"
    );
    let other = WorkspaceId::parse("other").unwrap();
    assert_eq!(
        b.take_schedule(&other, "weekly", due).unwrap(),
        ScheduleTake::Taken,
        "per workspace"
    );
    let next = due + Duration::minutes(1);
    assert_eq!(
        a.take_schedule(&ws, "weekly", next).unwrap(),
        ScheduleTake::Taken,
        "per time"
    );

    // A node takes a time and stops mid-run: its session ends (here: its store and lease are dropped).
    let stopping = db.open();
    let lease = stopping
        .try_job_lease(&ws, "nightly")
        .unwrap()
        .expect("nobody holds it");
    assert_eq!(
        stopping.take_schedule(&ws, "nightly", due).unwrap(),
        ScheduleTake::Taken
    );
    assert!(
        a.try_job_lease(&ws, "nightly").unwrap().is_none(),
        "held while its run goes on"
    );
    drop(lease);
    drop(stopping);
    // The next node to hold the lease finds the time unfinished and runs it again; after that, nobody does.
    let lease = lease_once_let_go(a, &ws, "nightly");
    assert_eq!(a.take_schedule(&ws, "nightly", due).unwrap(), ScheduleTake::Unfinished);
    a.finish_schedule(&ws, "nightly", due).unwrap();
    drop(lease);
    let _lease = lease_once_let_go(b, &ws, "nightly");
    assert_eq!(b.take_schedule(&ws, "nightly", due).unwrap(), ScheduleTake::Finished);

    // Taking a time a week later forgets the older ones of that job.
    a.take_schedule(&ws, "weekly", due + Duration::days(8)).unwrap();
    assert_eq!(
        a.count("SELECT count(*) FROM job_schedules WHERE workspace = 'default' AND job_id = 'weekly'"),
        1
    );
}
