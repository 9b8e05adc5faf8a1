//! The command line: `serve`, `import`, `import-knowledge`, `export`, `openapi`, `doctor`, `keys`, `reembed`,
//! `migrate`, `eval`, `bench`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Settings, SETTINGS_HELP};
use crate::domain::{Scope, WorkspaceId};
use crate::embed::NoModel;
use crate::service::{import, operator, Services, SystemClock};
use crate::startup::{self, Application};
use crate::store::RedbStore;

/// Rappel: long-term customer memory and proactive support.
#[derive(Parser, Debug)]
#[command(version, about, after_help = SETTINGS_HELP)]
pub struct Cli {
    /// Settings file (default ./rappel.toml when it exists).
    #[arg(long, global = true, env = "RAPPEL_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the HTTP server.
    Serve {
        /// Load the demo fixtures when the store is empty and print a local development key.
        #[arg(long)]
        demo: bool,
    },
    /// Import customers (and preferences) from JSON or NDJSON files; importing twice changes nothing.
    Import {
        /// Files to import, in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Workspace to import into.
        #[arg(long, default_value = WorkspaceId::DEFAULT)]
        workspace: String,
    },
    /// Import a folder of help-center articles (Markdown with front matter, HTML with meta tags, plain text) into
    /// the knowledge base; each file is the document of its path, so importing again replaces only what changed.
    ImportKnowledge {
        /// The folder.
        dir: PathBuf,
        /// Workspace to import into.
        #[arg(long, default_value = WorkspaceId::DEFAULT)]
        workspace: String,
    },
    /// Print everything stored about one customer as JSON.
    Export {
        /// Customer id (`cus_...`) or external id.
        #[arg(long)]
        customer: String,
        /// Workspace of the customer.
        #[arg(long, default_value = WorkspaceId::DEFAULT)]
        workspace: String,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Check the runtime library, the model, the store and the settings, and say what is wrong.
    Doctor,
    /// Manage API keys (the server must be stopped: the store has one writer).
    Keys {
        /// Key action.
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Write the live job definitions to a folder as TOML files (the format of `jobs/`).
    ExportJobs {
        /// The folder to write to.
        #[arg(long)]
        to: PathBuf,
    },
    /// Write a consistent copy of the whole store to a file, from the running server (operator key) or from the
    /// stopped store.
    Backup {
        /// The file to write (must not exist).
        #[arg(long)]
        to: PathBuf,
        /// The running server's base URL (default: http:// and the `bind` setting).
        #[arg(long)]
        server: Option<String>,
        /// An operator key (admin of the default workspace); default: RAPPEL_ADMIN_KEY.
        #[arg(long, env = "RAPPEL_KEY")]
        key: Option<String>,
    },
    /// Replace the store with a backup (the server must be stopped); the vector index is rebuilt at start.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
    /// Re-embed every memory with the configured model (after changing `model`); resumable, safe to interrupt.
    Reembed,
    /// Copy a whole store into another (redb to PostgreSQL, or back), then check that both hold the same records;
    /// resumable: run it again with the same arguments after an interruption. No server may use either store.
    Migrate {
        /// The store to copy: a .redb file, a data folder (its rappel.redb), or a postgres:// URL.
        #[arg(long)]
        from: String,
        /// The store to fill: a new .redb file or folder, or an empty PostgreSQL database (postgres:// URL).
        #[arg(long)]
        to: String,
    },
    /// Train a model of Rappel's from the labelled sets (see README).
    Train {
        /// What to train.
        #[command(subcommand)]
        what: TrainWhat,
    },
    /// Measure quality on the labelled sets: sentiment (held-out), extraction, retrieval, health, routing; one table.
    Eval {
        /// The fixtures folder (demo data and eval sets).
        #[arg(long, default_value = "fixtures")]
        fixtures: PathBuf,
        /// Where scripts/fetch-training-data.sh put the public corpora (for the local French check).
        #[arg(long, default_value = ".cache/training")]
        data: PathBuf,
        /// Only these areas: sentiment, extraction, retrieval, health, routing (comma-separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Measure performance (see README).
    Bench {
        /// Sentences per embedding measurement.
        #[arg(long, default_value_t = 256)]
        texts: usize,
        /// Memories in the generated store.
        #[arg(long, default_value_t = 100_000)]
        memories: usize,
        /// Instead: every job over a generated population, then claim/ack throughput with 4 senders.
        #[arg(long)]
        proactive: bool,
        /// Instead: the support metrics over a year of `--interactions` generated interactions (by day, week,
        /// month, with splits): p50/p99 latency.
        #[arg(long)]
        support_metrics: bool,
        /// Interactions of the support-metrics benchmark.
        #[arg(long, default_value_t = 200_000)]
        interactions: usize,
        /// Customers of the proactive population.
        #[arg(long, default_value_t = 10_000)]
        customers: usize,
        /// Also measure this model directory first, and print both side by side (e.g.
        /// .cache/models/all-minilm-l6-v2).
        #[arg(long)]
        compare_model: Option<String>,
        /// Instead: kill -9 durability; start this binary's server, write concurrently over HTTP, kill it at a
        /// random moment, restart, check every acknowledged write and the outreach queue; repeat.
        #[arg(long)]
        crash: bool,
        /// Kill-and-restart cycles of the crash test.
        #[arg(long, default_value_t = 50)]
        cycles: usize,
        /// Concurrent writers of the crash test.
        #[arg(long, default_value_t = 8)]
        writers: usize,
        /// Instead: the same figures on redb and on PostgreSQL (one node, then three on one database), side by
        /// side; the URL names a server where the run may create (and drop) a database of its own.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
    },
}

/// What `rappel train` trains.
#[derive(Subcommand, Debug)]
pub enum TrainWhat {
    /// The sentiment head of the configured embedding model.
    Sentiment {
        /// The fixtures folder (labelled sets).
        #[arg(long, default_value = "fixtures")]
        fixtures: PathBuf,
        /// Where scripts/fetch-training-data.sh put the public corpora.
        #[arg(long, default_value = ".cache/training")]
        data: PathBuf,
        /// Where to write the head.
        #[arg(long, default_value = "src/domain/sentiment/heads")]
        out: PathBuf,
    },
    /// The typed-memory classifier of the configured embedding model.
    Extraction {
        /// The fixtures folder (labelled sets).
        #[arg(long, default_value = "fixtures")]
        fixtures: PathBuf,
        /// Where to write the head.
        #[arg(long, default_value = "src/domain/extract/heads")]
        out: PathBuf,
    },
}

/// Key actions.
#[derive(Subcommand, Debug)]
pub enum KeyAction {
    /// Create a key and print its secret (shown once).
    Create {
        /// What the key is for.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: read, write, admin.
        #[arg(long, value_delimiter = ',', default_value = "read")]
        scopes: Vec<String>,
        /// Workspace (created when missing).
        #[arg(long, default_value = WorkspaceId::DEFAULT)]
        workspace: String,
    },
    /// List a workspace's keys.
    List {
        /// Workspace.
        #[arg(long, default_value = WorkspaceId::DEFAULT)]
        workspace: String,
    },
    /// Revoke a key.
    Revoke {
        /// Key id (`key_...`).
        id: String,
        /// Workspace.
        #[arg(long, default_value = WorkspaceId::DEFAULT)]
        workspace: String,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (config_path, explicit) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("rappel.toml"), false),
    };
    if let Command::Doctor = cli.command {
        return Ok(crate::doctor::run(&config_path, explicit).await);
    }
    let settings = Settings::load(&config_path, explicit)?;
    crate::telemetry::init(settings.log_format, &settings.log_level);
    match cli.command {
        Command::Serve { demo } => serve(&settings, demo).await,
        Command::Import { files, workspace } => import_files(&settings, &files, &workspace).await,
        Command::ImportKnowledge { dir, workspace } => import_knowledge(&settings, &dir, &workspace).await,
        Command::Export { customer, workspace } => {
            let services = offline_services(&settings).await?;
            let export = services
                .export_customer(&operator(WorkspaceId::parse(&workspace)?), &customer)
                .await?;
            emit(&serde_json::to_string_pretty(&export)?)
        }
        Command::Openapi => emit(&serde_json::to_string_pretty(&crate::http::openapi_document())?),
        Command::Keys { action } => keys(&settings, action).await,
        Command::Reembed => reembed(&settings).await,
        Command::Migrate { from, to } => {
            use crate::tools::migrate::{migrate, Endpoint, Options};
            let (from, to) = (Endpoint::parse(&from), Endpoint::parse(&to));
            let report = tokio::task::spawn_blocking(move || migrate(&from, &to, &Options::default())).await??;
            report.print();
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Backup { to, server, key } => {
            crate::tools::backup::backup(&settings, &to, server.as_deref(), key.as_deref()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { from } => {
            crate::tools::backup::restore(&settings, &from)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ExportJobs { to } => {
            let services = offline_services(&settings).await?;
            let jobs = services.job_definitions().await?;
            crate::jobs::files::write_dir(&to, &jobs)?;
            println!("wrote {} job definitions to {}", jobs.len(), to.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Train { what } => {
            let embedder = startup::load_embedder(&settings).await?;
            tokio::task::spawn_blocking(move || match what {
                TrainWhat::Sentiment { fixtures, data, out } => {
                    crate::tools::train_sentiment::run(embedder.as_ref(), &fixtures, &data, &out)
                }
                TrainWhat::Extraction { fixtures, out } => {
                    crate::tools::train_extraction::run(embedder.as_ref(), &fixtures, &out)
                }
            })
            .await??;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            texts,
            memories,
            proactive,
            customers,
            compare_model,
            crash,
            cycles,
            writers,
            support_metrics,
            interactions,
            postgres,
        } => {
            if crash {
                let binary = std::env::current_exe().context("locating the rappel binary")?;
                let options = crate::tools::crash::CrashOptions::new(binary, &settings, cycles, writers);
                let report = crate::tools::crash::run(&options).await?;
                report.print();
                Ok(if report.passed() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            } else if let Some(url) = postgres {
                crate::tools::bench_stores::run(&settings, &url, memories)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            } else if support_metrics {
                crate::tools::bench_support_metrics::run(&settings, interactions)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            } else if proactive {
                crate::tools::bench_proactive::run(&settings, customers, memories.max(customers))
                    .await
                    .map(|()| ExitCode::SUCCESS)
            } else {
                crate::tools::bench::run(&settings, texts, memories, compare_model.as_deref())
                    .await
                    .map(|()| ExitCode::SUCCESS)
            }
        }
        Command::Eval { fixtures, data, only } => {
            crate::tools::eval::run(&settings, crate::tools::eval::Options { fixtures, data, only })
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Doctor => unreachable!("handled above"),
    }
}

/// Prints a document to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

async fn serve(settings: &Settings, demo: bool) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let app = Application::build(settings, None).await?;
    if demo {
        match startup::load_demo(&app.services, &settings.demo_dir).await? {
            Some(stats) => {
                tracing::info!(
                    records = stats.records,
                    created = stats.created,
                    failed = stats.failed,
                    "demo fixtures loaded"
                );
                // A first look at the proactive side: every enabled job runs once over the demo data.
                let demo = operator(WorkspaceId::default_workspace());
                for job in app.services.job_definitions().await?.into_iter().filter(|j| j.enabled) {
                    match app.services.run_job(&demo, &job.id, "demo").await {
                        Ok(run) => {
                            tracing::info!(job = %job.id, matches = run.matches, queued = run.queued, "demo job run")
                        }
                        Err(e) => tracing::error!(job = %job.id, error = %e, "demo job run failed"),
                    }
                }
            }
            None => tracing::info!("store already holds customers; demo fixtures not loaded"),
        }
        let key = app.services.issue_demo_key(&WorkspaceId::default_workspace()).await?;
        println!(
            "\nLocal development key (admin, default workspace; replaced at the next demo start):\n\n    {}\n",
            key.secret
        );
        println!(
            "Console: open http://{}/console/ and paste the key.\nAPI: curl -H 'Authorization: Bearer {}' http://{}/v1/customers?limit=3\n",
            app.server.addr(),
            key.secret,
            app.server.addr()
        );
    }
    tracing::info!(
        addr = %app.server.addr(), ready_ms = started.elapsed().as_millis() as u64,
        "Rappel listening on http://{} (console at /console/, Swagger UI at /swagger-ui/)", app.server.addr()
    );
    app.services.tick("startup").await;
    let scheduler = crate::jobs::start(app.services.clone()).await?;
    app.server.run().await?;
    scheduler.shutdown().await?;
    if let Err(e) = app.services.persist_index() {
        tracing::warn!(error = %e, "the vector index was not saved; it is rebuilt at the next start");
    }
    drop(app.services);
    // A PostgreSQL store has no file to rewrite: the database reclaims erased rows (VACUUM).
    if settings.postgres().is_none() {
        scrub_after_stop(&settings.data_dir).await;
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Rewrites the store file if customers were erased, so that none of their bytes stay in it once stopped. The
/// server's workers let go of the store shortly after they stop; if it is still held after 5 s, the rewrite
/// happens at the next start, before anything is served.
async fn scrub_after_stop(data_dir: &std::path::Path) {
    for _ in 0..50 {
        match RedbStore::scrub(data_dir) {
            Ok(_) => return,
            Err(crate::store::StoreError::InUse(_)) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            Err(e) => {
                return tracing::warn!(error = %e, "store file not rewritten after erasures; it is at the next start")
            }
        }
    }
    tracing::warn!(
        "the store is still held 5 s after stopping; a rewrite after erasures, if any, happens at the next start"
    );
}

/// Services over the store without loading the model, for commands that never embed.
async fn offline_services(settings: &Settings) -> anyhow::Result<Services> {
    let (store, vectors): (Arc<dyn crate::store::Store>, Arc<dyn crate::index::VectorIndex>) = match settings.postgres()
    {
        None => {
            let store: Arc<dyn crate::store::Store> = Arc::new(RedbStore::open(&settings.data_dir, None)?);
            // Without the model the saved vector index is not loaded, only dropped: it is rebuilt at the next
            // start, so nothing this command changes (an erasure) can survive in it.
            let vectors = startup::open_index(settings, &store, 0)?;
            (store, vectors)
        }
        Some(config) => {
            // These commands never embed: the index answers no search (dimension 0).
            let store = startup::open_postgres(config, None).await?;
            let vectors = Arc::new(store.index(0));
            (store, vectors)
        }
    };
    Ok(Services::new(
        store,
        vectors,
        Arc::new(NoModel),
        Arc::new(SystemClock),
        None,
    )?)
}

async fn import_files(settings: &Settings, files: &[PathBuf], workspace: &str) -> anyhow::Result<ExitCode> {
    let workspace = WorkspaceId::parse(workspace)?;
    let mut records = Vec::new();
    for file in files {
        records.extend(import::read_file(file).with_context(|| format!("reading {}", file.display()))?);
    }
    let embedder = startup::load_embedder(settings).await?;
    let services = startup::services(settings, embedder, Arc::new(SystemClock)).await?;
    services.ensure_workspace(&workspace).await?;
    let bar = indicatif::ProgressBar::new(records.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records  {per_sec}  {msg}")
            .expect("valid template"),
    );
    let stats = services
        .import(&workspace, records, |s| {
            bar.set_position(s.records);
            bar.set_message(format!(
                "{} created, {} updated, {} unchanged, {} failed",
                s.created, s.updated, s.unchanged, s.failed
            ));
        })
        .await?;
    bar.finish();
    for error in &stats.errors {
        eprintln!("error: {error}");
    }
    println!(
        "imported {} records: {} created, {} updated, {} unchanged, {} failed",
        stats.records, stats.created, stats.updated, stats.unchanged, stats.failed
    );
    Ok(if stats.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn import_knowledge(settings: &Settings, dir: &std::path::Path, workspace: &str) -> anyhow::Result<ExitCode> {
    let workspace = WorkspaceId::parse(workspace)?;
    let files = startup::read_knowledge_dir(dir)?;
    let embedder = startup::load_embedder(settings).await?;
    let services = startup::services(settings, embedder, Arc::new(SystemClock)).await?;
    services.ensure_workspace(&workspace).await?;
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files  {per_sec}  {msg}")
            .expect("valid template"),
    );
    let stats = services
        .import_knowledge(&operator(workspace), files, |s| {
            bar.set_position(s.files);
            bar.set_message(format!(
                "{} new, {} replaced, {} unchanged, {} failed",
                s.created, s.replaced, s.unchanged, s.failed
            ));
        })
        .await?;
    bar.finish();
    for error in &stats.errors {
        eprintln!("error: {error}");
    }
    println!(
        "imported {} files: {} new, {} replaced, {} unchanged, {} failed",
        stats.files, stats.created, stats.replaced, stats.unchanged, stats.failed
    );
    Ok(if stats.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn reembed(settings: &Settings) -> anyhow::Result<ExitCode> {
    use crate::service::reembed::{reembed, Reembedded};
    let embedder = startup::load_embedder(settings).await?;
    let store: Arc<dyn crate::store::Store> = match settings.postgres() {
        None => Arc::new(RedbStore::open(&settings.data_dir, None)?),
        Some(config) => startup::open_postgres(config, None).await?,
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} memories  {per_sec}  eta {eta}")
            .expect("valid template"),
    );
    let done = tokio::task::spawn_blocking(move || {
        reembed(store.as_ref(), embedder.as_ref(), |state| {
            bar.set_length(state.total);
            bar.set_position(state.done);
        })
        .inspect(|_| bar.finish())
    })
    .await??;
    match done {
        Reembedded::AlreadyCurrent(model) => println!("the store is already embedded with {}", model.name),
        Reembedded::Done { from, to, embedded } => println!(
            "re-embedded with {} ({} dimensions): {embedded} memories in this run{}",
            to.name,
            to.dim,
            from.map(|f| format!(", replacing {}", f.name)).unwrap_or_default()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

async fn keys(settings: &Settings, action: KeyAction) -> anyhow::Result<ExitCode> {
    let services = offline_services(settings).await?;
    match action {
        KeyAction::Create {
            name,
            scopes,
            workspace,
        } => {
            let workspace = WorkspaceId::parse(&workspace)?;
            let scopes = scopes
                .iter()
                .map(|s| serde_json::from_value::<Scope>(serde_json::Value::String(s.trim().to_owned())))
                .collect::<Result<Vec<_>, _>>()
                .context("scopes are read, write and admin")?;
            services.ensure_workspace(&workspace).await?;
            let created = services.create_key(&operator(workspace), &name, scopes).await?;
            println!("{}", serde_json::to_string_pretty(&created)?);
            eprintln!("The secret is shown once; store it now.");
        }
        KeyAction::List { workspace } => {
            let keys = services.list_keys(&operator(WorkspaceId::parse(&workspace)?)).await?;
            println!("{}", serde_json::to_string_pretty(&keys)?);
        }
        KeyAction::Revoke { id, workspace } => {
            let key = services
                .revoke_key(&operator(WorkspaceId::parse(&workspace)?), &id)
                .await?;
            println!("{}", serde_json::to_string_pretty(&key)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
