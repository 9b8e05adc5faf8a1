//! Per-key limits as token buckets: a key spends tokens (a request, or characters sent to the embedding model)
//! and the bucket refills at a steady rate up to its capacity.

use chrono::{DateTime, Utc};

/// The limits every API key gets; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests a second, sustained.
    pub requests_per_second: u32,
    /// Requests a key may send at once after a quiet spell.
    pub request_burst: u32,
    /// Characters of text a key may have embedded per minute (ingested messages, queries, context messages).
    pub embed_chars_per_minute: u64,
}

impl Default for Limits {
    /// Generous: a busy helpdesk integration stays far below them; they stop one runaway key.
    fn default() -> Self {
        Self {
            requests_per_second: 100,
            request_burst: 200,
            embed_chars_per_minute: 1_000_000,
        }
    }
}

impl Limits {
    /// The request bucket's rate, or `None` when requests are not limited.
    pub fn requests(&self) -> Option<Rate> {
        (self.requests_per_second > 0).then(|| Rate {
            capacity: f64::from(self.request_burst.max(1)),
            per_second: f64::from(self.requests_per_second),
        })
    }

    /// The embedding bucket's rate (a minute's quota, refilled evenly), or `None` when not limited.
    pub fn embedding(&self) -> Option<Rate> {
        (self.embed_chars_per_minute > 0).then(|| Rate {
            capacity: self.embed_chars_per_minute as f64,
            per_second: self.embed_chars_per_minute as f64 / 60.0,
        })
    }
}

/// A bucket's size and refill speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Most tokens the bucket holds.
    pub capacity: f64,
    /// Tokens added per second.
    pub per_second: f64,
}

/// One key's bucket for one limit.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    updated: DateTime<Utc>,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn full(rate: &Rate, now: DateTime<Utc>) -> Self {
        Self {
            tokens: rate.capacity,
            updated: now,
        }
    }

    /// Whether the bucket is full at `now` (forgetting it changes nothing).
    pub fn is_full(&self, rate: &Rate, now: DateTime<Utc>) -> bool {
        let mut probe = self.clone();
        probe.refill(rate, now);
        probe.tokens >= rate.capacity
    }

    fn refill(&mut self, rate: &Rate, now: DateTime<Utc>) {
        // A clock that goes back refills nothing (and is not an error).
        let elapsed = (now - self.updated).num_microseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e6;
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.capacity);
        if now > self.updated {
            self.updated = now;
        }
    }

    /// Spends `cost` tokens at `now`, or returns how long to wait until the bucket could pay. A cost above the
    /// capacity is paid by a full bucket, which goes into debt: a large request is slowed down, never refused for
    /// ever.
    pub fn take(&mut self, rate: &Rate, cost: f64, now: DateTime<Utc>) -> Result<(), std::time::Duration> {
        self.refill(rate, now);
        let needed = cost.min(rate.capacity);
        if self.tokens >= needed {
            self.tokens -= cost;
            Ok(())
        } else {
            Err(std::time::Duration::from_secs_f64(
                (needed - self.tokens) / rate.per_second,
            ))
        }
    }
}

/// Whole seconds for a `Retry-After` header: the wait rounded up, at least 1.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t0() -> DateTime<Utc> {
        "2026-11-25T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_burst_passes_then_the_bucket_refills_at_its_rate() {
        let rate = Rate {
            capacity: 3.0,
            per_second: 1.0,
        };
        let mut b = TokenBucket::full(&rate, t0());
        for _ in 0..3 {
            assert!(b.take(&rate, 1.0, t0()).is_ok());
        }
        let wait = b.take(&rate, 1.0, t0()).unwrap_err();
        assert_eq!(retry_after_secs(wait), 1);
        assert!(b.take(&rate, 1.0, t0() + Duration::milliseconds(500)).is_err());
        assert!(b.take(&rate, 1.0, t0() + Duration::seconds(1)).is_ok());
        assert!(b.is_full(&rate, t0() + Duration::seconds(10)));
        assert!(b.take(&rate, 3.0, t0() + Duration::seconds(10)).is_ok());
    }

    #[test]
    fn an_oversized_cost_passes_on_a_full_bucket_and_leaves_a_debt() {
        let rate = Limits {
            requests_per_second: 0,
            request_burst: 0,
            embed_chars_per_minute: 60,
        }
        .embedding()
        .unwrap();
        let mut b = TokenBucket::full(&rate, t0());
        assert!(b.take(&rate, 90.0, t0()).is_ok());
        // 30 in debt: 60 more seconds to be able to pay 30.
        let wait = b.take(&rate, 30.0, t0()).unwrap_err();
        assert_eq!(retry_after_secs(wait), 60);
        assert!(b.take(&rate, 30.0, t0() + Duration::seconds(60)).is_ok());
    }

    #[test]
    fn a_clock_going_back_refills_nothing_and_zero_turns_a_limit_off() {
        let rate = Rate {
            capacity: 1.0,
            per_second: 1.0,
        };
        let mut b = TokenBucket::full(&rate, t0());
        assert!(b.take(&rate, 1.0, t0()).is_ok());
        assert!(b.take(&rate, 1.0, t0() - Duration::hours(1)).is_err());
        let off = Limits {
            requests_per_second: 0,
            request_burst: 10,
            embed_chars_per_minute: 0,
        };
        assert!(off.requests().is_none() && off.embedding().is_none());
    }
}
