//! Three Rappel processes on one PostgreSQL database, as behind a load balancer: concurrent ingests of one
//! interaction, outreach claims from four senders and the scheduled ticker of every node. Runs on either
//! backend's leg of the suite (it starts its own PostgreSQL when the suite runs on redb).

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{Timelike, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{postgres_database, test_postgres, ADMIN_KEY};

/// A `rappel serve` process on the shared database.
struct Node {
    base: String,
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A job every node's ticker finds due at the start of every minute.
const EVERY_MINUTE: &str = r#"id = "every_minute"
description = "Open conversations waiting on us, checked every minute (a test of one run per schedule)."
schedule = "0 * * * * *"
timezone = "UTC"
enabled = true
cooldown_hours = 48

[detector]
kind = "unresolved_aging"
hours = 48

[outreach]
channels = ["chat"]
priority = 4

[outreach.templates]
en = "Hi {first_name}, you are still waiting on us about {topic}."
"#;

/// Starts a node on `url` with the jobs of `jobs` and its own data folder (logs only: the data is in the database).
async fn start(url: &str, jobs: &Path, dir: &Path, n: usize) -> Node {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data = dir.join(format!("node-{n}"));
    std::fs::create_dir_all(&data).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rappel"))
        .arg("serve")
        .env("RAPPEL_STORE", url)
        .env("RAPPEL_BIND", format!("127.0.0.1:{port}"))
        .env("RAPPEL_DATA_DIR", &data)
        .env("RAPPEL_JOBS_DIR", jobs)
        .env("RAPPEL_ADMIN_KEY", ADMIN_KEY)
        .env("RAPPEL_RATE_LIMIT_PER_SECOND", "0")
        .env("RAPPEL_EMBED_QUOTA_CHARS_PER_MINUTE", "0")
        .env("RAPPEL_LOG_LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data.join("server.log")).unwrap())
        .spawn()
        .expect("rappel serve starts");
    let mut node = Node {
        base: format!("http://127.0.0.1:{port}"),
        child,
    };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Some(status) = node.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(data.join("server.log")).unwrap_or_default();
            panic!("node {n} exited ({status}):\n{log}");
        }
        if let Ok(res) = client.get(format!("{}/readyz", node.base)).send().await {
            if res.status() == StatusCode::OK {
                return node;
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = node.child.kill();
    panic!("node {n} not ready after 60 s");
}

/// Sends a JSON request with the admin key; returns the status and the body.
async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = client.request(method, url).bearer_auth(ADMIN_KEY);
    if let Some(body) = body {
        req = req.json(body);
    }
    let res = req.send().await.expect("the node answers");
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[actix_web::test]
async fn three_nodes_on_one_database_ingest_claim_and_run_jobs_once() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let url = postgres_database(test_postgres(), dir.path()).await;
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    std::fs::write(jobs.join("every_minute.toml"), EVERY_MINUTE).unwrap();
    // Started together: they migrate and seed the job definitions at the same moment.
    let nodes = futures_util::future::join_all((0..3).map(|n| start(&url, &jobs, dir.path(), n))).await;
    let client = reqwest::Client::new();
    let at = |n: usize, path: &str| format!("{}/v1{path}", nodes[n % 3].base);

    // The same interactions sent to the three nodes at once: one is created, the others merge into it.
    let (status, customer) = call(
        &client,
        Method::POST,
        at(0, "/customers"),
        Some(&json!({
            "external_id": "nodes-ingest", "name": "Ines Node", "language": "en", "timezone": "UTC"
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{customer}");
    let cid = customer["id"].as_str().unwrap().to_owned();
    // Reachable by chat, which the job uses (the senders below drain e-mail only).
    let prefs = json!({"consent": {"chat": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "test"}}});
    let (status, body) = call(
        &client,
        Method::PUT,
        at(1, &format!("/customers/{cid}/preferences")),
        Some(&prefs),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for t in 0..5 {
        let body = json!({
            "external_id": format!("nodes-t{t}"), "channel": "chat", "status": "open",
            "opened_at": "2026-11-01T09:00:00Z",
            "messages": [{"id": "m1", "role": "customer", "sent_at": "2026-11-01T09:00:00Z",
                "text": format!("My hub number {t} keeps dropping off the network since the update.")}]
        });
        let sends = (0..3).map(|n| {
            call(
                &client,
                Method::POST,
                at(n, &format!("/customers/{cid}/interactions")),
                Some(&body),
            )
        });
        let statuses: Vec<StatusCode> = futures_util::future::join_all(sends)
            .await
            .into_iter()
            .map(|(s, b)| {
                assert!(s == StatusCode::CREATED || s == StatusCode::OK, "{s}: {b}");
                s
            })
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
            1,
            "{statuses:?}"
        );
    }
    let (_, listed) = call(
        &client,
        Method::GET,
        at(2, &format!("/customers/{cid}/interactions?limit=100")),
        None,
    )
    .await;
    let external: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(external.len(), 5, "one interaction per external id: {external:?}");
    let (status, memories) = call(
        &client,
        Method::GET,
        at(1, &format!("/customers/{cid}/memories?limit=100")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{memories}");
    // A message leaves one memory per kind (its text, the issue it reports...); near-duplicates reinforce one.
    let kinds_and_texts: Vec<(&str, &str)> = memories["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    let unique: BTreeSet<&(&str, &str)> = kinds_and_texts.iter().collect();
    assert!(!unique.is_empty());
    assert_eq!(
        kinds_and_texts.len(),
        unique.len(),
        "no memory stored twice: {kinds_and_texts:?}"
    );

    // A node keeps the memories it read, and its own ingest keeps them current; another node's write in between
    // must still show. Every node reads, node 1 writes, node 2 writes, node 1 writes again: then every node
    // recalls each of the three writes, and the three nodes recall alike.
    let recall = |n: usize, query: &'static str| {
        let (client, url) = (client.clone(), at(n, &format!("/customers/{cid}/recall")));
        async move {
            let (status, ranked) = call(&client, Method::POST, url, Some(&json!({"query": query, "k": 5}))).await;
            assert_eq!(status, StatusCode::OK, "{ranked}");
            ranked
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let m = &r["memory"];
                    (
                        m["id"].as_str().unwrap().to_owned(),
                        m["provenance"]["interaction_id"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<(String, String)>>()
        }
    };
    for n in 0..3 {
        recall(n, "hub").await;
    }
    let mut later = Vec::new();
    for (n, text, query) in [
        (1, "The replacement doorbell arrived broken.", "doorbell arrived broken"),
        (
            2,
            "Je voudrais un remboursement pour la sonnette.",
            "remboursement sonnette",
        ),
        (1, "Please call me back on Tuesday morning.", "call me back on Tuesday"),
    ] {
        let body = json!({
            "external_id": format!("nodes-later-{}", later.len()), "channel": "chat", "status": "open",
            "opened_at": "2026-11-02T09:00:00Z",
            "messages": [{"id": "m1", "role": "customer", "sent_at": "2026-11-02T09:00:00Z", "text": text}]
        });
        let (status, out) = call(
            &client,
            Method::POST,
            at(n, &format!("/customers/{cid}/interactions")),
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{out}");
        // Provenance names the interaction by its external id.
        later.push((body["external_id"].as_str().unwrap().to_owned(), query));
    }
    for (interaction, query) in later {
        let answers = futures_util::future::join_all((0..3).map(|n| recall(n, query))).await;
        for (n, ranked) in answers.iter().enumerate() {
            assert!(
                ranked.iter().any(|(_, i)| *i == interaction),
                "node {n} recalls the write of {interaction} for {query:?}: {ranked:?}"
            );
            assert_eq!(ranked, &answers[0], "nodes {n} and 0 recall alike for {query:?}");
        }
    }

    // 40 items queued through the three nodes, drained by four senders spread over them.
    let mut queued = BTreeSet::new();
    for n in 0..40 {
        let (status, c) = call(
            &client,
            Method::POST,
            at(n, "/customers"),
            Some(&json!({
                "external_id": format!("nodes-claim-{n}"), "name": format!("Claire {n}"), "timezone": "UTC",
                "email": format!("claire{n}@example.com")
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        let id = c["id"].as_str().unwrap();
        let prefs = json!({"consent": {"email": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "test"}}});
        let (status, _) = call(
            &client,
            Method::PUT,
            at(n + 1, &format!("/customers/{id}/preferences")),
            Some(&prefs),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let item = json!({"customer_id": id, "reason_code": "nodes", "reason": "test", "templates": {"en": "Hi"}});
        let (status, out) = call(&client, Method::POST, at(n + 2, "/outreach"), Some(&item)).await;
        assert_eq!(status, StatusCode::CREATED, "{out}");
        queued.insert(out["item"]["id"].as_str().unwrap().to_owned());
    }
    let senders = (0..4).map(|s| {
        let (client, claim) = (client.clone(), at(s, "/outreach/claim"));
        let ack_base = nodes[(s + 1) % 3].base.clone();
        async move {
            let mut mine = Vec::new();
            loop {
                let body = json!({"channel": "email", "max": 3, "lease_seconds": 300});
                let (status, items) = call(&client, Method::POST, claim.clone(), Some(&body)).await;
                assert_eq!(status, StatusCode::OK, "{items}");
                let items = items.as_array().unwrap().clone();
                if items.is_empty() {
                    return mine;
                }
                for item in items {
                    let id = item["id"].as_str().unwrap().to_owned();
                    let ack = json!({"status": "sent", "provider_message_id": format!("sender{s}-{id}")});
                    let (status, body) = call(
                        &client,
                        Method::POST,
                        format!("{ack_base}/v1/outreach/{id}/ack"),
                        Some(&ack),
                    )
                    .await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                    mine.push(id);
                }
            }
        }
    });
    let delivered: Vec<Vec<String>> = futures_util::future::join_all(senders).await;
    let all: Vec<&String> = delivered.iter().flatten().collect();
    let once: BTreeSet<String> = all.iter().map(|s| (*s).clone()).collect();
    assert_eq!(all.len(), once.len(), "an item was handed out twice");
    assert_eq!(once, queued, "every item handed out");
    eprintln!(
        "claims per sender: {:?}",
        delivered.iter().map(Vec::len).collect::<Vec<_>>()
    );

    // Every node's ticker fires at the start of the next minute. A node that took that minute and stopped
    // before its run finished is played by the row it would have left (taken, not finished, no run recorded):
    // the first node to hold the job's lease runs it again ("rerun"), once. The run is recorded when it ends, so
    // the runs are read until it is there (a loaded machine may take a while).
    let now = Utc::now();
    let next_minute = now.with_second(0).unwrap().with_nanosecond(0).unwrap() + chrono::Duration::minutes(1);
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    actix_web::rt::spawn(connection);
    db.execute(
        "INSERT INTO job_schedules (workspace, job_id, due) VALUES ('default', 'every_minute', $1)",
        &[&next_minute],
    )
    .await
    .unwrap();
    let wait = (next_minute - now).num_seconds().max(0) as u64 + 5;
    eprintln!("waiting {wait} s for the ticker of each node");
    actix_web::rt::time::sleep(Duration::from_secs(wait)).await;
    let started = |run: &Value| chrono::DateTime::parse_from_rfc3339(run["started_at"].as_str().unwrap()).unwrap();
    let mut runs = Vec::new();
    for _ in 0..90 {
        let (status, body) = call(&client, Method::GET, at(0, "/jobs/every_minute/runs"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        runs = body.as_array().unwrap().clone();
        if runs.iter().any(|r| started(r) >= next_minute) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    }
    let mut per_minute: BTreeMap<String, usize> = BTreeMap::new();
    let mut spans = Vec::new();
    for run in &runs {
        // "startup" when a minute began while the nodes were starting (its catch-up run is the schedule's run).
        let expected: &[&str] = if started(run) >= next_minute {
            &["rerun"]
        } else {
            &["schedule", "startup"]
        };
        assert!(expected.contains(&run["trigger"].as_str().unwrap()), "{run}");
        *per_minute.entry(started(run).format("%H:%M").to_string()).or_default() += 1;
        let finished = chrono::DateTime::parse_from_rfc3339(run["finished_at"].as_str().unwrap()).unwrap();
        spans.push((started(run), finished));
    }
    assert!(
        runs.iter().any(|r| started(r) >= next_minute),
        "the minute left unfinished ran again: {runs:#?}"
    );
    // Runs never overlap across the nodes (the lease): each starts after the one before ended.
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[1].0 > pair[0].1, "two runs at once: {pair:?}");
    }
    // Once per schedule across the nodes (the lease, the last run read again under it, the scheduled time taken).
    assert!(
        per_minute.values().all(|n| *n == 1),
        "one run per minute across three nodes: {per_minute:?}\n{runs:#?}"
    );
    // The customer waiting on us was reached once, by the one run.
    let (_, items) = call(&client, Method::GET, at(1, "/outreach?limit=100"), None).await;
    let from_job: Vec<&Value> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["source"]["id"] == "every_minute")
        .collect();
    assert_eq!(
        from_job.len(),
        1,
        "one item for the customer waiting on us: {from_job:?}"
    );
    assert_eq!(from_job[0]["customer_id"], cid.as_str());
    drop(nodes);
}
