//! `rappel import` and the demo fixtures: importing twice changes nothing.

use std::process::Command;

use rappel::domain::WorkspaceId;
use rappel::service::import;
use rappel::store::{CustomerRepo, PreferenceRepo, RedbStore};

const DEMO: &str = "fixtures/demo/customers.ndjson";

#[test]
fn importing_the_demo_fixtures_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path(), None).unwrap();
    let ws = WorkspaceId::default_workspace();
    let now = chrono::Utc::now();
    let first = import::apply(&store, &ws, import::read_file(DEMO.as_ref()).unwrap(), now, |_| {}).unwrap();
    assert!(first.records >= 40, "at least 40 demo customers");
    assert_eq!((first.created, first.failed), (first.records, 0), "{:?}", first.errors);

    let page = store.list_customers(&ws, &Default::default(), None, 1000).unwrap();
    let before: Vec<_> = page
        .items
        .iter()
        .map(|c| (c.clone(), store.get_preferences(&ws, &c.id).unwrap()))
        .collect();
    let later = now + chrono::Duration::hours(1);
    let second = import::apply(&store, &ws, import::read_file(DEMO.as_ref()).unwrap(), later, |_| {}).unwrap();
    assert_eq!(second.unchanged, first.records, "{second:?}");
    let after: Vec<_> = before
        .iter()
        .map(|(c, _)| {
            (
                store.get_customer(&ws, &c.id).unwrap().unwrap(),
                store.get_preferences(&ws, &c.id).unwrap(),
            )
        })
        .collect();
    assert_eq!(before, after);
    let languages: Vec<_> = before.iter().filter_map(|(c, _)| c.fields.language.clone()).collect();
    assert!(languages.iter().any(|l| l.starts_with("fr")) && languages.iter().any(|l| l.starts_with("en")));
}

#[test]
fn the_import_command_reports_counts_and_bad_lines_and_export_prints_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(
        &bad,
        b"{\"type\":\"customer\",\"external_id\":\"ok-1\",\"timezone\":\"Europe/Paris\"}\n{\"type\":\"customer\",\"external_id\":\"bad\",\"timezone\":\"Nowhere\"}\n{oops\n\xff\n{\"type\":\"ticket\"}\n",
    )
    .unwrap();
    let rappel = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rappel"))
            .args(args)
            .env("RAPPEL_DATA_DIR", dir.path().join("data"))
            .output()
            .unwrap()
    };
    let out = rappel(&["import", DEMO]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("failed") && stdout.contains(" 0 failed"), "{stdout}");
    let again = String::from_utf8_lossy(&rappel(&["import", DEMO]).stdout).into_owned();
    assert!(again.contains("0 created, 0 updated"), "{again}");

    let out = rappel(&["import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("5 records: 1 created, 0 updated, 0 unchanged, 4 failed"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.ndjson:2") && stderr.contains("Nowhere"),
        "{stderr}"
    );

    let out = rappel(&["export", "--customer", "ok-1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let export: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(export["customer"]["external_id"], "ok-1");
    let out = rappel(&["export", "--customer", "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no customer nobody"));
}

#[actix_web::test]
async fn importing_customers_and_interactions_twice_changes_nothing() {
    use reqwest::{Method, StatusCode};

    use crate::helpers::{expect, spawn_at};

    // All customers and the first 60 demo interactions, imported twice with the real command.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("some.ndjson");
    let interactions = std::fs::read_to_string("fixtures/demo/interactions.ndjson").unwrap();
    let some: Vec<&str> = interactions.lines().take(60).collect();
    std::fs::write(
        &file,
        format!("{}{}\n", std::fs::read_to_string(DEMO).unwrap(), some.join("\n")),
    )
    .unwrap();
    let env = crate::helpers::store_env(&data).await;
    let import = || {
        let out = Command::new(env!("CARGO_BIN_EXE_rappel"))
            .args(["import", file.to_str().unwrap()])
            .envs(env.clone())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = import();
    assert!(first.contains(" 0 failed"), "{first}");
    let exports = |app: &crate::helpers::TestApp| {
        let app_client = (app.client.clone(), app.base.clone());
        async move {
            let (client, base) = app_client;
            let list: serde_json::Value = client
                .get(format!("{base}/v1/customers?limit=100"))
                .bearer_auth(crate::helpers::ADMIN_KEY)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut out = Vec::new();
            for c in list["items"].as_array().unwrap() {
                let mut export: serde_json::Value = client
                    .get(format!("{base}/v1/customers/{}/export", c["id"].as_str().unwrap()))
                    .bearer_auth(crate::helpers::ADMIN_KEY)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                export.as_object_mut().unwrap().remove("exported_at");
                out.push(export);
            }
            out
        }
    };
    let app = spawn_at(&data, None).await;
    let before = exports(&app).await;
    assert_eq!(before.len(), 48);
    let ready = expect(app.req(Method::GET, "/readyz").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");
    app.stop().await;
    crate::helpers::released(&data).await;

    let second = import();
    assert!(second.contains(" 0 created, 0 updated"), "{second}");
    let app = spawn_at(&data, None).await;
    assert_eq!(exports(&app).await, before, "a second import changed stored data");
}
