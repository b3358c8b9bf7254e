//! The revocation feed: every change another instance must know at once (a session
//! ended, all of a user's sessions ended, a user changed or deleted, the signing keys
//! rotated) is published when its transaction commits and applied by every instance.
//!
//! Transports, chosen once at start-up:
//! - PostgreSQL `LISTEN/NOTIFY` (a cluster without Redis): the notification is queued
//!   inside the change's own transaction, so it is delivered if and only if it commits;
//! - Redis pub/sub (a cluster with Redis): published right after the commit;
//! - in-process (SQLite: one instance): delivered to this process's subscribers only.
//!
//! Order of a change: commit → apply locally (so this instance never answers from a
//! stale cache) → publish → wait (bounded) until every other live instance has
//! acknowledged applying it. So by the time a revoking request answers, no instance
//! will answer from what was revoked. Instances know each other from the pings each
//! sends every few seconds; applying an event twice is harmless.
//!
//! Pub/sub loses what is sent while a subscriber is disconnected, and a half-open socket
//! looks like silence. So subscribers also get `Lost` (the connection dropped, or this
//! instance's own ping did not come back in time) and `Resumed` (listening again);
//! between the two, anything cached from before must be treated as unknown.
//!
//! And a publisher can lose its transport too, after its change committed. So in a
//! cluster every event is also written to the revocation log in the change's own
//! transaction, every instance reads that log a few times a second, and its cache
//! answers only under a short lease renewed by each complete read (`log`). A revoking
//! instance answers once every live instance acknowledged, or else once the lease has
//! run out everywhere: either way no instance answers from what was revoked afterwards.

mod log;
mod postgres;
mod redis;

pub use log::{Lease, LEASE};

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::store::redis::Redis;
use crate::store::{Store, StoreError, Tx};

/// The PostgreSQL channel, and the Redis channel after the key prefix.
const CHANNEL: &str = "latchkey_feed";
/// Each instance pings through the transport this often (which also tells the others
/// it is alive)...
const PING_EVERY: Duration = Duration::from_secs(2);
/// An instance pings as soon as it listens; within this time every other instance has
/// heard it (and waits for its acknowledgements), so caches may be used from then on.
pub const ANNOUNCE_GRACE: Duration = PING_EVERY;
/// ...declares its feed lost when its own ping has not come back for this long, and
/// forgets a peer not heard from for this long.
const PING_DEADLINE: Duration = Duration::from_secs(6);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeedEvent {
    /// One session ended (logout, revoked by its owner); `token_hash` is the hex SHA-256
    /// of its token, the key of any cache of sessions.
    SessionEnded { token_hash: String },
    /// Every session of the user ended, but `keep` (password change, revocation).
    UserSessionsEnded { user_id: i64, keep: Option<i64> },
    /// The user's roles, password, email or existence changed.
    UserChanged { user_id: i64 },
    /// A signing key was added or retired.
    KeysRotated,
}

