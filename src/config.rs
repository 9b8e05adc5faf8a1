//! Typed settings: defaults in code, then an optional `rappel.toml`, then `RAPPEL_*` environment variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::domain::memory::Retention;
use crate::domain::rate::Limits;
use crate::domain::recall::Weights;
use crate::domain::redact::Redactor;

/// Every setting, with its environment variable, default and meaning; printed by `--help` and kept in README.
pub const SETTINGS_HELP: &str = "\
Settings (rappel.toml key / environment variable, default):
  bind              RAPPEL_BIND              127.0.0.1:8080   address:port the server listens on
  data_dir          RAPPEL_DATA_DIR          data             folder holding the redb store (rappel.redb)
  store             RAPPEL_STORE             redb             redb (the store in data_dir) or a postgres:// URL
                                                              (PostgreSQL with pgvector; several nodes may share it)
  store_pool_size   RAPPEL_STORE_POOL_SIZE   16               PostgreSQL: connections this node keeps at most for
                                                              queries (as many again hold customers' write locks)
  store_statement_timeout_ms RAPPEL_STORE_STATEMENT_TIMEOUT_MS 30000
                                                              PostgreSQL: longest a statement may run
  admin_key         RAPPEL_ADMIN_KEY         (none)           bootstrap admin key of the default workspace (16+ chars)
  model             RAPPEL_MODEL             .cache/models/multilingual-e5-small
                                                              model directory, or fastembed:<Name> where a hub is reachable
  ort_lib           RAPPEL_ORT_LIB           .cache/ort/libonnxruntime.so.1.31.1
                                                              ONNX Runtime shared library
  embed_batch_size  RAPPEL_EMBED_BATCH_SIZE  16               texts per inference batch
  embed_max_length  RAPPEL_EMBED_MAX_LENGTH  256              tokens kept per text
  memory_cache      RAPPEL_MEMORY_CACHE      50000            memories of recently used customers kept ready in RAM
  store_cache_mib   RAPPEL_STORE_CACHE_MIB   128              the store's page cache, MiB
  max_body_bytes    RAPPEL_MAX_BODY_BYTES    1048576          largest accepted request body
  workers           RAPPEL_WORKERS           0                HTTP worker threads (0: one per core)
  log_format        RAPPEL_LOG_FORMAT        pretty           pretty or json
  log_level         RAPPEL_LOG_LEVEL         info             tracing filter (e.g. info,rappel=debug)
  demo_dir          RAPPEL_DEMO_DIR          fixtures/demo    fixtures loaded by `serve --demo`
  jobs_dir          RAPPEL_JOBS_DIR          jobs             proactive job definitions (one TOML file per job)
  recall_semantic_weight    RAPPEL_RECALL_SEMANTIC_WEIGHT    0.65  weight of embedding similarity (normalised per query)
  recall_keyword_weight     RAPPEL_RECALL_KEYWORD_WEIGHT     0.35  weight of BM25 keyword score (normalised per query)
  recall_neighbour_weight   RAPPEL_RECALL_NEIGHBOUR_WEIGHT   0.3   share of the neighbouring turn's score a message gains
  recall_recency_weight     RAPPEL_RECALL_RECENCY_WEIGHT     0.05  weight of recency
  recall_importance_weight  RAPPEL_RECALL_IMPORTANCE_WEIGHT  0.05  weight of kind-aware importance
  recall_time_weight        RAPPEL_RECALL_TIME_WEIGHT        0.15  bonus of memories from the time a query names
  recall_half_life_days     RAPPEL_RECALL_HALF_LIFE_DAYS     90    age at which recency halves
  retention_message_days    RAPPEL_RETENTION_MESSAGE_DAYS    730   days kept since last seen, per memory kind
  retention_preference_days RAPPEL_RETENTION_PREFERENCE_DAYS 0     (0: forever; pinned memories are always kept;
  retention_fact_days       RAPPEL_RETENTION_FACT_DAYS       0      enforced daily at 03:15 UTC)
  retention_issue_days      RAPPEL_RETENTION_ISSUE_DAYS      730
  retention_resolution_days RAPPEL_RETENTION_RESOLUTION_DAYS 1095
  retention_commitment_days RAPPEL_RETENTION_COMMITMENT_DAYS 730
  rate_limit_per_second     RAPPEL_RATE_LIMIT_PER_SECOND     100   requests per second per API key, sustained (0: off)
  rate_limit_burst          RAPPEL_RATE_LIMIT_BURST          200   requests an API key may send at once
  embed_quota_chars_per_minute RAPPEL_EMBED_QUOTA_CHARS_PER_MINUTE 1000000
                                                              characters per API key per minute sent to the model
                                                              (ingested messages, queries, context; 0: off)
  redact            RAPPEL_REDACT            cards,iban       secrets replaced in messages before they are embedded
                                                              or stored: cards (Luhn), iban (mod 97), passwords,
                                                              national_ids (French NIR, US SSN), or none
  metrics_bot_cost  RAPPEL_METRICS_BOT_COST  0.5              cost of an interaction the bot handled alone (support metrics)
  metrics_human_cost RAPPEL_METRICS_HUMAN_COST 6.0             cost of an interaction people handled (bot then people: both)
  metrics_token     RAPPEL_METRICS_TOKEN     (none)           when set, GET /metrics needs `Authorization: Bearer <token>`
The settings file is ./rappel.toml, or the one named by --config / RAPPEL_CONFIG.";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where the data lives: `redb` (the default: one file in the data folder) or a `postgres://` URL.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StoreSetting {
    /// The embedded store in `data_dir`.
    Redb,
    /// PostgreSQL with pgvector at this URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl TryFrom<String> for StoreSetting {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        if value == "redb" {
            Ok(Self::Redb)
        } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Ok(Self::Postgres(value))
        } else {
            Err("store: expected `redb` or a postgres:// URL".into())
        }
    }
}

