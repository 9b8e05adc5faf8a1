//! Durability: data written before a restart of the real server is read back after it.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, expect, restart, spawn};

#[actix_web::test]
async fn data_written_before_a_restart_is_read_back_after_it() {
    let app = spawn().await;
    let c = app.create_customer(customer_body("durable")).await;
    let id = c["id"].as_str().unwrap().to_owned();
    let prefs = expect(
        app.req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
            .json(&json!({"tone": "formal"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let key = app.key_with(&["read"]).await;
    // The store is released once the server has stopped; a new server reopens it.
    let app = restart(app).await;
    assert_eq!(
        expect(
            app.req(Method::GET, &format!("/v1/customers/{id}"))
                .send()
                .await
                .unwrap(),
            StatusCode::OK
        )
        .await,
        c
    );
    let got = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/preferences"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(got, prefs);
    let history = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/preferences/history"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    expect(
        app.req_as(&key, Method::GET, "/v1/customers").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
}
