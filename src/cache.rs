//! The auth cache: session lookups (by the token's hash), verified access tokens (by the
//! token's hash) and users (by id), so that a session check or a Bearer request is
//! answered from memory instead of the database and a signature check.
//!
//! It lives only behind the revocation feed: it is used while the feed is up, emptied
//! when the feed is lost and again when it resumes, and every revocation empties the
//! entries it names, on this instance before the revoking request answers and on every
//! other one before that request answers too (see `feed`). Entries also expire after
//! `cache.ttl`, the bound should a message be lost anyway.
//!
//! A cached entry only says what the database said; every use still checks the times
//! (idle and absolute expiry, `exp`/`nbf`) against the clock, to the second.
//!
//! Fills are guarded against the race where a revocation lands between a request's
//! database read and its insert: the request notes the epoch (bumped by every feed
//! signal) before reading, inserts only if it has not moved, and takes the entry out
//! again if it moved meanwhile.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use crate::config::CacheConfig;
use crate::domain::{User, UserId};
use crate::feed::{process_ms, FeedEvent, FeedSignal, Lease, Subscriber, ANNOUNCE_GRACE};

pub type TokenHash = [u8; 32];

/// A live session as the database showed it.
#[derive(Debug)]
pub struct CachedSession {
    pub session_id: i64,
    pub user_id: UserId,
    pub expires_at: i64,
    /// Advanced here when a request touches the session (the write is batched).
    pub last_seen_at: AtomicI64,
}

/// An access token whose signature, issuer and audience were verified.
#[derive(Debug)]
pub struct CachedToken {
    pub user_id: UserId,
    pub nbf: i64,
    pub exp: i64,
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// The token login the token belongs to, when it names one.
    pub family: Option<i64>,
}

pub struct AuthCache {
    sessions: Cache<TokenHash, Arc<CachedSession>>,
    tokens: Cache<TokenHash, Arc<CachedToken>>,
    users: Cache<UserId, Arc<User>>,
    epoch: AtomicU64,
    up: AtomicBool,
    /// In a cluster: renewed by each complete read of the revocation log.
    lease: Arc<Lease>,
    /// After the feed (re)connects, the cache waits until the other instances have
    /// heard this one's first ping: before that, a revoking instance would not know to
    /// wait for this one's acknowledgement. Milliseconds on [`process_ms`].
    usable_from_ms: AtomicU64,
    enabled: bool,
    hits: metrics::Counter,
    misses: metrics::Counter,
    /// This cache's own counts (the metrics above add up every cache of the process).
    hits_here: AtomicU64,
    misses_here: AtomicU64,
}

/// Where a fill stands: the epoch noted before the database was read.
#[derive(Debug, Clone, Copy)]
pub struct Fill(u64);

impl AuthCache {
    /// `feed_up`: whether the feed already listens (in-process feeds always do).
    pub fn new(config: &CacheConfig, feed_up: bool, lease: Arc<Lease>) -> AuthCache {
        let ttl = config.ttl.0.max(Duration::from_secs(1));
        AuthCache {
            sessions: Cache::builder()
                .max_capacity(config.sessions)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            tokens: Cache::builder().max_capacity(config.tokens).time_to_live(ttl).build(),
            users: Cache::builder().max_capacity(config.users).time_to_live(ttl).build(),
            epoch: AtomicU64::new(0),
            up: AtomicBool::new(feed_up),
            lease,
            usable_from_ms: AtomicU64::new(0),
            enabled: config.enabled,
            hits: metrics::counter!("latchkey_auth_cache_hits_total"),
            misses: metrics::counter!("latchkey_auth_cache_misses_total"),
            hits_here: AtomicU64::new(0),
            misses_here: AtomicU64::new(0),
        }
    }

    /// Whether the cache may answer now.
    pub fn is_on(&self) -> bool {
        self.enabled
            && self.up.load(Ordering::Acquire)
            && process_ms() >= self.usable_from_ms.load(Ordering::Acquire)
            && self.lease.valid()
    }

    /// Notes the epoch before a database read whose result may be cached.
    pub fn begin_fill(&self) -> Fill {
        Fill(self.epoch.load(Ordering::Acquire))
    }

    fn counted<T>(&self, found: Option<T>) -> Option<T> {
        match &found {
            Some(_) => {
                self.hits.increment(1);
                self.hits_here.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.misses.increment(1);
                self.misses_here.fetch_add(1, Ordering::Relaxed);
            }
        }
        found
    }

    /// Lookups answered from memory, and lookups that went to the database, so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits_here.load(Ordering::Relaxed), self.misses_here.load(Ordering::Relaxed))
    }

    pub fn session(&self, hash: &TokenHash) -> Option<Arc<CachedSession>> {
        if !self.is_on() {
            return None;
        }
        self.counted(self.sessions.get(hash))
    }

    pub fn token(&self, hash: &TokenHash) -> Option<Arc<CachedToken>> {
        if !self.is_on() {
            return None;
        }
        self.counted(self.tokens.get(hash))
    }

    pub fn user(&self, id: UserId) -> Option<Arc<User>> {
        if !self.is_on() {
            return None;
        }
        self.counted(self.users.get(&id))
    }

    pub fn put_session(&self, fill: Fill, hash: TokenHash, session: Arc<CachedSession>) {
        self.fill(fill, || self.sessions.insert(hash, session), || self.sessions.invalidate(&hash));
    }

    pub fn put_token(&self, fill: Fill, hash: TokenHash, token: Arc<CachedToken>) {
        self.fill(fill, || self.tokens.insert(hash, token), || self.tokens.invalidate(&hash));
    }

    pub fn put_user(&self, fill: Fill, user: Arc<User>) {
        let id = user.id;
        self.fill(fill, || self.users.insert(id, user), || self.users.invalidate(&id));
    }

    /// Drops a session that a use found expired (another instance may know better).
    pub fn forget_session(&self, hash: &TokenHash) {
        self.sessions.invalidate(hash);
    }

    fn fill(&self, fill: Fill, insert: impl FnOnce(), remove: impl FnOnce()) {
        if !self.is_on() || self.epoch.load(Ordering::Acquire) != fill.0 {
            return;
        }
        insert();
        if self.epoch.load(Ordering::Acquire) != fill.0 || !self.is_on() {
            remove();
        }
    }

    fn clear(&self) {
        self.sessions.invalidate_all();
        self.tokens.invalidate_all();
        self.users.invalidate_all();
    }
}

