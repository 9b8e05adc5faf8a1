//! Start-up: load the model, open the store, build the services and the HTTP server.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Settings;
use crate::domain::{Principal, WorkspaceId};
use crate::embed::{Batcher, Embedder, FastEmbedder, ModelSource};
use crate::http::Server;
use crate::index::{LocalIndex, Tuning, VectorIndex};
use crate::service::{import, operator, Clock, Services, SystemClock};
use crate::store::postgres::{PostgresConfig, PostgresStore};
use crate::store::{ModelStamp, RedbStore, Store};

/// Loads the configured embedding model (ONNX Runtime first), off the async runtime.
pub async fn load_embedder(settings: &Settings) -> anyhow::Result<Arc<dyn Embedder>> {
    let (lib, source) = (settings.ort_lib.clone(), ModelSource::parse(&settings.model));
    let (batch, max_len) = (settings.embed_batch_size, settings.embed_max_length);
    let started = std::time::Instant::now();
    let embedder = tokio::task::spawn_blocking(move || FastEmbedder::load(&lib, &source, batch, max_len)).await??;
    tracing::info!(
        model = embedder.name(),
        dimension = embedder.dimension(),
        ms = started.elapsed().as_millis() as u64,
        "embedding model loaded"
    );
    // Concurrent requests share inference calls (up to the batch size) instead of waiting for each other, and a
    // reader's query waits for at most one batch in flight.
    Ok(Arc::new(Batcher::new(
        Arc::new(embedder),
        batch,
        std::time::Duration::ZERO,
    )))
}

/// Opens the store in the settings' data folder, checked against the model's dimension.
pub fn open_store(settings: &Settings, embedder: &dyn Embedder) -> anyhow::Result<RedbStore> {
    let stamp = ModelStamp {
        name: embedder.name().to_owned(),
        dim: embedder.dimension(),
    };
    let cache = settings.store_cache_mib * 1024 * 1024;
    Ok(RedbStore::open_with_cache(&settings.data_dir, Some(&stamp), cache)?)
}

/// Opens the PostgreSQL store (migrations, model check) on the blocking pool: the store drives its connections
/// on a runtime of its own and refuses to be called from an async worker.
pub async fn open_postgres(config: PostgresConfig, model: Option<ModelStamp>) -> anyhow::Result<Arc<PostgresStore>> {
    let store = tokio::task::spawn_blocking(move || PostgresStore::open(&config, model.as_ref())).await??;
    Ok(Arc::new(store))
}

/// The services over an opened store, with the default workspace in place.
pub async fn services(
    settings: &Settings,
    embedder: Arc<dyn Embedder>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Services> {
    let (store, vectors) = match settings.postgres() {
        None => {
            let store = open_store(settings, embedder.as_ref())?;
            tracing::info!(path = %store.path().display(), "store open");
            let store: Arc<dyn Store> = Arc::new(store);
            let vectors = open_index(settings, &store, embedder.dimension())?;
            (store, vectors)
        }
        Some(config) => {
            let stamp = ModelStamp {
                name: embedder.name().to_owned(),
                dim: embedder.dimension(),
            };
            let store = open_postgres(config, Some(stamp)).await?;
            tracing::info!(store = %settings.store.redacted(), "PostgreSQL store open; vectors ranked in the database");
            let vectors: Arc<dyn VectorIndex> = Arc::new(store.index(embedder.dimension()));
            (store as Arc<dyn Store>, vectors)
        }
    };
    let services = Services::new(store, vectors, embedder, clock, settings.admin_key.as_deref())?
        .with_weights(settings.weights())
        .with_retention(settings.retention())
        .with_costs(settings.costs())
        .with_metrics_token(settings.metrics_token.as_deref())
        .with_limits(settings.limits())
        .with_memory_cache(settings.memory_cache)
        .with_scratch_dir(settings.data_dir.clone())
        .with_redactor(settings.redactor());
    crate::service::backup::remove_stale_backups(&settings.data_dir);
    services.ensure_workspace(&WorkspaceId::default_workspace()).await?;
    Ok(services)
}

/// The vector index of the store in `data_dir/index`: loaded when saved by a clean shutdown for this store,
/// otherwise built from the store on a background thread (searches read the store meanwhile).
pub fn open_index(
    settings: &Settings,
    store: &Arc<dyn Store>,
    dimension: usize,
) -> anyhow::Result<Arc<dyn VectorIndex>> {
    let memories = store.count_memories()?;
    let index = Arc::new(LocalIndex::open(
        settings.data_dir.join("index"),
        dimension,
        Tuning::default(),
        memories,
    ));
    if !index.is_ready() && dimension > 0 {
        let (building, store) = (Arc::clone(&index), Arc::clone(store));
        std::thread::Builder::new().name("index-build".into()).spawn(move || {
            if let Err(e) = building.build(memories, |f| store.scan_memories(f).map_err(|e| e.to_string())) {
                tracing::error!(error = %e, "building the vector index failed; searches keep reading the store");
            }
        })?;
    }
    Ok(index)
}

/// Everything `serve` starts: the services and the bound server.
pub struct Application {
    /// The use cases (for the demo loader and tests).
    pub services: Services,
    /// The HTTP server, bound but not yet running.
    pub server: Server,
}

impl Application {
    /// Builds the application; `embedder` lets tests share one loaded model.
    pub async fn build(settings: &Settings, embedder: Option<Arc<dyn Embedder>>) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, embedder, Arc::new(SystemClock)).await
    }

    /// Builds the application on a given clock (tests replay the demo at its reference time).
    pub async fn build_with_clock(
        settings: &Settings,
        embedder: Option<Arc<dyn Embedder>>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let embedder = match embedder {
            Some(e) => e,
            None => load_embedder(settings).await?,
        };
        let seeds = crate::jobs::files::load_dir(&settings.jobs_dir)?;
        let services = services(settings, embedder, clock).await?;
        let seeded = services.seed_jobs(seeds).await?;
        if seeded > 0 {
            tracing::info!(jobs = seeded, dir = %settings.jobs_dir.display(), "job definitions seeded from the folder");
        }
        let listener =
            TcpListener::bind(&settings.bind).with_context(|| format!("cannot listen on {}", settings.bind))?;
        let server = Server::build(services.clone(), listener, settings.max_body_bytes, settings.workers)?;
        Ok(Self { services, server })
    }
}