impl From<StoreSetting> for String {
    fn from(value: StoreSetting) -> Self {
        match value {
            StoreSetting::Redb => "redb".into(),
            StoreSetting::Postgres(url) => url,
        }
    }
}

impl StoreSetting {
    /// For logs and errors: the URL without its password.
    pub fn redacted(&self) -> String {
        match self {
            Self::Redb => "redb".into(),
            Self::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.split_once('@') {
                    Some((user, host)) if user.contains(':') => {
                        let name = user.split(':').next().unwrap_or_default();
                        format!("{scheme}://{name}:***@{host}")
                    }
                    _ => url.clone(),
                }
            }
        }
    }
}

impl std::fmt::Debug for StoreSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Rappel's settings. See [`SETTINGS_HELP`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address and port the server listens on.
    pub bind: String,
    /// Folder holding the store.
    pub data_dir: PathBuf,
    /// Which store: redb in `data_dir`, or PostgreSQL.
    pub store: StoreSetting,
    /// PostgreSQL: most connections this node keeps open for queries (as many again hold customers' write locks).
    pub store_pool_size: usize,
    /// PostgreSQL: longest a statement may run, in milliseconds.
    pub store_statement_timeout_ms: u64,
    /// Bootstrap admin key of the default workspace.
    pub admin_key: Option<String>,
    /// Model directory, or `fastembed:<Name>`.
    pub model: String,
    /// ONNX Runtime shared library.
    pub ort_lib: PathBuf,
    /// Texts per inference batch.
    pub embed_batch_size: usize,
    /// Tokens kept per text.
    pub embed_max_length: usize,
    /// Memories of recently used customers kept ready for ranking (0: none).
    pub memory_cache: usize,
    /// The store's page cache, in MiB.
    pub store_cache_mib: usize,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Log format.
    pub log_format: LogFormat,
    /// Tracing filter.
    pub log_level: String,
    /// Fixtures loaded by `serve --demo`.
    pub demo_dir: PathBuf,
    /// Proactive job definitions.
    pub jobs_dir: PathBuf,
    /// Recall: weight of embedding similarity.
    pub recall_semantic_weight: f32,
    /// Recall: weight of the BM25 keyword score.
    pub recall_keyword_weight: f32,
    /// Share of the neighbouring turn's score a message gains.
    pub recall_neighbour_weight: f32,
    /// Bonus of memories from the time a query names.
    pub recall_time_weight: f32,
    /// Recall: weight of recency.
    pub recall_recency_weight: f32,
    /// Recall: weight of kind-aware importance.
    pub recall_importance_weight: f32,
    /// Recall: age at which recency halves, in days.
    pub recall_half_life_days: f32,
    /// Retention of raw message memories, in days (0: forever).
    pub retention_message_days: u32,
    /// Retention of preference memories, in days (0: forever).
    pub retention_preference_days: u32,
    /// Retention of fact memories, in days (0: forever).
    pub retention_fact_days: u32,
    /// Retention of issue memories, in days (0: forever).
    pub retention_issue_days: u32,
    /// Retention of resolution memories, in days (0: forever).
    pub retention_resolution_days: u32,
    /// Retention of commitment memories, in days (0: forever).
    pub retention_commitment_days: u32,
    /// Requests per second per API key, sustained (0: no limit).
    pub rate_limit_per_second: u32,
    /// Requests an API key may send at once after a quiet spell.
    pub rate_limit_burst: u32,
    /// Characters per API key per minute sent to the embedding model (0: no quota).
    pub embed_quota_chars_per_minute: u64,
    /// Secrets redacted from messages before they are embedded or stored (comma-separated kinds, or `none`).
    pub redact: String,
    /// Support metrics: cost of an interaction the bot handled alone.
    pub metrics_bot_cost: f64,
    /// Support metrics: cost of an interaction people handled.
    pub metrics_human_cost: f64,
    /// When set, `GET /metrics` (Prometheus) needs this bearer token; open otherwise, like the probes.
    pub metrics_token: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: "data".into(),
            store: StoreSetting::Redb,
            store_pool_size: 16,
            store_statement_timeout_ms: 30_000,
            admin_key: None,
            model: ".cache/models/multilingual-e5-small".into(),
            ort_lib: ".cache/ort/libonnxruntime.so.1.31.1".into(),
            embed_batch_size: 16,
            embed_max_length: 256,
            memory_cache: 50_000,
            store_cache_mib: 128,
            max_body_bytes: 1024 * 1024,
            workers: 0,
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            demo_dir: "fixtures/demo".into(),
            jobs_dir: "jobs".into(),
            recall_semantic_weight: Weights::default().semantic,
            recall_keyword_weight: Weights::default().keyword,
            recall_neighbour_weight: Weights::default().neighbour,
            recall_time_weight: Weights::default().time,
            recall_recency_weight: Weights::default().recency,
            recall_importance_weight: Weights::default().importance,
            recall_half_life_days: Weights::default().half_life_days,
            retention_message_days: Retention::default().days[0],
            retention_preference_days: Retention::default().days[1],
            retention_fact_days: Retention::default().days[2],
            retention_issue_days: Retention::default().days[3],
            retention_resolution_days: Retention::default().days[4],
            retention_commitment_days: Retention::default().days[5],
            rate_limit_per_second: Limits::default().requests_per_second,
            rate_limit_burst: Limits::default().request_burst,
            embed_quota_chars_per_minute: Limits::default().embed_chars_per_minute,
            redact: Redactor::default().to_string(),
            metrics_bot_cost: 0.5,
            metrics_human_cost: 6.0,
            metrics_token: None,
        }
    }
}

