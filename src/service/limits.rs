//! Per-key rate limits and embedding quotas: each API key has its own buckets, so one key over its limit never
//! slows another key or workspace. Trusted local callers (the command line, the demo loader, the scheduler) are
//! not limited.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{ServiceError, Services};
use crate::domain::rate::{retry_after_secs, Limits, Rate, TokenBucket};
use crate::domain::Principal;

/// Beyond this many keys tracked, buckets that are full again are forgotten (a full bucket is a fresh one).
const PRUNE_ABOVE: usize = 10_000;

/// The buckets of every key that sent a request recently.
pub(super) struct Limiter {
    requests: Option<Rate>,
    embedding: Option<Rate>,
    /// (workspace, key id) -> (request bucket, embedding bucket). The lock is held for a few arithmetic
    /// operations, never across an await.
    buckets: Mutex<HashMap<(String, String), KeyBuckets>>,
}

struct KeyBuckets {
    requests: Option<TokenBucket>,
    embedding: Option<TokenBucket>,
}

/// Which bucket to spend from.
#[derive(Clone, Copy)]
enum Spend {
    Request,
    Embedding,
}

impl Limiter {
    /// A limiter enforcing `limits`.
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            requests: limits.requests(),
            embedding: limits.embedding(),
            buckets: Mutex::default(),
        }
    }

    /// Spends `cost` from the caller's bucket, or returns how many seconds to wait.
    fn spend(&self, principal: &Principal, what: Spend, cost: f64, now: DateTime<Utc>) -> Result<(), u64> {
        let rate = match what {
            Spend::Request => self.requests,
            Spend::Embedding => self.embedding,
        };
        let Some(rate) = rate else { return Ok(()) };
        if principal.is_local() {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let (requests, embedding) = (self.requests, self.embedding);
            buckets.retain(|_, b| {
                let full = |bucket: &Option<TokenBucket>, rate: Option<Rate>| match (bucket, rate) {
                    (Some(bucket), Some(rate)) => bucket.is_full(&rate, now),
                    _ => true,
                };
                !(full(&b.requests, requests) && full(&b.embedding, embedding))
            });
        }
        let key = (principal.workspace.to_string(), principal.key_id.clone());
        let entry = buckets.entry(key).or_insert(KeyBuckets {
            requests: None,
            embedding: None,
        });
        let bucket = match what {
            Spend::Request => &mut entry.requests,
            Spend::Embedding => &mut entry.embedding,
        };
        bucket
            .get_or_insert_with(|| TokenBucket::full(&rate, now))
            .take(&rate, cost, now)
            .map_err(retry_after_secs)
    }
}

impl Services {
    /// Counts one request of `principal` against its rate (`rate_limited` when over it).
    pub(super) fn count_request(&self, principal: &Principal) -> Result<(), ServiceError> {
        self.limiter
            .spend(principal, Spend::Request, 1.0, self.now())
            .map_err(|retry_after| ServiceError::RateLimited { retry_after })
    }

    /// Counts `chars` characters that `principal` is about to have embedded against its quota, before the model
    /// runs (`quota_exceeded` when used up).
    pub(super) fn count_embedding(&self, principal: &Principal, chars: usize) -> Result<(), ServiceError> {
        if chars == 0 {
            return Ok(());
        }
        self.limiter
            .spend(principal, Spend::Embedding, chars as f64, self.now())
            .map_err(|retry_after| ServiceError::QuotaExceeded { retry_after })
    }
}