impl FeedEvent {
    pub fn session_ended(token_hash: &[u8]) -> FeedEvent {
        FeedEvent::SessionEnded { token_hash: hex(token_hash) }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What subscribers receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSignal {
    Event(FeedEvent),
    /// The transport is gone: events may be missed from now on.
    Lost,
    /// Listening again: events from now on arrive; those in between may have been missed.
    Resumed,
}

/// Something that applies the feed (the key ring, caches). Called inline, on the task
/// that received the signal, so it must be quick and never block.
pub trait Subscriber: Send + Sync {
    fn on_signal(&self, signal: &FeedSignal);
}

/// A message as it travels: who sent it and that sender's sequence number.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    origin: String,
    seq: u64,
    body: Body,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Body {
    Event {
        event: FeedEvent,
        /// Its position in the revocation log, so that reading the log later does not
        /// apply it again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log_seq: Option<i64>,
    },
    /// "I am alive", and for the sender itself, "my feed still carries messages".
    Ping,
    /// "I have applied your event `seq`".
    Ack { to: String, seq: u64 },
}

/// What a listener must do after a message arrived.
#[derive(Debug, PartialEq, Eq)]
enum Received {
    Nothing,
    /// Our own ping came back: the transport works.
    OwnPing,
    /// Another instance's event was applied: tell it so.
    Acknowledge {
        to: String,
        seq: u64,
    },
}

enum Transport {
    Local,
    Postgres(Store),
    Redis(Box<Redis>, Store),
}

pub struct Feed {
    transport: Transport,
    /// Whether this instance's cache may answer (see `log`).
    lease: Arc<Lease>,
    /// What of the revocation log is applied here.
    log: log::Applied,
    /// This process, in envelopes.
    origin: String,
    seq: AtomicU64,
    subscribers: RwLock<Vec<Arc<dyn Subscriber>>>,
    /// Listening and hearing our own pings.
    up: AtomicBool,
    /// Whether a listener runs in this process (not in one-shot CLI commands).
    listening: AtomicBool,
    /// Other instances, and when each was last heard from.
    peers: Mutex<HashMap<String, Instant>>,
    /// Acknowledgements of our events: received, and awaited.
    acks: Mutex<HashMap<u64, Acks>>,
}

#[derive(Default)]
struct Acks {
    /// Peers that acknowledged (possibly before we started waiting).
    from: HashSet<String>,
    waiting: Option<(HashSet<String>, oneshot::Sender<()>)>,
    since: Option<Instant>,
}

impl Feed {
    /// In-process only: for the embedded SQLite deployment.
    pub fn local() -> Arc<Feed> {
        Feed::with(Transport::Local)
    }

    /// Over PostgreSQL notifications, on `store`'s database.
    pub fn postgres(store: Store) -> Arc<Feed> {
        Feed::with(Transport::Postgres(store))
    }

    /// Over Redis pub/sub, with the revocation log on `store`'s database.
    pub fn redis(redis: Redis, store: Store) -> Arc<Feed> {
        Feed::with(Transport::Redis(Box::new(redis), store))
    }

    fn with(transport: Transport) -> Arc<Feed> {
        let local = matches!(transport, Transport::Local);
        Arc::new(Feed {
            transport,
            lease: Lease::new(!local),
            log: log::Applied::default(),
            origin: crate::crypto::token::new_token()[..16].to_string(),
            seq: AtomicU64::new(0),
            subscribers: RwLock::new(Vec::new()),
            up: AtomicBool::new(local),
            listening: AtomicBool::new(false),
            peers: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
        })
    }

    pub fn transport(&self) -> &'static str {
        match self.transport {
            Transport::Local => "in-process",
            Transport::Postgres(_) => "postgres",
            Transport::Redis(..) => "redis",
        }
    }

    /// The lease the auth cache answers under.
    pub fn lease(&self) -> Arc<Lease> {
        Arc::clone(&self.lease)
    }

    /// The database of a cluster's revocation log; `None` for an in-process feed.
    fn log_store(&self) -> Option<&Store> {
        match &self.transport {
            Transport::Local => None,
            Transport::Postgres(store) | Transport::Redis(_, store) => Some(store),
        }
    }

    /// This instance's name on the feed.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// True while every event published anywhere reaches this instance.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    pub fn subscribe(&self, subscriber: Arc<dyn Subscriber>) {
        self.subscribers.write().unwrap_or_else(|p| p.into_inner()).push(subscriber);
    }

    /// Starts listening to the shared transport and following the revocation log (the
    /// server does; CLI commands only publish); these run until the tasks are aborted.
    pub fn start_listening(self: &Arc<Feed>) -> Vec<tokio::task::JoinHandle<()>> {
        if self.listening.swap(true, Ordering::AcqRel) {
            return Vec::new();
        }
        let listener = match &self.transport {
            Transport::Local => return Vec::new(),
            Transport::Postgres(store) => tokio::spawn(postgres::listen(Arc::clone(self), store.clone())),
            Transport::Redis(redis, _) => tokio::spawn(redis::listen(Arc::clone(self), (**redis).clone())),
        };
        let mut tasks = vec![listener];
        if let Some(store) = self.log_store() {
            tasks.push(tokio::spawn(log::follow(Arc::clone(self), store.clone())));
        }
        tasks
    }

