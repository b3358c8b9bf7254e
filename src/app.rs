//! `App::build(config)` → `port()` → `run_until_stopped()`: shared by `main` and the
//! integration tests, so the tests run the real server.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::cache::AuthCache;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::hasher::Hasher;
use crate::feed::Feed;
use crate::http::AppState;
use crate::limiter::memory::MemoryLimiter;
use crate::limiter::postgres::PostgresLimiter;
use crate::limiter::redis::RedisLimiter;
use crate::limiter::SharedLimiter;
use crate::server::Tls;
use crate::service::keys::{self, KeyRing, ReloadOnRotation};
use crate::service::{audit, factors, recovery, sessions, throttle, totp_sealing, Ctx};
use crate::store::redis::Redis;
use crate::store::{Limits, Store};

const MAINTENANCE_EVERY: Duration = Duration::from_secs(600);
/// How often the batched `last_seen_at` writes go to the database.
const TOUCH_FLUSH_EVERY: Duration = Duration::from_secs(2);
const GAUGES_EVERY: Duration = Duration::from_secs(5);
/// The live-sessions gauge is a count over the whole table: once a minute is enough.
const SESSIONS_GAUGE_EVERY_TICKS: u64 = 12;

/// Opens and migrates the database, connects Redis when configured, and starts the
/// hashing pool: what the server and every CLI command need.
pub async fn build_ctx(config: Config) -> anyhow::Result<Ctx> {
    build_ctx_with(config, Arc::new(Clock::system())).await
}

/// [`build_ctx`] on a given clock (tests move it forward).
pub async fn build_ctx_with(config: Config, clock: Arc<Clock>) -> anyhow::Result<Ctx> {
    let store = Store::connect(&config.database_url, Limits::from(&config.database)).await.with_context(|| {
        format!("cannot open the database at {}", crate::config::mask_url_password(&config.database_url))
    })?;
    store.migrate().await.context("cannot migrate the database")?;
    let redis = match &config.redis_url {
        Some(url) => Some(
            Redis::connect(url, &config.redis.key_prefix, config.redis.timeout.0)
                .with_context(|| format!("redis_url {}", crate::config::mask_url_password(url)))?,
        ),
        None => None,
    };
    let limiter = limiter_for(&store, redis.as_ref());
    let feed = match (&redis, store.backend()) {
        (Some(redis), _) => Feed::redis(redis.clone(), store.clone()),
        (None, "postgres") => Feed::postgres(store.clone()),
        (None, _) => Feed::local(),
    };
    let hasher = Hasher::start(&config.password, config.server.request_timeout.0)
        .context("cannot start the password hashing threads")?;
    let keys = Arc::new(KeyRing::load(&store, Arc::clone(&clock), &config).await.context("cannot load the JWT keys")?);
    if let Some(sealer) = keys.sealer() {
        totp_sealing::seal_plain(&store, sealer).await.context("cannot encrypt the TOTP secrets")?;
    }
    let cache = Arc::new(AuthCache::new(&config.cache, feed.is_up(), feed.lease()));
    let mailer = crate::service::mail::Mailer::from_config(&config.smtp).context("cannot set up the mail sender")?;
    let passkeys = crate::service::passkeys::RelyingParty::from_config(&config).context("cannot set up passkeys")?;
    let federation =
        Arc::new(crate::service::federation::Providers::new(&config.federation).context("cannot set up federation")?);
    feed.subscribe(cache.clone());
    Ok(Ctx {
        config: Arc::new(config),
        clock,
        store,
        redis,
        hasher,
        limiter,
        feed,
        keys,
        cache,
        touches: Default::default(),
        mailer,
        passkeys: passkeys.map(Arc::new),
        federation,
    })
}

