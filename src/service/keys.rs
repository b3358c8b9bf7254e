//! The key ring: JWT keys loaded from the database (so every instance signs and
//! verifies with the same ones), reloaded every `RELOAD_EVERY` and whenever a token
//! names a key this instance has not seen yet. `latchkey keys rotate` makes a new key
//! current; retired keys keep verifying until every token they signed has expired.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};

use super::now;
use crate::config::{Config, JwtAlgorithm};
use crate::crypto::jwt::{generate_ed25519, Ed25519Key, KeySet, LEEWAY_SECS};
use crate::store::keys::KeyRow;
use crate::store::Store;

/// How often each instance re-reads the keys: the longest it may keep signing with a
/// key another instance's rotation retired.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// An unknown `kid` triggers a reload at most this often (forged kids cost nothing more).
const UNKNOWN_KID_RELOAD_MIN: Duration = Duration::from_secs(5);

pub struct KeyRing {
    set: RwLock<Arc<KeySet>>,
    last_reload: Mutex<Instant>,
    issuer: String,
    audience: String,
    /// Retired keys verify for this long after retirement.
    retention_secs: i64,
    from_database: bool,
}

impl KeyRing {
    pub async fn load(store: &Store, config: &Config) -> anyhow::Result<KeyRing> {
        let issuer = issuer(config);
        let audience = config.tokens.audience.clone();
        let retention_secs = config.tokens.access_ttl.secs() + RELOAD_EVERY.as_secs() as i64 + LEEWAY_SECS as i64;
        let (set, from_database) = match (&config.tokens.algorithm, &config.tokens.hs256_secret) {
            (JwtAlgorithm::HS256, Some(secret)) => (KeySet::hs256(secret.0.as_bytes(), &issuer, &audience), false),
            (JwtAlgorithm::HS256, None) => return Err(anyhow!("HS256 needs a secret")),
            (JwtAlgorithm::EdDSA, _) => {
                ensure_current_key(store).await?;
                (read_keys(store, &issuer, &audience, retention_secs).await?, true)
            }
        };
        Ok(KeyRing {
            set: RwLock::new(Arc::new(set)),
            last_reload: Mutex::new(Instant::now()),
            issuer,
            audience,
            retention_secs,
            from_database,
        })
    }

    pub fn current(&self) -> Arc<KeySet> {
        Arc::clone(&self.set.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub async fn reload(&self, store: &Store) -> anyhow::Result<()> {
        if !self.from_database {
            return Ok(());
        }
        let set = read_keys(store, &self.issuer, &self.audience, self.retention_secs).await?;
        *self.set.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        *self.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        Ok(())
    }

    /// Reloads for an unknown `kid` unless that was done moments ago; true if it did.
    pub async fn reload_for_unknown_kid(&self, store: &Store) -> anyhow::Result<bool> {
        {
            let mut last = self.last_reload.lock().unwrap_or_else(|p| p.into_inner());
            if !self.from_database || last.elapsed() < UNKNOWN_KID_RELOAD_MIN {
                return Ok(false);
            }
            *last = Instant::now();
        }
        self.reload(store).await?;
        Ok(true)
    }

    pub fn retention_secs(&self) -> i64 {
        self.retention_secs
    }
}

/// `iss` of our tokens: the public URL without a trailing slash.
pub fn issuer(config: &Config) -> String {
    config.public_url.trim_end_matches('/').to_string()
}

async fn read_keys(store: &Store, issuer: &str, audience: &str, retention_secs: i64) -> anyhow::Result<KeySet> {
    let rows = store.jwt_keys(now() - retention_secs).await?;
    // The newest current key signs; every instance picks the same one.
    let mut ordered: Vec<&KeyRow> = rows.iter().filter(|r| r.retired_at.is_none()).collect();
    ordered.extend(rows.iter().filter(|r| r.retired_at.is_some()));
    let keys: Vec<Ed25519Key<'_>> =
        ordered.iter().map(|r| Ed25519Key { kid: &r.kid, seed: &r.private_key, public: &r.public_key }).collect();
    if ordered.first().is_none_or(|r| r.retired_at.is_some()) {
        return Err(anyhow!("no current JWT signing key in the database"));
    }
    KeySet::ed25519(&keys, issuer, audience).context("no usable JWT key")
}

async fn ensure_current_key(store: &Store) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    if tx.current_key_count().await? == 0 {
        insert_new_key(&mut tx).await?;
        tracing::info!("generated the first JWT signing key");
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_new_key(tx: &mut crate::store::Tx) -> anyhow::Result<String> {
    let key = generate_ed25519().context("the OS random number generator failed")?;
    tx.insert_key(&KeyRow {
        kid: key.kid.clone(),
        private_key: key.seed.to_vec(),
        public_key: key.public.to_vec(),
        created_at: now(),
        retired_at: None,
    })
    .await?;
    Ok(key.kid)
}

/// `latchkey keys rotate`: a new current key; the old ones only verify from now on.
/// Returns the new key's `kid` and how many keys were retired.
pub async fn rotate(store: &Store, config: &Config) -> anyhow::Result<(String, u64)> {
    if config.tokens.algorithm != JwtAlgorithm::EdDSA {
        return Err(anyhow!("keys rotate manages EdDSA keys; with HS256, the key is the configured secret"));
    }
    let mut tx = store.begin().await?;
    let retired = tx.retire_current_keys(now()).await?;
    let kid = insert_new_key(&mut tx).await?;
    tx.commit().await?;
    Ok((kid, retired))
}

/// Deletes keys whose every token has expired; run periodically.
pub async fn forget_expired_keys(store: &Store, ring: &KeyRing) -> anyhow::Result<u64> {
    let mut tx = store.begin().await?;
    let n = tx.delete_keys_retired_before(now() - ring.retention_secs()).await?;
    tx.commit().await?;
    Ok(n)
}