    /// Writes `event` into the change's transaction: to the revocation log in a cluster,
    /// and as a notification where the transport is the database. Answers what to hand
    /// to [`Feed::committed`].
    pub async fn stage(&self, tx: &mut Tx, event: FeedEvent, now: i64) -> Result<Staged, StoreError> {
        let seq = self.next_seq();
        let log_seq = match self.log_store() {
            Some(_) => Some(tx.log_revocation(&serde_json::to_string(&event).unwrap_or_default(), now).await?),
            None => None,
        };
        let payload = self.envelope(seq, Body::Event { event: event.clone(), log_seq });
        if matches!(self.transport, Transport::Postgres(_)) {
            tx.notify(CHANNEL, &payload).await?;
        }
        Ok(Staged { seq, event, payload, log_seq })
    }

    /// After the commit: applies the events here, publishes them where the transport
    /// needs it, and returns once every other live instance has applied them, or else
    /// once [`LEASE`] has passed since the commit, when every instance has read them
    /// from the revocation log or stopped answering from its cache.
    pub async fn committed(&self, staged: Vec<Staged>) {
        if staged.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + LEASE;
        for s in &staged {
            self.log.applied(s.log_seq);
            self.deliver(&FeedSignal::Event(s.event.clone()));
        }
        if matches!(self.transport, Transport::Local) {
            return;
        }
        let hearing = self.listening.load(Ordering::Acquire) && self.is_up();
        let peers = if hearing { self.live_peers() } else { vec![] };
        let waits: Vec<_> = staged.iter().map(|s| self.await_acks(s.seq, &peers)).collect();
        if let Transport::Redis(redis, _) = &self.transport {
            // In the background: a frozen Redis must not hold the answer past the lease.
            let (redis, payloads) = ((**redis).clone(), staged.iter().map(|s| s.payload.clone()).collect::<Vec<_>>());
            tokio::spawn(async move {
                for payload in payloads {
                    publish_with_retries(&redis, &payload).await;
                }
            });
        }
        let mut acknowledged = hearing;
        for (seq, acks) in waits {
            if tokio::time::timeout_at(deadline, acks).await.is_err() {
                self.acks.lock().unwrap_or_else(|p| p.into_inner()).remove(&seq);
                acknowledged = false;
            }
        }
        if !acknowledged {
            metrics::counter!("latchkey_feed_ack_timeouts_total").increment(1);
            tracing::info!(
                transport = self.transport(),
                "revocation not acknowledged by every instance: answered after the lease"
            );
            tokio::time::sleep_until(deadline).await;
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    fn envelope(&self, seq: u64, body: Body) -> String {
        serde_json::to_string(&Envelope { origin: self.origin.clone(), seq, body }).unwrap_or_default()
    }

    /// Sends a message outside any change (pings, acknowledgements).
    async fn publish_now(&self, body: Body) -> Result<(), String> {
        let payload = self.envelope(self.next_seq(), body);
        match &self.transport {
            Transport::Local => Ok(()),
            Transport::Postgres(store) => store.notify(CHANNEL, &payload).await.map_err(|e| e.to_string()),
            Transport::Redis(redis, _) => redis.publish(CHANNEL, &payload).await.map_err(|e| e.to_string()),
        }
    }

    /// Tells `to` that its event `seq` is applied here.
    async fn acknowledge(self: Arc<Self>, to: String, seq: u64) {
        if let Err(e) = self.publish_now(Body::Ack { to, seq }).await {
            tracing::debug!(error = %e, "feed acknowledgement not sent");
        }
    }

    fn live_peers(&self) -> Vec<String> {
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        peers.retain(|_, seen| seen.elapsed() < PING_DEADLINE);
        peers.keys().cloned().collect()
    }

    /// A receiver that completes once every one of `peers` has acknowledged `seq`.
    fn await_acks(&self, seq: u64, peers: &[String]) -> (u64, oneshot::Receiver<()>) {
        let (done, receiver) = oneshot::channel();
        let mut acks = self.acks.lock().unwrap_or_else(|p| p.into_inner());
        acks.retain(|_, a| a.since.is_none_or(|t| t.elapsed() < PING_DEADLINE));
        let entry = acks.entry(seq).or_default();
        let pending: HashSet<String> = peers.iter().filter(|p| !entry.from.contains(*p)).cloned().collect();
        if pending.is_empty() {
            acks.remove(&seq);
            let _ = done.send(());
        } else {
            entry.waiting = Some((pending, done));
            entry.since = Some(Instant::now());
        }
        (seq, receiver)
    }

    fn acknowledged(&self, seq: u64, by: &str) {
        let mut acks = self.acks.lock().unwrap_or_else(|p| p.into_inner());
        let entry = acks.entry(seq).or_default();
        entry.from.insert(by.to_string());
        entry.since.get_or_insert_with(Instant::now);
        let finished = match &mut entry.waiting {
            Some((pending, _)) => {
                pending.remove(by);
                pending.is_empty()
            }
            None => false,
        };
        if finished {
            if let Some((_, done)) = acks.remove(&seq).and_then(|a| a.waiting) {
                let _ = done.send(());
            }
        }
    }

    /// A message from the transport.
    fn received(&self, payload: &str) -> Received {
        let Ok(envelope) = serde_json::from_str::<Envelope>(payload) else {
            tracing::warn!("feed message not understood; ignored");
            return Received::Nothing;
        };
        if envelope.origin == self.origin {
            return if envelope.body == Body::Ping { Received::OwnPing } else { Received::Nothing };
        }
        self.peers.lock().unwrap_or_else(|p| p.into_inner()).insert(envelope.origin.clone(), Instant::now());
        match envelope.body {
            Body::Ping => Received::Nothing,
            Body::Ack { to, seq } => {
                if to == self.origin {
                    self.acknowledged(seq, &envelope.origin);
                }
                Received::Nothing
            }
            Body::Event { event, log_seq } => {
                metrics::counter!("latchkey_feed_events_received_total").increment(1);
                self.log.applied(log_seq);
                self.deliver(&FeedSignal::Event(event));
                Received::Acknowledge { to: envelope.origin, seq: envelope.seq }
            }
        }
    }

    fn set_up(&self, up: bool) {
        if self.up.swap(up, Ordering::AcqRel) != up {
            metrics::gauge!("latchkey_feed_up").set(if up { 1.0 } else { 0.0 });
            if up {
                tracing::info!(transport = self.transport(), "revocation feed listening");
                self.deliver(&FeedSignal::Resumed);
            } else {
                tracing::warn!(transport = self.transport(), "revocation feed lost: caches bypassed until it is back");
                self.deliver(&FeedSignal::Lost);
            }
        }
    }

    fn deliver(&self, signal: &FeedSignal) {
        let subscribers = self.subscribers.read().unwrap_or_else(|p| p.into_inner()).clone();
        for s in subscribers {
            s.on_signal(signal);
        }
    }
}

/// An event queued by [`Feed::stage`], to be handed to [`Feed::committed`].
pub struct Staged {
    seq: u64,
    event: FeedEvent,
    payload: String,
    log_seq: Option<i64>,
}

async fn publish_with_retries(redis: &Redis, payload: &str) {
    for attempt in 1..=3 {
        match redis.publish(CHANNEL, payload).await {
            Ok(()) => return,
            Err(e) if attempt == 3 => {
                metrics::counter!("latchkey_feed_publish_failures_total").increment(1);
                tracing::warn!(error = %e, "revocation event not published: other instances read it from the revocation log");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50 * attempt)).await,
        }
    }
}

/// What a listener does with one message: apply it, and acknowledge others' events
/// (in the background, so the listener keeps reading). True when it was our own ping.
fn handle(feed: &Arc<Feed>, payload: &str) -> bool {
    match feed.received(payload) {
        Received::OwnPing => true,
        Received::Acknowledge { to, seq } => {
            tokio::spawn(Arc::clone(feed).acknowledge(to, seq));
            false
        }
        Received::Nothing => false,
    }
}

/// The self-ping watchdog shared by the transports' listeners: tracks when our own ping
/// last came back.
struct Watchdog {
    last_echo: Instant,
}

impl Watchdog {
    fn new() -> Watchdog {
        Watchdog { last_echo: Instant::now() }
    }

