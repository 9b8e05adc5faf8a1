//! The knowledge base over HTTP: documents, idempotent import by source, search with citations, contexts that
//! cite the right chunk in the customer's language, expired content never cited, freshness reports.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect, expect_problem, spawn, spawn_clocked, spawn_demo, TestApp};

async fn id_of(app: &TestApp, external: &str) -> String {
    let res = app
        .req(Method::GET, &format!("/v1/customers/by-external-id/{external}"))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await["id"].as_str().unwrap().to_owned()
}

async fn context(app: &TestApp, customer: &str, message: &str) -> Value {
    let res = app
        .req(Method::POST, &format!("/v1/customers/{customer}/context"))
        .json(&json!({ "message": message }))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await
}

async fn source_of(app: &TestApp, doc_id: &str) -> String {
    let res = app
        .req(Method::GET, &format!("/v1/knowledge/{doc_id}"))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await["source"].as_str().unwrap().to_owned()
}

async fn add(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let res = app.req(Method::POST, "/v1/knowledge").json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

#[actix_web::test]
async fn a_demo_ticket_gets_the_right_chunk_cited_in_each_language() {
    let app = spawn_demo().await;
    // Nathalie Rousseau writes in French about her lock's E-2231 error.
    let nathalie = id_of(&app, "cus-1033").await;
    let ctx = context(
        &app,
        &nathalie,
        "Ma serrure affiche encore l'erreur E-2231, qu'est-ce que je dois faire ?",
    )
    .await;
    let cited = ctx["knowledge"].as_array().unwrap();
    assert!(!cited.is_empty(), "{}", ctx["knowledge"]);
    // E-2231 is covered by both French smart-lock articles (error codes, installation): either section that
    // explains it is right.
    let first = &cited[0]["citation"];
    assert_eq!(first["language"], "fr", "{first}");
    let section = format!("{} {}", first["headings"], cited[0]["text"]);
    assert!(
        section.contains("E-2231"),
        "the section explains the code: {}",
        cited[0]
    );
    let source = source_of(&app, first["doc_id"].as_str().unwrap()).await;
    assert!(source.starts_with("fr/") && source.contains("serrure"), "{source}");
    let cite = first["cite"].as_str().unwrap();
    assert!(cite.starts_with("[KB-") && cite.contains('§'), "{cite}");
    let prompt = ctx["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("Base de connaissances") && prompt.contains(cite),
        "{prompt}"
    );

    // An English customer with a lock error gets the English article.
    let customer = id_of(&app, "cus-1019").await;
    let ctx = context(
        &app,
        &customer,
        "My smart lock is showing error E-2210 again. What should I do?",
    )
    .await;
    let first = &ctx["knowledge"][0]["citation"];
    assert_eq!(first["language"], "en", "{}", ctx["knowledge"]);
    let section = format!("{} {}", first["headings"], ctx["knowledge"][0]["text"]);
    assert!(
        section.contains("E-2210"),
        "the section explains the code: {}",
        ctx["knowledge"]
    );
    let source = source_of(&app, first["doc_id"].as_str().unwrap()).await;
    assert!(source.starts_with("en/smart-lock"), "{source}");
    assert!(ctx["prompt"].as_str().unwrap().contains("Knowledge base"));
    assert!(ctx["past_resolutions"].is_array());

    // Cited documents count toward the stale-content report (every demo article is older than 0 days).
    let res = app
        .req(Method::GET, "/v1/knowledge/reports/stale?days=0")
        .send()
        .await
        .unwrap();
    let stale = expect(res, StatusCode::OK).await;
    let listed: Vec<&str> = stale
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["document"]["source"].as_str().unwrap())
        .collect();
    assert!(
        listed.iter().any(|s| s.starts_with("fr/") && s.contains("serrure")),
        "{stale}"
    );
    assert!(stale[0]["citations_30d"].as_u64().unwrap() >= 1);
}

