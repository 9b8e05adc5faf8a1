//! `GET /v1/metrics/support` over HTTP: every KPI of a small fixture equals a value computed by hand below, per
//! grouping and split; bad queries are 4xx problems; another workspace sees none of the numbers.
//!
//! The fixture (period 2026-11-02 to 2026-11-16, weeks starting Monday 11-02 and 11-09; costs bot 0.5, human 6):
//!
//! | id | customer (plan, lang) | channel | opened      | status         | handled_by | csat | nps | replies (first at)   | closed after | team    |
//! |----|-----------------------|---------|-------------|----------------|------------|------|-----|----------------------|--------------|---------|
//! | I1 | c1 (pro, en)          | chat    | 11-02 10:00 | resolved       | bot        | 5    | 10  | bot +60s             | 1800 s       | billing |
//! | I2 | c1 (pro, en)          | email   | 11-03 09:00 | resolved       | both, esc. | 3    | 7   | bot +120s, agent Ana | 7200 s       | billing |
//! | I3 | c2 (free, fr)         | chat    | 11-10 08:00 | resolved, reopened once | human | 4 | 0 | agent Bo +600s      | 1200 s       | tech    |
//! | I4 | c2 (free, fr)         | phone   | 11-11 12:00 | open           | (agent msg: human) | - | 9 | agent Bo +1800s | -          | -       |
//! | I5 | c1                    | chat    | 11-20       | outside the period                                                                  |
//!
//! Totals: 4 interactions, 3 resolved, 1 reopened. CSAT: ratings 5, 3, 4 -> 2 of 3 are 4-5 = 0.6667. NPS: scores
//! 10, 7, 0, 9 -> promoters 2, detractors 1, of 4 -> 100 * (2 - 1) / 4 = 25. FCR: I1 only (I2 has 2 replies, I3
//! was reopened) -> 1 of 3 resolved. First response 60, 120, 600, 1800: median rank ceil(0.5*4)=2 -> 120, p90
//! rank ceil(0.9*4)=4 -> 1800. Resolution 1200, 1800, 7200: median rank 2 -> 1800, p90 rank 3 -> 7200. AI
//! resolved: I1 -> 1 of 4 = 0.25. Bot-handled I1, I2; escalated I2 -> 0.5. Cost 0.5 + 6.5 + 6 + 6 = 19 -> 4.75
//! per interaction. Human-resolved I2 (Ana), I3 (Bo) -> 2 per 2 agents = 1.
//!
//! Outreach (clock 11-04 12:00): item A for c1, evidence I1 (product "Lumen Hub"), sent; item B for c2, no
//! evidence, cancelled (same source: the admin key's manual queue). A: c1 opens nothing in the next 7 days ->
//! contacted 1, without ticket 1, rate 1. B: c2 opens I3 (11-10) within 7 days, and with no evidence any
//! interaction is on topic -> comparison 1, without ticket 0, rate 0; lift 1. Queued 2, sent 1.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, expect_problem, spawn_clocked, TestApp, ADMIN_KEY};

const PERIOD: &str = "since=2026-11-02T00:00:00Z&until=2026-11-16T00:00:00Z";

async fn customer(app: &TestApp, ext: &str, plan: &str, language: &str) -> String {
    let mut body = customer_body(ext);
    body["plan"] = json!(plan);
    body["language"] = json!(language);
    body["timezone"] = json!("UTC");
    let id = app.create_customer(body).await["id"].as_str().unwrap().to_owned();
    let consent = json!({"consent": {"email": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "test"}}});
    expect(
        app.req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
            .json(&consent)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    id
}

fn msg(id: &str, role: &str, author: Option<&str>, at: &str) -> Value {
    let mut m = json!({"id": id, "role": role, "text": format!("message {id}"), "sent_at": at});
    if let Some(a) = author {
        m["author"] = json!(a);
    }
    m
}

