//! The Redis limiter, for a cluster with Redis: one Lua script per reservation
//! (`store::redis`), keys expiring with their window, for the per-address budgets that a
//! flood of requests hits hardest. When Redis fails or is slow, a breaker opens for a
//! few seconds and the fallback (the database limiter, or the in-process one on SQLite)
//! answers instead, so logins keep working; an address's budget may then reach twice
//! its limit during the flap. A log line and the `latchkey_throttle_fallback_total`
//! metric say so.
//!
//! An account's budgets (password guesses, codes, mails) are the ones an attacker must
//! not reset by waiting for Redis to fail or restart empty, so they are always kept by
//! the fallback: the database, which outlives both.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::{new_slot_id, retry_after_secs, Holder, LimitError, Limiter, Reservation, Rule, SharedLimiter, Verdict};
use crate::store::redis::{Redis, RedisError, ReserveReply};

/// How long the fallback answers after a Redis failure before Redis is tried again.
const BREAKER_OPEN_FOR: Duration = Duration::from_secs(5);

pub struct RedisLimiter {
    redis: Redis,
    fallback: SharedLimiter,
    /// Redis is skipped until this time (ms since the epoch, wall clock).
    open_until_ms: AtomicI64,
}

impl RedisLimiter {
    /// `fallback` must mark its reservations `Holder::Fallback`.
    pub fn new(redis: Redis, fallback: SharedLimiter) -> RedisLimiter {
        RedisLimiter { redis, fallback, open_until_ms: AtomicI64::new(0) }
    }

    /// Whether Redis keeps this key's budget: a per-address one. Everything else is an
    /// account's budget, kept by the database.
    fn on_redis(key: &str) -> bool {
        key.contains(":ip:")
    }

    fn breaker_open(&self) -> bool {
        wall_ms() < self.open_until_ms.load(Ordering::Relaxed)
    }

    fn trip(&self, what: &str, error: &RedisError) {
        let was_open = self.breaker_open();
        self.open_until_ms.store(wall_ms() + BREAKER_OPEN_FOR.as_millis() as i64, Ordering::Relaxed);
        metrics::counter!("latchkey_throttle_fallback_total").increment(1);
        if !was_open {
            tracing::warn!(%error, fallback = self.fallback.backend(), "redis {what} failed: throttling on the fallback for {BREAKER_OPEN_FOR:?}");
        }
    }
}

/// The breaker follows real time, not the application clock that tests move.
fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[async_trait]
impl Limiter for RedisLimiter {
    async fn reserve(&self, key: &str, rule: Rule, now_ms: i64) -> Result<Verdict, LimitError> {
        if !Self::on_redis(key) || self.breaker_open() {
            return self.fallback.reserve(key, rule, now_ms).await;
        }
        let slot = new_slot_id(now_ms);
        match self.redis.reserve(key, slot, now_ms, rule.window_ms, rule.limit).await {
            Ok(ReserveReply::Granted) => {
                Ok(Verdict::Granted(Reservation { key: key.to_string(), slot, holder: Holder::Primary }))
            }
            Ok(ReserveReply::Denied { oldest_ms, first }) => {
                Ok(Verdict::Denied { retry_after_secs: retry_after_secs(oldest_ms, rule, now_ms), first_denial: first })
            }
            Err(e) => {
                self.trip("reserve", &e);
                self.fallback.reserve(key, rule, now_ms).await
            }
        }
    }

    async fn refund(&self, reservation: &Reservation) -> Result<(), LimitError> {
        if reservation.holder == Holder::Fallback {
            return self.fallback.refund(reservation).await;
        }
        if let Err(e) = self.redis.refund(&reservation.key, reservation.slot).await {
            // The slot stays taken until its window ends: the safe side.
            tracing::warn!(error = %e, "throttle slot not refunded");
        }
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), LimitError> {
        if !Self::on_redis(key) {
            return self.fallback.reset(key).await;
        }
        if let Err(e) = self.redis.reset(key).await {
            tracing::warn!(error = %e, "throttle key not reset in redis");
        }
        self.fallback.reset(key).await
    }

    async fn prune(&self, horizon_ms: i64) -> Result<u64, LimitError> {
        // Redis expires its keys itself; only the fallback keeps state to prune.
        self.fallback.prune(horizon_ms).await
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::limiter::memory::MemoryLimiter;
    use crate::limiter::suite;

    /// Redis at `LATCHKEY_TEST_REDIS_URL` (default the local server), with a prefix of
    /// this test's own; `None` (a skip) only outside CI.
    fn test_redis() -> Option<Redis> {
        let url = std::env::var("LATCHKEY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let prefix = format!("latchkey-test:{}:", crate::crypto::token::new_token());
        let redis = Redis::connect(&url, &prefix, Duration::from_millis(500)).ok()?;
        Some(redis)
    }

    async fn reachable(redis: &Redis) -> bool {
        match redis.ping().await {
            Ok(()) => true,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => panic!("CI needs Redis: {e}"),
            Err(_) => false,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_reservations_grant_exactly_the_limit() {
        let Some(redis) = test_redis() else { return };
        if !reachable(&redis).await {
            return;
        }
        let limiter = Arc::new(RedisLimiter::new(redis, Arc::new(MemoryLimiter::new())));
        suite::parallel_reservations_grant_exactly_the_limit(limiter, "login:ip:k").await;
    }

    #[tokio::test]
    async fn refund_reset_and_window() {
        let Some(redis) = test_redis() else { return };
        if !reachable(&redis).await {
            return;
        }
        let limiter = Arc::new(RedisLimiter::new(redis, Arc::new(MemoryLimiter::new())));
        suite::refund_reset_and_window(limiter, "login:ip:k").await;
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_at_once_and_keeps_counting() {
        // Nothing listens on port 1: every Redis call fails fast.
        let redis = Redis::connect("redis://127.0.0.1:1", "x:", Duration::from_millis(200)).unwrap();
        let fallback = Arc::new(MemoryLimiter::fallback());
        let limiter = RedisLimiter::new(redis, fallback);
        let started = std::time::Instant::now();
        let mut granted = 0;
        for _ in 0..12 {
            if let Verdict::Granted(r) = limiter.reserve("login:ip:k", suite::RULE, 1_800_000_000_000).await.unwrap() {
                assert_eq!(r.holder, Holder::Fallback);
                granted += 1;
            }
        }
        assert_eq!(granted, 10, "the fallback enforces the same rule");
        assert!(started.elapsed() < Duration::from_secs(2), "the breaker skips Redis after the first failure");
    }

    #[tokio::test]
    async fn an_accounts_budget_is_kept_by_the_database_never_by_redis() {
        let Some(redis) = test_redis() else { return };
        if !reachable(&redis).await {
            return;
        }
        let limiter = RedisLimiter::new(redis, Arc::new(MemoryLimiter::fallback()));
        let now = 1_800_000_000_000;
        for (key, holder) in [
            ("login:acct:7", Holder::Fallback),
            ("otp:acct:7", Holder::Fallback),
            ("email:acct:7", Holder::Fallback),
            ("login:name:ab12", Holder::Fallback),
            ("login:ip:10.0.0.1", Holder::Primary),
        ] {
            match limiter.reserve(key, suite::RULE, now).await.unwrap() {
                Verdict::Granted(r) => assert_eq!(r.holder, holder, "{key}"),
                other => panic!("{key}: {other:?}"),
            }
        }
    }
}
