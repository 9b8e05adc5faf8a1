//! Backups under load and erasure down to the bytes of the store file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

/// How many times `needle` occurs in the store file of `data_dir`.
fn occurrences(data_dir: &std::path::Path, needle: &str) -> usize {
    let bytes = std::fs::read(data_dir.join("rappel.redb")).unwrap();
    bytes.windows(needle.len()).filter(|w| *w == needle.as_bytes()).count()
}

/// Rewrites the store file once the stopped server has let go of it.
async fn scrub_when_released(data_dir: &std::path::Path) -> Option<rappel::store::SnapshotStats> {
    for _ in 0..50 {
        match rappel::store::RedbStore::scrub(data_dir) {
            Ok(stats) => return stats,
            Err(_) => actix_web::rt::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the store is still held 5 s after the server stopped");
}

#[actix_web::test]
async fn erased_customer_leaves_no_byte_in_the_store_file_once_stopped() {
    let app = spawn().await;
    let token = "Zorblaxquiddity";
    let gone = app
        .create_customer(json!({
            "external_id": format!("{token}-ext"), "name": format!("Ana {token}"),
            "email": format!("{}@example.com", token.to_lowercase())
        }))
        .await;
    let kept = app.create_customer(customer_body("kept-1")).await;
    for customer in [&gone, &kept] {
        let id = customer["id"].as_str().unwrap();
        // Only the erased customer's message carries the second word.
        let extra = if customer == &gone { "Quuxwibblet" } else { "" };
        let text = format!("My hub {token} {extra} is offline again since the update, please call me back.");
        app.post_interaction(
            id,
            &json!({"external_id": format!("t-{id}"), "channel": "chat", "status": "open",
                "opened_at": "2026-11-01T09:00:00Z",
                "messages": [{"id": "m1", "role": "customer", "text": text, "sent_at": "2026-11-01T09:00:00Z"}]}),
            StatusCode::CREATED,
        )
        .await;
    }
    let res = app
        .req(
            Method::DELETE,
            &format!("/v1/customers/{}", gone["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (data_dir, dir) = app.stop().await;
    if postgres_url(&data_dir).is_some() {
        // PostgreSQL: the erasure deleted every row at once; the database's files are its own (VACUUM reclaims
        // the space of deleted rows), so the rows are what is checked.
        for erased in ["Quuxwibblet", &format!("Ana {token}"), &token.to_lowercase()] {
            assert_eq!(
                tables_mentioning(&data_dir, erased).await,
                Vec::<String>::new(),
                "{erased}"
            );
        }
        assert!(
            !tables_mentioning(&data_dir, token).await.is_empty(),
            "the kept customer's message holds the token"
        );
        return;
    }
    // The kept customer's message mentions the token too: count what the erasure must remove.
    let before = occurrences(&data_dir, token);
    assert!(
        occurrences(&data_dir, "Quuxwibblet") > 0,
        "the erased message lingered in freed pages"
    );
    let stats = scrub_when_released(&data_dir)
        .await
        .expect("the erasure marked the store for a rewrite");
    assert!(stats.records > 0);
    let kept_copies = 1;
    assert!(
        before > kept_copies,
        "the freed pages held the erased text before the rewrite ({before} copies)"
    );
    assert!(
        occurrences(&data_dir, "Quuxwibblet") == 0,
        "the erased message is gone from the file"
    );
    assert_eq!(occurrences(&data_dir, &token.to_lowercase()), 0);
    assert_eq!(
        occurrences(&data_dir, &format!("Ana {token}")),
        0,
        "the erased name is gone from the file"
    );
    // Only the kept customer's message still holds the token, once (the memories keep the text too).
    let after = occurrences(&data_dir, token);
    assert!(after < before, "{after} copies after the rewrite, {before} before");
    eprintln!("token copies in the file: {before} before the rewrite, {after} after (the kept customer's)");
    // A second rewrite has nothing to do, and the kept customer is intact.
    assert!(rappel::store::RedbStore::scrub(&data_dir).unwrap().is_none());
    let app = spawn_at(&data_dir, dir).await;
    let res = app
        .req(Method::GET, &format!("/v1/customers/{}", kept["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, StatusCode::OK).await["external_id"], "kept-1");
    let res = app
        .req(Method::GET, &format!("/v1/customers/{}", gone["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn backup_taken_under_write_load_holds_every_write_acknowledged_before_it() {
    let app = Arc::new(spawn().await);
    let writing = Arc::new(AtomicBool::new(true));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (app, writing) = (Arc::clone(&app), Arc::clone(&writing));
        writers.push(actix_web::rt::spawn(async move {
            let mut acked = Vec::new();
            let mut n = 0;
            while writing.load(Ordering::Relaxed) {
                let res = app
                    .req(Method::POST, "/v1/customers")
                    .json(&customer_body(&format!("w{w}-{n}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::CREATED);
                let id = res.json::<serde_json::Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                acked.push((std::time::Instant::now(), id));
                n += 1;
            }
            acked
        }));
    }
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    if postgres_url(&app.data_dir).is_some() {
        // A PostgreSQL store is backed up with the database's tools: the endpoint says so.
        let res = app.req(Method::GET, "/v1/maintenance/backup").send().await.unwrap();
        let problem = expect_problem(res, StatusCode::NOT_IMPLEMENTED, "not_supported").await;
        assert!(problem["detail"].as_str().unwrap().contains("pg_dump"), "{problem}");
        writing.store(false, Ordering::Relaxed);
        for writer in writers {
            assert!(!writer.await.unwrap().is_empty());
        }
        return;
    }
    let asked = std::time::Instant::now();
    let res = app.req(Method::GET, "/v1/maintenance/backup").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let records: u64 = res.headers()["x-rappel-records"].to_str().unwrap().parse().unwrap();
    let bytes = res.bytes().await.unwrap();
    writing.store(false, Ordering::Relaxed);
    let mut before = Vec::new();
    let mut total = 0;
    for writer in writers {
        let acked = writer.await.unwrap();
        total += acked.len();
        before.extend(acked.into_iter().filter(|(at, _)| *at < asked).map(|(_, id)| id));
    }
    assert!(!before.is_empty() && records > before.len() as u64);

    // A write-scope key may not take one.
    let writer_key = app.key_with(&["write"]).await;
    let res = app
        .req_as(&writer_key, Method::GET, "/v1/maintenance/backup")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::FORBIDDEN, "insufficient_scope").await;

    let file = tempfile::tempdir().unwrap();
    let backup = file.path().join("backup.redb");
    std::fs::write(&backup, &bytes).unwrap();
    let target = tempfile::tempdir().unwrap();
    let restored = rappel::store::restore(&backup, target.path()).unwrap();
    assert_eq!(restored.records, records);
    let restored_app = spawn_at(target.path(), None).await;
    for id in &before {
        let res = restored_app
            .req(Method::GET, &format!("/v1/customers/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "customer {id} acknowledged before the backup"
        );
    }
    let listed = restored_app
        .req(Method::GET, "/v1/customers?limit=100")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    eprintln!(
        "{} of {total} acknowledged writes preceded the backup; all restored",
        before.len()
    );
}
