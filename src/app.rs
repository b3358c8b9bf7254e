//! `App::build(config)` → `port()` → `run_until_stopped()`: shared by `main` and the
//! integration tests, so the tests run the real server.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::config::{Config, IpNet};
use crate::crypto::hasher::Hasher;
use crate::http::cookies::SessionCookie;
use crate::service::keys::{self, KeyRing};
use crate::service::throttle::Throttle;
use crate::service::{sessions, Ctx};
use crate::store::Store;

const MAINTENANCE_EVERY: Duration = Duration::from_secs(600);

#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

pub struct AppStateInner {
    pub ctx: Ctx,
    pub cookie: SessionCookie,
    pub public_origin: String,
    pub allowed_origins: BTreeSet<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub metrics: PrometheusHandle,
}

impl Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// Opens and migrates the database and starts the hashing pool: what the server and
/// every CLI command need.
pub async fn build_ctx(config: Config) -> anyhow::Result<Ctx> {
    let store = Store::connect(&config.database_url).await.with_context(|| {
        format!("cannot open the database at {}", crate::config::mask_url_password(&config.database_url))
    })?;
    store.migrate().await.context("cannot migrate the database")?;
    let hasher = Hasher::start(&config.password).context("cannot start the password hashing threads")?;
    let throttle = Throttle::new(&config.throttle);
    let keys = KeyRing::load(&store, &config).await.context("cannot load the JWT keys")?;
    Ok(Ctx { config: Arc::new(config), store, hasher, throttle, keys })
}

pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let listen = config.listen.clone();
        let ctx = build_ctx(config).await?;
        let listener = TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let state = AppState(Arc::new(AppStateInner {
            cookie: SessionCookie::new(&ctx.config),
            public_origin: ctx.config.public_origin(),
            allowed_origins: ctx.config.allowed_origins(),
            trusted_proxies: ctx.config.trusted_proxies.clone(),
            metrics: metrics_handle(),
            ctx,
        }));
        Ok(App { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes; in-flight requests finish, then the database
    /// is closed cleanly.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let maintenance = tokio::spawn(maintain(self.state.clone()));
        let key_reloads = tokio::spawn(reload_keys(self.state.clone()));
        let router = crate::http::router(self.state.clone());
        let served = axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        maintenance.abort();
        key_reloads.abort();
        self.state.ctx.store.close().await;
        served.context("the server failed")
    }
}

/// Periodic clean-up: dead sessions out of the database, stale throttle counters out
/// of memory.
async fn maintain(state: AppState) {
    let mut every = tokio::time::interval(MAINTENANCE_EVERY);
    loop {
        every.tick().await;
        match sessions::delete_dead(&state.ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "expired sessions deleted"),
            Err(e) => tracing::warn!(error = %e, "expired sessions not deleted"),
        }
        state.ctx.throttle.prune();
        let now = crate::service::now();
        if let Err(e) = state.ctx.store.delete_dead_refresh_families(now, now - 86_400).await {
            tracing::warn!(error = %e, "dead refresh tokens not deleted");
        }
        if let Err(e) = keys::forget_expired_keys(&state.ctx.store, &state.ctx.keys).await {
            tracing::warn!(error = %e, "expired JWT keys not deleted");
        }
    }
}

/// Re-reads the JWT keys so that a rotation made elsewhere reaches this instance.
async fn reload_keys(state: AppState) {
    let mut every = tokio::time::interval(keys::RELOAD_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(e) = state.ctx.keys.reload(&state.ctx.store).await {
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

/// The process-wide Prometheus recorder (the `metrics` facade is global).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
            let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets);
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(_) => PrometheusBuilder::new().build_recorder(),
            };
            let handle = recorder.handle();
            // Another recorder may already be installed (tests embedding latchkey);
            // then this handle renders only what reaches it, which is acceptable there.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