    fn heard_own_ping(&mut self) {
        self.last_echo = Instant::now();
    }

    fn expired(&self) -> bool {
        self.last_echo.elapsed() > PING_DEADLINE
    }
}

/// Milliseconds since this process first asked: a monotonic clock, cheap to read.
pub fn process_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Back-off between reconnection attempts: 100 ms doubling up to 2 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Recorder(Mutex<Vec<FeedSignal>>);

    impl Subscriber for Recorder {
        fn on_signal(&self, signal: &FeedSignal) {
            self.0.lock().unwrap().push(signal.clone());
        }
    }

    fn recorded(feed: &Feed) -> Arc<Recorder> {
        let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
        feed.subscribe(recorder.clone());
        recorder
    }

    fn message(origin: &str, seq: u64, body: Body) -> String {
        serde_json::to_string(&Envelope { origin: origin.into(), seq, body }).unwrap()
    }

    #[test]
    fn events_round_trip_as_json() {
        let e = FeedEvent::session_ended(&[0xab, 0x01]);
        assert_eq!(e, FeedEvent::SessionEnded { token_hash: "ab01".into() });
        let text = message("o", 3, Body::Event { event: e.clone(), log_seq: Some(4) });
        assert!(text.contains(r#""kind":"session_ended""#), "{text}");
        assert_eq!(serde_json::from_str::<Envelope>(&text).unwrap().body, Body::Event { event: e, log_seq: Some(4) });
    }

    #[tokio::test]
    async fn the_local_feed_applies_committed_events_before_returning() {
        let feed = Feed::local();
        let recorder = recorded(&feed);
        assert!(feed.is_up());
        let staged = Staged { seq: 0, event: FeedEvent::KeysRotated, payload: String::new(), log_seq: None };
        feed.committed(vec![staged]).await;
        assert_eq!(*recorder.0.lock().unwrap(), vec![FeedSignal::Event(FeedEvent::KeysRotated)]);
    }

    #[test]
    fn other_instances_events_are_applied_and_acknowledged_our_own_are_not() {
        let feed = Feed::local();
        let recorder = recorded(&feed);
        let theirs = message("another", 9, Body::Event { event: FeedEvent::UserChanged { user_id: 4 }, log_seq: None });
        assert_eq!(feed.received(&theirs), Received::Acknowledge { to: "another".into(), seq: 9 });
        let ours = message(&feed.origin, 1, Body::Event { event: FeedEvent::KeysRotated, log_seq: None });
        assert_eq!(feed.received(&ours), Received::Nothing);
        assert_eq!(feed.received(&message(&feed.origin, 2, Body::Ping)), Received::OwnPing);
        assert_eq!(feed.received("not json"), Received::Nothing);
        assert_eq!(*recorder.0.lock().unwrap(), vec![FeedSignal::Event(FeedEvent::UserChanged { user_id: 4 })]);
        assert_eq!(feed.live_peers(), ["another"]);
    }

    #[tokio::test]
    async fn a_wait_ends_when_every_live_peer_has_acknowledged_even_early_ones() {
        let feed = Feed::local();
        for peer in ["b", "c"] {
            feed.received(&message(peer, 0, Body::Ping));
        }
        // c's acknowledgement overtakes our registration (PostgreSQL delivers at commit).
        feed.received(&message("c", 5, Body::Ack { to: feed.origin.clone(), seq: 7 }));
        let (_, mut done) = feed.await_acks(7, &feed.live_peers());
        assert!(done.try_recv().is_err(), "b has not acknowledged yet");
        feed.received(&message("b", 6, Body::Ack { to: "someone else".into(), seq: 7 }));
        assert!(done.try_recv().is_err(), "an acknowledgement for another instance does not count");
        feed.received(&message("b", 8, Body::Ack { to: feed.origin.clone(), seq: 7 }));
        assert!(done.try_recv().is_ok());
    }

    #[tokio::test]
    async fn losing_and_resuming_is_signalled_once_each() {
        let feed = Feed::with(Transport::Redis(
            Box::new(Redis::connect("redis://127.0.0.1:1", "x:", Duration::from_millis(10)).unwrap()),
            Store::connect("sqlite::memory:", crate::store::Limits::default()).await.unwrap(),
        ));
        let recorder = recorded(&feed);
        assert!(!feed.is_up(), "a shared transport starts down until it listens");
        feed.set_up(true);
        feed.set_up(true);
        feed.set_up(false);
        feed.set_up(false);
        assert_eq!(*recorder.0.lock().unwrap(), vec![FeedSignal::Resumed, FeedSignal::Lost]);
    }
}
