//! Retention runs with an injected clock: old memories go, pinned and forever-kept kinds stay.

use std::sync::Arc;

use rappel::config::Settings;
use rappel::domain::memory::{MemoryKind, Retention};
use rappel::domain::WorkspaceId;
use rappel::service::clock::ManualClock;
use rappel::service::{operator, MemoryFilter, MemoryPatch};
use serde_json::json;

use crate::helpers::{customer_body, embedder};

#[actix_web::test]
async fn retention_deletes_old_unpinned_memories_of_limited_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new("2026-11-25T00:00:00Z".parse().unwrap()));
    let settings = Settings {
        data_dir: dir.path().to_owned(),
        ..Settings::default()
    };
    let services = rappel::startup::services(&settings, embedder(), clock.clone())
        .await
        .unwrap();
    let principal = operator(WorkspaceId::default_workspace());
    let customer = services
        .create_customer(&principal, serde_json::from_value(customer_body("r-1")).unwrap())
        .await
        .unwrap();
    let id = customer.id.to_string();
    let input = serde_json::from_value(json!({"external_id": "t", "channel": "chat", "status": "resolved",
        "opened_at": "2026-11-01T09:00:00Z", "messages": [
            {"id": "m1", "role": "customer", "text": "We moved to the Business plan. My hub keeps crashing.", "sent_at": "2026-11-01T09:00:00Z"},
            {"id": "m2", "role": "customer", "text": "Thanks, all good now.", "sent_at": "2026-11-01T10:00:00Z"}]}))
    .unwrap();
    services.ingest_interaction(&principal, &id, input).await.unwrap();
    let all = services
        .list_memories(&principal, &id, MemoryFilter::default(), None, 100)
        .await
        .unwrap()
        .items;
    let pinned = all
        .iter()
        .find(|m| m.kind == MemoryKind::Message && m.provenance.message_ids == ["m2"])
        .unwrap();
    services
        .patch_memory(
            &principal,
            &id,
            &pinned.id,
            MemoryPatch {
                text: None,
                pinned: Some(true),
            },
        )
        .await
        .unwrap();

    // A year on, nothing is old enough; three years on, messages and issues go, facts (kept forever) and the
    // pinned message stay.
    clock.set("2027-11-25T00:00:00Z".parse().unwrap());
    assert_eq!(services.enforce_retention(Retention::default()).await.unwrap(), 0);
    clock.set("2029-11-25T00:00:00Z".parse().unwrap());
    let deleted = services.enforce_retention(Retention::default()).await.unwrap();
    let left = services
        .list_memories(&principal, &id, MemoryFilter::default(), None, 100)
        .await
        .unwrap()
        .items;
    assert_eq!(deleted + left.len(), all.len());
    assert!(left.iter().any(|m| m.kind == MemoryKind::Fact));
    assert!(left.iter().any(|m| m.id == pinned.id));
    assert!(left.iter().all(|m| m.kind != MemoryKind::Issue));
    assert!(left.iter().filter(|m| m.kind == MemoryKind::Message).all(|m| m.pinned));
    assert!(deleted >= 2, "{deleted} deleted");
    // Gone from the store too, not only from the index.
    let (ws, cid) = (WorkspaceId::default_workspace(), customer.id.clone());
    assert_eq!(services.store().list_memories(&ws, &cid).unwrap().len(), left.len());
}
