//! Catching up from the revocation log. The transports deliver events fast but can lose
//! them (a subscriber cut off, a publisher that lost Redis, a frozen connection). Each
//! instance of a cluster therefore also reads the log, where every event is written in
//! the transaction that causes it, every [`POLL_EVERY`], and applies what it has not
//! seen. Its cache answers only while its last complete read began less than
//! [`LEASE`] ago (the [`Lease`]); a revoking instance that cannot get every other
//! instance's acknowledgement waits [`LEASE`] after its commit before it answers, by
//! which time every instance has either read the event or stopped using its cache.
//!
//! Positions are handed out when a transaction writes, not when it commits, so a later
//! position can become visible before an earlier one. A missing position is a gap: it
//! is read again until it shows up, or until [`GAP_PATIENCE`] says its transaction
//! rolled back.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{process_ms, Feed, FeedEvent, FeedSignal};
use crate::store::Store;

/// How often each instance reads the log.
pub const POLL_EVERY: Duration = Duration::from_millis(250);
/// How long after its last complete read an instance may still answer from its cache:
/// eight reads, so a busy moment does not switch the cache off.
pub const LEASE: Duration = Duration::from_millis(2000);
/// How long a gap in the log is waited for: longer than any transaction may run.
const GAP_PATIENCE: Duration = Duration::from_secs(30);

/// What of the log an instance has applied, whichever way it arrived: an event applied
/// from the transport is not applied again when the log is read (each application
/// empties cache entries, and a fill racing it is thrown away).
#[derive(Default)]
pub(super) struct Applied(Mutex<Position>);

