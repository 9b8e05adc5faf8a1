//! Preferences and consent over HTTP: defaults, full replacement with consent time and source, the change
//! history (with its cursor), and refused invalid input that changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, expect_problem, spawn, TestApp};

async fn customer(app: &TestApp) -> String {
    app.create_customer(customer_body("pref")).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn a_new_customer_has_default_preferences() {
    let app = spawn().await;
    let id = customer(&app).await;
    let p = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/preferences"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["do_not_contact"], false);
    assert_eq!(
        p["consent"],
        json!({"email": null, "sms": null, "phone": null, "chat": null, "push": null})
    );
    assert_eq!(p["preferred_channels"], json!([]));
}

#[actix_web::test]
async fn put_stores_every_preference_and_fills_consent_time_and_source() {
    let app = spawn().await;
    let id = customer(&app).await;
    let body = json!({
        "preferred_language": "fr",
        "consent": {
            "email": {"granted": true, "at": "2024-03-14T10:00:00Z", "source": "signup_form"},
            "sms": {"granted": false}
        },
        "do_not_contact": false,
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "max_contacts_per_week": 2,
        "preferred_channels": ["email", "chat", "email"],
        "tone": "formal",
        "technical_level": "novice",
        "custom": {"pronouns": "elle"}
    });
    let path = format!("/v1/customers/{id}/preferences?source=agent:alice");
    let saved = expect(
        app.req(Method::PUT, &path).json(&body).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(saved["consent"]["email"]["source"], "signup_form");
    assert_eq!(saved["consent"]["sms"]["source"], "agent:alice");
    assert!(saved["consent"]["sms"]["at"].is_string());
    assert_eq!(saved["preferred_channels"], json!(["email", "chat"]));
    let got = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/preferences"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(got, saved);
}

#[actix_web::test]
async fn every_change_is_recorded_with_old_and_new_value_time_and_source() {
    let app = spawn().await;
    let id = customer(&app).await;
    let path = format!("/v1/customers/{id}/preferences");
    expect(
        app.req(Method::PUT, &path)
            .json(&json!({"tone": "formal", "max_contacts_per_week": 3}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let patch = json!({"tone": "casual", "consent": {"email": {"granted": false, "source": "unsubscribe_link"}}});
    let res = app
        .req(Method::PATCH, &format!("{path}?source=helpdesk"))
        .header("content-type", "application/merge-patch+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    let saved = expect(res, StatusCode::OK).await;
    assert_eq!(saved["max_contacts_per_week"], 3, "a patch keeps what it does not name");
    // The same document again changes nothing and records nothing.
    expect(
        app.req(Method::PATCH, &format!("{path}?source=helpdesk"))
            .json(&patch)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;

    let history = expect(
        app.req(Method::GET, &format!("{path}/history")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let items = history["items"].as_array().unwrap();
    let summary: Vec<(&str, Value, Value, &str)> = items
        .iter()
        .map(|h| {
            (
                h["field"].as_str().unwrap(),
                h["old_value"].clone(),
                h["new_value"].clone(),
                h["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary.len(), 4, "{summary:?}");
    assert_eq!(
        summary[0],
        ("max_contacts_per_week", Value::Null, json!(3), "api:bootstrap")
    );
    assert_eq!(summary[1], ("tone", Value::Null, json!("formal"), "api:bootstrap"));
    assert_eq!(summary[2].0, "consent.email");
    assert_eq!(summary[2].2["granted"], false);
    assert_eq!(summary[2].3, "helpdesk");
    assert_eq!(summary[3], ("tone", json!("formal"), json!("casual"), "helpdesk"));
    assert!(items.windows(2).all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64()));
}

#[actix_web::test]
async fn history_pages_with_a_cursor() {
    let app = spawn().await;
    let id = customer(&app).await;
    let path = format!("/v1/customers/{id}/preferences");
    for n in 0..5 {
        expect(
            app.req(Method::PATCH, &path)
                .json(&json!({"max_contacts_per_week": n}))
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
    }
    let first = expect(
        app.req(Method::GET, &format!("{path}/history?limit=3"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = expect(
        app.req(Method::GET, &format!("{path}/history?limit=3&cursor={cursor}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert!(second["next_cursor"].is_null());
    assert_eq!(second["items"][1]["new_value"], 4);
    let res = app
        .req(Method::GET, &format!("{path}/history?cursor=zzz"))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::BAD_REQUEST, "invalid_cursor").await;
}

#[actix_web::test]
async fn invalid_preferences_are_refused_and_change_nothing() {
    let app = spawn().await;
    let id = customer(&app).await;
    let path = format!("/v1/customers/{id}/preferences");
    let cases = [
        (
            json!({"quiet_hours": {"start": "9pm", "end": "08:00"}}),
            "invalid_quiet_hours",
        ),
        (json!({"consent": {"fax": {"granted": true}}}), "invalid_body"),
        (json!({"tone": "rude"}), "invalid_body"),
        (json!({"preferred_language": "french!"}), "invalid_language"),
        (json!({"max_contacts_per_week": -1}), "invalid_body"),
        (json!({"colour": "blue"}), "invalid_body"),
    ];
    for (body, code) in cases {
        let res = app.req(Method::PUT, &path).json(&body).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, code).await;
        let res = app.req(Method::PATCH, &path).json(&body).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    let history = expect(
        app.req(Method::GET, &format!("{path}/history")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["items"], json!([]));
}
