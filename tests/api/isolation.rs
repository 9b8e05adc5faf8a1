//! Workspace isolation, generated from the committed OpenAPI document: every operation with a path parameter,
//! called by workspace B with workspace A's ids, answers exactly as it does for a made-up id (404) and changes
//! nothing of A's; every list, search and claim of B shows none of A's ids or words. A new operation whose path
//! parameter or body this file cannot fill fails the suite instead of being skipped.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect, spawn, TestApp};
use fixtures::{body, made_up, populate, post, Ids, Res};

mod fixtures;

/// A word only A's data contains (its customer's name and messages), looked for in everything B sees.
const MARKER: &str = "zorblax";

/// Every path parameter of the API, by the path segment in front of it and its name. A parameter missing here
/// fails `every_path_parameter_of_the_spec_is_in_the_table`.
const PARAMS: &[(&str, &str, Res)] = &[
    ("customers", "id", Res::Customer),
    ("by-external-id", "external_id", Res::ExternalId),
    ("interactions", "iid", Res::Interaction),
    ("memories", "mid", Res::Memory),
    ("campaigns", "id", Res::Campaign),
    ("incidents", "id", Res::Incident),
    ("knowledge", "id", Res::Knowledge),
    ("teams", "id", Res::Team),
    ("jobs", "id", Res::Job),
    ("keys", "id", Res::Key),
    ("outreach", "id", Res::Outreach),
];

/// Operations that do not answer 404 to another workspace's id, and why; everything else must.
const EXCEPTIONS: &[(&str, StatusCode, &str)] = &[
    // Job definitions are global, managed by operators (admins of the default workspace); runs are per workspace.
    (
        "GET /v1/jobs/{id}",
        StatusCode::OK,
        "shared definition, B's own last run",
    ),
    ("GET /v1/jobs/{id}/runs", StatusCode::OK, "B's own runs"),
    ("POST /v1/jobs/{id}/run", StatusCode::OK, "runs in B's workspace"),
    ("PATCH /v1/jobs/{id}", StatusCode::FORBIDDEN, "operators only"),
    ("DELETE /v1/jobs/{id}", StatusCode::FORBIDDEN, "operators only"),
    // External ids name customers within a workspace: B's upsert creates B's own customer.
    (
        "PUT /v1/customers/by-external-id/{external_id}",
        StatusCode::CREATED,
        "B's own customer",
    ),
];

/// One operation of the spec.
#[derive(Debug, Clone)]
struct Op {
    method: Method,
    path: String,
    /// Path parameters in order, with what they name (`None`: not in `PARAMS`).
    params: Vec<(String, Option<Res>)>,
    /// Content type of the request body, when it has one.
    content_type: Option<String>,
    /// Names of the query parameters.
    query: Vec<String>,
}

impl Op {
    fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path with each parameter filled by `fill`.
    fn fill(&self, mut fill: impl FnMut(usize, Res) -> String) -> String {
        let mut path = self.path.clone();
        for (i, (name, res)) in self.params.iter().enumerate() {
            path = path.replace(&format!("{{{name}}}"), &fill(i, res.expect("checked")));
        }
        path
    }
}

/// Every operation of the committed spec (the drift test keeps it equal to the served one).
fn operations() -> Vec<Op> {
    let spec: Value = serde_json::from_str(&std::fs::read_to_string("openapi/openapi.json").unwrap()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let segments: Vec<&str> = path.split('/').collect();
        let params: Vec<(String, Option<Res>)> = segments
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let name = s.strip_prefix('{')?.strip_suffix('}')?;
                let res = PARAMS
                    .iter()
                    .find(|(before, n, _)| *before == segments[i - 1] && *n == name)
                    .map(|(_, _, r)| *r);
                Some((name.to_owned(), res))
            })
            .collect();
        for (method, op) in item.as_object().unwrap() {
            ops.push(Op {
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                params: params.clone(),
                content_type: op["requestBody"]["content"]
                    .as_object()
                    .and_then(|c| c.keys().next().cloned()),
                query: op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect(),
            });
        }
    }
    ops
}

