//! Customers, their preferences and keys, and erasure: no row of an erased customer anywhere.

use chrono::Duration;

use super::{golden, reachable_customer};
use crate::domain::audit::{AuditAction, AuditDetail, AuditEntry, AuditFilter, TargetKind};
use crate::domain::memory::StoredMemory;
use crate::domain::preferences::Tone;
use crate::domain::{ApiKey, Customer, KeyId, Preferences, Workspace, WorkspaceId};
use crate::store::model_tests::{fields, outreach_item, t0, unit8, Backend};
use crate::store::postgres::testkit::TestDb;
use crate::store::{AuditRepo, CustomerRepo, Enqueued, KeyRepo, MemoryRepo, OutreachRepo, PreferenceRepo, StoreError};

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
fn the_audit_log_pages_in_written_order_and_filters_like_redb() {
    let db = TestDb::new();
    let store = db.open();
    let ws = WorkspaceId::default_workspace();
    let ids = crate::domain::audit::AuditIds::default();
    let entries: Vec<AuditEntry> = (0..7)
        .map(|n| {
            let at = t0() + Duration::minutes(n);
            AuditEntry {
                id: ids.next(at),
                workspace: ws.clone(),
                at,
                actor: "test".into(),
                action: if n % 2 == 0 {
                    AuditAction::CustomerErased
                } else {
                    AuditAction::CustomerExported
                },
                target_kind: TargetKind::Customer,
                target_id: format!("cus_{n}"),
                detail: AuditDetail::default(),
            }
        })
        .collect();
    store.append_audit(&entries).unwrap();
    store.append_audit(&[]).unwrap();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_audit(&ws, &AuditFilter::default(), after.as_deref(), 3)
            .unwrap();
        seen.extend(page.items.iter().cloned());
        if page.next_cursor.is_none() {
            break;
        }
        after = page.items.last().map(|e| e.id.clone());
    }
    assert_eq!(seen, entries);
    let filter = AuditFilter {
        action: Some(AuditAction::CustomerErased),
        since: Some(t0() + Duration::minutes(2)),
        until: Some(t0() + Duration::minutes(6)),
        ..Default::default()
    };
    let erased: Vec<String> = store
        .list_audit(&ws, &filter, None, 10)
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.target_id)
        .collect();
    assert_eq!(erased, vec!["cus_2", "cus_4"]);
    assert!(store
        .list_audit(&WorkspaceId::parse("other").unwrap(), &AuditFilter::default(), None, 10)
        .unwrap()
        .items
        .is_empty());
}