impl Applied {
    /// Notes an event applied from the transport or made here.
    pub(super) fn applied(&self, log_seq: Option<i64>) {
        if let Some(seq) = log_seq {
            let mut position = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if seq > position.horizon {
                position.seen.insert(seq);
            }
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Position) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
/// Events read per query, and queries per read at most (the rest waits for the next).
const BATCH: i64 = 500;
const MAX_BATCHES: usize = 20;
/// How far back a starting instance reads, for transactions in flight as it starts.
const START_BACK: i64 = 1000;

/// Whether this instance's cache may answer: always with an in-process feed; in a
/// cluster, only shortly after a complete read of the revocation log.
pub struct Lease {
    shared: bool,
    /// `process_ms()` + 1 when the last complete read began; 0 before the first.
    renewed_ms: AtomicU64,
}

impl Lease {
    pub(super) fn new(shared: bool) -> Arc<Lease> {
        Arc::new(Lease { shared, renewed_ms: AtomicU64::new(0) })
    }

    pub fn valid(&self) -> bool {
        if !self.shared {
            return true;
        }
        let renewed = self.renewed_ms.load(Ordering::Acquire);
        renewed != 0 && process_ms() < renewed - 1 + LEASE.as_millis() as u64
    }

    fn renew(&self, began_ms: u64) {
        self.renewed_ms.fetch_max(began_ms + 1, Ordering::AcqRel);
    }
}

/// What has been read of the log.
#[derive(Debug, Default)]
struct Position {
    /// Every position up to here was applied, or given up as rolled back.
    horizon: i64,
    /// Positions past the horizon already applied.
    seen: BTreeSet<i64>,
    /// Missing positions past the horizon, and when each was first missed.
    gaps: HashMap<i64, Instant>,
}

impl Position {
    /// Takes rows read from the log; answers the events not applied before.
    fn take(&mut self, rows: Vec<(i64, String)>) -> Vec<String> {
        rows.into_iter().filter(|(seq, _)| *seq > self.horizon && self.seen.insert(*seq)).map(|(_, e)| e).collect()
    }

    /// The newest position applied.
    fn top(&self) -> i64 {
        self.seen.last().copied().unwrap_or(self.horizon)
    }

    /// Moves the horizon over what is applied and over gaps waited for long enough, and
    /// notes the gaps that remain.
    fn advance(&mut self, now: Instant) {
        // Events applied before the horizon was first set (at start) are behind it.
        self.seen = self.seen.split_off(&(self.horizon + 1));
        self.gaps.retain(|seq, _| *seq > self.horizon);
        while let Some(&first) = self.seen.first() {
            let next = self.horizon + 1;
            if first == next {
                self.seen.remove(&first);
                self.gaps.remove(&next);
                self.horizon = next;
                continue;
            }
            let missed_since = *self.gaps.entry(next).or_insert(now);
            if now.duration_since(missed_since) < GAP_PATIENCE {
                break;
            }
            self.gaps.remove(&next);
            self.horizon = next;
        }
        let (horizon, top) = (self.horizon, self.top());
        for seq in horizon + 1..top {
            if !self.seen.contains(&seq) {
                self.gaps.entry(seq).or_insert(now);
            }
        }
    }

    /// The span of positions still missing, to be read again.
    fn gap_span(&self) -> Option<(i64, i64)> {
        Some((*self.gaps.keys().min()?, *self.gaps.keys().max()?))
    }
}

/// Reads the log every [`POLL_EVERY`] and applies what is new, renewing the lease after
/// each complete read; runs until aborted.
pub(super) async fn follow(feed: Arc<Feed>, store: Store) {
    loop {
        match store.revocation_log_head().await {
            Ok(head) => {
                feed.log.with(|p| p.horizon = p.horizon.max(head - START_BACK));
                break;
            }
            Err(e) => {
                tracing::debug!(error = %e, "revocation log unreadable");
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
    }
    let mut every = tokio::time::interval(POLL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let began = process_ms();
        match read_new(&feed, &store).await {
            Ok(()) => feed.lease.renew(began),
            Err(e) => {
                metrics::counter!("latchkey_feed_log_read_failures_total").increment(1);
                tracing::debug!(error = %e, "revocation log not read: the cache stops answering when the lease ends");
            }
        }
    }
}

/// One complete read: every position not applied yet up to the newest one applied (the
/// transport may have brought later events first) is read again, then all that follows.
async fn read_new(feed: &Feed, store: &Store) -> Result<(), crate::store::StoreError> {
    let mut rows = Vec::new();
    if let Some((first, last)) = feed.log.with(|p| {
        p.advance(Instant::now());
        p.gap_span()
    }) {
        rows.extend(store.revocations_between(first, last).await?);
    }
    for _ in 0..MAX_BATCHES {
        let batch = store.revocations_after(feed.log.with(|p| p.top()), BATCH).await?;
        let full = batch.len() as i64 == BATCH;
        rows.extend(batch);
        apply(feed, feed.log.with(|p| p.take(std::mem::take(&mut rows))));
        if !full {
            break;
        }
    }
    feed.log.with(|p| p.advance(Instant::now()));
    Ok(())
}

fn apply(feed: &Feed, events: Vec<String>) {
    for text in events {
        match serde_json::from_str::<FeedEvent>(&text) {
            Ok(event) => feed.deliver(&FeedSignal::Event(event)),
            Err(_) => tracing::warn!("revocation log entry not understood; ignored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(seqs: &[i64]) -> Vec<(i64, String)> {
        seqs.iter().map(|s| (*s, format!("e{s}"))).collect()
    }

    #[test]
    fn events_are_applied_once_and_in_any_order() {
        let mut p = Position::default();
        assert_eq!(p.take(rows(&[1, 2, 4])), ["e1", "e2", "e4"]);
        let now = Instant::now();
        p.advance(now);
        assert_eq!(p.horizon, 2);
        assert_eq!(p.gap_span(), Some((3, 3)), "3 committed later than 4, or rolled back");
        assert_eq!(p.take(rows(&[3, 4])), ["e3"], "4 is not applied twice");
        p.advance(now);
        assert_eq!((p.horizon, p.gap_span()), (4, None));
        assert_eq!(p.take(rows(&[2, 5])), ["e5"]);
    }

    #[test]
    fn events_applied_before_the_start_position_do_not_hold_it_back() {
        let mut p = Position::default();
        p.take(rows(&[3, 990]));
        p.horizon = 1000;
        p.advance(Instant::now());
        assert_eq!((p.horizon, p.gap_span()), (1000, None));
        assert_eq!(p.take(rows(&[1001])), ["e1001"]);
        p.advance(Instant::now());
        assert_eq!(p.horizon, 1001);
    }

    #[test]
    fn a_gap_is_given_up_only_after_its_patience() {
        let mut p = Position::default();
        p.take(rows(&[1, 3]));
        let t0 = Instant::now();
        p.advance(t0);
        assert_eq!(p.horizon, 1);
        p.advance(t0 + GAP_PATIENCE / 2);
        assert_eq!(p.horizon, 1, "still waited for");
        p.advance(t0 + GAP_PATIENCE + Duration::from_millis(1));
        assert_eq!((p.horizon, p.gap_span()), (3, None), "rolled back: given up");
    }

    #[test]
    fn a_lease_lasts_its_length_from_when_the_read_began() {
        let lease = Lease::new(true);
        assert!(!lease.valid(), "no read yet");
        lease.renew(process_ms());
        assert!(lease.valid());
        let long_ago = process_ms().saturating_sub(LEASE.as_millis() as u64 + 1);
        let stale = Lease::new(true);
        stale.renew(long_ago);
        assert!(!stale.valid() || long_ago == 0);
        assert!(Lease::new(false).valid(), "an in-process feed misses nothing");
    }
}
