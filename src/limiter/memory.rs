//! The in-process limiter: one mutex-guarded map, exact and atomic within one process.
//! Each instance counts for itself, so this is for a single instance only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{new_slot_id, retry_after_secs, Holder, LimitError, Limiter, Reservation, Rule, Verdict};

pub struct MemoryLimiter {
    keys: Mutex<HashMap<String, Log>>,
    holder: Holder,
}

#[derive(Default)]
struct Log {
    /// `(taken at, slot id)`, oldest first.
    slots: VecDeque<(i64, i64)>,
    denied_at: Option<i64>,
}

impl Default for MemoryLimiter {
    fn default() -> MemoryLimiter {
        MemoryLimiter { keys: Mutex::default(), holder: Holder::Primary }
    }
}

impl MemoryLimiter {
    pub fn new() -> MemoryLimiter {
        MemoryLimiter::default()
    }

    /// The same limiter standing in for Redis: its reservations say so.
    pub fn fallback() -> MemoryLimiter {
        MemoryLimiter { keys: Mutex::default(), holder: Holder::Fallback }
    }

    /// Reserves synchronously; the trait method wraps this.
    pub fn reserve_now(&self, key: &str, rule: Rule, now_ms: i64) -> Verdict {
        let mut keys = self.lock();
        let log = keys.entry(key.to_string()).or_default();
        let cutoff = now_ms - rule.window_ms;
        while log.slots.front().is_some_and(|(at, _)| *at <= cutoff) {
            log.slots.pop_front();
        }
        if log.slots.len() < rule.limit as usize {
            let slot = new_slot_id(now_ms);
            log.slots.push_back((now_ms, slot));
            return Verdict::Granted(Reservation { key: key.to_string(), slot, holder: self.holder });
        }
        let oldest = log.slots.front().map_or(now_ms, |(at, _)| *at);
        let first_denial = log.denied_at.is_none_or(|at| at <= cutoff);
        if first_denial {
            log.denied_at = Some(now_ms);
        }
        Verdict::Denied { retry_after_secs: retry_after_secs(oldest, rule, now_ms), first_denial }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Log>> {
        // A panic while holding the lock leaves only counters behind; keep using them.
        self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Limiter for MemoryLimiter {
    async fn reserve(&self, key: &str, rule: Rule, now_ms: i64) -> Result<Verdict, LimitError> {
        Ok(self.reserve_now(key, rule, now_ms))
    }

    async fn refund(&self, reservation: &Reservation) -> Result<(), LimitError> {
        if let Some(log) = self.lock().get_mut(&reservation.key) {
            log.slots.retain(|(_, slot)| *slot != reservation.slot);
        }
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), LimitError> {
        if let Some(log) = self.lock().get_mut(key) {
            log.slots.clear();
        }
        Ok(())
    }

    async fn prune(&self, horizon_ms: i64) -> Result<u64, LimitError> {
        let mut keys = self.lock();
        let before = keys.len();
        keys.retain(|_, log| {
            log.slots.back().is_some_and(|(at, _)| *at > horizon_ms) || log.denied_at.is_some_and(|at| at > horizon_ms)
        });
        Ok((before - keys.len()) as u64)
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::limiter::suite;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_reservations_grant_exactly_the_limit() {
        suite::parallel_reservations_grant_exactly_the_limit(Arc::new(MemoryLimiter::new()), "k").await;
    }

    #[tokio::test]
    async fn refund_reset_and_window() {
        suite::refund_reset_and_window(Arc::new(MemoryLimiter::new()), "k").await;
    }

    #[tokio::test]
    async fn pruning_forgets_keys_whose_window_has_passed() {
        let limiter = MemoryLimiter::new();
        limiter.reserve("old", suite::RULE, 1_000).await.unwrap();
        limiter.reserve("new", suite::RULE, 100_000).await.unwrap();
        assert_eq!(limiter.prune(50_000).await.unwrap(), 1);
        assert_eq!(limiter.lock().len(), 1);
    }
}