const KEYS: [&str; 38] = [
    "bind",
    "data_dir",
    "store",
    "store_pool_size",
    "store_statement_timeout_ms",
    "admin_key",
    "model",
    "ort_lib",
    "embed_batch_size",
    "embed_max_length",
    "memory_cache",
    "store_cache_mib",
    "max_body_bytes",
    "workers",
    "log_format",
    "log_level",
    "demo_dir",
    "jobs_dir",
    "recall_semantic_weight",
    "recall_keyword_weight",
    "recall_neighbour_weight",
    "recall_time_weight",
    "recall_recency_weight",
    "recall_importance_weight",
    "recall_half_life_days",
    "retention_message_days",
    "retention_preference_days",
    "retention_fact_days",
    "retention_issue_days",
    "retention_resolution_days",
    "retention_commitment_days",
    "rate_limit_per_second",
    "rate_limit_burst",
    "embed_quota_chars_per_minute",
    "redact",
    "metrics_bot_cost",
    "metrics_human_cost",
    "metrics_token",
];

/// Settings that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an environment variable could not be read as settings.
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value is out of range.
    #[error("configuration: {key}: {message}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Settings {
    /// Loads defaults, then `file` (when it exists; required when `explicit`), then `RAPPEL_*` variables.
    pub fn load(file: &Path, explicit: bool) -> Result<Self, ConfigError> {
        if explicit && !file.is_file() {
            return Err(ConfigError::Invalid {
                key: "config",
                message: format!("{} does not exist", file.display()),
            });
        }
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("RAPPEL_").only(&KEYS))
            .extract()
            .map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    /// The recall weights.
    pub fn weights(&self) -> Weights {
        Weights {
            semantic: self.recall_semantic_weight,
            keyword: self.recall_keyword_weight,
            neighbour: self.recall_neighbour_weight,
            time: self.recall_time_weight,
            recency: self.recall_recency_weight,
            importance: self.recall_importance_weight,
            half_life_days: self.recall_half_life_days,
        }
    }

    /// Days kept per memory kind.
    pub fn retention(&self) -> Retention {
        Retention {
            days: [
                self.retention_message_days,
                self.retention_preference_days,
                self.retention_fact_days,
                self.retention_issue_days,
                self.retention_resolution_days,
                self.retention_commitment_days,
            ],
        }
    }

    /// The per-key request rate and embedding quota.
    pub fn limits(&self) -> Limits {
        Limits {
            requests_per_second: self.rate_limit_per_second,
            request_burst: self.rate_limit_burst,
            embed_chars_per_minute: self.embed_quota_chars_per_minute,
        }
    }

    /// What interactions cost in the support metrics.
    pub fn costs(&self) -> crate::domain::support_metrics::Costs {
        crate::domain::support_metrics::Costs {
            bot: self.metrics_bot_cost,
            human: self.metrics_human_cost,
        }
    }

    /// How to reach PostgreSQL, when the store is there.
    pub fn postgres(&self) -> Option<crate::store::postgres::PostgresConfig> {
        match &self.store {
            StoreSetting::Redb => None,
            StoreSetting::Postgres(url) => {
                let mut config = crate::store::postgres::PostgresConfig::new(url.clone());
                config.pool_size = self.store_pool_size;
                config.statement_timeout = std::time::Duration::from_millis(self.store_statement_timeout_ms);
                Some(config)
            }
        }
    }

    /// The secrets redacted from messages (checked by [`Settings::validate`]).
    pub fn redactor(&self) -> Redactor {
        self.redact.parse().unwrap_or_default()
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        if let Err(e) = self.redact.parse::<Redactor>() {
            return invalid("redact", &e.to_string());
        }
        if self.bind.parse::<SocketAddr>().is_err() {
            return invalid("bind", "expected address:port, such as 127.0.0.1:8080");
        }
        if self.admin_key.as_ref().is_some_and(|k| k.len() < 16) {
            return invalid("admin_key", "must be at least 16 characters");
        }
        if !(1..=256).contains(&self.embed_batch_size) {
            return invalid("embed_batch_size", "must be between 1 and 256");
        }
        if !(1..=1_048_576).contains(&self.store_cache_mib) {
            return invalid("store_cache_mib", "must be between 1 and 1048576");
        }
        if self.memory_cache > 100_000_000 {
            return invalid("memory_cache", "must be at most 100000000");
        }
        if !(16..=8192).contains(&self.embed_max_length) {
            return invalid("embed_max_length", "must be between 16 and 8192");
        }
        let w = self.weights();
        if [w.semantic, w.keyword, w.neighbour, w.recency, w.importance, w.time]
            .iter()
            .any(|x| !x.is_finite() || *x < 0.0)
        {
            return invalid("recall_*_weight", "weights must be non-negative numbers");
        }
        if !(w.half_life_days.is_finite() && w.half_life_days > 0.0) {
            return invalid("recall_half_life_days", "must be a positive number of days");
        }
        if self.rate_limit_per_second > 0 && self.rate_limit_burst == 0 {
            return invalid(
                "rate_limit_burst",
                "must be at least 1 when rate_limit_per_second is set",
            );
        }
        if [self.metrics_bot_cost, self.metrics_human_cost]
            .iter()
            .any(|c| !c.is_finite() || *c < 0.0 || *c > 1e9)
        {
            return invalid("metrics_*_cost", "costs must be numbers from 0 to 1e9");
        }
        if self.metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return invalid("metrics_token", "must be at least 16 characters");
        }
        if !(1..=1000).contains(&self.store_pool_size) {
            return invalid("store_pool_size", "must be between 1 and 1000");
        }
        if !(1..=86_400_000).contains(&self.store_statement_timeout_ms) {
            return invalid("store_statement_timeout_ms", "must be between 1 and 86400000");
        }
        if self.max_body_bytes < 1024 {
            return invalid("max_body_bytes", "must be at least 1024");
        }
        Ok(())
    }
}

