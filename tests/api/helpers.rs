//! One spawn helper for every test: a fresh store in a temp dir, the server on port 0, a shared model.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use actix_web::dev::ServerHandle;
use rappel::config::{Settings, StoreSetting};
use rappel::embed::{Embedder, FastEmbedder, ModelSource};
use rappel::service::clock::{FixedClock, ManualClock};
use rappel::service::{Clock, SystemClock};
use rappel::startup::Application;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

/// The bootstrap admin key every test server is started with.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";
/// The body limit of test servers (small, so oversized bodies are cheap to send).
pub const MAX_BODY: usize = 64 * 1024;

/// The real model, loaded once per test binary.
pub fn embedder() -> Arc<dyn Embedder> {
    static MODEL: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let s = Settings::default();
            let model = FastEmbedder::load(
                &s.ort_lib,
                &ModelSource::parse(&s.model),
                s.embed_batch_size,
                s.embed_max_length,
            )
            .expect("the model and ONNX Runtime are fetched (make fetch)");
            Arc::new(model)
        })
        .clone()
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The data folder (kept alive as long as the app).
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    handle: ServerHandle,
}

impl TestApp {
    /// A request with the admin key.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.req_as(ADMIN_KEY, method, path)
    }

    /// A request with the given key.
    pub fn req_as(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key)
    }

    /// A request without any key.
    pub fn anon(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// Creates a customer and returns it.
    pub async fn create_customer(&self, body: Value) -> Value {
        let res = self
            .req(Method::POST, "/v1/customers")
            .json(&body)
            .send()
            .await
            .unwrap();
        expect(res, StatusCode::CREATED).await
    }

    /// Posts an interaction for a customer, expects `status` and returns the body.
    pub async fn post_interaction(&self, customer: &str, body: &Value, status: StatusCode) -> Value {
        let res = self
            .req(Method::POST, &format!("/v1/customers/{customer}/interactions"))
            .json(body)
            .send()
            .await
            .unwrap();
        expect(res, status).await
    }

    /// Creates a key with these scopes in the admin's workspace and returns its secret.
    pub async fn key_with(&self, scopes: &[&str]) -> String {
        let res = self
            .req(Method::POST, "/v1/keys")
            .json(&json!({"name": "test", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        expect(res, StatusCode::CREATED).await["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Stops the server and waits until it has let go of the store.
    pub async fn stop(self) -> (PathBuf, Option<tempfile::TempDir>) {
        self.handle.stop(true).await;
        (self.data_dir, self._dir)
    }
}

/// Waits until no process holds the store in `data_dir` (a stopped server lets go of it shortly after).
pub async fn released(data_dir: &Path) {
    if postgres_url(data_dir).is_some() {
        return;
    }
    for _ in 0..50 {
        match rappel::store::RedbStore::open(data_dir, None) {
            Ok(store) => return drop(store),
            Err(_) => actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("the store is still held 5 s after the server stopped");
}

/// Stops a server and starts a new one on the same store, once the old one has let go of it.
pub async fn restart(app: TestApp) -> TestApp {
    let (data_dir, tempdir) = app.stop().await;
    released(&data_dir).await;
    spawn_at(&data_dir, tempdir).await
}

/// Starts a server on a fresh temp dir.
pub async fn spawn() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    spawn_at(&path, Some(dir)).await
}

/// Starts a server on a fresh temp dir with adjusted settings.
pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    spawn_configured(&path, Some(dir), adjust).await
}

/// Starts a server on `data_dir`.
pub async fn spawn_at(data_dir: &Path, dir: Option<tempfile::TempDir>) -> TestApp {
    spawn_configured(data_dir, dir, |_| {}).await
}

/// The demo's reference time: the storylines are told as of this morning.
pub const DEMO_NOW: &str = "2026-11-25T09:00:00Z";

/// Starts a server on a fresh temp dir whose clock the test moves.
pub async fn spawn_clocked(at: &str) -> (TestApp, Arc<ManualClock>) {
    spawn_clocked_with(at, |_| {}).await
}

/// Starts a server on a fresh temp dir with adjusted settings, whose clock the test moves.
pub async fn spawn_clocked_with(at: &str, adjust: impl FnOnce(&mut Settings)) -> (TestApp, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let clock = Arc::new(ManualClock::new(at.parse().unwrap()));
    let app = spawn_inner(&path, Some(dir), adjust, clock.clone()).await;
    (app, clock)
}

/// Starts a server whose clock stands still at `DEMO_NOW`, with the demo fixtures loaded.
///
/// The fixtures are loaded once per test process (embedding them is most of a minute) into a store every such
/// test then gets a copy of: a copy of the data folder on redb, a database made from it as a template on
/// PostgreSQL. Each test still has a store of its own.
pub async fn spawn_demo() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    match demo_store().await {
        DemoStore::Redb(template) => copy_dir(template, &path),
        DemoStore::Postgres(template) => {
            let server = postgres_server().expect("a PostgreSQL demo store implies a PostgreSQL suite");
            new_database(server, &path, Some(template)).await;
        }
    }
    let clock = Arc::new(FixedClock(DEMO_NOW.parse().unwrap()));
    spawn_inner(&path, Some(dir), |_| {}, clock).await
}

/// The demo store of this test process.
enum DemoStore {
    /// A stopped store's data folder, under Cargo's temporary folder for tests.
    Redb(PathBuf),
    /// The name of a database no session is connected to.
    Postgres(String),
}

/// Loads the demo fixtures on first use, at `DEMO_NOW`, into the store every demo test copies.
async fn demo_store() -> &'static DemoStore {
    static STORE: tokio::sync::OnceCell<DemoStore> = tokio::sync::OnceCell::const_new();
    STORE
        .get_or_init(|| async {
            let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
            remove_orphaned_demo_stores(root);
            let path = root.join(format!("demo-store-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            let database = match postgres_server() {
                Some(server) => Some(new_database(server, &path, None).await),
                None => None,
            };
            let mut settings = test_settings(&path);
            if let Some((url, _)) = &database {
                settings.store = StoreSetting::Postgres(url.clone());
            }
            let clock = Arc::new(FixedClock(DEMO_NOW.parse().unwrap()));
            let app = Application::build_with_clock(&settings, Some(embedder()), clock)
                .await
                .expect("app builds");
            let stats = rappel::startup::load_demo(&app.services, "fixtures/demo".as_ref())
                .await
                .expect("demo loads")
                .expect("the store was empty");
            assert_eq!(stats.failed, 0, "{:?}", stats.errors);
            app.services.persist_index().expect("the vector index is saved");
            drop(app);
            match database {
                None => {
                    released(&path).await;
                    DemoStore::Redb(path)
                }
                Some((_, name)) => {
                    let server = postgres_server().unwrap();
                    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
                        .await
                        .expect("the test PostgreSQL server answers");
                    actix_web::rt::spawn(connection);
                    // The dropped application's pools close their sessions on their own time; a template may
                    // have none.
                    client
                        .execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE datname = $1 AND pid <> pg_backend_pid()",
                            &[&name],
                        )
                        .await
                        .expect("the demo database's sessions end");
                    DemoStore::Postgres(name)
                }
            }
        })
        .await
}

/// Removes the demo stores of test processes that have ended (Linux: their `/proc` entry is gone).
fn remove_orphaned_demo_stores(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("demo-store-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Copies the folder `from` (files and sub-folders) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

async fn spawn_configured(
    data_dir: &Path,
    dir: Option<tempfile::TempDir>,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_inner(data_dir, dir, adjust, Arc::new(SystemClock)).await
}

/// The settings of a test server on `data_dir`.
fn test_settings(data_dir: &Path) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_owned(),
        admin_key: Some(ADMIN_KEY.into()),
        max_body_bytes: MAX_BODY,
        workers: 1,
        // Per-key limits would make load-shaped tests depend on the machine's speed;
        // the tests about limits (`limits.rs`) set their own.
        rate_limit_per_second: 0,
        embed_quota_chars_per_minute: 0,
        ..Settings::default()
    }
}

async fn spawn_inner(
    data_dir: &Path,
    dir: Option<tempfile::TempDir>,
    adjust: impl FnOnce(&mut Settings),
    clock: Arc<dyn Clock>,
) -> TestApp {
    let mut settings = test_settings(data_dir);
    adjust(&mut settings);
    if let Some(server) = postgres_server() {
        if settings.store == StoreSetting::Redb {
            settings.store = StoreSetting::Postgres(postgres_database(server, data_dir).await);
        }
    }
    let app = Application::build_with_clock(&settings, Some(embedder()), clock)
        .await
        .expect("app builds");
    let base = format!("http://{}", app.server.addr());
    let handle = app.server.handle();
    actix_web::rt::spawn(app.server.run());
    TestApp {
        base,
        client: reqwest::Client::new(),
        data_dir: data_dir.to_owned(),
        _dir: dir,
        handle,
    }
}

/// The PostgreSQL server the suite runs on, if any. `RAPPEL_TEST_STORE=postgres` starts one for this test process
/// (`scripts/postgres.sh`, PostgreSQL with pgvector from a pinned PyPI wheel, on a free port, stopped by its
/// watchdog when the process ends); `RAPPEL_TEST_STORE_URL=postgres://...` names a running one instead (a user
/// that may create databases). Neither: redb.
pub fn postgres_server() -> Option<&'static str> {
    static SERVER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    SERVER
        .get_or_init(|| {
            if let Ok(url) = std::env::var("RAPPEL_TEST_STORE_URL") {
                return Some(url);
            }
            (std::env::var("RAPPEL_TEST_STORE").as_deref() == Ok("postgres")).then(|| started_postgres().to_owned())
        })
        .as_deref()
}

/// The suite's PostgreSQL server, started for this test process when the suite does not name one (tests of
/// several nodes need one on either backend).
pub fn test_postgres() -> &'static str {
    postgres_server().unwrap_or_else(started_postgres)
}

/// A PostgreSQL server of this test process, started on first use and stopped when the process ends.
fn started_postgres() -> &'static str {
    static STARTED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    STARTED.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres.sh");
        let out = std::process::Command::new(script)
            .args(["start", "--owner-pid", &std::process::id().to_string()])
            .output()
            .unwrap_or_else(|e| panic!("could not run {script}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{script} start failed:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .last()
            .expect("the script prints the URL")
            .trim()
            .to_owned()
    })
}