/// The limiter a deployment needs: Redis (falling back to the database) when
/// configured, else the database on PostgreSQL, else in-process for one SQLite instance.
fn limiter_for(store: &Store, redis: Option<&Redis>) -> SharedLimiter {
    let table = store.throttle_table();
    match (redis, table) {
        (Some(redis), Some(table)) => {
            Arc::new(RedisLimiter::new(redis.clone(), Arc::new(PostgresLimiter::as_fallback(table))))
        }
        (Some(redis), None) => Arc::new(RedisLimiter::new(redis.clone(), Arc::new(MemoryLimiter::fallback()))),
        (None, Some(table)) => Arc::new(PostgresLimiter::new(table)),
        (None, None) => Arc::new(MemoryLimiter::new()),
    }
}

pub struct App {
    listener: TcpListener,
    /// `metrics.listen`, when /metrics is served apart.
    metrics_listener: Option<TcpListener>,
    tls: Option<Arc<Tls>>,
    state: AppState,
    /// SIGHUP, when this server owns the process's signals (not when embedded in tests).
    hangups: Option<crate::server::Hangups>,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<App> {
        App::build_with(config, Arc::new(Clock::system())).await
    }

    /// [`App::build`] on a given clock (tests move it forward).
    pub async fn build_with(config: Config, clock: Arc<Clock>) -> anyhow::Result<App> {
        let listen = config.listen.clone();
        let listener = TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        App::build_on(listener, config, clock).await
    }

    /// [`App::build_with`] on a listener bound already (tests that need the port first).
    pub async fn build_on(listener: TcpListener, config: Config, clock: Arc<Clock>) -> anyhow::Result<App> {
        let tls = match (&config.tls.cert, &config.tls.key) {
            (Some(cert), Some(key)) => Some(Arc::new(Tls::load(cert, key)?)),
            _ => None,
        };
        let ctx = build_ctx_with(config, clock).await?;
        ctx.feed.subscribe(Arc::new(ReloadOnRotation(Arc::clone(&ctx.keys))));
        let state = AppState::new(ctx)?;
        let metrics_listener = match &state.ctx.config.metrics.listen {
            Some(addr) => Some(
                TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} (metrics.listen)"))?,
            ),
            None => None,
        };
        Ok(App { listener, metrics_listener, tls, state, hangups: None })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Takes over SIGHUP (certificate reloads) for this process; call before announcing
    /// the server, so that no early signal meets the default action.
    pub fn handle_hangups(mut self) -> anyhow::Result<App> {
        self.hangups = Some(crate::server::Hangups::register().context("cannot handle SIGHUP")?);
        Ok(self)
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes; in-flight requests finish, then the database
    /// is closed cleanly.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let mut background = vec![
            tokio::spawn(maintain(self.state.clone())),
            tokio::spawn(reload_keys(self.state.clone())),
            tokio::spawn(flush_touches(self.state.clone())),
            tokio::spawn(keep_gauges(self.state.clone())),
            tokio::spawn(Arc::clone(&self.state.ctx.federation).discover_in_background()),
        ];
        if let Some(mailer) = self.state.ctx.mailer.clone() {
            let state = self.state.clone();
            background.push(tokio::spawn(async move { recovery::run_mail_worker(&state.ctx, &mailer).await }));
        }
        background.extend(self.state.ctx.feed.start_listening());
        let routers = crate::http::routers(self.state.clone());
        if let (Some(listener), Some(router)) = (self.metrics_listener, routers.metrics) {
            let limits = self.state.ctx.config.server.clone();
            background.push(tokio::spawn(async move {
                crate::server::serve(listener, None, router, &limits, std::future::pending()).await;
            }));
        }
        if let Some(hangups) = self.hangups {
            background.push(tokio::spawn(hangups.reload(self.tls.clone())));
        }
        crate::server::serve(self.listener, self.tls, routers.main, &self.state.ctx.config.server, shutdown).await;
        for task in background {
            task.abort();
        }
        if let Err(e) = sessions::flush_touches(&self.state.ctx).await {
            tracing::warn!(error = %e, "last uses of sessions not written at shutdown");
        }
        self.state.ctx.store.close().await;
        Ok(())
    }
}

