//! Regressions for issue 9, finding 6: the committed OpenAPI document describes what the server does. Bad cursors
//! are refused with 400 `invalid_cursor` on every list (as documented there), and stored customers, interactions
//! and incidents, as sent, match their documented schemas.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, expect_problem, spawn};

fn committed_spec() -> Value {
    serde_json::from_str(&std::fs::read_to_string("openapi/openapi.json").unwrap()).unwrap()
}

#[actix_web::test]
async fn a_bad_cursor_is_refused_with_400_invalid_cursor_on_every_list() {
    let app = spawn().await;
    let id = app.create_customer(customer_body("cursor-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lists = [
        "/v1/customers".to_owned(),
        format!("/v1/customers/{id}/interactions"),
        format!("/v1/customers/{id}/memories"),
        format!("/v1/customers/{id}/preferences/history"),
        "/v1/outreach".to_owned(),
    ];
    // A cursor of another list is refused too: "o." is the outreach list's (which takes it).
    let foreign = "o.6f75745f31";
    let long = "A".repeat(5000);
    for list in &lists {
        for cursor in ["garbage", "%00", long.as_str(), foreign, "c.zz"] {
            let separator = if list.contains('?') { '&' } else { '?' };
            let res = app
                .req(Method::GET, &format!("{list}{separator}cursor={cursor}"))
                .send()
                .await
                .unwrap();
            if list == "/v1/outreach" && cursor == foreign {
                expect(res, StatusCode::OK).await;
                continue;
            }
            let problem = expect_problem(res, StatusCode::BAD_REQUEST, "invalid_cursor").await;
            assert_eq!(problem["field"], "cursor", "{list} {cursor}");
        }
    }
    let spec = committed_spec();
    let templates = [
        "/v1/customers",
        "/v1/customers/{id}/interactions",
        "/v1/customers/{id}/memories",
        "/v1/customers/{id}/preferences/history",
        "/v1/outreach",
    ];
    for path in templates {
        let op = &spec["paths"][path]["get"];
        let cursor = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "cursor")
            .unwrap_or_else(|| panic!("{path} documents no cursor"));
        assert!(
            cursor["schema"]["pattern"].is_string(),
            "{path}: cursor without a pattern"
        );
        assert!(op["responses"]["400"].is_object(), "{path} does not document 400");
    }
}