/// The PostgreSQL database of the test store in `data_dir`: a new one on the server at `server` (a URL whose user
/// may create databases), named in `data_dir/postgres-url` so a restart on the same folder finds the same data.
pub async fn postgres_database(server: &str, data_dir: &Path) -> String {
    match std::fs::read_to_string(data_dir.join("postgres-url")) {
        Ok(url) => url,
        Err(_) => new_database(server, data_dir, None).await.0,
    }
}

/// Makes a new database on the server at `server` (a copy of `template` when named) for the test store in
/// `data_dir`, names its URL in `data_dir/postgres-url`, and returns the URL and the database's name.
async fn new_database(server: &str, data_dir: &Path, template: Option<&str>) -> (String, String) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("rappel_api_{}_{n}", std::process::id());
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .expect("the test PostgreSQL server answers");
    actix_web::rt::spawn(connection);
    let from = template.map(|t| format!(" TEMPLATE {t}")).unwrap_or_default();
    client
        .batch_execute(&format!("CREATE DATABASE {name}{from}"))
        .await
        .expect("a test database is created");
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    let url = format!("{base}/{name}");
    std::fs::create_dir_all(data_dir).unwrap();
    std::fs::write(data_dir.join("postgres-url"), &url).unwrap();
    (url, name)
}

