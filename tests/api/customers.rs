//! Customer profiles over HTTP: create (201, Location), external-id conflicts, upsert, paging and filters, merge
//! patch, erasure and export.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, expect, expect_problem, spawn};

#[actix_web::test]
async fn create_returns_201_with_location_and_server_fields() {
    let app = spawn().await;
    let res = app
        .req(Method::POST, "/v1/customers")
        .json(&customer_body("c-1"))
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let c = expect(res, StatusCode::CREATED).await;
    let id = c["id"].as_str().unwrap();
    assert!(id.starts_with("cus_"));
    assert_eq!(location, format!("/v1/customers/{id}"));
    assert_eq!(c["workspace"], "default");
    assert_eq!(c["timezone"], "Europe/Paris");
    assert_eq!(c["created_at"], c["updated_at"]);
    let fetched = expect(app.req(Method::GET, &location).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(fetched, c);
}

#[actix_web::test]
async fn duplicate_external_id_is_a_409_conflict() {
    let app = spawn().await;
    app.create_customer(customer_body("dup")).await;
    let res = app
        .req(Method::POST, "/v1/customers")
        .json(&customer_body("dup"))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::CONFLICT, "external_id_conflict").await;
}

#[actix_web::test]
async fn upsert_creates_then_updates_then_changes_nothing() {
    let app = spawn().await;
    let path = "/v1/customers/by-external-id/up-1";
    let mut body = customer_body("up-1");
    body.as_object_mut().unwrap().remove("external_id");
    let created = expect(
        app.req(Method::PUT, path).json(&body).send().await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["external_id"], "up-1");

    body["plan"] = json!("business");
    let updated = expect(
        app.req(Method::PUT, path).json(&body).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["plan"], "business");
    assert_ne!(updated["updated_at"], created["updated_at"]);

    let again = expect(
        app.req(Method::PUT, path).json(&body).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(again, updated, "an identical upsert must not touch updated_at");

    let by_ext = expect(app.req(Method::GET, path).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(by_ext, updated);
}

#[actix_web::test]
async fn upsert_with_another_external_id_in_the_body_is_refused() {
    let app = spawn().await;
    let res = app
        .req(Method::PUT, "/v1/customers/by-external-id/a")
        .json(&customer_body("b"))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "external_id_mismatch").await;
}

#[actix_web::test]
async fn list_pages_through_every_customer_once() {
    let app = spawn().await;
    for i in 0..25 {
        app.create_customer(json!({"external_id": format!("p-{i:02}")})).await;
    }
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let mut path = "/v1/customers?limit=10".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = expect(app.req(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
        pages += 1;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["external_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("p-{i:02}")).collect();
    assert_eq!(seen, expected, "creation order, each once");
}

#[actix_web::test]
async fn list_filters_by_tag_plan_and_update_time() {
    let app = spawn().await;
    app.create_customer(json!({"external_id": "a", "plan": "pro", "tags": ["vip"]}))
        .await;
    app.create_customer(json!({"external_id": "b", "plan": "free", "tags": ["vip"]}))
        .await;
    let c = app.create_customer(json!({"external_id": "c", "plan": "pro"})).await;
    let ids = |v: serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["external_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let get = |q: &str| app.req(Method::GET, &format!("/v1/customers?{q}")).send();
    assert_eq!(
        ids(expect(get("tag=vip").await.unwrap(), StatusCode::OK).await),
        ["a", "b"]
    );
    assert_eq!(
        ids(expect(get("plan=pro").await.unwrap(), StatusCode::OK).await),
        ["a", "c"]
    );
    assert_eq!(
        ids(expect(get("plan=pro&tag=vip").await.unwrap(), StatusCode::OK).await),
        ["a"]
    );
    let since = c["updated_at"].as_str().unwrap().replace('+', "%2B");
    assert_eq!(
        ids(expect(get(&format!("updated_since={since}")).await.unwrap(), StatusCode::OK).await),
        ["c"]
    );
}

#[actix_web::test]
async fn merge_patch_sets_and_removes_fields() {
    let app = spawn().await;
    let c = app.create_customer(customer_body("m-1")).await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    let res = app
        .req(Method::PATCH, &path)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"plan": "enterprise", "email": null, "attributes": {"seats": 40, "region": "eu"}}"#)
        .send()
        .await
        .unwrap();
    let patched = expect(res, StatusCode::OK).await;
    assert_eq!(patched["plan"], "enterprise");
    assert!(patched["email"].is_null());
    assert_eq!(patched["attributes"], json!({"seats": 40, "region": "eu"}));
    assert_eq!(patched["name"], c["name"], "untouched fields stay");
    assert_ne!(patched["updated_at"], c["updated_at"]);
}

#[actix_web::test]
async fn patching_to_a_taken_external_id_is_a_conflict_and_changes_nothing() {
    let app = spawn().await;
    app.create_customer(customer_body("taken")).await;
    let c = app.create_customer(customer_body("mine")).await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    let res = app
        .req(Method::PATCH, &path)
        .json(&json!({"external_id": "taken"}))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::CONFLICT, "external_id_conflict").await;
    assert_eq!(
        expect(app.req(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await,
        c
    );
}

#[actix_web::test]
async fn erase_removes_everything_and_later_reads_are_404() {
    let app = spawn().await;
    let c = app.create_customer(customer_body("gone")).await;
    let id = c["id"].as_str().unwrap();
    let prefs = json!({"tone": "formal", "consent": {"email": {"granted": true}}});
    expect(
        app.req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
            .json(&prefs)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;

    let res = app
        .req(Method::DELETE, &format!("/v1/customers/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for path in [
        format!("/v1/customers/{id}"),
        format!("/v1/customers/{id}/preferences"),
        format!("/v1/customers/{id}/preferences/history"),
        format!("/v1/customers/{id}/export"),
        "/v1/customers/by-external-id/gone".to_owned(),
    ] {
        expect_problem(
            app.req(Method::GET, &path).send().await.unwrap(),
            StatusCode::NOT_FOUND,
            "customer_not_found",
        )
        .await;
    }
    let res = app
        .req(Method::DELETE, &format!("/v1/customers/{id}"))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "customer_not_found").await;

    // The external id is free again, and the new customer starts with no history.
    let again = app.create_customer(customer_body("gone")).await;
    assert_ne!(again["id"], c["id"]);
    let history = app.req(
        Method::GET,
        &format!("/v1/customers/{}/preferences/history", again["id"].as_str().unwrap()),
    );
    assert_eq!(
        expect(history.send().await.unwrap(), StatusCode::OK).await["items"],
        json!([])
    );
}

#[actix_web::test]
async fn export_holds_profile_preferences_and_history() {
    let app = spawn().await;
    let c = app.create_customer(customer_body("exp")).await;
    let id = c["id"].as_str().unwrap();
    let prefs_path = format!("/v1/customers/{id}/preferences");
    expect(
        app.req(Method::PUT, &prefs_path)
            .json(&json!({"tone": "formal"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    expect(
        app.req(Method::PATCH, &prefs_path)
            .json(&json!({"tone": "casual"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;

    let export = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/export"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(export["customer"], c);
    assert_eq!(export["preferences"]["tone"], "casual");
    let history = export["preference_history"].as_array().unwrap();
    let changes: HashSet<(String, String)> = history
        .iter()
        .map(|h| (h["old_value"].to_string(), h["new_value"].to_string()))
        .collect();
    assert_eq!(
        changes,
        HashSet::from([
            ("null".into(), "\"formal\"".into()),
            ("\"formal\"".into(), "\"casual\"".into())
        ])
    );
}
