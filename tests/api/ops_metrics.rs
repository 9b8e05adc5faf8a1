//! `GET /metrics`: the body parses with an independent Prometheus text parser, and a few series hold sensible
//! values after some requests; a configured metrics token closes it.

use prometheus_parse::{Scrape, Value as Sample};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, expect_problem, spawn, spawn_with, TestApp, ADMIN_KEY};

async fn scrape(app: &TestApp) -> (String, Scrape) {
    let res = app.anon(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let body = res.text().await.unwrap();
    let parsed = Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    (body, parsed)
}

/// The value of a counter or gauge with these labels.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match s.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => Some(v),
            _ => None,
        })
}

#[actix_web::test]
async fn metrics_parse_and_count_requests_customers_and_the_store() {
    let app = spawn().await;
    let a = app.create_customer(customer_body("m-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_customer(customer_body("m-2")).await;
    app.post_interaction(
        &a,
        &json!({"external_id": "t-1", "channel": "chat", "status": "open", "opened_at": "2026-11-01T10:00:00Z",
            "messages": [{"id": "m", "role": "customer", "text": "My hub keeps going offline.", "sent_at": "2026-11-01T10:00:00Z"}]}),
        StatusCode::CREATED,
    )
    .await;
    let missing = app
        .req(Method::GET, "/v1/customers/cus_nope-secret-path")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.anon(Method::GET, "/no-such-route-xyz").send().await.unwrap();
    let bad = app.req(Method::GET, "/v1/customers?limit=0").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let (body, s) = scrape(&app).await;
    // Counters are process-wide (other tests' servers add to them): at least ours.
    let created = value(
        &s,
        "rappel_http_requests_total",
        &[("method", "POST"), ("route", "/v1/customers"), ("status", "201")],
    );
    assert!(created.unwrap_or(0.0) >= 2.0, "{created:?}");
    let refused = value(
        &s,
        "rappel_http_requests_total",
        &[("route", "/v1/customers"), ("status", "400")],
    );
    assert!(refused.unwrap_or(0.0) >= 1.0, "{refused:?}");
    // prometheus-parse reads no label value holding braces, so templated routes are checked in the text.
    assert!(body.contains(r#"rappel_http_requests_total{method="GET",route="/v1/customers/{id}",status="404"}"#));
    assert!(
        !body.contains("cus_nope-secret-path") && !body.contains("no-such-route-xyz"),
        "raw paths are no labels"
    );
    let latency = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "rappel_http_request_duration_seconds"
                && x.labels.get("route") == Some("/v1/customers")
                && x.labels.get("method") == Some("POST")
        })
        .expect("a latency histogram for the route and method");
    match &latency.value {
        Sample::Histogram(buckets) => {
            let total = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
            assert!(total >= 2.0, "{buckets:?}");
            assert!(
                buckets.windows(2).all(|w| w[0].count <= w[1].count),
                "cumulative buckets"
            );
        }
        other => panic!("not a histogram: {other:?}"),
    }
    assert!(
        s.samples.iter().any(|x| x.metric == "rappel_embedding_batch_texts"),
        "the interaction's message was embedded"
    );
    // Gauges come from this server's store.
    assert_eq!(value(&s, "rappel_customers", &[("workspace", "default")]), Some(2.0));
    assert!(value(&s, "rappel_memories", &[("workspace", "default")]).unwrap_or(0.0) >= 1.0);
    assert!(value(&s, "rappel_store_file_bytes", &[]).unwrap_or(0.0) > 0.0);
    let pending = value(&s, "rappel_index_pending_memories", &[]).expect("the vector index's backlog");
    assert!(
        (0.0..=value(&s, "rappel_memories", &[("workspace", "default")]).unwrap_or(0.0)).contains(&pending),
        "{pending}"
    );
    assert!(!body.contains("Camille"), "no customer data in the metrics");

    // Knowledge documents and chunks per workspace.
    let res = app
        .req(Method::POST, "/v1/knowledge")
        .json(&json!({"title": "Hub offline", "language": "en",
                      "body": "## Restart\n\nUnplug the hub.\n\n## Reset\n\nHold the button for ten seconds."}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, s) = scrape(&app).await;
    assert_eq!(
        value(&s, "rappel_knowledge_documents", &[("workspace", "default")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "rappel_knowledge_chunks", &[("workspace", "default")]),
        Some(2.0)
    );
}

#[actix_web::test]
async fn a_metrics_token_closes_the_endpoint_to_everyone_else() {
    let token = "metrics-token-0123456789";
    let app = spawn_with(|s| s.metrics_token = Some(token.into())).await;
    let res = app.anon(Method::GET, "/metrics").send().await.unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED, "missing_api_key").await;
    let res = app.req_as(ADMIN_KEY, Method::GET, "/metrics").send().await.unwrap();
    expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    let res = app.req_as(token, Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("rappel_store_file_bytes"));
}
