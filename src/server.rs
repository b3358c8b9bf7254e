//! The HTTP server loop: accepts connections (plain TCP or TLS), and serves each with
//! hyper under limits that keep slow or abusive clients from holding the server:
//! - at most `server.max_connections` connections at once; further ones wait in the
//!   kernel's accept queue until a slot frees;
//! - a client has `server.header_timeout` to send a request's headers (also the longest
//!   an idle keep-alive connection is kept) and to complete a TLS handshake;
//! - a request must be answered within `server.request_timeout` (the `timeout` layer).
//!
//! With `[tls]`, the certificate and key are re-read on SIGHUP: connections made after
//! the signal get the new certificate, those already open keep theirs.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::ServerConfig as Limits;

/// How long in-flight requests get to finish after a stop signal.
const DRAIN_FOR: Duration = Duration::from_secs(30);

/// How a request reached us, for the layers that care (HSTS, the client's scheme).
#[derive(Debug, Clone, Copy)]
pub struct Transport {
    pub tls: bool,
}

/// The TLS certificate in force, replaceable while serving.
pub struct Tls {
    config: ArcSwap<ServerConfig>,
    cert: PathBuf,
    key: PathBuf,
}

impl Tls {
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Tls> {
        Ok(Tls { config: ArcSwap::from_pointee(server_config(cert, key)?), cert: cert.into(), key: key.into() })
    }

    /// Re-reads the files; on any problem the current certificate stays in force.
    pub fn reload(&self) -> anyhow::Result<()> {
        self.config.store(Arc::new(server_config(&self.cert, &self.key)?));
        Ok(())
    }

    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.load_full())
    }
}

fn server_config(cert: &Path, key: &Path) -> anyhow::Result<ServerConfig> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("tls.cert {}: not a readable PEM certificate chain", cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "tls.cert {}: no certificate in the file", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("tls.key {}: not a readable PEM private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("tls.cert and tls.key do not make a usable pair")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish (for at most `DRAIN_FOR`).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<Tls>>,
    router: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout.0);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_timeout.0)
        .keep_alive_timeout(limits.header_timeout.0)
        .max_concurrent_streams(128);
    let builder = Arc::new(builder);
    let handshake_timeout = limits.header_timeout.0;
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let builder = Arc::clone(&builder);
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let transport = Transport { tls: acceptor.is_some() };
            let service = router.map_request(move |req: Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                req.extensions_mut().insert(transport);
                req
            });
            let service = TowerToHyperService::new(service);
            let served = match acceptor {
                Some(acceptor) => match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), service)).await
                    }
                    // A failed or abandoned handshake: nothing to answer.
                    _ => return,
                },
                // hyper's header timeout starts with the first byte, and telling HTTP/1 from
                // HTTP/2 waits for that byte without any limit: a client that connects and
                // sends nothing would hold its slot forever (10,000 of them, every slot).
                None => match tokio::time::timeout(handshake_timeout, stream.peek(&mut [0u8; 1])).await {
                    Ok(Ok(1..)) => {
                        watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), service)).await
                    }
                    _ => return,
                },
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_FOR, graceful.shutdown()).await.is_err() {
        tracing::warn!("in-flight requests still running after {DRAIN_FOR:?}; stopping anyway");
    }
}

/// SIGHUP, registered as soon as this is made (before the server says it listens), so
/// that an early signal reloads instead of stopping the process (its default action).
pub struct Hangups {
    #[cfg(unix)]
    signals: tokio::signal::unix::Signal,
}

impl Hangups {
    pub fn register() -> std::io::Result<Hangups> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Hangups { signals: signal(SignalKind::hangup())? })
        }
        #[cfg(not(unix))]
        Ok(Hangups {})
    }

    /// Reloads the TLS certificate on every SIGHUP, for as long as the server runs.
    /// Without TLS, SIGHUP is only logged.
    pub async fn reload(mut self, tls: Option<Arc<Tls>>) {
        #[cfg(unix)]
        while self.signals.recv().await.is_some() {
            match tls.as_ref().map(|tls| tls.reload()) {
                Some(Ok(())) => tracing::info!("TLS certificate reloaded"),
                Some(Err(e)) => {
                    tracing::error!(error = format!("{e:#}"), "TLS certificate not reloaded; the old one stays")
                }
                None => tracing::info!("SIGHUP: nothing to reload (no [tls])"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = (&mut self, tls);
            std::future::pending::<()>().await
        }
    }
}
