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
use crate::crypto::provider_keys::{generate_rsa, ProviderKeys, SigningAlg, StoredKey};
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
    /// The OpenID Provider's keys, made and read on first use.
    provider: RwLock<Option<Arc<ProviderKeys>>>,
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
                ensure_current_key(store, clock.now(), sealer.as_ref(), SigningAlg::EdDSA).await?;
                if let Some(sealer) = &sealer {
                    seal_plain_keys(store, sealer).await?;
                }
                let rows = read_keys(store, clock.now() - retention_secs, sealer.as_ref()).await?;
                (own_set(&rows, &issuer, &audience)?, true)
            }
        };
        Ok(KeyRing {
            store: store.clone(),
            last_reload_ms: Mutex::new(clock.now_ms()),
            clock,
            set: RwLock::new(Arc::new(set)),
            provider: RwLock::new(None),
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
        let provider_loaded = self.provider.read().unwrap_or_else(|p| p.into_inner()).is_some();
        if !self.from_database && !provider_loaded {
            return Ok(());
        }
        let cutoff = self.clock.now() - self.retention_secs;
        let rows = read_keys(&self.store, cutoff, self.sealer.as_ref()).await?;
        if self.from_database {
            *self.set.write().unwrap_or_else(|p| p.into_inner()) =
                Arc::new(own_set(&rows, &self.issuer, &self.audience)?);
        }
        if provider_loaded {
            *self.provider.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(provider_set(&rows)?));
        }
        *self.last_reload_ms.lock().unwrap_or_else(|p| p.into_inner()) = self.clock.now_ms();
        Ok(())
    }

    /// Whether this instance has read the OpenID Provider's keys.
    pub fn provider_loaded(&self) -> bool {
        self.provider.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// The OpenID Provider's keys. The first call makes the RSA key (and, when latchkey's
    /// own tokens use HS256, an Ed25519 one) if the database has none yet.
    pub async fn provider(&self) -> anyhow::Result<Arc<ProviderKeys>> {
        if let Some(keys) = self.provider.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Ok(Arc::clone(keys));
        }
        for alg in [SigningAlg::RS256, SigningAlg::EdDSA] {
            ensure_current_key(&self.store, self.clock.now(), self.sealer.as_ref(), alg).await?;
        }
        let rows = read_keys(&self.store, self.clock.now() - self.retention_secs, self.sealer.as_ref()).await?;
        let keys = Arc::new(provider_set(&rows)?);
        *self.provider.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&keys));
        Ok(keys)
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

/// Every key still worth knowing, private halves opened: current ones (newest first),
/// then retired ones.
async fn read_keys(store: &Store, cutoff: i64, sealer: Option<&SealingKey>) -> anyhow::Result<Vec<KeyRow>> {
    let mut rows = store.jwt_keys(cutoff).await?;
    for row in &mut rows {
        row.private_key = open_private_key(row, sealer)?;
    }
    rows.sort_by_key(|r| r.retired_at.is_some());
    Ok(rows)
}

/// The Ed25519 keys of latchkey's own tokens; the newest current one signs, and every
/// instance picks the same.
fn own_set(rows: &[KeyRow], issuer: &str, audience: &str) -> anyhow::Result<KeySet> {
    let ordered: Vec<&KeyRow> = rows.iter().filter(|r| r.alg == SigningAlg::EdDSA.as_str()).collect();
    let keys: Vec<Ed25519Key<'_>> =
        ordered.iter().map(|r| Ed25519Key { kid: &r.kid, seed: &r.private_key, public: &r.public_key }).collect();
    if ordered.first().is_none_or(|r| r.retired_at.is_some()) {
        return Err(anyhow!("no current JWT signing key in the database"));
    }
    KeySet::ed25519(&keys, issuer, audience).context("no usable JWT key")
}

fn provider_set(rows: &[KeyRow]) -> anyhow::Result<ProviderKeys> {
    let keys: Vec<StoredKey<'_>> = rows
        .iter()
        .filter_map(|r| {
            Some(StoredKey {
                kid: &r.kid,
                alg: SigningAlg::parse(&r.alg)?,
                private: &r.private_key,
                public: &r.public_key,
                current: r.retired_at.is_none(),
            })
        })
        .collect();
    ProviderKeys::new(&keys)
}

/// Makes the first signing key of an empty database, once: instances starting together
/// on one PostgreSQL database take turns under a lock, and all but the first find it.
async fn ensure_current_key(
    store: &Store,
    now: i64,
    sealer: Option<&SealingKey>,
    alg: SigningAlg,
) -> anyhow::Result<()> {
    {
        let mut tx = store.begin().await?;
        let missing = tx.current_key_count(alg.as_str()).await? == 0;
        tx.commit().await?;
        if !missing {
            return Ok(());
        }
    }
    // Made before the lock is taken (an RSA key takes a while); a key another instance
    // made meanwhile wins and this one is dropped.
    let key = new_key(alg).await?;
    let mut tx = store.begin().await?;
    tx.advisory_lock("latchkey:signing-keys").await?;
    if tx.current_key_count(alg.as_str()).await? == 0 {
        insert_key(&mut tx, key, now, sealer).await?;
        tracing::info!(alg = alg.as_str(), "generated the first signing key");
    }
    tx.commit().await?;
    Ok(())
}

/// A key pair not stored yet: kid, private half, public half.
struct NewKey {
    alg: SigningAlg,
    kid: String,
    private: Vec<u8>,
    public: Vec<u8>,
}

async fn new_key(alg: SigningAlg) -> anyhow::Result<NewKey> {
    match alg {
        SigningAlg::EdDSA => {
            let key = generate_ed25519().context("the OS random number generator failed")?;
            Ok(NewKey { alg, kid: key.kid, private: key.seed.to_vec(), public: key.public.to_vec() })
        }
        SigningAlg::RS256 => {
            let key = tokio::task::spawn_blocking(generate_rsa).await??;
            Ok(NewKey { alg, kid: key.kid, private: key.private_der, public: key.public_der })
        }
    }
}

async fn insert_key(tx: &mut Tx, key: NewKey, now: i64, sealer: Option<&SealingKey>) -> anyhow::Result<String> {
    let private_key = match sealer {
        Some(sealer) => sealer.seal(&key.private, key.kid.as_bytes())?,
        None => key.private,
    };
    tx.insert_key(&KeyRow {
        kid: key.kid.clone(),
        alg: key.alg.as_str().to_string(),
        private_key,
        public_key: key.public,
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
    let ed = new_key(SigningAlg::EdDSA).await?;
    let rsa = new_key(SigningAlg::RS256).await?;
    let mut change = ctx.begin().await?;
    change.advisory_lock("latchkey:signing-keys").await?;
    let now = change.now;
    let retired = change.retire_current_keys(SigningAlg::EdDSA.as_str(), now).await?;
    let kid = insert_key(&mut change, ed, now, ctx.keys.sealer.as_ref()).await?;
    // The OpenID Provider's RSA key turns over with it, once it has one.
    let retired_rsa = change.retire_current_keys(SigningAlg::RS256.as_str(), now).await?;
    if retired_rsa > 0 {
        insert_key(&mut change, rsa, now, ctx.keys.sealer.as_ref()).await?;
    }
    let retired = retired + retired_rsa;
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
