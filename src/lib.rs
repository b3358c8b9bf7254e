//! # latchkey
//!
//! An authentication server for single-page apps: accounts, cookie sessions, JWTs,
//! roles, CORS and CSRF done right, in one binary. A guided tour, in the order a
//! request travels:
//!
//! - [`config`]: one typed configuration (defaults < `latchkey.toml` < `LATCHKEY_*` <
//!   flags), validated at start-up.
//! - [`app`]: [`app::App`] builds the state, binds the listener and serves until
//!   SIGTERM; `main` and the integration tests share it.
//! - [`http`]: the axum router, one module per section of `API.md`, the extractors
//!   (`Json`, `Client`, `CurrentUser`) and the layers (request id, logs and metrics,
//!   CORS, CSRF, security headers, timeouts). Handlers are thin.
//! - [`service`]: the rules: accounts, sessions, tokens, throttling policy, audit.
//!   Every change runs as a [`service::Change`]: one transaction, one timestamp from the
//!   [`clock`], and the [`feed`] events it publishes when it commits.
//! - [`limiter`]: atomic reserve-before-work sliding windows (in-process, PostgreSQL,
//!   Redis), shared by every instance of a cluster.
//! - [`feed`]: the revocation feed that tells every instance at once what was revoked.
//! - [`cache`]: sessions, verified tokens and users in memory, only behind the feed.
//! - [`store`]: SQL, once, for SQLite and PostgreSQL; and Redis.
//! - [`server`]: the accept loop (plain or TLS) with its connection and time limits.
//! - [`crypto`]: password hashing on its own thread pool, random tokens.
//! - [`domain`]: validated values (`Username`, `Email`, `Password`, `Role`) and `User`.
//! - [`error`]: `AppError`, API.md's error table as one enum.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod app;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod feed;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod limiter;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
