//! `AppState`: what every handler and layer reads (the service context, the cookies, the
//! origins and proxies it trusts, the metrics), built once from the service context.

use std::collections::BTreeSet;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use axum::http::HeaderValue;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::cookies::SessionCookie;
use super::middleware::RequestMetrics;
use crate::config::IpNet;
use crate::service::Ctx;

#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

pub struct AppStateInner {
    pub ctx: Ctx,
    pub cookie: SessionCookie,
    /// Binds a cookie login's challenge to the browser (two-step login).
    pub challenge_cookie: SessionCookie,
    /// Binds a round trip to a provider to the browser (federation).
    pub federation_cookie: SessionCookie,
    pub public_origin: String,
    /// Origins that count as our own besides `public_origin` (its loopback aliases).
    pub own_origins: BTreeSet<String>,
    pub allowed_origins: BTreeSet<String>,
    /// `cors.allowed_headers` as one `Access-Control-Allow-Headers` value.
    pub cors_allowed_headers: HeaderValue,
    pub trusted_proxies: Vec<IpNet>,
    pub metrics: PrometheusHandle,
    pub request_metrics: RequestMetrics,
}

impl Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

impl AppState {
    pub fn new(ctx: Ctx) -> anyhow::Result<AppState> {
        Ok(AppState(Arc::new(AppStateInner {
            cookie: SessionCookie::new(&ctx.config),
            challenge_cookie: SessionCookie::challenge(&ctx.config),
            federation_cookie: SessionCookie::federation(&ctx.config),
            public_origin: ctx.config.public_origin(),
            own_origins: ctx.config.own_origins(),
            allowed_origins: ctx.config.allowed_origins(),
            cors_allowed_headers: HeaderValue::from_str(&ctx.config.cors.allowed_headers.join(", "))
                .context("cors.allowed_headers")?,
            trusted_proxies: ctx.config.trusted_proxies.clone(),
            metrics: metrics_handle(),
            request_metrics: Default::default(),
            ctx,
        })))
    }
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
