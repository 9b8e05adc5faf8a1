use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, expect, spawn, spawn_at};

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
    let (data_dir, tempdir) = app.stop().await;

    // The store is released once the server has stopped; reopen it with a new server.
    let mut reopened = None;
    for _ in 0..50 {
        match rappel::store::RedbStore::open(&data_dir, None) {
            Ok(store) => {
                drop(store);
                reopened = Some(spawn_at(&data_dir, tempdir).await);
                break;
            }
            Err(_) => actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let app = reopened.expect("the store is released after the server stops");
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