/// Builds the fixture; returns (c1, c2, I1's id).
async fn fixture(app: &TestApp) -> (String, String, String) {
    let c1 = customer(app, "c1", "pro", "en").await;
    let c2 = customer(app, "c2", "free", "fr").await;
    let i1 = app
        .post_interaction(
            &c1,
            &json!({"external_id": "I1", "channel": "chat", "status": "resolved", "handled_by": "bot",
                "opened_at": "2026-11-02T10:00:00Z", "closed_at": "2026-11-02T10:30:00Z", "csat": 5, "nps": 10,
                "team": "billing", "product": "Lumen Hub", "messages": [
                msg("I1-1", "customer", None, "2026-11-02T10:00:00Z"),
                msg("I1-2", "bot", None, "2026-11-02T10:01:00Z")]}),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_interaction(
        &c1,
        &json!({"external_id": "I2", "channel": "email", "status": "resolved", "handled_by": "both",
            "escalated": true, "opened_at": "2026-11-03T09:00:00Z", "closed_at": "2026-11-03T11:00:00Z",
            "csat": 3, "nps": 7, "team": "billing", "messages": [
            msg("I2-1", "customer", None, "2026-11-03T09:00:00Z"),
            msg("I2-2", "bot", None, "2026-11-03T09:02:00Z"),
            msg("I2-3", "agent", Some("Ana"), "2026-11-03T09:30:00Z")]}),
        StatusCode::CREATED,
    )
    .await;
    app.post_interaction(
        &c2,
        &json!({"external_id": "I3", "channel": "chat", "status": "resolved", "handled_by": "human",
            "opened_at": "2026-11-10T08:00:00Z", "closed_at": "2026-11-10T08:20:00Z", "csat": 4, "nps": 0,
            "team": "tech", "messages": [
            msg("I3-1", "customer", None, "2026-11-10T08:00:00Z"),
            msg("I3-2", "agent", Some("Bo"), "2026-11-10T08:10:00Z")]}),
        StatusCode::CREATED,
    )
    .await;
    // Reopened, then resolved again.
    for status in ["open", "resolved"] {
        expect(
            app.req(Method::PATCH, &format!("/v1/customers/{c2}/interactions/I3"))
                .json(&json!({"status": status}))
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
    }
    app.post_interaction(
        &c2,
        &json!({"external_id": "I4", "channel": "phone", "status": "open", "opened_at": "2026-11-11T12:00:00Z",
            "nps": 9, "messages": [
            msg("I4-1", "customer", None, "2026-11-11T12:00:00Z"),
            msg("I4-2", "agent", Some("Bo"), "2026-11-11T12:30:00Z")]}),
        StatusCode::CREATED,
    )
    .await;
    app.post_interaction(
        &c1,
        &json!({"external_id": "I5", "channel": "chat", "status": "resolved", "handled_by": "bot",
            "opened_at": "2026-11-20T10:00:00Z", "csat": 1}),
        StatusCode::CREATED,
    )
    .await;
    (c1, c2, i1)
}

async fn outreach(app: &TestApp, c1: &str, c2: &str, i1: &str) {
    let request = |customer: &str, evidence: Vec<&str>| {
        json!({"customer_id": customer, "reason_code": "check_in", "reason": "checking in", "evidence": evidence,
            "channels": ["email"], "templates": {"en": "Hi {first_name}"}})
    };
    let a = expect(
        app.req(Method::POST, "/v1/outreach")
            .json(&request(c1, vec![i1]))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let claimed = expect(
        app.req(Method::POST, "/v1/outreach/claim")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(claimed[0]["id"], a["item"]["id"], "{claimed}");
    let a_id = a["item"]["id"].as_str().unwrap();
    expect(
        app.req(Method::POST, &format!("/v1/outreach/{a_id}/ack"))
            .json(&json!({"status": "sent", "provider_message_id": "p-1"}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let b = expect(
        app.req(Method::POST, "/v1/outreach")
            .json(&request(c2, vec![]))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let b_id = b["item"]["id"].as_str().unwrap();
    expect(
        app.req(Method::POST, &format!("/v1/outreach/{b_id}/cancel"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
}

async fn metrics(app: &TestApp, key: &str, query: &str) -> Value {
    expect(
        app.req_as(key, Method::GET, &format!("/v1/metrics/support?{query}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await
}

fn close(actual: &Value, expected: f64, what: &str) {
    let a = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {actual} is not a number"));
    assert!((a - expected).abs() < 1e-9, "{what}: {a} != {expected}");
}

/// The totals computed by hand in the module comment.
fn assert_totals(k: &Value) {
    assert_eq!(k["interactions"], 4, "{k}");
    assert_eq!(k["resolved"], 3);
    assert_eq!(k["reopened"], 1);
    assert_eq!(k["rated"], 3);
    close(&k["csat"], 2.0 / 3.0, "csat");
    assert_eq!(k["scored"], 4);
    close(&k["nps"], 25.0, "nps");
    assert_eq!(k["first_contact_resolutions"], 1);
    close(&k["first_contact_resolution_rate"], 1.0 / 3.0, "fcr");
    assert_eq!(
        k["first_response_seconds"],
        json!({"count": 4, "median": 120, "p90": 1800})
    );
    assert_eq!(
        k["resolution_seconds"],
        json!({"count": 3, "median": 1800, "p90": 7200})
    );
    assert_eq!(k["ai_resolved"], 1);
    close(&k["ai_resolution_rate"], 0.25, "ai resolution");
    assert_eq!(k["bot_handled"], 2);
    assert_eq!(k["escalated"], 1);
    close(&k["escalation_rate"], 0.5, "escalation");
    close(&k["cost_total"], 19.0, "cost");
    close(&k["cost_per_interaction"], 4.75, "cost per interaction");
    assert_eq!(k["human_resolved"], 2);
    assert_eq!(
        k["agents"],
        json!([{"agent": "Ana", "resolved": 1}, {"agent": "Bo", "resolved": 1}])
    );
    close(&k["resolved_per_agent"], 1.0, "resolved per agent");
}

fn split_counts(splits: &Value) -> Vec<(String, u64)> {
    splits
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_owned(),
                s["kpis"]["interactions"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

#[actix_web::test]
async fn every_kpi_matches_the_hand_computed_values_per_grouping_and_split() {
    let (app, _clock) = spawn_clocked("2026-11-04T12:00:00Z").await;
    let (c1, c2, i1) = fixture(&app).await;
    outreach(&app, &c1, &c2, &i1).await;

    let week = metrics(&app, ADMIN_KEY, &format!("{PERIOD}&group_by=week")).await;
    assert_totals(&week["totals"]);
    assert_eq!(week["costs"], json!({"bot": 0.5, "human": 6.0}));
    let buckets = week["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 2);
    assert_eq!(buckets[0]["start"], "2026-11-02T00:00:00Z");
    assert_eq!(buckets[1]["end"], "2026-11-16T00:00:00Z");
    // Week 1: I1, I2. CSAT 5, 3 -> 1/2; NPS 10 (promoter), 7 (passive) -> 50; cost 0.5 + 6.5 = 7 -> 3.5.
    let w1 = &buckets[0]["kpis"];
    assert_eq!(w1["interactions"], 2);
    close(&w1["csat"], 0.5, "week 1 csat");
    close(&w1["nps"], 50.0, "week 1 nps");
    close(&w1["cost_per_interaction"], 3.5, "week 1 cost");
    // Week 2: I3, I4. CSAT 4 -> 1; NPS 0 (detractor), 9 (promoter) -> 0; cost 12 -> 6; FCR 0 of 1 (reopened).
    let w2 = &buckets[1]["kpis"];
    assert_eq!(w2["interactions"], 2);
    close(&w2["csat"], 1.0, "week 2 csat");
    close(&w2["nps"], 0.0, "week 2 nps");
    close(&w2["cost_per_interaction"], 6.0, "week 2 cost");
    close(&w2["first_contact_resolution_rate"], 0.0, "week 2 fcr");
    assert_eq!(w2["ai_resolution_rate"], 0.0);
    assert!(
        w2["escalation_rate"].is_null(),
        "no bot-handled interaction in week 2: {w2}"
    );

    // Outreach: queued 2, sent 1; deflection 1 of 1 against 0 of 1 in the comparable group.
    let o = &week["outreach"];
    assert_eq!((o["queued"].clone(), o["sent"].clone()), (json!(2), json!(1)), "{o}");
    let d = &o["deflection"];
    assert_eq!(
        (d["contacted"].clone(), d["contacted_without_ticket"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(
        (d["comparison"].clone(), d["comparison_without_ticket"].clone()),
        (json!(1), json!(0))
    );
    close(&d["rate"], 1.0, "deflection");
    close(&d["comparison_rate"], 0.0, "comparison");
    close(&d["lift"], 1.0, "lift");
    assert_eq!(buckets[0]["outreach"]["sent"], 1, "sent on 11-04, in week 1");
    assert_eq!(buckets[1]["outreach"]["queued"], 0);

    // Days: 14 buckets; I1 on 11-02, I2 on 11-03, I3 on 11-10, I4 on 11-11.
    let day = metrics(&app, ADMIN_KEY, &format!("{PERIOD}&group_by=day")).await;
    assert_totals(&day["totals"]);
    let per_day: Vec<u64> = day["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kpis"]["interactions"].as_u64().unwrap())
        .collect();
    assert_eq!(per_day, [1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
    assert!(day["buckets"][2]["kpis"]["csat"].is_null(), "an empty day has no CSAT");

    // Month (the default group_by is day): one bucket, cut to the period, equal to the totals.
    let month = metrics(&app, ADMIN_KEY, &format!("{PERIOD}&group_by=month")).await;
    assert_eq!(month["buckets"].as_array().unwrap().len(), 1);
    assert_eq!(month["buckets"][0]["start"], "2026-11-02T00:00:00Z");
    assert_totals(&month["buckets"][0]["kpis"]);

    // Splits, over the whole period and in the buckets.
    let cases: [(&str, Vec<(String, u64)>); 5] = [
        ("channel", pairs(&[("chat", 2), ("email", 1), ("phone", 1)])),
        ("plan", pairs(&[("free", 2), ("pro", 2)])),
        ("language", pairs(&[("en", 2), ("fr", 2)])),
        ("team", pairs(&[("billing", 2), ("none", 1), ("tech", 1)])),
        ("handled_by", pairs(&[("bot", 1), ("both", 1), ("human", 2)])),
    ];
    for (split, expected) in cases {
        let m = metrics(&app, ADMIN_KEY, &format!("{PERIOD}&group_by=month&split_by={split}")).await;
        assert_eq!(split_counts(&m["splits"]), expected, "{split}");
        assert_eq!(
            split_counts(&m["buckets"][0]["splits"]),
            expected,
            "{split} in the bucket"
        );
    }
    // Within a split: handled_by bot is I1 alone (AI-resolved, cost 0.5); human is I3 and I4 (CSAT 4 -> 1).
    let m = metrics(&app, ADMIN_KEY, &format!("{PERIOD}&group_by=week&split_by=handled_by")).await;
    let by: std::collections::HashMap<String, Value> = m["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["key"].as_str().unwrap().to_owned(), s["kpis"].clone()))
        .collect();
    close(&by["bot"]["ai_resolution_rate"], 1.0, "bot ai resolution");
    close(&by["bot"]["cost_total"], 0.5, "bot cost");
    close(&by["human"]["csat"], 1.0, "human csat");
    close(&by["both"]["escalation_rate"], 1.0, "both escalation");
    // Week 2 split by handler: I3 and I4 are both human.
    assert_eq!(split_counts(&m["buckets"][1]["splits"]), pairs(&[("human", 2)]));
}

#[actix_web::test]
async fn bad_queries_are_refused_with_a_problem() {
    let (app, _clock) = spawn_clocked("2026-11-04T12:00:00Z").await;
    let get = |q: &str| app.req(Method::GET, &format!("/v1/metrics/support?{q}")).send();
    expect_problem(
        get("group_by=fortnight").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    expect_problem(
        get("split_by=mood").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    expect_problem(
        get("since=yesterday").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    expect_problem(
        get("colour=blue").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    expect_problem(
        get("since=2026-11-10T00:00:00Z&until=2026-11-01T00:00:00Z")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_period",
    )
    .await;
    expect_problem(
        get("since=2026-11-10T00:00:00Z&until=2026-11-10T00:00:00Z")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_period",
    )
    .await;
    expect_problem(
        get("since=0001-01-01T00:00:00Z").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_time",
    )
    .await;
    expect_problem(
        get("since=1970-01-01T00:00:00Z&until=9999-12-31T23:59:59Z&group_by=month")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_period",
    )
    .await;
    // The widest period allowed in months answers.
    expect(
        get("since=1970-01-01T00:00:00Z&until=2060-01-01T00:00:00Z&group_by=month")
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    // A bad team on an interaction is refused.
    let c = app.create_customer(customer_body("t")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .req(Method::POST, &format!("/v1/customers/{c}/interactions"))
        .json(&json!({"external_id": "x", "channel": "chat", "status": "open",
            "opened_at": "2026-11-01T10:00:00Z", "team": "Billing Team"}))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    assert_eq!(problem["field"], "team", "{problem}");
}

#[actix_web::test]
async fn another_workspace_sees_none_of_the_numbers() {
    let (app, _clock) = spawn_clocked("2026-11-04T12:00:00Z").await;
    let (c1, c2, i1) = fixture(&app).await;
    outreach(&app, &c1, &c2, &i1).await;
    let created = expect(
        app.req(Method::POST, "/v1/workspaces")
            .json(&json!({"id": "beta", "name": "Beta"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let beta = created["admin_key"]["secret"].as_str().unwrap();
    let theirs = metrics(&app, beta, &format!("{PERIOD}&group_by=week&split_by=team")).await;
    assert_eq!(theirs["totals"]["interactions"], 0, "{theirs}");
    assert_eq!(theirs["totals"]["agents"], json!([]));
    assert_eq!(theirs["splits"], json!([]));
    assert_eq!(theirs["outreach"]["queued"], 0);
    assert_eq!(theirs["outreach"]["deflection"]["comparison"], 0);
    assert!(!theirs.to_string().contains("Ana"), "{theirs}");
    // A's own numbers are there: B's zeros are not an empty store.
    let ours = metrics(&app, ADMIN_KEY, &format!("{PERIOD}&group_by=week")).await;
    assert_eq!(ours["totals"]["interactions"], 4);
}
