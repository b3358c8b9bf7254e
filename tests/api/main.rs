//! One integration-test binary: the real server over HTTP, one module per API.md section.

mod helpers;
mod proxy;
mod smtp;

mod account;
mod admin;
mod avatars;
mod cache;
mod cli;
mod cluster;
mod cookie_sessions;
mod csrf_cors;
mod durability;
mod faults;
mod hostile_input;
mod operations;
mod passwords;
mod posts;
mod recovery;
mod throttling;
mod tls;
mod tokens;
mod web_app;
