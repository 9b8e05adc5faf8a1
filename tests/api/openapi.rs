//! The OpenAPI document: the served spec equals the committed file, and every operation is summarised and
//! documents its errors.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{expect, spawn};

#[actix_web::test]
async fn served_spec_matches_the_committed_file() {
    let app = spawn().await;
    let served = expect(
        app.anon(Method::GET, "/api-docs/openapi.json").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let committed: Value = serde_json::from_str(&std::fs::read_to_string("openapi/openapi.json").unwrap()).unwrap();
    assert!(
        served == committed,
        "openapi/openapi.json is stale: regenerate it with `make openapi` (cargo run -- openapi > openapi/openapi.json)"
    );
}

#[actix_web::test]
async fn every_operation_is_summarised_and_documents_its_errors() {
    let app = spawn().await;
    let spec = expect(
        app.anon(Method::GET, "/api-docs/openapi.json").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let what = format!("{method} {path}");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{what} has no summary"
            );
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                assert!(
                    response["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{what} {status} has no description"
                );
            }
            if path.starts_with("/v1/") {
                for status in ["401", "403", "429"] {
                    assert!(responses.contains_key(status), "{what} does not document {status}");
                }
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{what} documents no success"
                );
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{what} does not document {status}");
                }
            }
        }
    }
    assert_eq!(operations, 78);
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
}
