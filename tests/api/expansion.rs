//! The `expansion` job over HTTP with an injected clock: a happy, healthy customer whose usage fits a higher plan
//! gets one upsell; unhappy customers, customers with an open issue, and customers without consent or over their
//! cap get none.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, spawn_clocked, TestApp};

const NOW: &str = "2026-11-25T09:00:00Z";

async fn customer(app: &TestApp, ext: &str, consent: bool, cap: Option<u32>) -> String {
    let mut body = customer_body(ext);
    body["language"] = json!("en-GB");
    body["timezone"] = json!("UTC");
    body["plan"] = json!("pro");
    body["attributes"] = json!({"devices": ["Lumen Hub v2", "Lumen Motion Sensor", "Lumen Door Sensor", "Lumen Smart Plug", "Lumen Smart Lock"]});
    let id = app.create_customer(body).await["id"].as_str().unwrap().to_owned();
    let mut prefs = json!({"consent": {"email": {"granted": consent, "at": "2026-01-01T00:00:00Z", "source": "signup"}},
                           "preferred_channels": ["email"]});
    if let Some(cap) = cap {
        prefs["max_contacts_per_week"] = json!(cap);
    }
    let res = app
        .req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
        .json(&prefs)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    id
}

fn message(id: &str, role: &str, text: &str, at: &str) -> Value {
    json!({"id": id, "role": role, "text": text, "sent_at": at})
}

/// A resolved, warm conversation ten days ago in which the customer asks for more.
async fn happy_history(app: &TestApp, customer: &str, ext: &str) {
    let body = json!({"external_id": ext, "channel": "email", "status": "resolved", "opened_at": "2026-11-15T10:00:00Z",
        "closed_at": "2026-11-15T12:00:00Z", "csat": 5, "messages": [
        message(&format!("{ext}-1"), "customer", "The new hub works perfectly, we love it! We're opening a second office next month and will need more users.", "2026-11-15T10:00:00Z"),
        message(&format!("{ext}-2"), "agent", "Wonderful to hear, thank you! I've noted the new office.", "2026-11-15T11:00:00Z"),
        message(&format!("{ext}-3"), "customer", "Brilliant, thanks so much, great service as always.", "2026-11-15T12:00:00Z")]});
    app.post_interaction(customer, &body, StatusCode::CREATED).await;
}

async fn run(app: &TestApp) -> Value {
    let res = app.req(Method::POST, "/v1/jobs/expansion/run").send().await.unwrap();
    expect(res, StatusCode::OK).await
}

async fn items_of(app: &TestApp, customer: &str) -> Vec<Value> {
    let res = app.req(Method::GET, "/v1/outreach?limit=100").send().await.unwrap();
    let list = expect(res, StatusCode::OK).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["customer_id"] == customer)
        .cloned()
        .collect()
}