#[cfg(test)]
// figment's Jail closures return its large error type; boxing it is not ours to do.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("rappel.toml", "bind = \"127.0.0.1:9000\"\nembed_batch_size = 8\n")?;
            jail.set_env("RAPPEL_EMBED_BATCH_SIZE", "4");
            jail.set_env("RAPPEL_CACHE_DIR", "ignored: not a setting");
            let s = Settings::load(Path::new("rappel.toml"), false).expect("loads");
            assert_eq!(s.bind, "127.0.0.1:9000");
            assert_eq!(s.embed_batch_size, 4);
            assert_eq!(s.data_dir, PathBuf::from("data"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("rappel.toml", "bnid = \"x\"\n")?;
            assert!(Settings::load(Path::new("rappel.toml"), false).is_err());
            jail.create_file("rappel.toml", "bind = \"nowhere\"\n")?;
            let err = Settings::load(Path::new("rappel.toml"), false).unwrap_err().to_string();
            assert!(err.contains("bind"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn store_is_redb_by_default_or_a_postgres_url_with_its_pool_and_timeout() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(Path::new("rappel.toml"), false).expect("loads");
            assert_eq!(s.store, StoreSetting::Redb);
            assert!(s.postgres().is_none());
            jail.create_file("rappel.toml", "store = \"postgres://rappel:secret@db:5432/rappel\"\n")?;
            jail.set_env("RAPPEL_STORE_POOL_SIZE", "4");
            jail.set_env("RAPPEL_STORE_STATEMENT_TIMEOUT_MS", "1500");
            let s = Settings::load(Path::new("rappel.toml"), false).expect("loads");
            let pg = s.postgres().expect("postgres");
            assert_eq!(pg.url, "postgres://rappel:secret@db:5432/rappel");
            assert_eq!((pg.pool_size, pg.statement_timeout.as_millis()), (4, 1500));
            assert_eq!(format!("{:?}", s.store), "postgres://rappel:***@db:5432/rappel");
            jail.set_env("RAPPEL_STORE", "mysql://db");
            let err = Settings::load(Path::new("rappel.toml"), false).unwrap_err().to_string();
            assert!(err.contains("postgres://"), "{err}");
            jail.set_env("RAPPEL_STORE", "redb");
            jail.set_env("RAPPEL_STORE_POOL_SIZE", "0");
            let err = Settings::load(Path::new("rappel.toml"), false).unwrap_err().to_string();
            assert!(err.contains("store_pool_size"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_explicit_file_is_an_error_but_a_missing_default_is_not() {
        figment::Jail::expect_with(|_| {
            assert!(Settings::load(Path::new("nope.toml"), true).is_err());
            assert!(Settings::load(Path::new("nope.toml"), false).is_ok());
            Ok(())
        });
    }
}
