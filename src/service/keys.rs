//! The key ring: JWT keys loaded from the database (so every instance signs and
//! verifies with the same ones), reloaded as soon as the revocation feed says they were
//! rotated, whenever a token names a key this instance has not seen yet, and every
//! `RELOAD_EVERY` in case a feed message was lost. `latchkey keys rotate` makes a new
//! key current; retired keys keep verifying until every token they signed has expired.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{anyhow, Context as _};

use super::Ctx;
use crate::clock::Clock;
use crate::config::{Config, JwtAlgorithm};
use crate::crypto::jwt::{generate_ed25519, Ed25519Key, KeySet, LEEWAY_SECS};
use crate::crypto::sealing::{is_sealed, SealingKey};
use crate::feed::{FeedEvent, FeedSignal, Subscriber};
use crate::store::keys::KeyRow;
use crate::store::{Store, Tx};

/// How often each instance re-reads the keys even without a feed message: the longest
/// it may keep signing with a key another instance's rotation retired, should the
/// message be lost.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// An unknown `kid` triggers a reload at most this often (forged kids cost nothing more).
const UNKNOWN_KID_RELOAD_MIN: Duration = Duration::from_secs(5);

pub struct KeyRing {
    store: Store,
    clock: Arc<Clock>,
    set: RwLock<Arc<KeySet>>,
    /// When the keys were last read (ms, on the application clock).
    last_reload_ms: Mutex<i64>,
    issuer: String,
    audience: String,
    /// Retired keys verify for this long after retirement.
    retention_secs: i64,
    from_database: bool,
    /// Seals the private keys in the database; `None` stores them as they are.
    sealer: Option<SealingKey>,
}

impl KeyRing {
    pub async fn load(store: &Store, clock: Arc<Clock>, config: &Config) -> anyhow::Result<KeyRing> {
        let issuer = issuer(config);
        let audience = config.tokens.audience.clone();
        let retention_secs = config.tokens.access_ttl.secs() + RELOAD_EVERY.as_secs() as i64 + LEEWAY_SECS as i64;
        let sealer = sealing_key(config)?;
        if sealer.is_none() && config.tokens.algorithm == JwtAlgorithm::EdDSA {
            tracing::warn!("{UNSEALED_WARNING}");
        }
        let (set, from_database) = match (&config.tokens.algorithm, &config.tokens.hs256_secret) {
            (JwtAlgorithm::HS256, Some(secret)) => (KeySet::hs256(secret.0.as_bytes(), &issuer, &audience), false),
            (JwtAlgorithm::HS256, None) => return Err(anyhow!("HS256 needs a secret")),
            (JwtAlgorithm::EdDSA, _) => {
                ensure_current_key(store, clock.now(), sealer.as_ref()).await?;
                if let Some(sealer) = &sealer {
                    seal_plain_keys(store, sealer).await?;
                }
                (read_keys(store, clock.now() - retention_secs, &issuer, &audience, sealer.as_ref()).await?, true)
            }
        };
        Ok(KeyRing {
            store: store.clone(),
            last_reload_ms: Mutex::new(clock.now_ms()),
            clock,
            set: RwLock::new(Arc::new(set)),
            issuer,
            audience,
            retention_secs,
            from_database,
            sealer,
        })
    }

    /// The key that seals secrets in the database, when there is one.
    pub fn sealer(&self) -> Option<&SealingKey> {
        self.sealer.as_ref()
    }

