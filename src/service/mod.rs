//! The rules. Handlers call one function here; functions here call the store.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod avatars;
pub mod import;
pub mod keys;
pub mod posts;
pub mod sessions;
pub mod throttle;
pub mod tokens;

use std::net::IpAddr;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::config::Config;
use crate::crypto::hasher::Hasher;
use crate::store::Store;
use keys::KeyRing;
use throttle::Throttle;

/// Everything the services need, built once by `App::build`.
pub struct Ctx {
    pub config: Arc<Config>,
    pub store: Store,
    pub hasher: Hasher,
    pub throttle: Throttle,
    pub keys: KeyRing,
}

/// Who is calling, as far as sessions and the audit log care.
#[derive(Debug, Clone)]
pub struct Client {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
}

impl Client {
    /// For the CLI: no address, no browser.
    pub fn local() -> Client {
        Client { ip: IpAddr::from([127, 0, 0, 1]), user_agent: Some("latchkey CLI".into()) }
    }
}

pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}