/// Periodic clean-up: dead sessions, stale throttle counters, audit events past their
/// retention, dead refresh tokens, expired keys.
async fn maintain(state: AppState) {
    let ctx = &state.ctx;
    let mut every = tokio::time::interval(MAINTENANCE_EVERY);
    loop {
        every.tick().await;
        // Imported accounts bring their own kinds of hashes; failed logins must cost as
        // long as the costliest of them (see `Hasher::verify`).
        match ctx.store.password_hash_samples().await {
            Ok(samples) => ctx.hasher.calibrate(samples).await,
            Err(e) => tracing::warn!(error = %e, "stored password hashes not sampled"),
        }
        match sessions::delete_dead(ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "expired sessions deleted"),
            Err(e) => tracing::warn!(error = %e, "expired sessions not deleted"),
        }
        throttle::prune(ctx).await;
        match audit::prune(ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "audit events past their retention deleted"),
            Err(e) => tracing::warn!(error = %e, "old audit events not deleted"),
        }
        let now = ctx.now();
        if let Err(e) = ctx.store.delete_dead_refresh_families(now, now - 86_400).await {
            tracing::warn!(error = %e, "dead refresh tokens not deleted");
        }
        if let Err(e) = ctx.store.delete_dead_challenges(now, now - factors::PENDING_SECS).await {
            tracing::warn!(error = %e, "expired login challenges not deleted");
        }
        if let Err(e) = ctx.store.delete_dead_ceremonies(now).await {
            tracing::warn!(error = %e, "expired passkey ceremonies not deleted");
        }
        if let Err(e) = ctx.store.delete_dead_flows(now).await {
            tracing::warn!(error = %e, "expired federation flows not deleted");
        }
        if let Err(e) = ctx.store.delete_dead_oauth_rows(now).await {
            tracing::warn!(error = %e, "expired authorization requests and codes not deleted");
        }
        // Every instance reads the log a few times a second; ten minutes is plenty.
        if let Err(e) = ctx.store.delete_old_revocations(now - 600).await {
            tracing::warn!(error = %e, "old revocation log entries not deleted");
        }
        if let Err(e) = keys::forget_expired_keys(ctx).await {
            tracing::warn!(error = %e, "expired JWT keys not deleted");
        }
        recovery::forget_dead_links(ctx).await;
    }
}

/// Writes the batched uses of sessions (`last_seen_at`) every few seconds.
async fn flush_touches(state: AppState) {
    let mut every = tokio::time::interval(TOUCH_FLUSH_EVERY);
    loop {
        every.tick().await;
        if let Err(e) = sessions::flush_touches(&state.ctx).await {
            tracing::warn!(error = %e, "uses of sessions not written; retried with the next batch");
        }
    }
}

/// Drains the recorded request durations into their histogram buckets (without this,
/// samples pile up in memory between scrapes) and refreshes the live-sessions gauge, so
/// that a scrape of /metrics never counts sessions itself.
async fn keep_gauges(state: AppState) {
    let mut every = tokio::time::interval(GAUGES_EVERY);
    let mut ticks = 0u64;
    loop {
        every.tick().await;
        state.metrics.run_upkeep();
        if ticks.is_multiple_of(SESSIONS_GAUGE_EVERY_TICKS) {
            match sessions::count_live(&state.ctx).await {
                Ok(n) => metrics::gauge!("latchkey_active_sessions").set(n as f64),
                Err(e) => tracing::warn!(error = %e, "live sessions not counted"),
            }
        }
        ticks += 1;
    }
}

/// Re-reads the JWT keys now and then, in case a feed message about a rotation was lost.
async fn reload_keys(state: AppState) {
    let mut every = tokio::time::interval(keys::RELOAD_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(e) = state.ctx.keys.reload().await {
            tracing::warn!(error = %e, "JWT keys not reloaded");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
