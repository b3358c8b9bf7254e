//! The limiter: an exact sliding-window log per key, with an atomic reserve-before-work
//! operation. A slot is reserved before the costly or guessable work it guards (a
//! password hash), so requests in flight count against the limit; a success hands its
//! slot back (`refund`) or clears the key (`reset`).
//!
//! Three backends, chosen once at start-up, behind one interface:
//! - [`memory::MemoryLimiter`]: one process (the embedded SQLite deployment);
//! - [`postgres::PostgresLimiter`]: a cluster without Redis, one atomic upsert per
//!   reservation on the shared database;
//! - [`redis::RedisLimiter`]: a cluster with Redis, one Lua script per reservation, with
//!   the database limiter as a fallback while Redis cannot be reached.
//!
//! Time is passed in (milliseconds since the epoch), so every backend follows the
//! application's clock.

pub mod memory;
pub mod postgres;
pub mod redis;

use std::sync::Arc;

use async_trait::async_trait;

use crate::store::StoreError;

/// At most `limit` slots per key inside any `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub window_ms: i64,
}

impl Rule {
    pub fn new(limit: u32, window: std::time::Duration) -> Rule {
        Rule { limit, window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX) }
    }
}

/// Which backend holds a reservation, so that a refund goes back where the slot was taken
/// even if the limiter switched backends in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Primary,
    Fallback,
}

/// One reserved slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub key: String,
    pub slot: i64,
    pub holder: Holder,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Granted(Reservation),
    /// Over the limit. `first_denial` is true once per key and window, so that a flood
    /// of refused attempts leaves one audit event, not one per request.
    Denied {
        retry_after_secs: u64,
        first_denial: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("limiter store unavailable")]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait Limiter: Send + Sync {
    /// Takes a slot for `key` unless `rule.limit` slots are already inside the window.
    async fn reserve(&self, key: &str, rule: Rule, now_ms: i64) -> Result<Verdict, LimitError>;
    /// Gives back exactly this slot (and no other).
    async fn refund(&self, reservation: &Reservation) -> Result<(), LimitError>;
    /// Forgets every slot of the key.
    async fn reset(&self, key: &str) -> Result<(), LimitError>;
    /// Drops state no window can need any more (slots older than `horizon_ms`).
    async fn prune(&self, horizon_ms: i64) -> Result<u64, LimitError>;
    /// The backend's name, for logs and metrics.
    fn backend(&self) -> &'static str;
}

pub type SharedLimiter = Arc<dyn Limiter>;

/// Seconds until the oldest slot inside the window leaves it: at least 1, rounded up.
pub fn retry_after_secs(oldest_ms: i64, rule: Rule, now_ms: i64) -> u64 {
    let wait_ms = (oldest_ms + rule.window_ms - now_ms).max(1);
    (wait_ms as u64).div_ceil(1000)
}

/// A random slot id; on the database it also carries the slot's time (see
/// `postgres::slot_at`).
pub fn new_slot_id(now_ms: i64) -> i64 {
    (now_ms << postgres::SLOT_RANDOM_BITS) | (rand::random::<i64>() & ((1 << postgres::SLOT_RANDOM_BITS) - 1))
}

#[cfg(test)]
pub(crate) mod suite {
    //! The behaviour every backend must show, run against each of them.

    use std::sync::Arc;

    use super::*;

    pub const RULE: Rule = Rule { limit: 10, window_ms: 60_000 };
    const T0: i64 = 1_800_000_000_000;

    fn granted(v: &Verdict) -> bool {
        matches!(v, Verdict::Granted(_))
    }

    /// 60 tasks reserve at once for one key: exactly `limit` get a slot.
    pub async fn parallel_reservations_grant_exactly_the_limit(limiter: SharedLimiter, key: &str) {
        let barrier = Arc::new(tokio::sync::Barrier::new(60));
        let tasks: Vec<_> = (0..60)
            .map(|_| {
                let (limiter, barrier, key) = (Arc::clone(&limiter), Arc::clone(&barrier), key.to_string());
                tokio::spawn(async move {
                    barrier.wait().await;
                    limiter.reserve(&key, RULE, T0).await.expect("reserve")
                })
            })
            .collect();
        let verdicts: Vec<Verdict> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(verdicts.iter().filter(|v| granted(v)).count(), 10, "{verdicts:?}");
        let first_denials = verdicts.iter().filter(|v| matches!(v, Verdict::Denied { first_denial: true, .. })).count();
        assert_eq!(first_denials, 1, "one denial per window is the first: {verdicts:?}");
    }

    /// A refund frees exactly one slot; reset frees them all; slots age out.
    pub async fn refund_reset_and_window(limiter: SharedLimiter, key: &str) {
        let mut slots = Vec::new();
        for i in 0..10 {
            match limiter.reserve(key, RULE, T0 + i).await.unwrap() {
                Verdict::Granted(r) => slots.push(r),
                other => panic!("slot {i}: {other:?}"),
            }
        }
        match limiter.reserve(key, RULE, T0 + 10).await.unwrap() {
            Verdict::Denied { retry_after_secs, first_denial } => {
                assert_eq!(retry_after_secs, 60, "the oldest slot leaves the window in 60 s");
                assert!(first_denial);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(limiter.reserve(key, RULE, T0 + 11).await.unwrap(), Verdict::Denied { first_denial: false, .. }),
            "later denials in the same window are not first"
        );
        limiter.refund(&slots[3]).await.unwrap();
        limiter.refund(&slots[3]).await.unwrap();
        assert!(granted(&limiter.reserve(key, RULE, T0 + 12).await.unwrap()), "the refunded slot is free");
        assert!(!granted(&limiter.reserve(key, RULE, T0 + 13).await.unwrap()), "a second refund of it freed nothing");
        limiter.reset(key).await.unwrap();
        for i in 0..10 {
            assert!(granted(&limiter.reserve(key, RULE, T0 + 20 + i).await.unwrap()), "after reset, slot {i}");
        }
        assert!(!granted(&limiter.reserve(key, RULE, T0 + 30).await.unwrap()));
        // The first of those ten was taken at T0+20: one window later it is gone.
        assert!(granted(&limiter.reserve(key, RULE, T0 + 20 + RULE.window_ms).await.unwrap()), "slots age out");
        assert!(!granted(&limiter.reserve(key, RULE, T0 + 21 + RULE.window_ms - 1).await.unwrap()));
        let other = format!("{key}:other");
        assert!(granted(&limiter.reserve(&other, RULE, T0).await.unwrap()), "keys are independent");
        limiter.prune(T0 + 10 * RULE.window_ms).await.unwrap();
        assert!(granted(&limiter.reserve(key, RULE, T0 + 10 * RULE.window_ms + 1).await.unwrap()));
    }
}
