//! Teams and the routing of handoffs: management over HTTP, bad input, isolation between workspaces, and the
//! route and triggers of demo handoffs with the real model.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, expect_problem, spawn, spawn_demo, TestApp};

fn team(name: &str, topics: &[&str], languages: &[&str]) -> Value {
    json!({"name": name, "topics": topics, "languages": languages})
}

async fn create(app: &TestApp, key: &str, body: &Value) -> Value {
    let res = app
        .req_as(key, Method::POST, "/v1/teams")
        .json(body)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await
}

async fn handoff(app: &TestApp, key: &str, customer: &str, interaction: &str) -> Value {
    let path = format!("/v1/customers/{customer}/interactions/{interaction}/handoff");
    expect(
        app.req_as(key, Method::POST, &path).send().await.unwrap(),
        StatusCode::OK,
    )
    .await
}

#[actix_web::test]
async fn teams_are_created_listed_patched_and_deleted() {
    let app = spawn().await;
    let key = crate::helpers::ADMIN_KEY;
    let mut body = team("Billing & refunds", &["invoices and refunds"], &["en", "FR"]);
    body["hours"] = json!({"timezone": "europe/paris", "start": "09:00", "end": "18:00"});
    let billing = create(&app, key, &body).await;
    let id = billing["id"].as_str().unwrap();
    assert!(id.starts_with("team_"), "{billing}");
    assert_eq!(billing["languages"], json!(["en", "fr"]), "language tags are canonical");
    assert_eq!(billing["hours"]["timezone"], "Europe/Paris");
    assert_eq!(
        billing["hours"]["days"],
        json!(["mon", "tue", "wed", "thu", "fri"]),
        "weekdays by default"
    );
    assert_eq!(billing["escalations"], false);
    create(&app, key, &team("Devices", &["hub offline"], &[])).await;

    let listed = expect(app.req(Method::GET, "/v1/teams").send().await.unwrap(), StatusCode::OK).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Billing & refunds", "Devices"]);

    let patched = app
        .req(Method::PATCH, &format!("/v1/teams/{id}"))
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"escalations": true, "hours": null, "topics": ["refunds", "chargebacks"]}"#)
        .send()
        .await
        .unwrap();
    let patched = expect(patched, StatusCode::OK).await;
    assert_eq!(patched["escalations"], true);
    assert!(patched.get("hours").is_none_or(Value::is_null), "{patched}");
    assert_eq!(patched["topics"], json!(["refunds", "chargebacks"]));
    assert_eq!(patched["languages"], json!(["en", "fr"]), "absent fields stay");
    let got = expect(
        app.req(Method::GET, &format!("/v1/teams/{id}")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(got, patched);

    let deleted = app
        .req(Method::DELETE, &format!("/v1/teams/{id}"))
        .send()
        .await
        .unwrap();
    expect(deleted, StatusCode::NO_CONTENT).await;
    let gone = app.req(Method::GET, &format!("/v1/teams/{id}")).send().await.unwrap();
    expect_problem(gone, StatusCode::NOT_FOUND, "team_not_found").await;
    let again = app
        .req(Method::DELETE, &format!("/v1/teams/{id}"))
        .send()
        .await
        .unwrap();
    expect_problem(again, StatusCode::NOT_FOUND, "team_not_found").await;

    let audit = expect(app.req(Method::GET, "/v1/audit").send().await.unwrap(), StatusCode::OK).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target_id"] == id)
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["team_created", "team_updated", "team_deleted"]);
}

