//! API keys and scopes over HTTP: 401 without a valid key, scopes limiting what a key may do, keys shown once
//! and revocable, no key reaching another workspace's data, health and docs open to all.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, expect, expect_problem, spawn};

#[actix_web::test]
async fn requests_without_a_valid_key_are_401() {
    let app = spawn().await;
    let res = app.anon(Method::GET, "/v1/customers").send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    expect_problem(res, StatusCode::UNAUTHORIZED, "missing_api_key").await;
    let res = app
        .req_as("rpl_not_a_key", Method::GET, "/v1/customers")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    let res = app
        .anon(Method::GET, "/v1/customers")
        .header("authorization", "Basic dXNlcjpwdw==")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    let res = app
        .anon(Method::GET, "/v1/customers")
        .header("authorization", b"Bearer \xff\xfe".as_slice())
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
}

#[actix_web::test]
async fn scopes_limit_what_a_key_can_do() {
    let app = spawn().await;
    let c = app.create_customer(customer_body("s-1")).await;
    let path = format!("/v1/customers/{}", c["id"].as_str().unwrap());
    let read = app.key_with(&["read"]).await;
    let write = app.key_with(&["write"]).await;

    expect(
        app.req_as(&read, Method::GET, &path).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let res = app
        .req_as(&read, Method::PATCH, &path)
        .json(&json!({"plan": "x"}))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::FORBIDDEN, "insufficient_scope").await;
    let res = app.req_as(&read, Method::DELETE, &path).send().await.unwrap();
    expect_problem(res, StatusCode::FORBIDDEN, "insufficient_scope").await;

    expect(
        app.req_as(&write, Method::PATCH, &path)
            .json(&json!({"plan": "x"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    expect(
        app.req_as(&write, Method::GET, &path).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let res = app.req_as(&write, Method::GET, "/v1/keys").send().await.unwrap();
    expect_problem(res, StatusCode::FORBIDDEN, "insufficient_scope").await;
}

#[actix_web::test]
async fn keys_are_shown_once_listed_without_secret_and_revocable() {
    let app = spawn().await;
    let res = app
        .req(Method::POST, "/v1/keys")
        .json(&json!({"name": "bot", "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    let created = expect(res, StatusCode::CREATED).await;
    let (id, secret) = (created["id"].as_str().unwrap(), created["secret"].as_str().unwrap());
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));

    let list = expect(app.req(Method::GET, "/v1/keys").send().await.unwrap(), StatusCode::OK).await;
    let listed = list.as_array().unwrap().iter().find(|k| k["id"] == id).unwrap();
    assert!(listed.get("secret").is_none() && listed.get("hash").is_none());

    expect(
        app.req_as(secret, Method::GET, "/v1/customers").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let revoked = expect(
        app.req(Method::DELETE, &format!("/v1/keys/{id}")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(revoked["revoked_at"].is_string());
    let res = app.req_as(secret, Method::GET, "/v1/customers").send().await.unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    let res = app.req(Method::DELETE, "/v1/keys/key_unknown").send().await.unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "api_key_not_found").await;
    let res = app
        .req(Method::POST, "/v1/keys")
        .json(&json!({"name": "x", "scopes": ["root"]}))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let res = app
        .req(Method::POST, "/v1/keys")
        .json(&json!({"name": "x", "scopes": []}))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
}

#[actix_web::test]
async fn no_key_reaches_another_workspaces_data() {
    let app = spawn().await;
    let res = app
        .req(Method::POST, "/v1/workspaces")
        .json(&json!({"id": "acme", "name": "Acme"}))
        .send()
        .await
        .unwrap();
    let created = expect(res, StatusCode::CREATED).await;
    let acme = created["admin_key"]["secret"].as_str().unwrap().to_owned();
    let res = app
        .req(Method::POST, "/v1/workspaces")
        .json(&json!({"id": "acme", "name": "Acme"}))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::CONFLICT, "workspace_exists").await;

    let ours = app.create_customer(customer_body("same-ext")).await;
    let res = app
        .req_as(&acme, Method::POST, "/v1/customers")
        .json(&customer_body("same-ext"))
        .send()
        .await
        .unwrap();
    let theirs = expect(res, StatusCode::CREATED).await;
    assert_eq!(theirs["workspace"], "acme");

    for (key, foreign) in [(acme.as_str(), &ours), (crate::helpers::ADMIN_KEY, &theirs)] {
        let id = foreign["id"].as_str().unwrap();
        for (method, path) in [
            (Method::GET, format!("/v1/customers/{id}")),
            (Method::DELETE, format!("/v1/customers/{id}")),
            (Method::GET, format!("/v1/customers/{id}/preferences")),
            (Method::GET, format!("/v1/customers/{id}/export")),
        ] {
            let res = app.req_as(key, method, &path).send().await.unwrap();
            expect_problem(res, StatusCode::NOT_FOUND, "customer_not_found").await;
        }
        let res = app
            .req_as(key, Method::PATCH, &format!("/v1/customers/{id}"))
            .json(&json!({"plan": "x"}))
            .send()
            .await
            .unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, "customer_not_found").await;
        let res = app
            .req_as(key, Method::PUT, &format!("/v1/customers/{id}/preferences"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, "customer_not_found").await;
    }
    let list = expect(
        app.req_as(&acme, Method::GET, "/v1/customers").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let by_ext = expect(
        app.req(Method::GET, "/v1/customers/by-external-id/same-ext")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_ext["id"], ours["id"]);

    // Only operators (admins of the default workspace) manage workspaces.
    let res = app
        .req_as(&acme, Method::POST, "/v1/workspaces")
        .json(&json!({"id": "evil", "name": "x"}))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::FORBIDDEN, "insufficient_scope").await;
    let keys = expect(
        app.req_as(&acme, Method::GET, "/v1/keys").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(keys.as_array().unwrap().iter().all(|k| k["workspace"] == "acme"));
}

#[actix_web::test]
async fn health_and_docs_need_no_key_and_carry_a_request_id() {
    let app = spawn().await;
    let res = app.anon(Method::GET, "/healthz").send().await.unwrap();
    assert!(!res.headers()["x-request-id"].is_empty());
    assert_eq!(expect(res, StatusCode::OK).await["status"], "ok");
    let ready = expect(app.anon(Method::GET, "/readyz").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(
        ready,
        json!({"status": "ready", "model": "multilingual-e5-small", "dimension": 384})
    );
    let res = app
        .anon(Method::GET, "/healthz")
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-42");
    let res = app
        .anon(Method::GET, "/v1/customers")
        .header("x-request-id", "trace-43")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-43", "errors echo the id too");
    let res = app
        .anon(Method::GET, "/healthz")
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "bad id with spaces");
    expect(
        app.anon(Method::GET, "/api-docs/openapi.json").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let ui = app.anon(Method::GET, "/swagger-ui/").send().await.unwrap();
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().contains("swagger"));
}