#[actix_web::test]
async fn a_cursor_a_list_returned_pages_on_and_stays_opaque() {
    let app = spawn().await;
    for i in 0..3 {
        app.create_customer(customer_body(&format!("page-{i}"))).await;
    }
    let first = expect(
        app.req(Method::GET, "/v1/customers?limit=2").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    assert!(cursor.starts_with("c.") && !cursor.contains("cus_"), "{cursor}");
    let second = expect(
        app.req(Method::GET, &format!("/v1/customers?limit=2&cursor={cursor}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["external_id"], "page-2");
}

/// Every field of `body` is a documented property of `schema`, and every required property is there.
fn assert_matches(spec: &Value, schema: &str, body: &Value) {
    let schema = &spec["components"]["schemas"][schema];
    assert_ne!(schema["additionalProperties"], json!(false), "{schema}");
    let properties = schema["properties"].as_object().unwrap();
    for key in body.as_object().unwrap().keys() {
        assert!(properties.contains_key(key), "{key} is not documented in {schema}");
    }
    for required in schema["required"].as_array().unwrap() {
        assert!(
            body.get(required.as_str().unwrap()).is_some(),
            "{required} missing from {body}"
        );
    }
    for key in ["id", "workspace", "created_at"] {
        assert!(
            schema["required"].as_array().unwrap().contains(&json!(key)),
            "{key} not required"
        );
    }
}

#[actix_web::test]
async fn stored_customers_interactions_and_incidents_match_their_documented_schemas() {
    let app = spawn().await;
    let spec = committed_spec();
    let customer = app.create_customer(customer_body("shape-1")).await;
    assert_matches(&spec, "Customer", &customer);
    let id = customer["id"].as_str().unwrap();
    let interaction = json!({
        "external_id": "t-1", "channel": "chat", "status": "open", "opened_at": "2026-01-01T00:00:00Z",
        "messages": [{"id": "m1", "role": "customer", "text": "my hub is offline", "sent_at": "2026-01-01T00:00:00Z"}]
    });
    let stored = app.post_interaction(id, &interaction, StatusCode::CREATED).await;
    assert_matches(&spec, "Interaction", &stored);
    let incident = expect(
        app.req(Method::POST, "/v1/incidents")
            .json(&json!({"title": "Hub down", "description": "Hubs go offline at night", "started_at": "2026-01-01T00:00:00Z"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_matches(&spec, "Incident", &incident);
    let probe = expect(app.anon(Method::GET, "/readyz").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(
        spec["paths"]["/readyz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Probe"
    );
    let probe_schema = spec["components"]["schemas"]["Probe"]["properties"]
        .as_object()
        .unwrap();
    assert!(probe.as_object().unwrap().keys().all(|k| probe_schema.contains_key(k)));
}

/// Posts `body` to `path` with the admin key and returns the response.
async fn post(app: &crate::helpers::TestApp, path: &str, body: Value) -> reqwest::Response {
    app.req(Method::POST, path).json(&body).send().await.unwrap()
}

#[actix_web::test]
async fn whole_numbers_written_as_floats_are_integers_and_fractions_are_refused() {
    let app = spawn().await;
    let id = app.create_customer(customer_body("float-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let accepted = [
        (
            "/v1/outreach/claim".to_owned(),
            json!({"max": 3.0, "lease_seconds": 60.0}),
        ),
        (format!("/v1/customers/{id}/recall"), json!({"query": "hub", "k": 2.0})),
        (
            format!("/v1/customers/{id}/context"),
            json!({"message": "hub", "token_budget": 500.0}),
        ),
        (
            "/v1/search".to_owned(),
            json!({"query": "hub", "limit": 5.0, "per_customer": 1.0}),
        ),
        ("/v1/resolutions/similar".to_owned(), json!({"query": "hub", "k": 3.0})),
    ];
    for (path, body) in accepted {
        expect(post(&app, &path, body).await, StatusCode::OK).await;
    }
    let refused = [
        ("/v1/outreach/claim".to_owned(), json!({"max": 2.5})),
        (format!("/v1/customers/{id}/recall"), json!({"query": "hub", "k": 2.5})),
        ("/v1/search".to_owned(), json!({"query": "hub", "limit": "5"})),
    ];
    for (path, body) in refused {
        expect_problem(
            post(&app, &path, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        )
        .await;
    }
}

#[actix_web::test]
async fn cooldowns_beyond_ten_years_and_priorities_beyond_five_are_refused() {
    let app = spawn().await;
    let id = app.create_customer(customer_body("cool-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let queue = |hours: u64| {
        json!({"customer_id": id, "reason_code": "check_in", "reason": "Check in", "templates": {"en": "Hi"},
            "cooldown_hours": hours})
    };
    let far = post(&app, "/v1/outreach", queue(4_000_000_000)).await;
    let problem = expect_problem(far, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    assert_eq!(problem["field"], "cooldown_hours");
    let res = post(&app, "/v1/outreach", queue(87_600)).await;
    assert!(res.status().is_success(), "{}", res.status());
    let campaign = |hours: u64, priority: u64| {
        json!({"name": "Check-in", "outreach": {"templates": {"en": "Hi"}, "priority": priority},
            "cooldown_hours": hours, "timezone": "Europe/Paris"})
    };
    for (body, field) in [
        (campaign(87_601, 3), "cooldown_hours"),
        (campaign(24, 9), "outreach.priority"),
    ] {
        let problem = expect_problem(
            post(&app, "/v1/campaigns", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        )
        .await;
        assert_eq!(problem["field"], field);
    }
    expect(post(&app, "/v1/campaigns", campaign(24, 3)).await, StatusCode::CREATED).await;
}

#[actix_web::test]
async fn the_upsert_takes_a_body_without_external_id_or_with_the_paths() {
    let app = spawn().await;
    let mut body = customer_body("ignored");
    body.as_object_mut().unwrap().remove("external_id");
    let put = |body: Value| {
        app.req(Method::PUT, "/v1/customers/by-external-id/up-1")
            .json(&body)
            .send()
    };
    let created = expect(put(body.clone()).await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(created["external_id"], "up-1");
    body["external_id"] = json!("up-1");
    expect(put(body.clone()).await.unwrap(), StatusCode::OK).await;
    body["external_id"] = json!("other");
    expect_problem(
        put(body).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "external_id_mismatch",
    )
    .await;
    let spec = committed_spec();
    let schema = &spec["components"]["schemas"]["CustomerUpsert"];
    assert!(!schema["required"]
        .as_array()
        .is_some_and(|r| r.contains(&json!("external_id"))));
    assert!(spec["components"]["schemas"]["CustomerFields"]["required"]
        .as_array()
        .unwrap()
        .contains(&json!("external_id")));
}

#[actix_web::test]
async fn a_body_that_is_not_a_json_object_is_refused() {
    let app = spawn().await;
    for body in [json!([null, null]), json!([]), json!("max"), json!(3)] {
        let res = post(&app, "/v1/outreach/claim", body.clone()).await;
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
        assert!(
            problem["detail"].as_str().unwrap().contains("object"),
            "{body}: {problem}"
        );
    }
    expect(post(&app, "/v1/outreach/claim", json!({})).await, StatusCode::OK).await;
}

#[actix_web::test]
async fn a_literal_path_asked_with_another_method_is_405_even_where_a_templated_path_matches() {
    let app = spawn().await;
    for method in [Method::GET, Method::DELETE, Method::PUT] {
        let res = app.req(method.clone(), "/v1/outreach/claim").send().await.unwrap();
        assert_eq!(res.headers()["allow"], "POST", "{method}");
        expect_problem(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    }
    // The templated path still answers for ids.
    let res = app.req(Method::GET, "/v1/outreach/out_missing").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// Sends a merge patch to `path` with the admin key and returns the response.
async fn merge_patch(app: &crate::helpers::TestApp, path: &str, body: Value) -> reqwest::Response {
    app.req(Method::PATCH, path)
        .header("content-type", "application/merge-patch+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_patch_replaces_a_consent_and_quiet_hours_whole_and_merges_the_rest() {
    let app = spawn().await;
    let id = app.create_customer(customer_body("patch-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/customers/{id}/preferences");
    let first = json!({"consent": {"email": {"granted": true, "source": "signup_form"}},
        "quiet_hours": {"start": "21:00", "end": "08:00"}, "custom": {"pronouns": "she/her"}});
    expect(merge_patch(&app, &path, first).await, StatusCode::OK).await;
    let second = json!({"consent": {"email": {"granted": false}}, "custom": {"team": "blue"}});
    let prefs = expect(merge_patch(&app, &path, second).await, StatusCode::OK).await;
    // The consent is the new one (its source is the change's, not the signup form's); custom keys merged.
    assert_eq!(prefs["consent"]["email"]["granted"], false);
    assert_ne!(prefs["consent"]["email"]["source"], "signup_form");
    assert_eq!(prefs["custom"], json!({"pronouns": "she/her", "team": "blue"}));
    // Quiet hours are complete or refused, as their schema says.
    let half = merge_patch(&app, &path, json!({"quiet_hours": {"start": "22:00"}})).await;
    assert_eq!(half.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for unknown in [json!({"nickname": "x"}), json!({"nickname": null}), json!({"": null})] {
        let res = merge_patch(&app, &path, unknown).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[actix_web::test]
async fn a_job_patch_replaces_the_detector_whole_and_refuses_parameters_out_of_range() {
    let app = spawn().await;
    let path = "/v1/jobs/unresolved_aging";
    let other = json!({"detector": {"kind": "low_csat_followup", "max_csat": 1}});
    let job = expect(merge_patch(&app, path, other).await, StatusCode::OK).await;
    assert_eq!(
        job["definition"]["detector"],
        json!({"kind": "low_csat_followup", "days": 30, "max_csat": 1, "max_nps": 6})
    );
    let far = json!({"detector": {"kind": "unresolved_aging", "hours": 1e15}});
    expect_problem(
        merge_patch(&app, path, far).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_job",
    )
    .await;
    let spec = committed_spec();
    for (path, method, schema) in [
        ("/v1/customers/{id}", "patch", "CustomerPatch"),
        ("/v1/customers/{id}/preferences", "patch", "PreferencesPatch"),
        ("/v1/customers/{id}/interactions/{iid}", "patch", "InteractionPatch"),
        ("/v1/incidents/{id}", "patch", "IncidentPatch"),
        ("/v1/campaigns/{id}", "patch", "CampaignPatch"),
        ("/v1/jobs/{id}", "patch", "JobPatch"),
    ] {
        let body = &spec["paths"][path][method]["requestBody"]["content"]["application/merge-patch+json"];
        assert_eq!(
            body["schema"]["$ref"],
            format!("#/components/schemas/{schema}"),
            "{path}"
        );
        let schema = &spec["components"]["schemas"][schema];
        assert_eq!(schema["additionalProperties"], false, "{path}");
        assert!(schema.get("required").is_none(), "{path}");
    }
    assert_eq!(
        spec["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/JobDefinition"
    );
}

#[test]
fn slugs_are_documented_as_the_server_reads_them() {
    let spec = committed_spec();
    let schemas = &spec["components"]["schemas"];
    for schema in ["JobDefinition", "NewWorkspace"] {
        assert_eq!(
            schemas[schema]["properties"]["id"]["pattern"],
            "^[a-z0-9][a-z0-9_-]{0,63}$"
        );
    }
}