/// Loads the demo fixtures into the default workspace when it holds no customer yet; returns what was imported.
pub async fn load_demo(services: &Services, demo_dir: &Path) -> anyhow::Result<Option<import::ImportStats>> {
    let principal = operator(WorkspaceId::default_workspace());
    let existing = services.list_customers(&principal, Default::default(), None, 1).await?;
    if !existing.items.is_empty() {
        return Ok(None);
    }
    let mut files: Vec<_> = std::fs::read_dir(demo_dir)
        .with_context(|| format!("demo fixtures folder {}", demo_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson" || x == "json"))
        .collect();
    files.sort();
    let mut records = Vec::new();
    for file in &files {
        records.extend(import::read_file(file).with_context(|| format!("reading {}", file.display()))?);
    }
    let stats = services
        .import(&WorkspaceId::default_workspace(), records, |_| {})
        .await?;
    let knowledge = demo_dir.join("knowledge");
    if knowledge.is_dir() {
        let files = read_knowledge_dir(&knowledge)?;
        let loaded = services.import_knowledge(&principal, files, |_| {}).await?;
        tracing::info!(
            documents = loaded.created,
            failed = loaded.failed,
            "demo knowledge base loaded"
        );
    }
    load_teams(services, &principal, &demo_dir.join("teams")).await?;
    Ok(Some(stats))
}

/// The help-center files under a folder (Markdown, HTML, plain text; README files left out), each with its path
/// relative to the folder (`/`-separated, the document's `source`) and its text, in path order.
pub fn read_knowledge_dir(root: &Path) -> anyhow::Result<Vec<(String, String)>> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut paths = Vec::new();
    walk(root, &mut paths).with_context(|| format!("reading the folder {}", root.display()))?;
    paths.retain(|p| {
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let readme = p
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|s| s.eq_ignore_ascii_case("readme"));
        !readme && matches!(ext.as_str(), "md" | "markdown" | "html" | "htm" | "txt")
    });
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            Ok((rel, text))
        })
        .collect()
}

/// Creates the teams of every `*.json` file in `dir` (a JSON array of teams each), when the folder exists.
pub async fn load_teams(services: &Services, principal: &Principal, dir: &Path) -> anyhow::Result<usize> {
    if !dir.is_dir() {
        return Ok(0);
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("teams folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut created = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let teams: Vec<crate::domain::team::TeamInput> =
            serde_json::from_str(&text).with_context(|| format!("teams in {}", file.display()))?;
        for team in teams {
            services.create_team(principal, team).await?;
            created += 1;
        }
    }
    Ok(created)
}