    pub fn current(&self) -> Arc<KeySet> {
        Arc::clone(&self.set.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub async fn reload(&self) -> anyhow::Result<()> {
        if !self.from_database {
            return Ok(());
        }
        let cutoff = self.clock.now() - self.retention_secs;
        let set = read_keys(&self.store, cutoff, &self.issuer, &self.audience, self.sealer.as_ref()).await?;
        *self.set.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        *self.last_reload_ms.lock().unwrap_or_else(|p| p.into_inner()) = self.clock.now_ms();
        Ok(())
    }

    /// Reloads for an unknown `kid` unless that was done moments ago; true if it did.
    pub async fn reload_for_unknown_kid(&self) -> anyhow::Result<bool> {
        {
            let mut last = self.last_reload_ms.lock().unwrap_or_else(|p| p.into_inner());
            let now = self.clock.now_ms();
            if !self.from_database || now - *last < UNKNOWN_KID_RELOAD_MIN.as_millis() as i64 {
                return Ok(false);
            }
            *last = now;
        }
        self.reload().await?;
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

/// Reloads the ring when the feed says the keys changed, or when it resumes after a gap
/// in which a rotation may have been missed.
pub struct ReloadOnRotation(pub Arc<KeyRing>);

impl Subscriber for ReloadOnRotation {
    fn on_signal(&self, signal: &FeedSignal) {
        if matches!(signal, FeedSignal::Event(FeedEvent::KeysRotated) | FeedSignal::Resumed) {
            let ring = Arc::clone(&self.0);
            tokio::spawn(async move {
                if let Err(e) = ring.reload().await {
                    tracing::warn!(error = %e, "JWT keys not reloaded after a rotation");
                }
            });
        }
    }
}

async fn read_keys(
    store: &Store,
    cutoff: i64,
    issuer: &str,
    audience: &str,
    sealer: Option<&SealingKey>,
) -> anyhow::Result<KeySet> {
    let mut rows = store.jwt_keys(cutoff).await?;
    for row in &mut rows {
        row.private_key = open_private_key(row, sealer)?;
    }
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

/// Makes the first signing key of an empty database, once: instances starting together
/// on one PostgreSQL database take turns under a lock, and all but the first find it.
async fn ensure_current_key(store: &Store, now: i64, sealer: Option<&SealingKey>) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    tx.advisory_lock("latchkey:signing-keys").await?;
    if tx.current_key_count().await? == 0 {
        insert_new_key(&mut tx, now, sealer).await?;
        tracing::info!("generated the first JWT signing key");
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_new_key(tx: &mut Tx, now: i64, sealer: Option<&SealingKey>) -> anyhow::Result<String> {
    let key = generate_ed25519().context("the OS random number generator failed")?;
    let private_key = match sealer {
        Some(sealer) => sealer.seal(&key.seed, key.kid.as_bytes())?,
        None => key.seed.to_vec(),
    };
    tx.insert_key(&KeyRow {
        kid: key.kid.clone(),
        private_key,
        public_key: key.public.to_vec(),
        created_at: now,
        retired_at: None,
    })
    .await?;
    Ok(key.kid)
}

/// `latchkey keys rotate`: a new current key; the old ones only verify from now on.
/// Every instance hears of it through the feed and reloads at once. Returns the new
/// key's `kid` and how many keys were retired.
pub async fn rotate(ctx: &Ctx) -> anyhow::Result<(String, u64)> {
    if ctx.config.tokens.algorithm != JwtAlgorithm::EdDSA {
        return Err(anyhow!("keys rotate manages EdDSA keys; with HS256, the key is the configured secret"));
    }
    let mut change = ctx.begin().await?;
    change.advisory_lock("latchkey:signing-keys").await?;
    let now = change.now;
    let retired = change.retire_current_keys(now).await?;
    let kid = insert_new_key(&mut change, now, ctx.keys.sealer.as_ref()).await?;
    change.publish(FeedEvent::KeysRotated).await?;
    change.commit().await?;
    Ok((kid, retired))
}

/// Deletes keys whose every token has expired; run periodically.
pub async fn forget_expired_keys(ctx: &Ctx) -> anyhow::Result<u64> {
    let mut tx = ctx.store.begin().await?;
    let n = tx.delete_keys_retired_before(ctx.now() - ctx.keys.retention_secs()).await?;
    tx.commit().await?;
    Ok(n)
}

/// Logged at start-up and by `config check` when the private keys are not sealed.
pub const UNSEALED_WARNING: &str = "JWT private keys are stored unencrypted in the database: set \
    keys.encryption_key_file or LATCHKEY_KEYS__ENCRYPTION_KEY (the same key on every instance)";

/// The key that seals the private keys: configured, or for SQLite the one in the file
/// beside the database (made, readable by this user only, on first start).
pub fn sealing_key(config: &Config) -> anyhow::Result<Option<SealingKey>> {
    if let Some(key) = &config.keys.encryption_key {
        return Ok(Some(SealingKey::from_base64(&key.0).context("keys.encryption_key")?));
    }
    if let Some(path) = &config.keys.encryption_key_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(Some(SealingKey::from_base64(&text).with_context(|| path.display().to_string())?));
    }
    let Some(path) = default_key_file(config) else { return Ok(None) };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(SealingKey::from_base64(&text).with_context(|| path.display().to_string())?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(&path).map(Some),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// `<database file>.key` for a file-backed SQLite database.
pub fn default_key_file(config: &Config) -> Option<PathBuf> {
    let db = Store::sqlite_file(&config.database_url)?;
    let mut name = db.into_os_string();
    name.push(".key");
    Some(PathBuf::from(name))
}

fn create_key_file(path: &Path) -> anyhow::Result<SealingKey> {
    use std::io::Write as _;
    let (key, text) = SealingKey::generate()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{text}\n").as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "made the key that encrypts the JWT keys; back it up with the database");
            Ok(key)
        }
        // Another process starting on the same database made it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)?;
            Ok(SealingKey::from_base64(&text)?)
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

fn open_private_key(row: &KeyRow, sealer: Option<&SealingKey>) -> anyhow::Result<Vec<u8>> {
    if !is_sealed(&row.private_key) {
        return Ok(row.private_key.clone());
    }
    let sealer = sealer.ok_or_else(|| {
        anyhow!(
            "the JWT keys in the database are encrypted: set keys.encryption_key_file or LATCHKEY_KEYS__ENCRYPTION_KEY"
        )
    })?;
    sealer.open(&row.private_key, row.kid.as_bytes()).with_context(|| format!("JWT key {}", row.kid))
}

/// Seals the keys stored before a sealing key existed.
async fn seal_plain_keys(store: &Store, sealer: &SealingKey) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    tx.advisory_lock("latchkey:signing-keys").await?;
    let mut sealed = 0;
    for row in tx.all_keys().await? {
        if !is_sealed(&row.private_key) {
            tx.set_private_key(&row.kid, &sealer.seal(&row.private_key, row.kid.as_bytes())?).await?;
            sealed += 1;
        }
    }
    tx.commit().await?;
    if sealed > 0 {
        tracing::info!(keys = sealed, "encrypted the JWT keys stored in plain text");
    }
    Ok(())
}

/// `latchkey keys reseal`: every private key and TOTP secret opened with the current
/// sealing key (or read as plain text) and sealed under `new`, in one transaction.
/// Returns how many keys and secrets.
pub async fn reseal(ctx: &Ctx, new: &SealingKey) -> anyhow::Result<(usize, usize)> {
    let mut tx = ctx.store.begin().await?;
    tx.advisory_lock("latchkey:signing-keys").await?;
    let rows = tx.all_keys().await?;
    for row in &rows {
        let plain = open_private_key(row, ctx.keys.sealer.as_ref())?;
        tx.set_private_key(&row.kid, &new.seal(&plain, row.kid.as_bytes())?).await?;
    }
    let secrets = super::totp_sealing::reseal_in(&mut tx, ctx.keys.sealer.as_ref(), new).await?;
    tx.commit().await?;
    Ok((rows.len(), secrets))
}
