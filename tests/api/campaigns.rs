//! Campaigns: a meaning-based segment previewed, then run under the contact rules.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, expect, expect_problem, spawn};

#[actix_web::test]
async fn a_campaign_previews_then_queues_exactly_its_segment_once() {
    let app = spawn().await;
    let mut ids = Vec::new();
    for (ext, text) in [
        (
            "battery",
            "The motion sensor battery is empty after two days, it drains far too fast.",
        ),
        ("password", "How do I reset my password? The link never arrives."),
    ] {
        let c = app.create_customer(customer_body(ext)).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let prefs = json!({"consent": {"email": {"granted": true}}});
        expect(
            app.req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
                .json(&prefs)
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        let ticket = json!({"external_id": format!("t-{ext}"), "channel": "email", "status": "resolved", "opened_at": "2026-11-01T09:00:00Z",
            "messages": [{"id": format!("{ext}-1"), "role": "customer", "text": text, "sent_at": "2026-11-01T09:00:00Z"}]});
        app.post_interaction(&id, &ticket, StatusCode::CREATED).await;
        ids.push(id);
    }
    let campaign = json!({
        "name": "Battery check-in",
        "segment": {"plan": "pro", "query": "complained about battery life"},
        "outreach": {"channels": ["email"], "priority": 2, "templates": {"en": "Hi {first_name}, about {topic}...", "fr": "Bonjour {first_name}..."}}
    });
    let created = expect(
        app.req(Method::POST, "/v1/campaigns")
            .json(&campaign)
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let preview = expect(
        app.req(Method::POST, &format!("/v1/campaigns/{id}/preview"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(preview["count"], 1, "{preview}");
    assert_eq!(preview["sample"][0]["external_id"], "battery");
    assert!(preview["sample"][0]["reason"].as_str().unwrap().contains("battery"));
    let queued = expect(
        app.req(Method::GET, "/v1/outreach").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(queued["items"], json!([]), "a preview queues nothing");

    let run = expect(
        app.req(Method::POST, &format!("/v1/campaigns/{id}/run"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (run["matches"].as_u64(), run["queued"].as_u64()),
        (Some(1), Some(1)),
        "{run}"
    );
    let again = expect(
        app.req(Method::POST, &format!("/v1/campaigns/{id}/run"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["queued"], 0);
    assert_eq!(again["skipped"]["duplicate"], 1);
    let items = expect(
        app.req(Method::GET, &format!("/v1/outreach?source={id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(items["items"].as_array().unwrap().len(), 1);
    assert_eq!(items["items"][0]["customer_id"], ids[0].as_str());

    let bad = json!({"name": "x", "schedule": "whenever", "outreach": {"templates": {"en": "Hi"}}});
    expect_problem(
        app.req(Method::POST, "/v1/campaigns").json(&bad).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_schedule",
    )
    .await;
    let res = app
        .req(Method::DELETE, &format!("/v1/campaigns/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect_problem(
        app.req(Method::POST, &format!("/v1/campaigns/{id}/preview"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "campaign_not_found",
    )
    .await;
}