#[actix_web::test]
async fn expired_content_is_never_cited_and_the_demo_promotion_stays_out() {
    let app = spawn_demo().await;
    let res = app
        .req(Method::POST, "/v1/knowledge/search")
        .json(&json!({"query": "Is the 60-day money-back summer guarantee with free return labels still on?", "k": 10}))
        .send()
        .await
        .unwrap();
    let hits = expect(res, StatusCode::OK).await;
    for hit in hits.as_array().unwrap() {
        let source = source_of(&app, hit["citation"]["doc_id"].as_str().unwrap()).await;
        assert_ne!(source, "en/summer-2026-refund-promotion.md", "{hits}");
    }
    let res = app.req(Method::GET, "/v1/knowledge?language=en").send().await.unwrap();
    let listed = expect(res, StatusCode::OK).await.to_string();
    assert!(!listed.contains("summer-2026"), "the list hides expired documents");
    let res = app
        .req(Method::GET, "/v1/knowledge?language=en&include_expired=true")
        .send()
        .await
        .unwrap();
    assert!(expect(res, StatusCode::OK).await.to_string().contains("summer-2026"));

    // A document expiring is left out from then on, in search and in contexts.
    let (status, doc) = add(
        &app,
        json!({"title": "Snow mode", "language": "en", "valid_until": "2026-11-01T00:00:00Z",
               "body": "## Snow mode\n\nSnow mode keeps the porch sensor quiet while it snows."}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let res = app
        .req(Method::POST, "/v1/knowledge/search")
        .json(&json!({"query": "snow mode porch sensor"}))
        .send()
        .await
        .unwrap();
    let hits = expect(res, StatusCode::OK).await;
    assert!(!hits.to_string().contains(doc["id"].as_str().unwrap()), "{hits}");
}

#[actix_web::test]
async fn a_source_imported_again_is_replaced_not_duplicated() {
    let app = spawn().await;
    let body = json!({
        "title": "Refunds", "language": "en", "source": "en/refunds.md", "tags": ["billing"],
        "body": "# Refunds\n\n## Window\n\nYou can ask for a refund within 30 days.\n\n## How\n\nWrite to billing."
    });
    let (status, first) = add(&app, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["chunks"], 2);
    assert_eq!(first["label"], "KB-1");
    let (status, again) = add(&app, body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["updated_at"], first["updated_at"], "identical: nothing written");
    let mut changed = body.clone();
    changed["body"] = json!("## Window\n\nYou can ask for a refund within 45 days.\n\n## How\n\nWrite to us.\n\n## Exceptions\n\nGift cards.");
    let (status, replaced) = add(&app, changed).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced["id"], first["id"]);
    assert_eq!(replaced["chunks"], 3);
    let res = app.req(Method::GET, "/v1/knowledge").send().await.unwrap();
    assert_eq!(expect(res, StatusCode::OK).await.as_array().unwrap().len(), 1);
    let res = app
        .req(Method::POST, "/v1/knowledge/search")
        .json(&json!({"query": "how many days do I have for a refund?", "k": 1}))
        .send()
        .await
        .unwrap();
    let hits = expect(res, StatusCode::OK).await;
    assert!(
        hits[0]["text"].as_str().unwrap().contains("45 days"),
        "old chunks are gone: {hits}"
    );
    assert_eq!(hits[0]["citation"]["cite"], "[KB-1 §Window]");

    // A merge patch that changes only metadata keeps the chunks; delete removes everything.
    let id = first["id"].as_str().unwrap();
    let res = app
        .req(Method::PATCH, &format!("/v1/knowledge/{id}"))
        .header("content-type", "application/merge-patch+json")
        .json(&json!({"tags": ["billing", "refunds"], "url": "https://help.example/refunds"}))
        .send()
        .await
        .unwrap();
    let patched = expect(res, StatusCode::OK).await;
    assert_eq!(patched["chunks"], 3);
    assert_eq!(patched["url"], "https://help.example/refunds");
    let res = app
        .req(Method::DELETE, &format!("/v1/knowledge/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .req(Method::GET, &format!("/v1/knowledge/{id}"))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "knowledge_not_found").await;
    let res = app
        .req(Method::POST, "/v1/knowledge/search")
        .json(&json!({"query": "refund"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, StatusCode::OK).await, json!([]));
}

/// One short hub article and one English customer who will ask what it does not answer; the customer's id.
async fn hub_article_and_customer(app: &TestApp, external_id: &str, name: &str) -> String {
    add(
        app,
        json!({"title": "Hub offline", "language": "en",
               "body": "## Restart\n\nUnplug the hub for ten seconds, then plug it back in."}),
    )
    .await;
    let res = app
        .req(Method::POST, "/v1/customers")
        .json(&json!({"external_id": external_id, "name": name, "language": "en"}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn questions_nothing_answers_become_gaps_and_leave_with_their_customer() {
    let app = spawn().await;
    let customer = hub_article_and_customer(&app, "gap-1", "Zed Quill").await;
    let ctx = context(
        &app,
        &customer,
        "Do you sell a video doorbell with a built-in chime for apartments?",
    )
    .await;
    assert_eq!(ctx["knowledge"], json!([]), "nothing cited: {}", ctx["knowledge"]);
    context(&app, &customer, "Is there a video doorbell that works with the hub?").await;
    let res = app.req(Method::GET, "/v1/knowledge/reports/gaps").send().await.unwrap();
    let gaps = expect(res, StatusCode::OK).await;
    let total: u64 = gaps
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 2, "{gaps}");
    assert!(gaps.to_string().contains("video doorbell"));

    let res = app
        .req(Method::DELETE, &format!("/v1/customers/{customer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.req(Method::GET, "/v1/knowledge/reports/gaps").send().await.unwrap();
    assert_eq!(
        expect(res, StatusCode::OK).await,
        json!([]),
        "the erased customer's questions are gone"
    );
}

/// The number of unanswered questions the gap report holds over its longest window.
async fn gap_count(app: &TestApp) -> u64 {
    let res = app
        .req(Method::GET, "/v1/knowledge/reports/gaps?days=3650")
        .send()
        .await
        .unwrap();
    let gaps = expect(res, StatusCode::OK).await;
    gaps.as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_u64().unwrap())
        .sum()
}

#[actix_web::test]
async fn unanswered_questions_are_kept_90_days_then_swept() {
    let (app, clock) = spawn_clocked("2026-11-25T00:00:00Z").await;
    let customer = hub_article_and_customer(&app, "gap-old", "Ada Vole").await;
    context(&app, &customer, "Do you sell a video doorbell with a built-in chime?").await;
    clock.set("2027-01-24T00:00:00Z".parse().unwrap());
    context(&app, &customer, "Can the hub water my garden plants on a schedule?").await;
    assert_eq!(gap_count(&app).await, 2);

    let sweep = |app: &TestApp| app.req(Method::POST, "/v1/maintenance/retention").send();
    clock.set("2027-03-05T00:00:00Z".parse().unwrap());
    assert_eq!(sweep(&app).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        gap_count(&app).await,
        1,
        "the 100-day-old question is gone, the 40-day-old one stays"
    );
    clock.set("2027-05-05T00:00:00Z".parse().unwrap());
    assert_eq!(sweep(&app).await.unwrap().status(), StatusCode::OK);
    assert_eq!(gap_count(&app).await, 0);
}

#[actix_web::test]
async fn bad_knowledge_input_gets_a_clear_problem() {
    let app = spawn().await;
    let (status, problem) = add(&app, json!({"title": "T", "language": "en", "body": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "body");
    let (status, problem) = add(&app, json!({"title": "T", "language": "english!", "body": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "invalid_language");
    let (status, problem) = add(
        &app,
        json!({"title": "T", "language": "en", "body": "x", "format": "pdf"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, _) = add(
        &app,
        json!({"title": "T", "language": "en", "body": "x", "valid_until": "+20000-01-01T00:00:00Z"}),
    )
    .await;
    assert!(status.is_client_error());
    let res = app
        .req(Method::POST, "/v1/knowledge/search")
        .json(&json!({"query": "x", "k": 0}))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    let res = app
        .req(Method::GET, "/v1/knowledge/reports/gaps?days=0")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let res = app.req(Method::GET, "/v1/knowledge/kb_nope").send().await.unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "knowledge_not_found").await;
    let reader = app.key_with(&["read"]).await;
    let res = app
        .req_as(&reader, Method::POST, "/v1/knowledge")
        .json(&json!({"title": "T", "language": "en", "body": "x"}))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::FORBIDDEN, "insufficient_scope").await;
}
