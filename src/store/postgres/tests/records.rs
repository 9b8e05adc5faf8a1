//! Memories, interactions and their facts, the knowledge base, whole records and the operations counts.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;

use super::{golden, reachable_customer};
use crate::domain::memory::StoredMemory;
use crate::domain::{Customer, Preferences, Workspace, WorkspaceId};
use crate::store::model_tests::{fields, outreach_item, t0, unit8, Backend};
use crate::store::postgres::testkit::TestDb;
use crate::store::postgres::PostgresStore;
use crate::store::{CustomerRepo, KeyRepo, MemoryRepo, OutreachRepo, PreferenceRepo, Store, StoreError};

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
fn knowledge_documents_chunks_sources_citations_and_gaps_round_trip() {
    use crate::domain::knowledge::gaps::Gap;
    use crate::domain::knowledge::{KnowledgeDoc, KnowledgeInput};
    use crate::store::model_tests::{knowledge_chunk, knowledge_doc};
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
    let doc = knowledge_doc(&ws);
    let chunk = |position: u32, text: &str| knowledge_chunk(position, text, position as usize);
    let chunks = [
        chunk(1, "Elles sont envoyées par courriel."),
        chunk(0, "Les factures partent le premier du mois."),
    ];
    let other = WorkspaceId::parse("other").unwrap();
    assert_eq!(store.knowledge_version(&ws).unwrap(), Some(0));
    store.put_knowledge(&doc, Some(&chunks)).unwrap();
    let after_put = nodes[1].knowledge_version(&ws).unwrap();
    assert!(after_put > Some(0), "another node sees the version move");
    assert_eq!(store.knowledge_version(&other).unwrap(), Some(0), "per workspace");
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
    let before_delete = store.knowledge_version(&ws).unwrap();
    assert!(before_delete > after_put, "every put moves it");
    assert!(store.delete_knowledge(&ws, "kb_1").unwrap());
    let after_delete = store.knowledge_version(&ws).unwrap();
    assert!(after_delete > before_delete);
    assert!(!store.delete_knowledge(&ws, "kb_1").unwrap());
    assert_eq!(
        store.knowledge_version(&ws).unwrap(),
        after_delete,
        "nothing deleted: unchanged"
    );
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
fn pruning_unanswered_questions_deletes_those_before_the_time_in_every_workspace() {
    use crate::domain::knowledge::gaps::Gap;
    use crate::store::KnowledgeRepo;
    let db = TestDb::new();
    let store = db.open();
    let workspaces = [WorkspaceId::default_workspace(), WorkspaceId::parse("other").unwrap()];
    let gap = |minutes: i64| Gap {
        at: t0() + Duration::minutes(minutes),
        customer_id: None,
        text: format!("question {minutes}"),
        language: "en".into(),
        best_similarity: 0.2,
        vector: unit8(minutes as usize),
    };
    for ws in &workspaces {
        for minutes in [1, 2, 3] {
            store.add_gap(ws, &gap(minutes)).unwrap();
        }
    }
    // Strictly before: the question asked at the cut stays.
    assert_eq!(store.prune_gaps(t0() + Duration::minutes(2)).unwrap(), 2);
    for ws in &workspaces {
        let left: Vec<_> = store
            .gaps_since(ws, t0())
            .unwrap()
            .into_iter()
            .map(|g| g.text)
            .collect();
        assert_eq!(left, vec!["question 2", "question 3"]);
    }
    assert_eq!(store.prune_gaps(t0() + Duration::minutes(2)).unwrap(), 0);
    assert_eq!(store.prune_gaps(t0() + Duration::days(1)).unwrap(), 4);
    assert_eq!(store.count("SELECT count(*) FROM knowledge_gaps"), 0);
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
