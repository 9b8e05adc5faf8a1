//! `rappel backup` and `rappel restore`: a consistent copy of the store, taken from a running server over HTTP
//! or from the stopped store directly, and put back in place while the server is stopped.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};

use crate::config::Settings;
use crate::store::{RedbStore, SnapshotStats, StoreError};

/// Writes a backup of the store to `to`: straight from the file when no server holds it, otherwise from the
/// running server (`GET /v1/maintenance/backup` with an operator key).
pub async fn backup(settings: &Settings, to: &Path, server: Option<&str>, key: Option<&str>) -> anyhow::Result<()> {
    if settings.postgres().is_some() {
        bail!(
            "the store is PostgreSQL: back it up with pg_dump or your provider's snapshots, or copy it into a redb file \
             with `rappel migrate --from <its URL> --to <file.redb>`"
        );
    }
    if to.exists() {
        bail!("{} exists already; choose a new file", to.display());
    }
    let started = std::time::Instant::now();
    let stats = match RedbStore::open(&settings.data_dir, None) {
        Ok(store) => store.copy_to(to)?,
        Err(StoreError::InUse(_)) => {
            let url = server.map_or_else(|| format!("http://{}", settings.bind), str::to_owned);
            let key = key
                .or(settings.admin_key.as_deref())
                .context("a server holds the store: pass an operator key with --key (or set RAPPEL_ADMIN_KEY)")?;
            download(&url, key, to).await?
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "backup written to {}: {} records in {} tables, {:.1} MB, {:.1} s",
        to.display(),
        stats.records,
        stats.tables,
        stats.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Downloads the running server's snapshot to `to` (through a partial file, verified before it is renamed).
async fn download(url: &str, key: &str, to: &Path) -> anyhow::Result<SnapshotStats> {
    let endpoint = format!("{}/v1/maintenance/backup", url.trim_end_matches('/'));
    let mut res = reqwest::Client::new()
        .get(&endpoint)
        .bearer_auth(key)
        .send()
        .await
        .with_context(|| format!("asking {endpoint} for a backup"))?;
    if !res.status().is_success() {
        let status = res.status();
        bail!("{endpoint} answered {status}: {}", res.text().await.unwrap_or_default());
    }
    let partial = to.with_extension("partial");
    let mut file = std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    while let Some(chunk) = res.chunk().await.context("reading the backup")? {
        file.write_all(&chunk)?;
    }
    file.sync_all()?;
    drop(file);
    let stats = crate::store::verify_file(&partial).context("the downloaded backup does not open")?;
    std::fs::rename(&partial, to)?;
    Ok(stats)
}

/// Puts the backup `from` in place of the store (the server must be stopped).
pub fn restore(settings: &Settings, from: &Path) -> anyhow::Result<()> {
    if settings.postgres().is_some() {
        bail!("the store is PostgreSQL: a redb backup goes into it with `rappel migrate --from <backup.redb> --to <its URL>`");
    }
    let stats = crate::store::restore(from, &settings.data_dir)
        .with_context(|| format!("restoring {} into {}", from.display(), settings.data_dir.display()))?;
    println!(
        "restored {} records in {} tables from {} into {}; the vector index is rebuilt at the next start",
        stats.records,
        stats.tables,
        from.display(),
        settings.data_dir.display()
    );
    Ok(())
}
