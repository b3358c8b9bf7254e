//! The database limiter, for a cluster of instances on PostgreSQL without Redis: every
//! reservation is one atomic statement on the shared `throttle` table
//! (`store::throttle`), so all instances share one budget per key.

use async_trait::async_trait;

use super::{new_slot_id, retry_after_secs, Holder, LimitError, Limiter, Reservation, Rule, Verdict};
use crate::store::throttle::ThrottleTable;

/// Low bits of a slot id that are random; the rest is the slot's time in milliseconds.
pub const SLOT_RANDOM_BITS: u32 = 20;

/// When a slot was taken, from its id.
pub fn slot_at(slot: i64) -> i64 {
    slot >> SLOT_RANDOM_BITS
}

pub struct PostgresLimiter {
    table: ThrottleTable,
    holder: Holder,
}

impl PostgresLimiter {
    pub fn new(table: ThrottleTable) -> PostgresLimiter {
        PostgresLimiter { table, holder: Holder::Primary }
    }

    /// The same limiter standing in for another (Redis): its reservations say so.
    pub fn as_fallback(table: ThrottleTable) -> PostgresLimiter {
        PostgresLimiter { table, holder: Holder::Fallback }
    }
}

#[async_trait]
impl Limiter for PostgresLimiter {
    async fn reserve(&self, key: &str, rule: Rule, now_ms: i64) -> Result<Verdict, LimitError> {
        let slot = new_slot_id(now_ms);
        let cutoff = now_ms - rule.window_ms;
        if self.table.reserve(key, slot, now_ms, cutoff, rule.limit).await? {
            return Ok(Verdict::Granted(Reservation { key: key.to_string(), slot, holder: self.holder }));
        }
        let denial = self.table.denial(key, now_ms, cutoff).await?;
        let oldest = denial.slots.iter().map(|s| slot_at(*s)).filter(|at| *at > cutoff).min().unwrap_or(now_ms);
        Ok(Verdict::Denied { retry_after_secs: retry_after_secs(oldest, rule, now_ms), first_denial: denial.first })
    }

    async fn refund(&self, reservation: &Reservation) -> Result<(), LimitError> {
        Ok(self.table.refund(&reservation.key, reservation.slot).await?)
    }

    async fn reset(&self, key: &str) -> Result<(), LimitError> {
        Ok(self.table.reset(key).await?)
    }

    async fn prune(&self, horizon_ms: i64) -> Result<u64, LimitError> {
        Ok(self.table.prune(horizon_ms).await?)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::limiter::suite;
    use crate::store::test_support::TestPostgres;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_reservations_grant_exactly_the_limit() {
        let Some(db) = TestPostgres::create().await else { return };
        let limiter = Arc::new(PostgresLimiter::new(db.store.throttle_table().unwrap()));
        suite::parallel_reservations_grant_exactly_the_limit(limiter, "k").await;
    }

    #[tokio::test]
    async fn refund_reset_and_window() {
        let Some(db) = TestPostgres::create().await else { return };
        let limiter = Arc::new(PostgresLimiter::new(db.store.throttle_table().unwrap()));
        suite::refund_reset_and_window(limiter, "k").await;
    }

    #[test]
    fn slot_ids_carry_their_time() {
        let slot = new_slot_id(1_800_000_000_123);
        assert_eq!(slot_at(slot), 1_800_000_000_123);
    }
}
