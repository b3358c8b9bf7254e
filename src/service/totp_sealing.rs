//! TOTP secrets at rest: sealed under the same key as the JWT private keys, bound to
//! their account, so that a dump or backup of the database alone cannot compute anyone's
//! codes. Without an encryption key (PostgreSQL with none configured) they are stored as
//! they are, as the signing keys are, and the start-up warning covers both.

use anyhow::Context as _;

use super::Ctx;
use crate::crypto::sealing::{is_sealed, SealingKey, MAGIC};
use crate::domain::UserId;
use crate::error::AppError;
use crate::store::{Store, Tx};

const LOCK: &str = "latchkey:totp-secrets";

fn context(user_id: UserId) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

/// What to store for a new secret.
pub fn seal(ctx: &Ctx, user_id: UserId, secret: &[u8]) -> Result<Vec<u8>, AppError> {
    match ctx.keys.sealer() {
        Some(sealer) => sealer.seal(secret, &context(user_id)).map_err(|e| AppError::Internal(e.into())),
        None => Ok(secret.to_vec()),
    }
}

/// The secret of what is stored.
pub fn open(ctx: &Ctx, user_id: UserId, stored: &[u8]) -> Result<Vec<u8>, AppError> {
    open_with(ctx.keys.sealer(), user_id, stored).map_err(AppError::Internal)
}

fn open_with(sealer: Option<&SealingKey>, user_id: UserId, stored: &[u8]) -> anyhow::Result<Vec<u8>> {
    if !is_sealed(stored) {
        return Ok(stored.to_vec());
    }
    let sealer = sealer.context(
        "the TOTP secrets in the database are encrypted: set keys.encryption_key_file or LATCHKEY_KEYS__ENCRYPTION_KEY",
    )?;
    sealer.open(stored, &context(user_id)).with_context(|| format!("the TOTP secret of user {user_id}"))
}

/// At start: seals the secrets stored before an encryption key existed.
pub async fn seal_plain(store: &Store, sealer: &SealingKey) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    tx.advisory_lock(LOCK).await?;
    // Only those not sealed yet are read: start-up does not scan every enrolled account.
    let mut sealed = 0;
    for (user_id, stored) in tx.totp_secrets_without(MAGIC).await? {
        tx.set_totp_secret(user_id, &sealer.seal(&stored, &context(user_id))?).await?;
        sealed += 1;
    }
    tx.commit().await?;
    if sealed > 0 {
        tracing::info!(secrets = sealed, "encrypted the TOTP secrets stored in plain text");
    }
    Ok(())
}

/// `latchkey keys reseal`: every secret opened with the current key (or read as plain
/// text) and sealed under `new`, in the caller's transaction. Returns how many.
pub async fn reseal_in(tx: &mut Tx, current: Option<&SealingKey>, new: &SealingKey) -> anyhow::Result<usize> {
    tx.advisory_lock(LOCK).await?;
    let rows = tx.all_totp_secrets().await?;
    for (user_id, stored) in &rows {
        let plain = open_with(current, *user_id, stored)?;
        tx.set_totp_secret(*user_id, &new.seal(&plain, &context(*user_id))?).await?;
    }
    Ok(rows.len())
}
