//! The audit log: who did what, kept after erasure without personal data, for admins of the workspace only.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, expect_problem, spawn, spawn_clocked, tables_mentioning, TestApp};

/// Creates a key with these scopes and returns (id, secret).
async fn key(app: &TestApp, scopes: &[&str]) -> (String, String) {
    let res = app
        .req(Method::POST, "/v1/keys")
        .json(&json!({"name": "audited", "scopes": scopes}))
        .send()
        .await
        .unwrap();
    let created = expect(res, StatusCode::CREATED).await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// The audit log as `key` sees it with this query string.
async fn audit_as(app: &TestApp, key: &str, query: &str) -> Value {
    let res = app
        .req_as(key, Method::GET, &format!("/v1/audit{query}"))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await
}

fn actions(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn an_erasure_is_recorded_with_the_key_and_outlives_the_customer_without_personal_data() {
    let app = spawn().await;
    let (key_id, writer) = key(&app, &["write"]).await;
    let res = app
        .req_as(&writer, Method::POST, "/v1/customers")
        .json(&customer_body("audit-erase"))
        .send()
        .await
        .unwrap();
    let id = expect(res, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patch = json!({"do_not_contact": true, "consent": {"email": {"granted": true, "source": "Camille's form"}}});
    let res = app
        .req_as(&writer, Method::PATCH, &format!("/v1/customers/{id}/preferences"))
        .header("content-type", "application/merge-patch+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    let res = app
        .req_as(&writer, Method::GET, &format!("/v1/customers/{id}/export"))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    let res = app
        .req_as(&writer, Method::DELETE, &format!("/v1/customers/{id}"))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NO_CONTENT).await;

    let log = audit_as(&app, crate::helpers::ADMIN_KEY, &format!("?target_id={id}")).await;
    assert_eq!(
        actions(&log),
        [
            "consent_changed",
            "do_not_contact_changed",
            "customer_exported",
            "customer_erased"
        ],
        "{log}"
    );
    for entry in log["items"].as_array().unwrap() {
        assert_eq!(entry["actor"], key_id.as_str());
        assert_eq!(entry["workspace"], "default");
        assert_eq!(entry["target_kind"], "customer");
    }
    let consent = &log["items"][0]["detail"];
    assert_eq!(consent, &json!({"channel": "email", "new": true}), "{log}");
    assert_eq!(log["items"][1]["detail"], json!({"old": false, "new": true}));
    let text = log.to_string();
    for personal in ["Camille", "camille@example.fr", "audit-erase", "form"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
    // The bootstrap key has its own marker.
    let keys = audit_as(&app, crate::helpers::ADMIN_KEY, "?action=key_created").await;
    assert_eq!(keys["items"][0]["actor"], "bootstrap");
    assert_eq!(keys["items"][0]["target_id"], key_id.as_str());
    assert_eq!(keys["items"][0]["detail"]["scopes"], json!(["write"]));

    // In the store: the customer's id is left only in the audit log, their personal data nowhere.
    let (dir, _keep) = app.stop().await;
    assert_eq!(tables_mentioning(&dir, &id).await, ["audit_log"]);
    for needle in ["Camille Dubois", "camille@example.fr", "audit-erase", "Camille's form"] {
        assert_eq!(tables_mentioning(&dir, needle).await, Vec::<String>::new(), "{needle}");
    }
}

#[actix_web::test]
async fn only_admin_keys_read_the_audit_log() {
    let app = spawn().await;
    for scopes in [&["write"][..], &["read"][..]] {
        let (_, secret) = key(&app, scopes).await;
        let res = app.req_as(&secret, Method::GET, "/v1/audit").send().await.unwrap();
        expect_problem(res, StatusCode::FORBIDDEN, "insufficient_scope").await;
    }
    let res = app.anon(Method::GET, "/v1/audit").send().await.unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED, "missing_api_key").await;
    let res = app.req(Method::GET, "/v1/audit?action=dancing").send().await.unwrap();
    expect_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[actix_web::test]
async fn a_workspace_never_sees_another_workspaces_entries() {
    let app = spawn().await;
    let res = app
        .req(Method::POST, "/v1/workspaces")
        .json(&json!({"id": "beta", "name": "Beta"}))
        .send()
        .await
        .unwrap();
    let created = expect(res, StatusCode::CREATED).await;
    let beta = created["admin_key"]["secret"].as_str().unwrap().to_owned();
    let ours = app.create_customer(customer_body("only-in-default")).await;
    let id = ours["id"].as_str().unwrap();
    let res = app
        .req(Method::DELETE, &format!("/v1/customers/{id}"))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NO_CONTENT).await;

    let theirs = audit_as(&app, &beta, "").await;
    assert_eq!(actions(&theirs), ["workspace_created", "key_created"], "{theirs}");
    assert!(theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["workspace"] == "beta"));
    assert_eq!(
        audit_as(&app, &beta, &format!("?target_id={id}")).await["items"],
        json!([])
    );
    // Beta's own action stays in beta.
    key_in(&app, &beta).await;
    let ours = audit_as(&app, crate::helpers::ADMIN_KEY, "").await;
    assert_eq!(actions(&ours), ["workspace_created", "customer_erased"], "{ours}");
    assert!(ours["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["workspace"] == "default"));
}

/// Creates a read key with `admin` (of any workspace).
async fn key_in(app: &TestApp, admin: &str) -> (String, String) {
    let res = app
        .req_as(admin, Method::POST, "/v1/keys")
        .json(&json!({"name": "beta reader", "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    let created = expect(res, StatusCode::CREATED).await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

#[actix_web::test]
async fn the_log_is_paged_in_written_order_and_filtered_by_time_and_action() {
    let (app, clock) = spawn_clocked("2026-11-20T09:00:00Z").await;
    let mut ids = Vec::new();
    for (i, day) in ["2026-11-20", "2026-11-21", "2026-11-22"].iter().enumerate() {
        clock.set(format!("{day}T10:00:00Z").parse().unwrap());
        ids.push(key(&app, &["read"]).await.0);
        let res = app
            .req(Method::DELETE, &format!("/v1/keys/{}", ids[i]))
            .send()
            .await
            .unwrap();
        expect(res, StatusCode::OK).await;
    }
    let first = audit_as(&app, crate::helpers::ADMIN_KEY, "?limit=4").await;
    assert_eq!(
        actions(&first),
        ["key_created", "key_revoked", "key_created", "key_revoked"]
    );
    assert_eq!(first["items"][0]["at"], "2026-11-20T10:00:00Z");
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = audit_as(&app, crate::helpers::ADMIN_KEY, &format!("?limit=4&cursor={cursor}")).await;
    assert_eq!(actions(&rest), ["key_created", "key_revoked"]);
    assert_eq!(rest["next_cursor"], Value::Null);

    let day = audit_as(
        &app,
        crate::helpers::ADMIN_KEY,
        "?since=2026-11-21T00:00:00Z&until=2026-11-22T00:00:00Z&action=key_revoked",
    )
    .await;
    assert_eq!(day["items"].as_array().unwrap().len(), 1, "{day}");
    assert_eq!(day["items"][0]["target_id"], ids[1].as_str());
    assert_eq!(day["items"][0]["target_kind"], "api_key");
}
