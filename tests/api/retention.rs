//! Retention over HTTP with a moved clock: old memories go, pinned and forever-kept kinds stay, from the store
//! as from the index (a restart sees the same).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, restart, spawn_clocked, TestApp};

async fn memories(app: &TestApp, id: &str) -> Vec<Value> {
    expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/memories?limit=100"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn sweep(app: &TestApp) -> u64 {
    expect(
        app.req(Method::POST, "/v1/maintenance/retention").send().await.unwrap(),
        StatusCode::OK,
    )
    .await["count"]
        .as_u64()
        .unwrap()
}

#[actix_web::test]
async fn retention_deletes_old_unpinned_memories_of_limited_kinds() {
    let (app, clock) = spawn_clocked("2026-11-25T00:00:00Z").await;
    let id = app.create_customer(customer_body("r-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ticket = json!({"external_id": "t", "channel": "chat", "status": "resolved",
        "opened_at": "2026-11-01T09:00:00Z", "messages": [
            {"id": "m1", "role": "customer", "text": "We moved to the Business plan. My hub keeps crashing.", "sent_at": "2026-11-01T09:00:00Z"},
            {"id": "m2", "role": "customer", "text": "Thanks, all good now.", "sent_at": "2026-11-01T10:00:00Z"}]});
    app.post_interaction(&id, &ticket, StatusCode::CREATED).await;
    let all = memories(&app, &id).await;
    let pinned = all
        .iter()
        .find(|m| m["kind"] == "message" && m["provenance"]["message_ids"] == json!(["m2"]))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect(
        app.req(Method::PATCH, &format!("/v1/customers/{id}/memories/{pinned}"))
            .json(&json!({"pinned": true}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let writer = app.key_with(&["write"]).await;
    let res = app
        .req_as(&writer, Method::POST, "/v1/maintenance/retention")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "operators only");

    // A year on, nothing is old enough; three years on, messages and issues go, facts (kept forever) and the
    // pinned message stay.
    clock.set("2027-11-25T00:00:00Z".parse().unwrap());
    assert_eq!(sweep(&app).await, 0);
    clock.set("2029-11-25T00:00:00Z".parse().unwrap());
    let deleted = sweep(&app).await as usize;
    let left = memories(&app, &id).await;
    assert_eq!(deleted + left.len(), all.len());
    assert!(left.iter().any(|m| m["kind"] == "fact"), "{left:?}");
    assert!(left.iter().any(|m| m["id"] == pinned.as_str()));
    assert!(left.iter().all(|m| m["kind"] != "issue"));
    assert!(left
        .iter()
        .filter(|m| m["kind"] == "message")
        .all(|m| m["pinned"] == true));
    assert!(deleted >= 2, "{deleted} deleted");
    // Gone from the store too, not only from the index: a restarted server loads the same memories.
    let app = restart(app).await;
    assert_eq!(memories(&app, &id).await.len(), left.len());
}
