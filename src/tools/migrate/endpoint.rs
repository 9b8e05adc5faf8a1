//! Where a migration reads or writes: a redb file (named directly, or the `rappel.redb` of a data folder) or a
//! PostgreSQL database, opened without a model (the target is stamped once the copy is complete).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

use super::MigrateStore;
use crate::store::postgres::{PostgresConfig, PostgresStore};
use crate::store::redb::{DB_FILE, DEFAULT_CACHE_BYTES};
use crate::store::{ModelStamp, RedbStore, StoreError};

/// The `application_name` of a migration's connections; servers and the other commands use `rappel`.
pub const APPLICATION: &str = "rappel-migrate";

/// One side of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A redb store file.
    Redb(PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Endpoint {
    /// A PostgreSQL URL, a path ending in `.redb` or naming a file (a store file), or else a data folder (its
    /// `rappel.redb`).
    pub fn parse(arg: &str) -> Self {
        if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
            return Self::Postgres(arg.to_owned());
        }
        let path = PathBuf::from(arg);
        if path.extension().is_some_and(|e| e == "redb") || path.is_file() {
            Self::Redb(path)
        } else {
            Self::Redb(path.join(DB_FILE))
        }
    }

    /// What names the store wherever it is asked from: the absolute file path, or user, host, port and database
    /// (never the password). Two endpoints with the same identity are one store.
    pub fn identity(&self) -> anyhow::Result<String> {
        match self {
            Self::Redb(file) => {
                let name = file.file_name().context("a store file needs a name")?;
                let dir = match file.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                    _ => PathBuf::from("."),
                };
                // The folder of a new target may not exist yet: name it as given, made absolute.
                let dir = dir
                    .canonicalize()
                    .or_else(|_| std::path::absolute(&dir))
                    .with_context(|| format!("resolving {}", dir.display()))?;
                Ok(format!("redb:{}", dir.join(name).display()))
            }
            Self::Postgres(url) => {
                let config: tokio_postgres::Config = url
                    .parse()
                    .with_context(|| "the PostgreSQL URL does not parse".to_owned())?;
                let hosts: Vec<String> = config
                    .get_hosts()
                    .iter()
                    .map(|h| match h {
                        tokio_postgres::config::Host::Tcp(name) => name.clone(),
                        #[cfg(unix)]
                        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                    })
                    .collect();
                let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
                let user = config.get_user().unwrap_or("");
                let db = config.get_dbname().unwrap_or(user);
                Ok(format!("postgres:{user}@{}:{}/{db}", hosts.join(","), ports.join(",")))
            }
        }
    }

    /// The endpoint for messages (a URL's password hidden).
    pub fn describe(&self) -> String {
        match self {
            Self::Redb(file) => file.display().to_string(),
            Self::Postgres(_) => self.identity().unwrap_or_else(|_| "a PostgreSQL database".into()),
        }
    }

    /// Opens the store read as the source: it must exist, and no server may be using it.
    pub fn open_source(&self) -> anyhow::Result<Box<dyn MigrateStore>> {
        if let Self::Redb(file) = self {
            if !file.is_file() {
                bail!(
                    "no store at {}: name a .redb file or a data folder holding {DB_FILE}",
                    file.display()
                );
            }
        }
        self.open(None, "source", true)
    }

    /// Opens the store written as the target (created when missing), with `model` checked or recorded.
    pub fn open_target(&self, model: Option<&ModelStamp>) -> anyhow::Result<Box<dyn MigrateStore>> {
        if let Self::Redb(file) = self {
            if let Some(dir) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
        }
        self.open(model, "target", true)
    }

    /// Opens the target again once copied, recording `model` as the model of its vectors (PostgreSQL builds the
    /// vector indexes then, after the rows are in, which is faster than keeping them up to date row by row).
    pub fn stamp_target(&self, model: &ModelStamp) -> anyhow::Result<Box<dyn MigrateStore>> {
        self.open(Some(model), "target", false)
    }

    fn open(&self, model: Option<&ModelStamp>, role: &str, alone: bool) -> anyhow::Result<Box<dyn MigrateStore>> {
        match self {
            Self::Redb(file) => match RedbStore::open_file(file, model, DEFAULT_CACHE_BYTES) {
                Ok(store) => Ok(Box::new(store)),
                Err(StoreError::InUse(path)) => bail!(
                    "the {role} {} is in use by another Rappel process (a running server?): stop it first",
                    path.display()
                ),
                Err(e) => Err(e).with_context(|| format!("opening the {role} {}", file.display())),
            },
            Self::Postgres(url) => {
                let store = PostgresStore::open(&config(url), model)
                    .with_context(|| format!("opening the {role} {}", self.describe()))?;
                let others = if alone { store.rappel_sessions()? } else { 0 };
                if others > 0 {
                    bail!(
                        "the {role} {} is in use: {others} connection(s) of a Rappel server or command are open on \
                         it; stop them first",
                        self.describe()
                    );
                }
                Ok(Box::new(store))
            }
        }
    }
}

/// Settings of a migration's connection: its own application name (so it is not taken for a server), a small
/// pool (it copies one batch at a time), and room for a large batch.
fn config(url: &str) -> PostgresConfig {
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = if url.contains("application_name=") {
        url.to_owned()
    } else {
        format!("{url}{separator}application_name={APPLICATION}")
    };
    let mut config = PostgresConfig::new(url);
    config.pool_size = 2;
    config.statement_timeout = Duration::from_secs(600);
    config
}

/// Whether two endpoints name one store.
pub fn same_store(a: &Endpoint, b: &Endpoint) -> anyhow::Result<bool> {
    Ok(a.identity()? == b.identity()?)
}
