//! What Rappel understands of the demo's customers as of the demo's morning: the customers in trouble (threats to
//! leave, broken promises, repeated contacts, tickets left waiting) raise the alarm in their context and score
//! below 50, in English and French, even when asked with a neutral message; the calm ones do not.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect, spawn_demo, TestApp};

async fn id_of(app: &TestApp, external_id: &str) -> String {
    let c = expect(
        app.req(Method::GET, &format!("/v1/customers/by-external-id/{external_id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    c["id"].as_str().unwrap().to_owned()
}

async fn context(app: &TestApp, id: &str, message: &str) -> Value {
    expect(
        app.req(Method::POST, &format!("/v1/customers/{id}/context"))
            .json(&json!({"message": message}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await
}

async fn health(app: &TestApp, id: &str) -> Value {
    expect(
        app.req(Method::GET, &format!("/v1/customers/{id}/health"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await["current"]
        .clone()
}

fn has_cue(ctx: &Value, cue: &str) -> bool {
    ctx["sentiment"]["cues"].as_array().unwrap().iter().any(|c| c == cue)
}

#[actix_web::test]
async fn the_demo_customers_in_trouble_raise_the_alarm_and_the_calm_ones_do_not() {
    let app = spawn_demo().await;

    // Nathalie Rousseau, two days before she leaves, asking an innocent question.
    let nathalie = id_of(&app, "cus-1033").await;
    let ctx = context(&app, &nathalie, "Bonjour, j'ai une question sur mon compte").await;
    let mood = &ctx["sentiment"];
    assert_eq!(mood["frustrated"], true, "{mood}");
    assert_eq!(mood["escalate"], true, "{mood}");
    assert!(has_cue(&ctx, "threat_to_leave"), "{mood}");
    let reason = mood["reason"].as_str().unwrap();
    assert!(reason.contains("menace de partir"), "the reason is in French: {reason}");
    assert!(reason.contains("promesse non tenue"), "{reason}");
    let issues = ctx["open_issues"].to_string();
    assert!(issues.contains("E-2231"), "the lock error is an open issue: {issues}");
    assert!(
        !ctx["overdue_commitments"].as_array().unwrap().is_empty(),
        "the callback and the credit were never delivered: {}",
        ctx["open_commitments"]
    );
    assert!(
        ctx["prompt"].as_str().unwrap().contains("EN RETARD"),
        "{}",
        ctx["prompt"]
    );
    let h = health(&app, &nathalie).await;
    assert!(h["score"].as_u64().unwrap() < 50, "{h}");
    assert!(h["caps"].to_string().contains("threat_to_leave"), "{h}");

    // Five more storyline customers in trouble, in both languages, asked neutrally.
    for (ext, question, why) in [
        (
            "cus-1004",
            "Hi, quick question about my invoice.",
            "threat to leave and broken promises",
        ),
        (
            "cus-1017",
            "Hello, can I change my billing address?",
            "threat to leave, replacement never sent",
        ),
        (
            "cus-1027",
            "Hi, what are your opening hours?",
            "third contact and a threat to cancel",
        ),
        (
            "cus-1008",
            "Hi, question about my partner account.",
            "credit policy promised for 11-23",
        ),
        (
            "cus-1032",
            "Bonjour, une petite question sur mon abonnement.",
            "callback promised for 11-19",
        ),
        (
            "cus-1046",
            "Bonjour, une question sur ma facture.",
            "ticket waiting for an answer since 11-20",
        ),
    ] {
        let id = id_of(&app, ext).await;
        let ctx = context(&app, &id, question).await;
        let h = health(&app, &id).await;
        let score = h["score"].as_u64().unwrap();
        assert!(score < 50, "{ext} ({why}) scores {score}: {h}");
        if ext != "cus-1046" {
            assert_eq!(
                ctx["sentiment"]["escalate"], true,
                "{ext} ({why}): {}",
                ctx["sentiment"]
            );
        }
    }

    // The calm, satisfied ones: no alarm, a good score.
    for ext in ["cus-1009", "cus-1039", "cus-1042", "cus-1043", "cus-1001"] {
        let id = id_of(&app, ext).await;
        let ctx = context(&app, &id, "Hello, a quick question about my account.").await;
        assert_eq!(ctx["sentiment"]["escalate"], false, "{ext}: {}", ctx["sentiment"]);
        let h = health(&app, &id).await;
        assert!(h["score"].as_u64().unwrap() > 70, "{ext}: {h}");
    }
}
