//! Sliding-window counters for login and signup throttling (API.md "Throttling").
//! In-process: each instance counts for itself.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::ThrottleConfig;

const SIGNUP_WINDOW: Duration = Duration::from_secs(3600);

pub struct Throttle {
    pub login_account: Limiter,
    pub login_ip: Limiter,
    pub signup_ip: Limiter,
}

impl Throttle {
    pub fn new(config: &ThrottleConfig) -> Throttle {
        Throttle {
            login_account: Limiter::new(config.login_per_account, config.window.0),
            login_ip: Limiter::new(config.login_per_ip, config.window.0),
            signup_ip: Limiter::new(config.signup_per_ip, SIGNUP_WINDOW),
        }
    }

    /// Forgets counters whose window has passed, so the maps stay as small as the traffic.
    pub fn prune(&self) {
        self.login_account.prune();
        self.login_ip.prune();
        self.signup_ip.prune();
    }
}

/// Counts events per key over a sliding window and refuses once `limit` are inside it.
pub struct Limiter {
    limit: usize,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(limit: u32, window: Duration) -> Limiter {
        Limiter { limit: limit as usize, window, hits: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds until a slot frees)` when the key is at its limit.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut hits = self.lock();
        match hits.get_mut(key) {
            Some(q) => self.verdict(q, now),
            None => Ok(()),
        }
    }

    /// Records one event.
    pub fn hit(&self, key: &str) {
        let now = Instant::now();
        let mut hits = self.lock();
        let q = hits.entry(key.to_string()).or_default();
        self.expire(q, now);
        q.push_back(now);
        // Only the newest `limit` events can decide a verdict.
        while q.len() > self.limit {
            q.pop_front();
        }
    }

    /// Checks and, when allowed, records in one step.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut hits = self.lock();
        let q = hits.entry(key.to_string()).or_default();
        self.verdict(q, now)?;
        q.push_back(now);
        Ok(())
    }

    pub fn reset(&self, key: &str) {
        self.lock().remove(key);
    }

    fn verdict(&self, q: &mut VecDeque<Instant>, now: Instant) -> Result<(), u64> {
        self.expire(q, now);
        if q.len() < self.limit {
            return Ok(());
        }
        let oldest = q.front().copied().unwrap_or(now);
        let free_in = (oldest + self.window).saturating_duration_since(now);
        Err(free_in.as_secs() + u64::from(free_in.subsec_nanos() > 0))
    }

    fn expire(&self, q: &mut VecDeque<Instant>, now: Instant) {
        while q.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            q.pop_front();
        }
    }

    fn prune(&self) {
        let now = Instant::now();
        self.lock().retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // A panic while holding the lock leaves only counters behind; keep using them.
        self.hits.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_at_the_limit_and_says_when_to_retry() {
        let l = Limiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.check("ada").is_ok());
            l.hit("ada");
        }
        let retry = l.check("ada").unwrap_err();
        assert!((59..=60).contains(&retry), "{retry}");
        assert!(l.check("bob").is_ok(), "other keys are unaffected");
        l.reset("ada");
        assert!(l.check("ada").is_ok());
    }

    #[test]
    fn the_window_slides() {
        let l = Limiter::new(2, Duration::from_millis(50));
        assert!(l.take("ip").is_ok());
        assert!(l.take("ip").is_ok());
        assert!(l.take("ip").is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(l.take("ip").is_ok());
        l.prune();
        assert_eq!(l.lock().len(), 1);
        std::thread::sleep(Duration::from_millis(60));
        l.prune();
        assert!(l.lock().is_empty());
    }
}
