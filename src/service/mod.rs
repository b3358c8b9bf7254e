//! The rules. Handlers call one function here; functions here call the store.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod avatars;
pub mod codes;
pub mod factors;
pub mod federation;
pub mod import;
pub mod keys;
pub mod login;
pub mod mail;
pub mod oauth2;
pub mod passkeys;
pub mod password;
pub mod posts;
pub mod proof;
pub mod reauth;
pub mod recovery;
pub mod sessions;
pub mod stepup;
pub mod throttle;
pub mod tokens;
pub mod totp_sealing;
pub mod users;

use std::net::IpAddr;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::cache::AuthCache;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::hasher::Hasher;
use crate::error::AppError;
use crate::feed::{Feed, FeedEvent, Staged};
use crate::limiter::SharedLimiter;
use crate::store::redis::Redis;
use crate::store::{Store, Tx};
use keys::KeyRing;

/// Everything the services need, built once by `App::build`.
pub struct Ctx {
    pub config: Arc<Config>,
    pub clock: Arc<Clock>,
    pub store: Store,
    pub redis: Option<Redis>,
    pub hasher: Hasher,
    pub limiter: SharedLimiter,
    pub feed: Arc<Feed>,
    pub keys: Arc<KeyRing>,
    pub cache: Arc<AuthCache>,
    pub touches: sessions::Touches,
    /// The mail sender; `None` without `[smtp]`.
    pub mailer: Option<Arc<mail::Mailer>>,
    /// The passkey relying party; `None` when passkeys are off.
    pub passkeys: Option<Arc<passkeys::RelyingParty>>,
    /// The configured federation providers.
    pub federation: Arc<federation::Providers>,
}

impl Ctx {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Starts a change: a transaction, the time it happens at, and the feed events to
    /// publish once it commits.
    pub async fn begin(&self) -> Result<Change<'_>, AppError> {
        Ok(Change { tx: self.store.begin().await?, now: self.now(), ctx: self, staged: Vec::new() })
    }
}

/// One change to the database, as one transaction. Events published with
/// [`Change::publish`] reach every instance if and only if the change commits.
pub struct Change<'c> {
    tx: Tx,
    /// When the change happens: one timestamp for all it writes.
    pub now: i64,
    ctx: &'c Ctx,
    staged: Vec<Staged>,
}

impl<'c> Change<'c> {
    pub fn ctx(&self) -> &'c Ctx {
        self.ctx
    }

    pub async fn publish(&mut self, event: FeedEvent) -> Result<(), AppError> {
        let staged = self.ctx.feed.stage(&mut self.tx, event, self.now).await?;
        self.staged.push(staged);
        Ok(())
    }

    /// Commits, then applies the published events here and sends them to the other
    /// instances before returning.
    pub async fn commit(self) -> Result<(), AppError> {
        self.tx.commit().await?;
        self.ctx.feed.committed(self.staged).await;
        Ok(())
    }
}

impl Deref for Change<'_> {
    type Target = Tx;
    fn deref(&self) -> &Tx {
        &self.tx
    }
}

impl DerefMut for Change<'_> {
    fn deref_mut(&mut self) -> &mut Tx {
        &mut self.tx
    }
}

/// Who is calling, as far as sessions and the audit log care.
#[derive(Debug, Clone)]
pub struct Client {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
}

/// The longest User-Agent kept with a session or token login.
const USER_AGENT_MAX: usize = 512;

impl Client {
    /// For the CLI: no address, no browser.
    pub fn local() -> Client {
        Client { ip: IpAddr::from([127, 0, 0, 1]), user_agent: Some("latchkey CLI".into()) }
    }

    /// The User-Agent as stored with a session or token login: bounded.
    pub fn stored_user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref().map(|ua| truncate(ua, USER_AGENT_MAX))
    }
}

/// `s` as HTML text or attribute value (mails, latchkey's own pages).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` bytes, cut on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// One page of a list: at most `limit` items out of the `limit + 1` rows the store was
/// asked for, and the API's `next` cursor (the last item's id) when the extra row says
/// that more follow.
pub fn page_of<R, T>(
    rows: Vec<R>,
    limit: i64,
    item: impl FnMut(R) -> T,
    id: impl FnOnce(&T) -> i64,
) -> (Vec<T>, Option<i64>) {
    let more = rows.len() as i64 > limit;
    let items: Vec<T> = rows.into_iter().take(limit as usize).map(item).collect();
    let next = if more { items.last().map(id) } else { None };
    (items, next)
}
