//! Regressions for issue 9's findings: template keys that match no language and times outside the years 1970-9999
//! (they once killed a worker or the server; now 422 and the server keeps serving), and a wrong method on a known
//! path (405 with `Allow`, not 404).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, expect, expect_problem, postgres_url, spawn, spawn_with, tables_mentioning};

#[actix_web::test]
async fn outreach_templates_without_an_en_fallback_or_with_odd_keys_are_refused() {
    let app = spawn().await;
    let mut body = customer_body("tpl-1");
    body["language"] = json!("en-GB");
    let id = app.create_customer(body).await["id"].as_str().unwrap().to_owned();
    let consent = json!({"granted": true, "at": "2026-01-01T00:00:00Z", "source": "test"});
    expect(
        app.req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
            .json(&json!({"consent": {"email": consent}}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    for templates in [
        json!({"fr": "Bonjour"}),
        json!({"EN": "hi"}),
        json!({"": "x"}),
        json!({"en": "  "}),
    ] {
        let q = json!({"customer_id": id, "reason_code": "r", "reason": "test", "templates": templates});
        let res = app.req(Method::POST, "/v1/outreach").json(&q).send().await.unwrap();
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
        assert_eq!(problem["field"], "templates", "{templates}");
    }
    let q = json!({"customer_id": id, "reason_code": "r", "reason": "test", "templates": {"en": "Hi", "fr.formal": "Bonjour"}});
    expect(
        app.req(Method::POST, "/v1/outreach").json(&q).send().await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
}

#[actix_web::test]
async fn times_outside_the_years_1970_to_9999_are_refused_and_jobs_still_run() {
    let app = spawn().await;
    let incident =
        json!({"title": "Hub outage", "description": "Hubs offline", "started_at": "-262143-01-01T00:00:00Z"});
    let res = app
        .req(Method::POST, "/v1/incidents")
        .json(&incident)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_time").await;
    assert_eq!(problem["field"], "started_at");

    let id = app.create_customer(customer_body("far-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (text, sent_at) in [
        ("I will call you back tomorrow.", "+262142-12-31T23:59:59Z"),
        ("We will fix it in 3 days", "0001-01-01T00:00:00Z"),
    ] {
        let interaction = json!({
            "external_id": "far", "channel": "chat", "status": "open", "opened_at": "2026-11-20T09:00:00Z",
            "messages": [{"id": "m1", "role": "agent", "text": text, "sent_at": sent_at}]
        });
        let res = app
            .req(Method::POST, &format!("/v1/customers/{id}/interactions"))
            .json(&interaction)
            .send()
            .await
            .unwrap();
        let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_time").await;
        assert_eq!(problem["field"], "messages[0].sent_at");
    }
    // The server is still whole: a job that reads incidents runs.
    let run = expect(
        app.req(Method::POST, "/v1/jobs/incident_match/run")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(run["errors"], json!([]), "{run}");
}

#[actix_web::test]
async fn filter_consent_outreach_and_profile_dates_outside_the_range_are_refused() {
    let app = spawn().await;
    let id = app.create_customer(customer_body("dates-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        "/v1/customers?updated_since=0001-01-01T00:00:00Z".to_owned(),
        format!("/v1/customers/{id}/interactions?since=1900-01-01T00:00:00Z"),
        format!("/v1/customers/{id}/memories?until=0500-06-01T00:00:00Z"),
    ] {
        let res = app.req(Method::GET, &path).send().await.unwrap();
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_time").await;
    }
    let prefs = json!({"consent": {"email": {"granted": true, "at": "1066-10-14T09:00:00Z"}}});
    let res = app
        .req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
        .json(&prefs)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_time").await;
    assert_eq!(problem["field"], "consent.email.at");
    let q = json!({"customer_id": id, "reason_code": "r", "reason": "test", "templates": {"en": "Hi"},
        "not_before": "0010-01-01T00:00:00Z"});
    let res = app.req(Method::POST, "/v1/outreach").json(&q).send().await.unwrap();
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_time").await;
    let res = app
        .req(Method::PATCH, &format!("/v1/customers/{id}"))
        .json(&json!({"renewal_date": "0002-01-01"}))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_time").await;
    assert_eq!(problem["field"], "renewal_date");
    // The edges of the range are fine.
    let res = app
        .req(Method::GET, "/v1/customers?updated_since=1970-01-01T00:00:00Z")
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
}

#[actix_web::test]
async fn a_known_path_asked_with_another_method_is_405_with_allow() {
    let app = spawn().await;
    let res = app.req(Method::POST, "/v1/customers/cus_x").send().await.unwrap();
    let allow = res.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
    let problem = expect_problem(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let allow = allow.expect("an Allow header");
    for method in ["GET", "PATCH", "DELETE"] {
        assert!(allow.contains(method), "{allow} / {problem}");
    }
    assert!(!allow.contains("POST"));
    let res = app.req(Method::PUT, "/v1/nothing-here").send().await.unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "route_not_found").await;
}

#[actix_web::test]
async fn card_numbers_and_ibans_are_redacted_before_they_are_stored_or_embedded() {
    let app = spawn_with(|s| s.redact = "cards,iban,passwords".into()).await;
    let id = app.create_customer(customer_body("pii-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text =
        "I was charged twice on my card 4111 1111 1111 1111, refund to FR76 3000 6000 0112 3456 7890 189 please. \
                My password is Tr0ub4dor&3";
    let interaction = json!({
        "external_id": "pii", "channel": "chat", "status": "open", "opened_at": "2026-11-20T09:00:00Z",
        "messages": [{"id": "m1", "role": "customer", "text": text, "sent_at": "2026-11-20T09:00:00Z"}]
    });
    let stored = app.post_interaction(&id, &interaction, StatusCode::CREATED).await;
    let kept = stored["messages"][0]["text"].as_str().unwrap();
    assert!(
        kept.contains("[card …1111]") && kept.contains("[IBAN]") && kept.contains("[password]"),
        "{kept}"
    );
    // Re-posting the same message is still idempotent: it redacts to the same text.
    app.post_interaction(&id, &interaction, StatusCode::OK).await;
    let res = app
        .req(Method::GET, &format!("/v1/customers/{id}/export"))
        .send()
        .await
        .unwrap();
    let export = expect(res, StatusCode::OK).await.to_string();
    for secret in [
        "4111 1111 1111 1111",
        "1111 1111 1111",
        "FR76 3000",
        "3456 7890 189",
        "Tr0ub4dor",
    ] {
        assert!(!export.contains(secret), "{secret} found in the export");
    }
    assert!(export.contains("charged twice"), "the rest of the message is kept");
    let (data_dir, _dir) = app.stop().await;
    let secrets = ["4111 1111 1111 1111", "FR76 3000 6000", "Tr0ub4dor"];
    if postgres_url(&data_dir).is_some() {
        for secret in secrets {
            assert_eq!(
                tables_mentioning(&data_dir, secret).await,
                Vec::<String>::new(),
                "{secret} found in the database"
            );
        }
        return;
    }
    let file = std::fs::read(data_dir.join("rappel.redb")).unwrap();
    for secret in secrets {
        assert!(
            !file.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} found in the store file"
        );
    }
}