/// The environment a `rappel` command needs to use the test store in `data_dir` (and its database when the suite
/// runs on PostgreSQL, made now if new).
pub async fn store_env(data_dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = vec![("RAPPEL_DATA_DIR", data_dir.display().to_string())];
    if let Some(server) = postgres_server() {
        env.push(("RAPPEL_STORE", postgres_database(server, data_dir).await));
    }
    env
}

/// The PostgreSQL database of the test store in `data_dir`, when the suite runs on PostgreSQL.
pub fn postgres_url(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join("postgres-url")).ok()
}

/// The tables of the (stopped) test store in `data_dir` whose stored data mentions `needle`, sorted: in a redb
/// file, any key or value; in PostgreSQL, any row of the database as text (every column, JSON records included).
pub async fn tables_mentioning(data_dir: &Path, needle: &str) -> Vec<String> {
    let Some(url) = postgres_url(data_dir) else {
        released(data_dir).await;
        let store = rappel::store::RedbStore::open(data_dir, None).unwrap();
        let mut tables: Vec<String> = store
            .tables_mentioning(needle)
            .unwrap()
            .into_iter()
            .map(str::to_owned)
            .collect();
        tables.sort();
        return tables;
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("the test database answers");
    actix_web::rt::spawn(connection);
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let mut found = Vec::new();
    for table in tables {
        let name: String = table.get(0);
        let sql = format!("SELECT EXISTS (SELECT 1 FROM \"{name}\" AS r WHERE strpos(r::text, $1) > 0)");
        if client.query_one(&sql, &[&needle]).await.unwrap().get::<_, bool>(0) {
            found.push(name);
        }
    }
    found
}

/// Asserts the status and returns the JSON body (`null` when empty).
pub async fn expect(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    }
}

/// Asserts a problem document with this status and code, and returns it.
pub async fn expect_problem(res: Response, status: StatusCode, code: &str) -> Value {
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = expect(res, status).await;
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["type"], format!("urn:rappel:problem:{code}"));
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

/// A valid customer body.
pub fn customer_body(external_id: &str) -> Value {
    json!({
        "external_id": external_id,
        "name": "Camille Dubois",
        "email": "camille@example.fr",
        "language": "fr-FR",
        "timezone": "Europe/Paris",
        "plan": "pro",
        "tags": ["vip", "hub-v2"],
        "signup_date": "2024-03-14",
        "renewal_date": "2027-01-10",
        "lifetime_value": 1200.5,
        "attributes": {"seats": 4}
    })
}
