//! One integration-test binary: the real server over HTTP, one module per API.md section.

mod helpers;
mod proxy;
mod smtp;
mod soft_authenticator;
mod upstream;

mod account;
mod admin;
mod avatars;
mod cache;
mod cli;
mod cluster;
mod contract;
mod cookie_sessions;
mod crash;
mod credentials;
mod csrf_cors;
mod durability;
mod faults;
mod federation;
mod federation_races;
mod hostile_input;
mod oauth2;
mod oidc_rp;
mod operations;
mod passkeys;
mod passwords;
mod posts;
mod recovery;
mod second_factors;
mod secrets;
mod slow_clients;
mod throttling;
mod tls;
mod tokens;
mod web_app;