#[actix_web::test]
async fn only_the_happy_consenting_customer_with_nothing_pending_gets_one_upsell() {
    let (app, clock) = spawn_clocked(NOW).await;
    let happy = customer(&app, "happy", true, None).await;
    happy_history(&app, &happy, "h-1").await;

    let unhappy = customer(&app, "unhappy", true, None).await;
    let body = json!({"external_id": "u-1", "channel": "email", "status": "resolved", "opened_at": "2026-11-15T10:00:00Z",
        "closed_at": "2026-11-16T10:00:00Z", "messages": [
        message("u-1-1", "customer", "The app is awful, it crashed again and I lost my automations. Really disappointed, we need more users but not like this.", "2026-11-15T10:00:00Z"),
        message("u-1-2", "agent", "Sorry about this, a fix ships next week.", "2026-11-15T11:00:00Z")]});
    app.post_interaction(&unhappy, &body, StatusCode::CREATED).await;

    let pending = customer(&app, "pending", true, None).await;
    happy_history(&app, &pending, "p-1").await;
    let body = json!({"external_id": "p-2", "channel": "chat", "status": "open", "opened_at": "2026-11-24T10:00:00Z",
        "messages": [message("p-2-1", "customer", "Quick one: the door sensor in the garage shows offline since this morning.", "2026-11-24T10:00:00Z"),
                     message("p-2-2", "agent", "I'll check the logs and get back to you by tomorrow.", "2026-11-24T10:05:00Z")]});
    app.post_interaction(&pending, &body, StatusCode::CREATED).await;

    let unconsented = customer(&app, "no-consent", false, None).await;
    happy_history(&app, &unconsented, "n-1").await;
    let capped = customer(&app, "capped", true, Some(0)).await;
    happy_history(&app, &capped, "c-1").await;

    // The pending customer's history is as warm as the happy one's; what holds them back is the open report.
    let res = app
        .req(Method::GET, &format!("/v1/customers/{pending}/health"))
        .send()
        .await
        .unwrap();
    let health = expect(res, StatusCode::OK).await;
    let parts = health["current"]["parts"].as_array().unwrap();
    let open = parts.iter().find(|p| p["name"] == "open_issues").unwrap();
    assert_eq!(open["detail"], "1 unresolved issues", "{health}");

    let first = run(&app).await;
    let outcome = |id: &str| -> Option<String> {
        first["matched"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["customer_id"] == id)
            .map(|m| m["outcome"].as_str().unwrap().to_owned())
    };
    assert_eq!(outcome(&happy).as_deref(), Some("queued"), "{first}");
    assert_eq!(outcome(&unhappy), None, "unhappy lately: {first}");
    assert_eq!(
        outcome(&pending),
        None,
        "an issue is open and a promise pending: {first}"
    );
    assert_eq!(outcome(&unconsented).as_deref(), Some("no_consent"), "{first}");
    assert_eq!(outcome(&capped).as_deref(), Some("weekly_cap"), "{first}");
    assert_eq!(first["queued"], 1, "{first}");

    let items = items_of(&app, &happy).await;
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert!(
        item["reason"].as_str().unwrap().contains("fits the business plan"),
        "{item}"
    );
    assert!(
        item["dedupe_key"].as_str().unwrap().contains("expansion_upsell"),
        "{item}"
    );
    assert!(
        item["message"].as_str().unwrap().contains("the Business plan"),
        "{item}"
    );
    for other in [&unhappy, &pending, &unconsented, &capped] {
        assert!(items_of(&app, other).await.is_empty(), "{other} got an item");
    }

    // A week later the same customer is not asked again (cooldown), and nobody else is.
    clock.set("2026-12-02T09:00:00Z".parse().unwrap());
    let again = run(&app).await;
    assert_eq!(again["queued"], 0, "{again}");
    assert_eq!(items_of(&app, &happy).await.len(), 1);
}

#[actix_web::test]
async fn a_happy_customer_on_the_top_plan_gets_a_referral_ask_in_their_language() {
    let (app, _clock) = spawn_clocked(NOW).await;
    let mut body = customer_body("top");
    body["timezone"] = json!("UTC");
    body["plan"] = json!("enterprise");
    body["attributes"] = json!({"hub_count": 12, "sites": 3});
    let id = app.create_customer(body).await["id"].as_str().unwrap().to_owned();
    let prefs = json!({"consent": {"email": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "contract"}}});
    let res = app
        .req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
        .json(&prefs)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    let chat = json!({"external_id": "t-1", "channel": "email", "status": "resolved", "opened_at": "2026-11-10T10:00:00Z",
        "closed_at": "2026-11-10T12:00:00Z", "messages": [
        message("t-1-1", "customer", "Bonjour, tout fonctionne parfaitement depuis le déploiement, toute l'équipe est ravie. Merci beaucoup !", "2026-11-10T10:00:00Z"),
        message("t-1-2", "agent", "Merci pour ce retour, c'est un plaisir !", "2026-11-10T11:00:00Z")]});
    app.post_interaction(&id, &chat, StatusCode::CREATED).await;
    let ran = run(&app).await;
    assert_eq!(ran["queued"], 1, "{ran}");
    let items = items_of(&app, &id).await;
    assert!(
        items[0]["reason"].as_str().unwrap().contains("referral"),
        "{}",
        items[0]
    );
    let text = items[0]["message"].as_str().unwrap();
    assert!(text.starts_with("Bonjour Camille"), "{text}");
    assert!(text.contains("parrainage"), "{text}");
}
