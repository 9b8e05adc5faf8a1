//! A real PostgreSQL for tests, never a mock: one throw-away cluster per test process, started by
//! `scripts/postgres.sh` on a free port (and stopped by its watchdog once the process exits), and a new database
//! for each test. `RAPPEL_TEST_POSTGRES_URL` (a `postgres://` URL whose user may create databases, without a
//! query string) points the tests at a running server instead.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use super::PostgresConfig;

/// The server's URL, started once per process.
fn server() -> &'static str {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("RAPPEL_TEST_POSTGRES_URL") {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres.sh");
        let out = Command::new(script)
            .args(["start", "--owner-pid", &std::process::id().to_string()])
            .output()
            .unwrap_or_else(|e| panic!("could not run {script}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{script} start failed:\n{}{}",
            stdout,
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

/// Runs one statement on the server's maintenance database.
fn admin(sql: &str) -> Result<(), tokio_postgres::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the test's admin connection");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(server(), tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        let result = client.batch_execute(sql).await;
        drop(client);
        let _ = driver.await;
        result
    })
}

/// A database of its own for one test, dropped with it.
pub struct TestDb {
    name: String,
    /// Settings for a store on this database (a small pool, short timeouts).
    pub config: PostgresConfig,
}

impl TestDb {
    /// Creates an empty database.
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "rappel_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(&format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e:?}"));
        let base = server();
        let url = match base.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("the test server's URL {base:?} names no database"),
        };
        let mut config = PostgresConfig::new(url);
        config.pool_size = 4;
        config.statement_timeout = std::time::Duration::from_secs(20);
        Self { name, config }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort: the whole cluster goes with the test process anyway.
        let _ = admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}
