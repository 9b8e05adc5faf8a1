//! A battery of bad requests: each gets a 4xx problem document, none a 5xx, and stored data stays intact.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, expect, expect_problem, spawn, MAX_BODY};

/// Method, path, content type, body, expected status, expected code.
type Case = (Method, String, &'static str, Vec<u8>, StatusCode, &'static str);

#[actix_web::test]
async fn bad_requests_get_4xx_problem_documents_and_change_nothing() {
    let app = spawn().await;
    let c = app.create_customer(customer_body("keep")).await;
    let id = c["id"].as_str().unwrap().to_owned();
    let cust = format!("/v1/customers/{id}");
    let prefs = format!("{cust}/preferences");
    let big = json!({"external_id": "big", "name": "x".repeat(MAX_BODY)}).to_string();
    let json_ct = "application/json";

    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            b"{\"external_id\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            b"not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            b"{\"external_id\": \"\xff\xfe\"}".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": 42}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "a", "tags": "vip"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "a", "nickname": "x"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "a", "signup_date": "yesterday"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"[1, 2]"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "a", "email": "not-an-email"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "a", "timezone": "Europe/Atlantis"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_timezone",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "a", "language": "english"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_language",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "a", "phone": "call me"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_phone",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "a", "lifetime_value": -3}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "   "}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"name": "no external id"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "a/b"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            format!(
                r#"{{"external_id": "a", "attributes": {{"blob": "{}"}}}}"#,
                "x".repeat(20_000)
            )
            .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "attributes_too_large",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            br#"{"external_id": "keep"}"#.to_vec(),
            StatusCode::CONFLICT,
            "external_id_conflict",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            json_ct,
            big.clone().into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            Method::PATCH,
            cust.clone(),
            json_ct,
            big.into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            "text/plain",
            br#"{"external_id": "a"}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/v1/customers".into(),
            "",
            br#"{"external_id": "a"}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Method::PATCH,
            cust.clone(),
            json_ct,
            br#"{"timezone": "Nowhere"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_timezone",
        ),
        (
            Method::PATCH,
            cust.clone(),
            json_ct,
            br#"{"email": "a@b"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
        ),
        (
            Method::PATCH,
            cust.clone(),
            json_ct,
            br#"{"plan": 7}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::PATCH,
            cust.clone(),
            json_ct,
            br#""plan""#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::PATCH,
            cust.clone(),
            json_ct,
            br#"{"external_id": null}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::PUT,
            prefs.clone(),
            json_ct,
            br#"{"max_contacts_per_week": "two"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::PUT,
            format!("{prefs}?source="),
            json_ct,
            b"{}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::PUT,
            format!("{prefs}?colour=blue"),
            json_ct,
            b"{}".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/customers/cus_nope".into(),
            "",
            vec![],
            StatusCode::NOT_FOUND,
            "customer_not_found",
        ),
        (
            Method::GET,
            "/v1/customers/%FF%FE".into(),
            "",
            vec![],
            StatusCode::NOT_FOUND,
            "customer_not_found",
        ),
        (
            Method::PATCH,
            "/v1/customers/cus_nope".into(),
            json_ct,
            b"{}".to_vec(),
            StatusCode::NOT_FOUND,
            "customer_not_found",
        ),
        (
            Method::PUT,
            "/v1/customers/cus_nope/preferences".into(),
            json_ct,
            b"{}".to_vec(),
            StatusCode::NOT_FOUND,
            "customer_not_found",
        ),
        (
            Method::GET,
            "/v1/customers?limit=0".into(),
            "",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/customers?limit=101".into(),
            "",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/customers?limit=ten".into(),
            "",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/customers?limit=-1".into(),
            "",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/customers?updated_since=last-week".into(),
            "",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/customers?sort=name".into(),
            "",
            vec![],
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/nothing-here".into(),
            "",
            vec![],
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
        (
            Method::POST,
            "/v1/workspaces".into(),
            json_ct,
            br#"{"id": "Bad Id", "name": "x"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_workspace_id",
        ),
    ];
    for (method, path, content_type, body, status, code) in cases {
        let mut req = app.req(method.clone(), &path);
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        if !body.is_empty() || method != Method::GET {
            req = req.body(body);
        }
        let res = req.send().await.unwrap();
        assert!(res.status().is_client_error(), "{method} {path}: {}", res.status());
        expect_problem(res, status, code).await;
    }

    // Nothing above changed the stored customer.
    assert_eq!(
        expect(app.req(Method::GET, &cust).send().await.unwrap(), StatusCode::OK).await,
        c
    );
    let list = expect(
        app.req(Method::GET, "/v1/customers").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let history = expect(
        app.req(Method::GET, &format!("{prefs}/history")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["items"], json!([]));
}
