//! Per-key rate limits and embedding quotas: 429 with `Retry-After`, other keys untouched, passing again later.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, expect, expect_problem, spawn_clocked_with, TestApp, ADMIN_KEY};

const T0: &str = "2026-11-25T09:00:00Z";

fn at(offset: Duration) -> DateTime<Utc> {
    T0.parse::<DateTime<Utc>>().unwrap() + offset
}

async fn list_as(app: &TestApp, key: &str) -> Response {
    app.req_as(key, Method::GET, "/v1/customers").send().await.unwrap()
}

/// Asserts a 429 problem with this code and returns its `Retry-After` in seconds.
async fn too_many(res: Response, code: &str) -> u64 {
    let retry_after = res
        .headers()
        .get("retry-after")
        .expect("a 429 says when to retry")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS, code).await;
    retry_after
}

#[actix_web::test]
async fn a_key_over_its_rate_gets_429_with_retry_after_while_other_keys_and_workspaces_pass() {
    let (app, clock) = spawn_clocked_with(T0, |s| {
        s.rate_limit_per_second = 1;
        s.rate_limit_burst = 3;
    })
    .await;
    // The bootstrap key spends two of its three tokens on setting up the other callers.
    let other = app.key_with(&["read"]).await;
    let res = app
        .req(Method::POST, "/v1/workspaces")
        .json(&json!({"id": "beta", "name": "Beta"}))
        .send()
        .await
        .unwrap();
    let beta = expect(res, StatusCode::CREATED).await["admin_key"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    expect(list_as(&app, ADMIN_KEY).await, StatusCode::OK).await;
    assert_eq!(too_many(list_as(&app, ADMIN_KEY).await, "rate_limited").await, 1);
    // Refused requests do not dig the hole deeper, and nobody else is slowed.
    assert_eq!(too_many(list_as(&app, ADMIN_KEY).await, "rate_limited").await, 1);
    for key in [&other, &beta] {
        for _ in 0..3 {
            expect(list_as(&app, key).await, StatusCode::OK).await;
        }
    }
    assert_eq!(too_many(list_as(&app, &other).await, "rate_limited").await, 1);

    clock.set(at(Duration::seconds(1)));
    expect(list_as(&app, ADMIN_KEY).await, StatusCode::OK).await;
    too_many(list_as(&app, ADMIN_KEY).await, "rate_limited").await;
    clock.set(at(Duration::seconds(10)));
    for _ in 0..3 {
        expect(list_as(&app, ADMIN_KEY).await, StatusCode::OK).await;
    }
}

#[actix_web::test]
async fn embedding_work_over_a_keys_quota_gets_429_until_the_quota_refills() {
    let (app, clock) = spawn_clocked_with(T0, |s| {
        s.rate_limit_per_second = 0;
        s.embed_quota_chars_per_minute = 100;
    })
    .await;
    let id = app.create_customer(customer_body("quota")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.key_with(&["read"]).await;
    let recall = |key: &str| {
        app.req_as(key, Method::POST, &format!("/v1/customers/{id}/recall"))
            .json(&json!({"query": "abcdefghij".repeat(6)}))
            .send()
    };
    expect(recall(ADMIN_KEY).await.unwrap(), StatusCode::OK).await;
    // 40 characters left; 60 more come back at 100 a minute in 12 s.
    assert_eq!(too_many(recall(ADMIN_KEY).await.unwrap(), "quota_exceeded").await, 12);
    expect(recall(&other).await.unwrap(), StatusCode::OK).await;
    clock.set(at(Duration::seconds(12)));
    expect(recall(ADMIN_KEY).await.unwrap(), StatusCode::OK).await;

    // Ingest counts the messages it embeds: a text beyond the whole quota passes on a full quota, then waits.
    let writer = app.key_with(&["write"]).await;
    let ticket = |ext: &str| {
        json!({"external_id": ext, "channel": "chat", "status": "open", "opened_at": "2026-11-20T09:00:00Z",
               "messages": [{"id": "m1", "role": "customer", "author": "x", "sent_at": "2026-11-20T09:00:00Z",
                             "text": "My hub drops offline every night since the last firmware update, please help."}]})
    };
    let post = |body: serde_json::Value| {
        app.req_as(&writer, Method::POST, &format!("/v1/customers/{id}/interactions"))
            .json(&body)
            .send()
    };
    expect(post(ticket("q-1")).await.unwrap(), StatusCode::CREATED).await;
    let wait = too_many(post(ticket("q-2")).await.unwrap(), "quota_exceeded").await;
    assert!((1..=60).contains(&wait), "{wait}");
    clock.set(at(Duration::seconds(12 + 60)));
    expect(post(ticket("q-2")).await.unwrap(), StatusCode::CREATED).await;
}