#[actix_web::test]
async fn bad_teams_get_a_problem_with_a_stable_code() {
    let app = spawn().await;
    let cases = [
        (json!({"name": "x", "topics": []}), "invalid_field"),
        (json!({"name": " ", "topics": ["refunds"]}), "invalid_field"),
        (
            json!({"name": "x", "topics": ["refunds"], "languages": ["klingon!"]}),
            "invalid_language",
        ),
        (
            json!({"name": "x", "topics": ["refunds"], "hours": {"timezone": "Mars/Olympus", "start": "09:00", "end": "17:00"}}),
            "invalid_timezone",
        ),
        (
            json!({"name": "x", "topics": ["refunds"], "hours": {"timezone": "UTC", "start": "9am", "end": "17:00"}}),
            "invalid_field",
        ),
        (
            json!({"name": "x", "topics": ["refunds"], "min_lifetime_value": -5}),
            "invalid_field",
        ),
        (
            json!({"name": "x", "topics": ["refunds"], "colour": "blue"}),
            "invalid_body",
        ),
    ];
    for (body, code) in cases {
        let res = app.req(Method::POST, "/v1/teams").json(&body).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    let created = create(&app, crate::helpers::ADMIN_KEY, &team("Billing", &["refunds"], &[])).await;
    let id = created["id"].as_str().unwrap();
    let res = app
        .req(Method::PATCH, &format!("/v1/teams/{id}"))
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"topics": null}"#)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(problem["detail"].as_str().unwrap().contains("topics"), "{problem}");
    let unchanged = expect(
        app.req(Method::GET, &format!("/v1/teams/{id}")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(unchanged, created);
}

#[actix_web::test]
async fn another_workspace_neither_sees_nor_routes_to_our_teams() {
    let app = spawn().await;
    let mut keys = Vec::new();
    for ws in ["alpha", "beta"] {
        let res = app
            .req(Method::POST, "/v1/workspaces")
            .json(&json!({"id": ws, "name": ws}))
            .send()
            .await
            .unwrap();
        keys.push(
            expect(res, StatusCode::CREATED).await["admin_key"]["secret"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let (a, b) = (keys[0].as_str(), keys[1].as_str());
    let ours = create(
        &app,
        a,
        &team("Alpha billing", &["invoices, refunds and double charges"], &[]),
    )
    .await;
    let id = ours["id"].as_str().unwrap();
    let listed = expect(
        app.req_as(b, Method::GET, "/v1/teams").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]));
    for method in [Method::GET, Method::DELETE] {
        let res = app.req_as(b, method, &format!("/v1/teams/{id}")).send().await.unwrap();
        expect_problem(res, StatusCode::NOT_FOUND, "team_not_found").await;
    }
    let res = app
        .req_as(b, Method::PATCH, &format!("/v1/teams/{id}"))
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"name": "taken by beta"}"#)
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "team_not_found").await;
    let still = expect(
        app.req_as(a, Method::GET, &format!("/v1/teams/{id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(still, ours);

    // B's handoff about a double charge has no team to go to: A's team is not B's.
    let res = app
        .req_as(b, Method::POST, "/v1/customers")
        .json(&customer_body("b-1"))
        .send()
        .await
        .unwrap();
    let customer = expect(res, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ticket = json!({"external_id": "b-chat", "channel": "chat", "status": "open", "opened_at": "2026-11-01T09:00:00Z",
        "messages": [{"id": "b-chat-1", "role": "customer", "text": "I was charged twice for my invoice, please refund me.",
                      "sent_at": "2026-11-01T09:00:00Z"}]});
    let path = format!("/v1/customers/{customer}/interactions");
    expect(
        app.req_as(b, Method::POST, &path).json(&ticket).send().await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let brief = handoff(&app, b, &customer, "b-chat").await;
    assert!(brief["route"].is_null(), "no team in B: route is null, {brief}");
}

#[actix_web::test]
async fn demo_handoffs_go_to_the_team_a_support_lead_would_pick() {
    let app = spawn_demo().await;
    let key = crate::helpers::ADMIN_KEY;
    let teams = expect(app.req(Method::GET, "/v1/teams").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(teams.as_array().unwrap().len(), 8, "the demo defines eight teams");
    // Demo tickets labelled by hand from their first message (fixtures/demo/README.md describes the storylines).
    let labelled = [
        ("cus-1023", "int-0008", "Billing & refunds"), // payment failed, new card (EN)
        ("cus-1037", "int-0011", "Billing & refunds"), // « Paiement refusé » (FR, business plan)
        ("cus-1019", "int-0016", "Smart lock & security"), // lock rejects codes (EN)
        ("cus-1032", "int-0029", "Support francophone"), // motion sensor hors ligne (FR)
        ("cus-1015", "int-0003", "Account & privacy"), // lost authenticator app (EN)
        ("cus-1001", "int-0051", "Business accounts"), // ten more seats, second studio (EN, business)
        ("cus-1033", "int-0441", "Escalations & retention"), // third contact, won't renew (FR)
    ];
    let mut wrong = Vec::new();
    for (customer, interaction, expected) in labelled {
        let path = format!("/v1/customers/by-external-id/{customer}");
        let id = expect(app.req(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let brief = handoff(&app, key, &id, interaction).await;
        let route = &brief["route"];
        assert!(route["reason"].as_str().is_some_and(|r| r.contains("topic")), "{brief}");
        assert!(route["runner_up"]["team_name"].is_string(), "{brief}");
        assert_ne!(route["runner_up"]["team_id"], route["team_id"]);
        assert!(route["score"].as_f64().unwrap() >= route["runner_up"]["score"].as_f64().unwrap());
        if route["team_name"] != expected {
            wrong.push(format!("{interaction}: {} ({})", route["team_name"], route["reason"]));
        }
        if interaction == "int-0441" {
            let kinds: Vec<&str> = brief["triggers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["kind"].as_str().unwrap())
                .collect();
            assert!(kinds.contains(&"threat_to_leave"), "{kinds:?}");
            assert!(kinds.contains(&"repeated_contact"), "{kinds:?}");
            let evidence = brief["triggers"][0]["evidence"].as_str().unwrap();
            assert!(!evidence.is_empty());
            assert!(route["reason"].as_str().unwrap().contains("escalations"), "{route}");
        }
    }
    assert!(wrong.is_empty(), "misrouted: {wrong:#?}");
}

#[actix_web::test]
async fn safety_words_are_the_first_reason_the_brief_calls_for_care() {
    let app = spawn().await;
    let customer = app.create_customer(customer_body("calm-smoke")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let chat = json!({"external_id": "plug-smell", "channel": "chat", "status": "open", "opened_at": "2026-11-01T09:00:00Z",
        "messages": [
            {"id": "s1", "role": "customer", "text": "Hello, quick question: my smart plug smells of burning plastic when the heater is on it. Should I keep using it?", "sent_at": "2026-11-01T09:00:00Z"}]});
    app.post_interaction(&customer, &chat, StatusCode::CREATED).await;
    let brief = handoff(&app, crate::helpers::ADMIN_KEY, &customer, "plug-smell").await;
    assert_eq!(brief["escalate"], true, "{brief}");
    assert!(
        brief["escalation_reason"]
            .as_str()
            .unwrap()
            .starts_with("safety words: "),
        "{brief}"
    );
}

#[actix_web::test]
async fn legal_and_safety_words_are_named_triggers_and_go_to_the_escalation_team() {
    let app = spawn().await;
    let key = crate::helpers::ADMIN_KEY;
    create(
        &app,
        key,
        &team("Devices", &["hub or plug offline, pairing, firmware, automations"], &[]),
    )
    .await;
    let mut escalations = team("Escalations", &["cancellations, complaints to management"], &[]);
    escalations["escalations"] = json!(true);
    create(&app, key, &escalations).await;
    let customer = app.create_customer(customer_body("safety-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let chat = json!({"external_id": "plug-fire", "channel": "chat", "status": "open", "opened_at": "2026-11-01T09:00:00Z",
        "product": "Lumen Smart Plug",
        "messages": [
            {"id": "p1", "role": "customer", "text": "La prise a fait des étincelles et il y a de la fumée dans la cuisine.", "sent_at": "2026-11-01T09:00:00Z"},
            {"id": "p2", "role": "bot", "text": "Débranchez-la si vous pouvez le faire sans risque.", "sent_at": "2026-11-01T09:01:00Z"},
            {"id": "p3", "role": "customer", "text": "Mon avocat vous enverra une mise en demeure.", "sent_at": "2026-11-01T09:02:00Z"}]});
    app.post_interaction(&customer, &chat, StatusCode::CREATED).await;
    let brief = handoff(&app, key, &customer, "plug-fire").await;
    let triggers = brief["triggers"].as_array().unwrap();
    let named: Vec<(&str, &str)> = triggers
        .iter()
        .map(|t| (t["kind"].as_str().unwrap(), t["evidence"].as_str().unwrap()))
        .collect();
    assert!(
        named.contains(&(
            "safety",
            "La prise a fait des étincelles et il y a de la fumée dans la cuisine."
        )),
        "{named:?}"
    );
    assert!(
        named.contains(&("legal", "Mon avocat vous enverra une mise en demeure.")),
        "{named:?}"
    );
    assert_eq!(brief["route"]["team_name"], "Escalations", "{brief}");
    assert_eq!(brief["route"]["runner_up"]["team_name"], "Devices");
    assert_eq!(brief["escalate"], true, "legal and safety words call for care: {brief}");
    assert!(
        brief["escalation_reason"]
            .as_str()
            .unwrap()
            .starts_with("legal words: "),
        "the conversation's words come before the history's reason: {brief}"
    );
    let stored = expect(
        app.req(Method::GET, &format!("/v1/customers/{customer}/interactions/plug-fire"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let route = &stored["handoff"]["route"];
    assert_eq!(
        route["team_id"], brief["route"]["team_id"],
        "the brief is stored with its route"
    );
    assert_eq!(route["reason"], brief["route"]["reason"]);
    assert_eq!(stored["handoff"]["triggers"], brief["triggers"]);
}
