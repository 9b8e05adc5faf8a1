//! Interactions, memory formation, recall, context, search, handoff and erasure, with the real model.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, expect_problem, spawn, tables_mentioning, TestApp};

fn message(id: &str, role: &str, text: &str, at: &str) -> Value {
    json!({"id": id, "role": role, "author": "x", "text": text, "sent_at": at})
}

fn ticket(ext: &str, status: &str, messages: Vec<Value>) -> Value {
    json!({"external_id": ext, "channel": "email", "subject": "Parcel", "status": status,
           "opened_at": "2026-11-01T09:00:00Z", "messages": messages})
}

async fn customer(app: &TestApp, ext: &str, language: &str) -> String {
    let mut body = customer_body(ext);
    body["language"] = json!(language);
    app.create_customer(body).await["id"].as_str().unwrap().to_owned()
}

async fn memories(app: &TestApp, id: &str, query: &str) -> Vec<Value> {
    let page = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/memories?limit=100{query}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn reposting_an_interaction_changes_nothing_and_a_longer_one_adds_only_new_messages() {
    let app = spawn().await;
    let id = customer(&app, "c-1", "en-GB").await;
    let first = ticket(
        "t-1",
        "open",
        vec![message(
            "m1",
            "customer",
            "My parcel LM-48213 never arrived.",
            "2026-11-01T09:00:00Z",
        )],
    );
    let created = app.post_interaction(&id, &first, StatusCode::CREATED).await;
    let count = memories(&app, &id, "").await.len();
    assert!(count >= 2, "a raw memory and an issue");
    let again = app.post_interaction(&id, &first, StatusCode::OK).await;
    assert_eq!(again, created);
    assert_eq!(memories(&app, &id, "").await.len(), count);

    let longer = ticket(
        "t-1",
        "open",
        vec![
            message(
                "m1",
                "customer",
                "My parcel LM-48213 never arrived.",
                "2026-11-01T09:00:00Z",
            ),
            message(
                "m2",
                "agent",
                "Sorry! We will send a replacement by Friday.",
                "2026-11-01T10:00:00Z",
            ),
        ],
    );
    let updated = app.post_interaction(&id, &longer, StatusCode::OK).await;
    assert_eq!(updated["messages"].as_array().unwrap().len(), 2);
    let all = memories(&app, &id, "").await;
    let from_m2 = all
        .iter()
        .filter(|m| m["provenance"]["message_ids"] == json!(["m2"]))
        .count();
    assert!(from_m2 >= 2, "raw memory and commitment for m2: {all:?}");
    assert_eq!(
        all.iter()
            .filter(|m| m["provenance"]["message_ids"] == json!(["m1"]))
            .count(),
        count
    );
    let listed = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/interactions"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // A message appended alone is idempotent too.
    let extra = message("m3", "customer", "Any news?", "2026-11-02T09:00:00Z");
    let path = format!("/v1/customers/{id}/interactions/t-1/messages");
    expect(
        app.req(Method::POST, &path).json(&extra).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let with_m3 = expect(
        app.req(Method::POST, &path).json(&extra).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(with_m3["messages"].as_array().unwrap().len(), 3);
    assert!(
        with_m3["messages"][2]["sentiment"]["score"].is_number(),
        "customer messages get a sentiment"
    );
}

#[actix_web::test]
async fn recall_finds_a_paraphrase_with_its_provenance() {
    let app = spawn().await;
    let id = customer(&app, "c-2", "en-GB").await;
    app.post_interaction(
        &id,
        &ticket(
            "t-1",
            "resolved",
            vec![
                message(
                    "a1",
                    "customer",
                    "My parcel never arrived and I want a refund.",
                    "2026-10-01T09:00:00Z",
                ),
                message(
                    "a2",
                    "agent",
                    "The refund has been issued to your card.",
                    "2026-10-01T10:00:00Z",
                ),
            ],
        ),
        StatusCode::CREATED,
    )
    .await;
    app.post_interaction(
        &id,
        &ticket(
            "t-2",
            "resolved",
            vec![
                message("b1", "customer", "How do I change my password?", "2026-10-05T09:00:00Z"),
                message(
                    "b2",
                    "agent",
                    "Use the Forgot password link on the sign-in page.",
                    "2026-10-05T10:00:00Z",
                ),
            ],
        ),
        StatusCode::CREATED,
    )
    .await;
    let res = app
        .req(Method::POST, &format!("/v1/customers/{id}/recall"))
        .json(&json!({"query": "the delivery is missing", "k": 3}))
        .send()
        .await
        .unwrap();
    let ranked = expect(res, StatusCode::OK).await;
    let top = &ranked[0];
    assert_eq!(top["memory"]["provenance"]["interaction_id"], "t-1", "{ranked}");
    assert_eq!(top["memory"]["provenance"]["message_ids"], json!(["a1"]));
    for part in ["semantic", "keyword", "recency", "importance"] {
        assert!(top["parts"][part].is_number());
    }
    assert!(ranked.as_array().unwrap().len() <= 3);
    let res = app
        .req(Method::POST, &format!("/v1/customers/{id}/recall"))
        .json(&json!({"query": "x", "k": 0}))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    let res = app
        .req(Method::POST, &format!("/v1/customers/{id}/recall"))
        .json(&json!({"query": "refund", "kinds": ["resolution"]}))
        .send()
        .await
        .unwrap();
    let only = expect(res, StatusCode::OK).await;
    assert!(
        only.as_array()
            .unwrap()
            .iter()
            .all(|r| r["memory"]["kind"] == "resolution")
            && !only.as_array().unwrap().is_empty()
    );
}

#[actix_web::test]
async fn stated_preferences_and_newer_facts_update_what_rappel_knows() {
    let app = spawn().await;
    let id = customer(&app, "c-3", "fr-FR").await;
    app.post_interaction(
        &id,
        &ticket(
            "t-1",
            "resolved",
            vec![message(
                "p1",
                "customer",
                "Nous sommes sur la formule Pro depuis janvier.",
                "2026-03-01T09:00:00Z",
            )],
        ),
        StatusCode::CREATED,
    )
    .await;
    app.post_interaction(&id, &ticket("t-2", "resolved", vec![
        message("p2", "customer", "Nous sommes passés à la formule Business ce mois-ci. Merci de ne plus m'appeler, écrivez-moi par e-mail.", "2026-09-01T09:00:00Z"),
    ]), StatusCode::CREATED).await;
    let prefs = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/preferences"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(prefs["consent"]["phone"]["granted"], false);
    assert_eq!(prefs["consent"]["phone"]["source"], "message:p2");
    assert_eq!(prefs["preferred_channels"][0], "email");
    let facts = memories(&app, &id, "&kind=fact").await;
    let old = facts
        .iter()
        .find(|f| f["provenance"]["message_ids"] == json!(["p1"]))
        .expect("old fact kept");
    let new = facts
        .iter()
        .find(|f| f["provenance"]["message_ids"] == json!(["p2"]))
        .expect("new fact");
    assert_eq!(
        old["valid_to"], new["observed_at"],
        "the newer plan closes the older one"
    );
    assert!(new["valid_to"].is_null());
    assert_eq!(memories(&app, &id, "&kind=fact&valid=true").await.len(), 1);
}

#[actix_web::test]
async fn context_lists_open_promises_until_the_customer_confirms_and_fits_the_budget_in_the_customers_language() {
    let app = spawn().await;
    let id = customer(&app, "c-4", "fr-FR").await;
    app.post_interaction(
        &id,
        &ticket(
            "t-1",
            "open",
            vec![
                message(
                    "c1",
                    "customer",
                    "Mon hub se déconnecte toutes les nuits depuis la mise à jour.",
                    "2026-11-20T09:00:00Z",
                ),
                message(
                    "c2",
                    "agent",
                    "Nous allons vous envoyer un hub de remplacement sous 3 jours.",
                    "2026-11-20T10:00:00Z",
                ),
            ],
        ),
        StatusCode::CREATED,
    )
    .await;
    let ctx_path = format!("/v1/customers/{id}/context");
    let body = json!({"message": "C'est la troisième fois que j'écris, toujours rien reçu !!", "token_budget": 300});
    let ctx = expect(
        app.req(Method::POST, &ctx_path).json(&body).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(ctx["language"], "fr-FR");
    assert_eq!(ctx["open_commitments"].as_array().unwrap().len(), 1);
    assert!(ctx["open_commitments"][0]["due_at"].is_string());
    assert_eq!(ctx["open_issues"].as_array().unwrap().len(), 1);
    assert_eq!(ctx["sentiment"]["escalate"], true, "{}", ctx["sentiment"]);
    let prompt = ctx["prompt"].as_str().unwrap();
    assert!(prompt.starts_with("Client:"), "{prompt}");
    assert!(prompt.contains("Engagements non tenus"));
    assert!(ctx["prompt_tokens"].as_u64().unwrap() <= 300);
    let small = json!({"message": "bonjour", "token_budget": 100});
    let ctx_small = expect(
        app.req(Method::POST, &ctx_path).json(&small).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(ctx_small["prompt_tokens"].as_u64().unwrap() <= 100);

    let patch = json!({"status": "resolved", "closed_at": "2026-11-24T10:00:00Z", "csat": 4});
    expect(
        app.req(Method::PATCH, &format!("/v1/customers/{id}/interactions/t-1"))
            .json(&patch)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let ctx = expect(
        app.req(Method::POST, &ctx_path)
            .json(&json!({"message": "merci"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    // Closing the ticket proves nothing: the promise and the problem stay open until the customer confirms.
    assert_eq!(ctx["open_commitments"].as_array().unwrap().len(), 1, "{ctx}");
    assert_eq!(ctx["open_issues"].as_array().unwrap().len(), 1, "{ctx}");
    let confirmation = message(
        "c3",
        "customer",
        "J'ai bien reçu le hub de remplacement, tout fonctionne à nouveau, merci beaucoup !",
        "2026-11-24T12:00:00Z",
    );
    expect(
        app.req(Method::POST, &format!("/v1/customers/{id}/interactions/t-1/messages"))
            .json(&confirmation)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let ctx = expect(
        app.req(Method::POST, &ctx_path)
            .json(&json!({"message": "merci"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(ctx["open_commitments"], json!([]), "{ctx}");
    assert_eq!(ctx["open_issues"], json!([]), "{ctx}");
}

#[actix_web::test]
async fn search_resolutions_and_handoff_work_across_the_workspace() {
    let app = spawn().await;
    let a = customer(&app, "c-5", "en-GB").await;
    let b = customer(&app, "c-6", "en-GB").await;
    for (id, ext) in [(&a, "x-1"), (&b, "x-2")] {
        app.post_interaction(
            id,
            &ticket(
                ext,
                "resolved",
                vec![
                    message(
                        &format!("{ext}-m1"),
                        "customer",
                        "My hub goes offline every night since the update.",
                        "2026-11-10T09:00:00Z",
                    ),
                    message(
                        &format!("{ext}-m2"),
                        "agent",
                        "Resetting the hub and updating the firmware fixed it.",
                        "2026-11-10T10:00:00Z",
                    ),
                ],
            ),
            StatusCode::CREATED,
        )
        .await;
    }
    let found = expect(
        app.req(Method::POST, "/v1/search")
            .json(&json!({"query": "hub disconnects at night"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let customers: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["external_id"].as_str().unwrap())
        .collect();
    assert!(customers.contains(&"c-5") && customers.contains(&"c-6"), "{found}");
    let similar = expect(
        app.req(Method::POST, "/v1/resolutions/similar")
            .json(&json!({"query": "my hub keeps going offline"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(similar[0]["resolution"]["memory"]["kind"], "resolution", "{similar}");
    assert!(similar[0]["resolution"]["memory"]["text"]
        .as_str()
        .unwrap()
        .contains("fixed"));

    app.post_interaction(
        &a,
        &ticket(
            "live-1",
            "open",
            vec![
                message(
                    "l1",
                    "customer",
                    "The hub is offline again, this is ridiculous!",
                    "2026-11-24T09:00:00Z",
                ),
                message(
                    "l2",
                    "bot",
                    "I will restart your hub remotely now.",
                    "2026-11-24T09:01:00Z",
                ),
            ],
        ),
        StatusCode::CREATED,
    )
    .await;
    let brief = expect(
        app.req(Method::POST, &format!("/v1/customers/{a}/interactions/live-1/handoff"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(brief["frustrated"], true);
    assert!(brief["tried"][0].as_str().unwrap().contains("restart"));
    assert!(brief["suggested_tone"].as_str().unwrap().contains("apologise"));
    assert!(!brief["relevant_history"].as_array().unwrap().is_empty());
    let stored = expect(
        app.req(Method::GET, &format!("/v1/customers/{a}/interactions/live-1"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(stored["handoff"]["customer_wants"], brief["customer_wants"]);
    let res = app
        .req(Method::POST, &format!("/v1/customers/{a}/interactions/nope/handoff"))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "interaction_not_found").await;
}

#[actix_web::test]
async fn memories_can_be_corrected_pinned_and_deleted() {
    let app = spawn().await;
    let id = customer(&app, "c-7", "en-GB").await;
    app.post_interaction(
        &id,
        &ticket(
            "t-1",
            "resolved",
            vec![message(
                "m1",
                "customer",
                "We are now 40 people in the office.",
                "2026-11-01T09:00:00Z",
            )],
        ),
        StatusCode::CREATED,
    )
    .await;
    let fact = memories(&app, &id, "&kind=fact").await[0].clone();
    let path = format!("/v1/customers/{id}/memories/{}", fact["id"].as_str().unwrap());
    let res = app
        .req(Method::PATCH, &path)
        .json(&json!({"text": "We are now 45 people in the office.", "pinned": true}))
        .send()
        .await
        .unwrap();
    let fixed = expect(res, StatusCode::OK).await;
    assert_eq!(fixed["pinned"], true);
    assert_eq!(fixed["edits"][0]["old_text"], fact["text"]);
    let recalled = expect(
        app.req(Method::POST, &format!("/v1/customers/{id}/recall"))
            .json(&json!({"query": "45 people", "kinds": ["fact"]}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(recalled[0]["memory"]["text"], "We are now 45 people in the office.");
    assert_eq!(recalled[0]["parts"]["recency"], 1.0, "pinned memories do not decay");
    assert_eq!(
        expect(
            app.req(Method::DELETE, &path).send().await.unwrap(),
            StatusCode::NO_CONTENT
        )
        .await,
        Value::Null
    );
    expect_problem(
        app.req(Method::GET, &path).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "memory_not_found",
    )
    .await;
}

#[actix_web::test]
async fn erasing_a_customer_leaves_no_trace_in_any_table() {
    let app = spawn().await;
    let id = customer(&app, "erase-me-ext", "en-GB").await;
    let secret = "Zanzibar-77 is my door code";
    app.post_interaction(
        &id,
        &ticket(
            "erase-t",
            "open",
            vec![message("erase-m", "customer", secret, "2026-11-01T09:00:00Z")],
        ),
        StatusCode::CREATED,
    )
    .await;
    expect(
        app.req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
            .json(&json!({"tone": "formal"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let health = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/health"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let parts = health["current"]["parts"].as_array().unwrap();
    let sum: f64 = parts
        .iter()
        .map(|p| p["value"].as_f64().unwrap() * p["weight"].as_f64().unwrap())
        .sum();
    let ceiling = health["current"]["caps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["max"].as_f64().unwrap())
        .fold(100.0f64, f64::min);
    assert_eq!(
        health["current"]["score"].as_u64().unwrap(),
        (sum * 100.0).min(ceiling).round() as u64,
        "the parts and the caps explain the score: {health}"
    );
    for (read, why) in [
        ("second", "the first computation is recorded"),
        ("third", "the same score on the same day is not recorded again"),
    ] {
        let res = app
            .req(Method::GET, &format!("/v1/customers/{id}/health"))
            .send()
            .await
            .unwrap();
        let again = expect(res, StatusCode::OK).await;
        assert_eq!(again["history"].as_array().unwrap().len(), 1, "{read} read: {why}");
    }
    let export = expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/export"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(export["interactions"].as_array().unwrap().len(), 1);
    assert!(!export["memories"].as_array().unwrap().is_empty());
    assert_eq!(
        expect(
            app.req(Method::DELETE, &format!("/v1/customers/{id}"))
                .send()
                .await
                .unwrap(),
            StatusCode::NO_CONTENT
        )
        .await,
        Value::Null
    );
    let recalled = app
        .req(Method::POST, &format!("/v1/customers/{id}/recall"))
        .json(&json!({"query": "door code"}))
        .send()
        .await
        .unwrap();
    expect_problem(recalled, StatusCode::NOT_FOUND, "customer_not_found").await;
    let found = expect(
        app.req(Method::POST, "/v1/search")
            .json(&json!({"query": "Zanzibar door code"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(found, json!([]));
    let (dir, _keep) = app.stop().await;
    // The audit log keeps the opaque id of whom was erased and exported (and nothing personal).
    assert_eq!(tables_mentioning(&dir, &id).await, ["audit_log"]);
    for needle in ["erase-me-ext", "Zanzibar-77", "erase-t", "erase-m"] {
        assert_eq!(
            tables_mentioning(&dir, needle).await,
            Vec::<String>::new(),
            "{needle} survived"
        );
    }
    assert!(
        !tables_mentioning(&dir, "default").await.is_empty(),
        "the audit does see stored text"
    );
}
