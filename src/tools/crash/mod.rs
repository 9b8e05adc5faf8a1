//! `rappel bench --crash`: kill -9 durability, as a black-box client of the real binary over HTTP. Each cycle
//! runs concurrent writers against `rappel serve`, kills the server at a random moment, restarts it on the same
//! store, waits for `/readyz`, and checks that every write acknowledged with a 2xx is there and that the outreach
//! queue kept its invariants.

mod verify;
mod writer;

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{Rng, SeedableRng};

use crate::config::Settings;
use writer::{Api, Ledger};

/// The admin key the servers under test start with.
const ADMIN_KEY: &str = "crash-test-admin-key-0123456789";
/// How long a (re)started server may take to answer `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// How to run the crash test.
#[derive(Debug, Clone)]
pub struct CrashOptions {
    /// The `rappel` binary to start (`serve`).
    pub binary: PathBuf,
    /// Kill-and-restart cycles.
    pub cycles: usize,
    /// Concurrent writers.
    pub writers: usize,
    /// The server is killed a random time in this range (ms) after the writers start.
    pub kill_after_ms: (u64, u64),
    /// Seed of the kill times.
    pub seed: u64,
    /// Model directory and ONNX Runtime library the servers use.
    pub model: String,
    /// ONNX Runtime library.
    pub ort_lib: PathBuf,
}

impl CrashOptions {
    /// Options for `binary` with the model and runtime of `settings`.
    pub fn new(binary: PathBuf, settings: &Settings, cycles: usize, writers: usize) -> Self {
        Self {
            binary,
            cycles,
            writers,
            kill_after_ms: (300, 3000),
            seed: rand::random(),
            model: settings.model.clone(),
            ort_lib: settings.ort_lib.clone(),
        }
    }
}

/// What a crash run measured.
#[derive(Debug, Default)]
pub struct CrashReport {
    /// Completed kill-and-restart cycles.
    pub cycles: usize,
    /// Writes acknowledged with a 2xx, by kind.
    pub acknowledged: BTreeMap<&'static str, u64>,
    /// Acknowledged writes missing after a restart.
    pub lost: Vec<String>,
    /// Broken queue invariants.
    pub violations: Vec<String>,
    /// 5xx and other answers that should not happen.
    pub unexpected: Vec<String>,
    /// Items the verifiers drained from the queue (claimed once each, then acknowledged).
    pub drained: usize,
    /// Time from starting the binary again to `/readyz` answering 200, per restart.
    pub restarts: Vec<Duration>,
    /// The store and server logs, kept when something went wrong.
    pub kept: Option<PathBuf>,
}

impl CrashReport {
    /// Acknowledged writes, all kinds.
    pub fn acknowledged_total(&self) -> u64 {
        self.acknowledged.values().sum()
    }

    /// Median restart-to-ready time.
    pub fn median_restart(&self) -> Duration {
        let mut sorted = self.restarts.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }

    /// Nothing lost, no invariant broken, no unexpected answer.
    pub fn passed(&self) -> bool {
        self.lost.is_empty() && self.violations.is_empty() && self.unexpected.is_empty()
    }

    /// Prints the figures and every problem found.
    pub fn print(&self) {
        let kinds: Vec<String> = self.acknowledged.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let max = self.restarts.iter().max().copied().unwrap_or_default();
        println!("cycles                  {}", self.cycles);
        println!(
            "acknowledged writes     {} ({})",
            self.acknowledged_total(),
            kinds.join(", ")
        );
        println!("lost writes             {}", self.lost.len());
        println!("queue violations        {}", self.violations.len());
        println!("unexpected answers      {}", self.unexpected.len());
        println!("drained after restarts  {} items, each handed out once", self.drained);
        println!(
            "restart to ready        median {:.0} ms, max {:.0} ms",
            self.median_restart().as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0
        );
        for line in self
            .lost
            .iter()
            .chain(&self.violations)
            .chain(&self.unexpected)
            .take(50)
        {
            println!("  {line}");
        }
        if let Some(dir) = &self.kept {
            println!("store and server logs kept in {}", dir.display());
        }
    }
}

/// One running server process.
struct Server {
    child: Child,
    api: Api,
}