/// Status, content type and body text of a request.
async fn call(app: &TestApp, key: &str, op: &Op, path: &str, body: Option<&Value>) -> (StatusCode, String, String) {
    let mut req = app.req_as(key, op.method.clone(), path);
    if let (Some(ct), Some(body)) = (&op.content_type, body) {
        req = req.header("content-type", ct.as_str()).body(body.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

/// The strings of A's that B must never see: its ids (but the shared job's), its run, its marker word.
fn secrets(a: &Ids) -> Vec<String> {
    let mut out: Vec<String> =
        a.of.iter()
            .filter(|(r, _)| **r != Res::Job && **r != Res::ExternalId)
            .map(|(_, v)| v.clone())
            .collect();
    out.push(a.extra["run"].clone());
    out.push(MARKER.into());
    out
}

fn assert_no_leak(what: &str, text: &str, a: &Ids) {
    let lower = text.to_lowercase();
    for s in secrets(a) {
        assert!(!lower.contains(&s.to_lowercase()), "{what} shows A's {s}: {text}");
    }
}

/// A response body with the ids the request named replaced by placeholders and request-specific fields removed.
fn normalised(text: &str, named: &[String]) -> Value {
    let mut text = text.to_owned();
    for (i, id) in named.iter().enumerate() {
        text = text.replace(id.as_str(), &format!("{{param{i}}}"));
    }
    let mut v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if let Some(o) = v.as_object_mut() {
        o.remove("instance");
        o.remove("request_id");
    }
    v
}

/// Fields that A's own reads move: the time of an export, a key's last use, the health history that every
/// health read appends to.
const VOLATILE: &[&str] = &[
    "exported_at",
    "last_used_at",
    "health_history",
    "history",
    "computed_at",
];

fn strip(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.retain(|k, _| !VOLATILE.contains(&k.as_str()));
            o.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

/// Everything A can read, operation by operation, with A's key and A's ids.
async fn snapshot(app: &TestApp, a: &Ids, ops: &[Op]) -> BTreeMap<String, (StatusCode, Value)> {
    let mut out = BTreeMap::new();
    // `/metrics` is process-wide operations data (it counts B's requests by design and names workspaces only).
    for op in ops.iter().filter(|o| o.method == Method::GET && o.path != "/metrics") {
        let path = op.fill(|_, r| a.get(r));
        let (status, _, text) = call(app, &a.admin, op, &path, None).await;
        assert!(
            op.params.is_empty() || status.is_success(),
            "A reads {}: {status} {text}",
            op.key()
        );
        let mut v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        strip(&mut v);
        if op.path == "/v1/audit" {
            // The snapshot's own export reads are audited; anything else B's requests would have added stays.
            if let Some(Value::Array(items)) = v.get_mut("items") {
                items.retain(|e| e["action"] != "customer_exported");
            }
        }
        out.insert(op.key(), (status, v));
    }
    out
}

#[test]
fn every_path_parameter_of_the_spec_is_in_the_table() {
    let ops = operations();
    for op in &ops {
        for (name, res) in &op.params {
            assert!(
                res.is_some(),
                "{}: add its parameter `{name}` to PARAMS in tests/api/isolation.rs",
                op.key()
            );
        }
        if op.content_type.is_some() {
            assert!(
                body(&op.key(), &Ids::default()).is_some(),
                "{}: add a valid body to body() in tests/api/isolation/fixtures.rs",
                op.key()
            );
        }
    }
    for (key, _, _) in EXCEPTIONS {
        assert!(
            ops.iter().any(|o| o.key() == *key),
            "the exception {key} names no operation"
        );
    }
    assert!(
        ops.iter().filter(|o| !o.params.is_empty()).count() >= 30,
        "the spec was read"
    );
}

#[actix_web::test]
async fn another_workspaces_ids_answer_like_made_up_ones_and_change_nothing() {
    let app = spawn().await;
    let ops = operations();
    let a = populate(&app, "alpha", "Zorblax").await;
    let b = populate(&app, "beta", "Lumen").await;
    let fake: BTreeMap<Res, String> = a.of.iter().map(|(r, v)| (*r, made_up(*r, v))).collect();
    let before = snapshot(&app, &a, &ops).await;

    for op in ops.iter().filter(|o| !o.params.is_empty()) {
        let key = op.key();
        let body = op.content_type.as_ref().map(|_| body(&key, &b).unwrap());
        let named = |ids: &dyn Fn(Res) -> String| op.params.iter().map(|(_, r)| ids(r.unwrap())).collect::<Vec<_>>();
        let with_a = op.fill(|_, r| a.get(r));
        let (status, _, text) = call(&app, &b.admin, op, &with_a, body.as_ref()).await;
        if let Some((_, expected, why)) = EXCEPTIONS.iter().find(|(k, _, _)| *k == key) {
            assert_eq!(status, *expected, "{key} ({why}): {text}");
            assert_no_leak(&key, &text, &a);
            continue;
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "{key} with A's ids: {text}");
        // The route matched and the resource was looked up: not a 404 for a path the server does not know.
        let code = serde_json::from_str::<Value>(&text).unwrap()["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            code.ends_with("_not_found") && code != "route_not_found",
            "{key}: {text}"
        );
        let with_fake = op.fill(|_, r| fake[&r].clone());
        let (fake_status, _, fake_text) = call(&app, &b.admin, op, &with_fake, body.as_ref()).await;
        assert_eq!(
            fake_status,
            StatusCode::NOT_FOUND,
            "{key} with made-up ids: {fake_text}"
        );
        assert_eq!(
            normalised(&text, &named(&|r| a.get(r))),
            normalised(&fake_text, &named(&|r| fake[&r].clone())),
            "{key}: A's ids and made-up ones answer differently"
        );
        // B's own customer with A's interaction, memory...: still nobody's.
        if op.params.len() > 1 {
            let mixed = op.fill(|i, r| if i == 0 { b.get(r) } else { a.get(r) });
            let (status, _, text) = call(&app, &b.admin, op, &mixed, body.as_ref()).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{key} with B's customer and A's ids: {text}"
            );
            let mixed_fake = op.fill(|i, r| if i == 0 { b.get(r) } else { fake[&r].clone() });
            let (_, _, fake_text) = call(&app, &b.admin, op, &mixed_fake, body.as_ref()).await;
            let named_mixed = |other: &dyn Fn(Res) -> String| {
                op.params
                    .iter()
                    .enumerate()
                    .map(|(i, (_, r))| if i == 0 { b.get(r.unwrap()) } else { other(r.unwrap()) })
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                normalised(&text, &named_mixed(&|r| a.get(r))),
                normalised(&fake_text, &named_mixed(&|r| fake[&r].clone())),
                "{key}: B's customer with A's child ids answers differently from made-up ones"
            );
        }
    }

    let after = snapshot(&app, &a, &ops).await;
    for (key, was) in &before {
        assert_eq!(&after[key], was, "{key} changed for A after B's requests");
    }
    // A's second key still works, and A's queued item is handed out once, to A.
    let res = app
        .req_as(&a.extra["secret"], Method::GET, "/v1/customers")
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    let claimed = post(&app, &a.admin, "/v1/outreach/claim", json!({"max": 500})).await;
    let claimed: Vec<&str> = claimed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(claimed, [a.get(Res::Outreach)]);
}

#[actix_web::test]
async fn lists_searches_and_claims_of_another_workspace_show_nothing_of_ours() {
    let app = spawn().await;
    let ops = operations();
    let a = populate(&app, "alpha", "Zorblax").await;
    let b = populate(&app, "beta", "Lumen").await;
    for op in ops.iter().filter(|o| o.params.is_empty() && o.path.starts_with("/v1/")) {
        let key = op.key();
        let body = match op.method {
            Method::GET => None,
            _ => Some(
                body(&key, &b)
                    .unwrap_or_else(|| panic!("{key}: add a body to body() in tests/api/isolation/fixtures.rs")),
            ),
        };
        let (status, _, text) = call(&app, &b.admin, op, &op.path, body.as_ref().filter(|b| !b.is_null())).await;
        assert!(status.as_u16() < 500, "{key}: {status} {text}");
        assert_no_leak(&key, &text, &a);
        // B's claim hands out B's own item only.
        if key == "POST /v1/outreach/claim" {
            assert!(text.contains(&b.get(Res::Outreach)), "B claims its own item: {text}");
        }
        // A's customer id as a filter or in a body names nobody for B.
        let fake = made_up(Res::Customer, &a.get(Res::Customer));
        if op.query.iter().any(|q| q == "customer_id") {
            let (status, _, text) = call(
                &app,
                &b.admin,
                op,
                &format!("{}?customer_id={}", op.path, a.get(Res::Customer)),
                None,
            )
            .await;
            assert!(status.as_u16() < 500, "{key} filtered by A's customer: {status} {text}");
            assert_no_leak(&key, &text, &a);
        }
        if let Some(mut body) = body.filter(|b| b.get("customer_id").is_some()) {
            body["customer_id"] = json!(a.get(Res::Customer));
            let (status, _, text) = call(&app, &b.admin, op, &op.path, Some(&body)).await;
            body["customer_id"] = json!(fake);
            let (_, _, fake_text) = call(&app, &b.admin, op, &op.path, Some(&body)).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{key} with A's customer in the body: {text}"
            );
            assert_eq!(
                normalised(&text, &[a.get(Res::Customer)]),
                normalised(&fake_text, &[fake]),
                "{key}"
            );
        }
    }
    // The searches found B's own similar data: they were not empty by accident.
    let found = post(
        &app,
        &b.admin,
        "/v1/search",
        json!({"query": "hub disconnects every night"}),
    )
    .await;
    assert!(found.to_string().contains(&b.get(Res::Customer)), "{found}");
    let listed = expect(
        app.req_as(&b.admin, Method::GET, "/v1/customers").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(listed.to_string().contains(&b.get(Res::Customer)), "{listed}");
    // B's claim left A's item queued for A.
    let claimed = post(&app, &a.admin, "/v1/outreach/claim", json!({"max": 500})).await;
    assert_eq!(claimed[0]["id"], a.get(Res::Outreach), "{claimed}");
}
