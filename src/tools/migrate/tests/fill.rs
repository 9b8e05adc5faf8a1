//! A store holding records of every kind, written through the repositories as the services write them.

use std::path::Path;

use chrono::Duration;

use super::Endpoint;
use crate::domain::audit::AuditEntry;
use crate::domain::campaign::Campaign;
use crate::domain::health::Health;
use crate::domain::incident::Incident;
use crate::domain::interaction::{Interaction, InteractionInput, InteractionStatus};
use crate::domain::job::JobDefinition;
use crate::domain::job_run::JobRun;
use crate::domain::knowledge::gaps::Gap;
use crate::domain::knowledge::StoredChunk;
use crate::domain::memory::StoredMemory;
use crate::domain::outreach::OutreachItem;
use crate::domain::preferences::{Channel, Consent, ConsentByChannel};
use crate::domain::team::Team;
use crate::domain::{ApiKey, Customer, Preferences, Workspace, WorkspaceId};
use crate::store::model_tests::{fields, knowledge_chunk, knowledge_doc, outreach_item, t0, unit8};
pub(super) use crate::store::redb::DEFAULT_CACHE_BYTES as DEFAULT_CACHE;
use crate::store::{
    AckOutcome, AuditRepo, CampaignRepo, CustomerRepo, HealthRepo, IncidentRepo, JobRepo, KeyRepo, KnowledgeRepo,
    MemoryRepo, ModelStamp, OutreachRepo, PreferenceRepo, RedbStore, TeamRepo,
};

/// The model the test stores are stamped with (8-dimension vectors, as `unit8` makes).
pub(super) fn stamp() -> ModelStamp {
    ModelStamp {
        name: "test-model".into(),
        dim: 8,
    }
}

/// A record as the redb store's golden files hold it (one realistic value of each type).
pub(super) fn golden<T: serde::de::DeserializeOwned>(table: &str) -> T {
    let path = format!("{}/src/store/golden/{table}.bin", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&bytes[1..]).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An interaction of `c` opened on day `day` of November 2026.
pub(super) fn interaction(c: &Customer, ext: &str, status: &str, day: u32) -> Interaction {
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
pub(super) fn fill(store: &RedbStore, customers_per_workspace: u8) {
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
        let doc = knowledge_doc(ws);
        let chunks: Vec<StoredChunk> = (0..2)
            .map(|position| knowledge_chunk(position, &format!("chunk {position}"), 100 + position as usize))
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
pub(super) fn source(dir: &Path, customers: u8) -> Endpoint {
    let file = dir.join("source.redb");
    let store = RedbStore::open_file(&file, Some(&stamp()), DEFAULT_CACHE).unwrap();
    fill(&store, customers);
    Endpoint::Redb(file)
}
