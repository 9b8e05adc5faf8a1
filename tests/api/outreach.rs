//! The outreach queue over HTTP, with a moved clock: rules at queue and claim time, quiet hours, leases,
//! acknowledgements, retries, concurrent senders.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, spawn, spawn_clocked, TestApp};

const T0: &str = "2026-11-25T12:00:00Z";

/// A customer in Paris with these preferences; returns its id.
async fn customer(app: &TestApp, ext: &str, prefs: Value) -> String {
    let mut body = customer_body(ext);
    body["timezone"] = json!("Europe/Paris");
    let id = app.create_customer(body).await["id"].as_str().unwrap().to_owned();
    expect(
        app.req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
            .json(&prefs)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    id
}

fn request(customer: &str, reason: &str) -> Value {
    json!({
        "customer_id": customer,
        "reason_code": reason,
        "reason": format!("because of {reason}"),
        "evidence": ["int-1"],
        "channels": ["sms", "email"],
        "templates": {"en": "Hi {first_name} ({topic})", "fr": "Bonjour {first_name} ({topic})"},
        "topic": "votre hub"
    })
}

fn consent(granted: bool) -> Value {
    json!({"granted": granted, "at": "2026-01-01T00:00:00Z", "source": "test"})
}

/// Queues a request; returns the outcome document (`{"outcome": "queued", "item": ...}` or `skipped` + rule).
async fn queue(app: &TestApp, body: &Value) -> Value {
    let res = app.req(Method::POST, "/v1/outreach").json(body).send().await.unwrap();
    let status = res.status();
    let out: Value = res.json().await.unwrap();
    match out["outcome"].as_str() {
        Some("queued") => assert_eq!(status, StatusCode::CREATED, "{out}"),
        Some("skipped") => assert_eq!(status, StatusCode::OK, "{out}"),
        _ => panic!("{status}: {out}"),
    }
    out
}

async fn claim(app: &TestApp, body: Value) -> Vec<Value> {
    expect(
        app.req(Method::POST, "/v1/outreach/claim")
            .json(&body)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

async fn ack(app: &TestApp, id: &str, body: Value) -> Value {
    expect(
        app.req(Method::POST, &format!("/v1/outreach/{id}/ack"))
            .json(&body)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await
}

#[actix_web::test]
async fn queuing_follows_consent_do_not_contact_the_weekly_cap_and_deduplication() {
    let (app, _clock) = spawn_clocked(T0).await;
    let ok = customer(&app, "ok", json!({"consent": {"email": consent(true), "sms": consent(false)}, "tone": "casual", "max_contacts_per_week": 1, "preferred_language": "fr"})).await;
    let dnc = customer(
        &app,
        "dnc",
        json!({"consent": {"email": consent(true)}, "do_not_contact": true}),
    )
    .await;
    let none = customer(&app, "none", json!({"consent": {"sms": consent(false)}})).await;

    let queued = queue(&app, &request(&ok, "a")).await;
    let item = &queued["item"];
    assert_eq!(
        item["channel"], "email",
        "sms has no consent: the next consented channel"
    );
    assert_eq!(item["language"], "fr");
    assert_eq!(item["message"], "Bonjour Camille (votre hub)");
    let skipped = |out: Value, rule: &str| {
        assert_eq!(
            (out["outcome"].clone(), out["rule"].clone()),
            (json!("skipped"), json!(rule)),
            "{out}"
        )
    };
    skipped(queue(&app, &request(&ok, "a")).await, "duplicate");
    skipped(queue(&app, &request(&ok, "b")).await, "weekly_cap");
    skipped(queue(&app, &request(&dnc, "a")).await, "do_not_contact");
    skipped(queue(&app, &request(&none, "a")).await, "no_consent");
}

#[actix_web::test]
async fn quiet_hours_delay_an_item_and_claims_recheck_consent() {
    let (app, clock) = spawn_clocked(T0).await;
    // 12:00 UTC is 13:00 in Paris: inside 12:30-14:00 quiet hours, so the item waits until 13:00 UTC.
    let quiet = customer(
        &app,
        "quiet",
        json!({"consent": {"email": consent(true)}, "quiet_hours": {"start": "12:30", "end": "14:00"}}),
    )
    .await;
    let queued = queue(&app, &request(&quiet, "q")).await;
    assert_eq!(queued["item"]["not_before"], "2026-11-25T13:00:00Z");
    assert!(claim(&app, json!({})).await.is_empty(), "not due yet");
    clock.set("2026-11-25T13:00:00Z".parse().unwrap());
    assert_eq!(claim(&app, json!({})).await.len(), 1);

    // Consent withdrawn after queuing: the claim cancels the item instead of handing it out.
    let fickle = customer(&app, "fickle", json!({"consent": {"email": consent(true)}})).await;
    queue(&app, &request(&fickle, "f")).await;
    expect(
        app.req(Method::PATCH, &format!("/v1/customers/{fickle}/preferences"))
            .json(&json!({"consent": {"email": {"granted": false}}}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(claim(&app, json!({})).await.is_empty());
    let items = expect(
        app.req(Method::GET, &format!("/v1/outreach?customer_id={fickle}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(items["items"][0]["state"], "cancelled");
}

#[actix_web::test]
async fn leases_expire_acks_are_idempotent_and_sent_items_become_memories() {
    let (app, clock) = spawn_clocked(T0).await;
    let id = customer(&app, "c", json!({"consent": {"email": consent(true)}})).await;
    queue(&app, &request(&id, "x")).await;
    let first = claim(&app, json!({"channel": "email", "lease_seconds": 60})).await;
    assert_eq!(first.len(), 1);
    assert!(claim(&app, json!({"lease_seconds": 60})).await.is_empty(), "leased");
    clock.set("2026-11-25T12:02:00Z".parse().unwrap());
    let again = claim(&app, json!({"lease_seconds": 60})).await;
    assert_eq!(again[0]["id"], first[0]["id"], "an expired lease returns the item");

    let item_id = first[0]["id"].as_str().unwrap().to_owned();
    let sent = json!({"status": "sent", "provider_message_id": "p-1"});
    let item = ack(&app, &item_id, sent.clone()).await;
    assert_eq!(item["state"], "sent");
    assert_eq!(ack(&app, &item_id, sent).await, item, "idempotent");
    // The sent item is a memory of the customer by the time the acknowledgement is answered (a kill -9 right after
    // the answer cannot lose it), and once only, however often the sender repeats its acknowledgement.
    let memories = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/memories"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let remembered = memories["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["provenance"]["message_ids"] == json!([item_id.clone()])
                && m["text"].as_str().unwrap().contains("because of x")
        })
        .count();
    assert_eq!(remembered, 1, "the sent item became one memory: {memories}");

    // Three failures make an item failed; between attempts the item waits (back-off).
    clock.set("2026-11-25T12:03:00Z".parse().unwrap());
    queue(&app, &request(&id, "y")).await;
    let failing = claim(&app, json!({"lease_seconds": 60})).await.remove(0);
    let failing_id = failing["id"].as_str().unwrap();
    let mut at: chrono::DateTime<chrono::Utc> = "2026-11-25T12:03:00Z".parse().unwrap();
    let mut state = json!("queued");
    for attempt in 1..=3 {
        let failed = json!({"status": "failed", "error": format!("bounce {attempt}")});
        state = ack(&app, failing_id, failed).await["state"].clone();
        if attempt < 3 {
            assert_eq!(state, "queued");
            at += chrono::Duration::hours(2);
            clock.set(at);
            assert_eq!(claim(&app, json!({"lease_seconds": 60})).await.len(), 1);
        }
    }
    assert_eq!(state, "failed");
}

#[actix_web::test]
async fn two_senders_draining_the_queue_concurrently_get_every_item_exactly_once() {
    let app = spawn().await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let mut body = customer_body(&format!("s-{n}"));
        body["timezone"] = json!("UTC");
        let c = app.create_customer(body).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let prefs = json!({"consent": {"email": consent(true)}});
        expect(
            app.req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
                .json(&prefs)
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        let q = json!({"customer_id": id, "reason_code": "r", "reason": "test", "templates": {"en": "Hi"}});
        let res = expect(
            app.req(Method::POST, "/v1/outreach").json(&q).send().await.unwrap(),
            StatusCode::CREATED,
        )
        .await;
        ids.push(res["item"]["id"].as_str().unwrap().to_owned());
    }
    let sender = |name: &'static str| {
        let (client, base) = (app.client.clone(), app.base.clone());
        async move {
            let mut mine = Vec::new();
            loop {
                let res = client
                    .post(format!("{base}/v1/outreach/claim"))
                    .bearer_auth(crate::helpers::ADMIN_KEY)
                    .json(&json!({"channel": "email", "max": 2, "lease_seconds": 60}))
                    .send()
                    .await
                    .unwrap();
                let items: Vec<serde_json::Value> = res.json().await.unwrap();
                if items.is_empty() {
                    return mine;
                }
                for item in items {
                    let id = item["id"].as_str().unwrap().to_owned();
                    let ack = json!({"status": "sent", "provider_message_id": format!("{name}-{id}")});
                    let res = client
                        .post(format!("{base}/v1/outreach/{id}/ack"))
                        .bearer_auth(crate::helpers::ADMIN_KEY)
                        .json(&ack)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), StatusCode::OK);
                    mine.push(id);
                }
            }
        }
    };
    let (a, b) = futures_util::join!(sender("a"), sender("b"));
    let all: Vec<&String> = a.iter().chain(&b).collect();
    let unique: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "an item was delivered twice");
    assert_eq!(unique.len(), ids.len(), "every item delivered");
    let sent = expect(
        app.req(Method::GET, "/v1/outreach?state=sent&limit=100")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(sent["items"].as_array().unwrap().len(), ids.len());
}