impl Server {
    /// Starts `rappel serve` on `data_dir` and a free port; returns once `/readyz` answers, with the time taken.
    async fn start(options: &CrashOptions, data_dir: &Path, n: usize) -> anyhow::Result<(Self, Duration)> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = File::create(data_dir.join(format!("server-{n}.log")))?;
        let jobs = data_dir.join("no-jobs");
        std::fs::create_dir_all(&jobs)?;
        let started = Instant::now();
        let mut child = Command::new(&options.binary)
            .arg("serve")
            .env("RAPPEL_BIND", format!("127.0.0.1:{port}"))
            .env("RAPPEL_DATA_DIR", data_dir)
            .env("RAPPEL_ADMIN_KEY", ADMIN_KEY)
            .env("RAPPEL_MODEL", &options.model)
            .env("RAPPEL_ORT_LIB", &options.ort_lib)
            .env("RAPPEL_JOBS_DIR", &jobs)
            .env("RAPPEL_LOG_FORMAT", "json")
            .env("RAPPEL_LOG_LEVEL", "warn")
            // A durability run measures writes, not the per-key limits.
            .env("RAPPEL_RATE_LIMIT_PER_SECOND", "0")
            .env("RAPPEL_EMBED_QUOTA_CHARS_PER_MINUTE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", options.binary.display()))?;
        let api = Api::new(format!("http://127.0.0.1:{port}"), ADMIN_KEY);
        while !api.ready().await {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("the server exited ({status}) before it was ready; see server-{n}.log");
            }
            if started.elapsed() > READY_TIMEOUT {
                let _ = child.kill();
                anyhow::bail!("the server was not ready after {READY_TIMEOUT:?}; see server-{n}.log");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok((Self { child, api }, started.elapsed()))
    }

    /// `kill -9`, and wait until the process is gone.
    fn kill(self) {
        drop(self);
    }
}

impl Drop for Server {
    /// A server is never left running, whatever went wrong.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the cycles and returns what they measured; the store and logs are kept when something went wrong.
pub async fn run(options: &CrashOptions) -> anyhow::Result<CrashReport> {
    let dir = tempfile::Builder::new().prefix("rappel-crash-").tempdir()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut report = CrashReport::default();
    println!(
        "crash test: {} cycles, {} writers, kill after {}-{} ms (seed {}), binary {}, store {}",
        options.cycles,
        options.writers,
        options.kill_after_ms.0,
        options.kill_after_ms.1,
        options.seed,
        options.binary.display(),
        dir.path().display()
    );
    let (mut server, _) = Server::start(options, dir.path(), 0).await?;
    for cycle in 1..=options.cycles {
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..options.writers)
            .map(|w| {
                let tag = format!("c{cycle}-w{w}");
                tokio::spawn(writer::write(server.api.clone(), ledger.clone(), stop.clone(), tag))
            })
            .collect();
        let (lo, hi) = options.kill_after_ms;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(lo..=hi.max(lo)))).await;
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.await?;
        }
        let (restarted, took) = Server::start(options, dir.path(), cycle).await?;
        server = restarted;
        report.restarts.push(took);
        // The writers are done: the verifier owns the ledger meanwhile.
        let mut l = std::mem::take(&mut *ledger.lock().unwrap());
        let found = verify::verify(&server.api, &mut l).await?;
        *ledger.lock().unwrap() = l;
        report
            .lost
            .extend(found.lost.into_iter().map(|x| format!("cycle {cycle}: lost {x}")));
        report
            .violations
            .extend(found.violations.into_iter().map(|x| format!("cycle {cycle}: {x}")));
        report.drained += found.drained;
        report.cycles = cycle;
        let acknowledged: u64 = ledger.lock().unwrap().acknowledged.values().sum();
        eprintln!(
            "cycle {cycle}/{}: {acknowledged} writes acknowledged so far, ready in {} ms, lost {}, violations {}",
            options.cycles,
            took.as_millis(),
            report.lost.len(),
            report.violations.len()
        );
    }
    server.kill();
    let l = std::mem::take(&mut *ledger.lock().unwrap());
    report.acknowledged = l.acknowledged;
    report.unexpected = l.unexpected;
    if !report.passed() {
        report.kept = Some(dir.keep());
    }
    Ok(report)
}