impl Subscriber for AuthCache {
    fn on_signal(&self, signal: &FeedSignal) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        match signal {
            FeedSignal::Event(FeedEvent::SessionEnded { token_hash }) => {
                if let Some(hash) = parse_hash(token_hash) {
                    self.sessions.invalidate(&hash);
                } else {
                    self.sessions.invalidate_all();
                }
            }
            FeedSignal::Event(FeedEvent::UserSessionsEnded { user_id, keep }) => {
                let (user_id, keep) = (*user_id, *keep);
                let dropped =
                    self.sessions.invalidate_entries_if(move |_, s| s.user_id == user_id && Some(s.session_id) != keep);
                if dropped.is_err() {
                    self.sessions.invalidate_all();
                }
            }
            FeedSignal::Event(FeedEvent::UserChanged { user_id }) => self.users.invalidate(user_id),
            FeedSignal::Event(FeedEvent::KeysRotated) => {}
            FeedSignal::Lost => {
                self.up.store(false, Ordering::Release);
                self.clear();
            }
            FeedSignal::Resumed => {
                self.clear();
                self.usable_from_ms.store(process_ms() + ANNOUNCE_GRACE.as_millis() as u64, Ordering::Release);
                self.up.store(true, Ordering::Release);
            }
        }
    }
}

fn parse_hash(hex: &str) -> Option<TokenHash> {
    let mut out = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Roles;

    fn cache() -> AuthCache {
        AuthCache::new(&CacheConfig::default(), true, crate::feed::Feed::local().lease())
    }

    fn session(id: i64, user_id: UserId) -> Arc<CachedSession> {
        Arc::new(CachedSession { session_id: id, user_id, expires_at: i64::MAX, last_seen_at: AtomicI64::new(0) })
    }

    fn user(id: UserId) -> Arc<User> {
        Arc::new(User {
            id,
            username: format!("u{id}"),
            email: None,
            email_verified: false,
            roles: Roles::new([]),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn revocations_drop_what_they_name_and_nothing_else() {
        let c = cache();
        let fill = c.begin_fill();
        for (n, user_id) in [(1u8, 7), (2, 7), (3, 7), (4, 8)] {
            c.put_session(fill, [n; 32], session(i64::from(n), user_id));
        }
        c.put_user(fill, user(7));
        c.on_signal(&FeedSignal::Event(FeedEvent::session_ended(&[1; 32])));
        assert!(c.session(&[1; 32]).is_none());
        c.on_signal(&FeedSignal::Event(FeedEvent::UserSessionsEnded { user_id: 7, keep: Some(3) }));
        assert!(c.session(&[2; 32]).is_none(), "another session of user 7");
        assert!(c.session(&[3; 32]).is_some(), "the one kept");
        assert!(c.session(&[4; 32]).is_some(), "user 8's");
        c.on_signal(&FeedSignal::Event(FeedEvent::UserChanged { user_id: 7 }));
        assert!(c.user(7).is_none());
    }

    #[test]
    fn a_fill_that_raced_a_revocation_is_not_kept() {
        let c = cache();
        // Read the row, then a revocation arrives, then the insert: nothing is cached.
        let fill = c.begin_fill();
        c.on_signal(&FeedSignal::Event(FeedEvent::session_ended(&[9; 32])));
        c.put_session(fill, [9; 32], session(9, 1));
        assert!(c.session(&[9; 32]).is_none());
        // A fill that started after it is kept.
        let fill = c.begin_fill();
        c.put_session(fill, [9; 32], session(9, 1));
        assert!(c.session(&[9; 32]).is_some());
    }

    #[test]
    fn nothing_is_answered_while_the_feed_is_lost_and_nothing_survives_it() {
        let c = cache();
        let fill = c.begin_fill();
        c.put_session(fill, [1; 32], session(1, 1));
        c.on_signal(&FeedSignal::Lost);
        assert!(!c.is_on());
        assert!(c.session(&[1; 32]).is_none());
        let fill = c.begin_fill();
        c.put_session(fill, [2; 32], session(2, 1));
        c.on_signal(&FeedSignal::Resumed);
        assert!(!c.is_on(), "off until the other instances have heard this one");
        c.usable_from_ms.store(0, Ordering::Release);
        assert!(c.is_on());
        assert!(c.session(&[1; 32]).is_none() && c.session(&[2; 32]).is_none());
    }

    #[test]
    fn hashes_travel_as_hex() {
        assert_eq!(parse_hash(&crate::feed::hex(&[0xab; 32])), Some([0xab; 32]));
        assert_eq!(parse_hash("zz"), None);
    }
}
