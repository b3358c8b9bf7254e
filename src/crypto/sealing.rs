//! Secrets at rest: the JWT private keys are sealed with ChaCha20-Poly1305 under a key
//! kept outside the database, so a dump or a backup of the database alone cannot sign
//! tokens. The `kid` is bound as associated data: a sealed key copied onto another row
//! does not open.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::rngs::OsRng;
use rand::TryRngCore;

/// Marks a sealed value (and its format version) in the column that once held plain keys.
pub const MAGIC: &[u8] = b"lk1:";
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SealingKey(Key);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(****)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the encryption key must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)")]
    BadKey,
    #[error("a sealed value does not open with this encryption key")]
    WrongKey,
    #[error("the random number generator failed")]
    Random,
}

impl SealingKey {
    /// From its base64 text (surrounding whitespace ignored, as in a key file).
    pub fn from_base64(text: &str) -> Result<SealingKey, SealError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| SealError::BadKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(SealingKey(Key::from(bytes)))
    }

    /// A new random key and its base64 text.
    pub fn generate() -> Result<(SealingKey, String), SealError> {
        let mut bytes = [0u8; 32];
        OsRng.try_fill_bytes(&mut bytes).map_err(|_| SealError::Random)?;
        Ok((SealingKey(Key::from(bytes)), STANDARD.encode(bytes)))
    }

    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.try_fill_bytes(&mut nonce).map_err(|_| SealError::Random)?;
        let cipher = ChaCha20Poly1305::new(&self.0);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
            .map_err(|_| SealError::Random)?;
        Ok([MAGIC, &nonce, &sealed].concat())
    }

    pub fn open(&self, stored: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = stored.strip_prefix(MAGIC).ok_or(SealError::WrongKey)?;
        if rest.len() < NONCE_LEN {
            return Err(SealError::WrongKey);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        ChaCha20Poly1305::new(&self.0)
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: context })
            .map_err(|_| SealError::WrongKey)
    }
}

/// Whether a stored value is sealed (else it is a plain key from before sealing, or
/// from a deployment without an encryption key).
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_their_key_and_context_only() {
        let (key, text) = SealingKey::generate().unwrap();
        let sealed = key.seal(b"private seed", b"kid-1").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(12).any(|w| w == b"private seed"));
        assert_eq!(
            SealingKey::from_base64(&format!("{text}\n")).unwrap().open(&sealed, b"kid-1").unwrap(),
            b"private seed"
        );
        assert_eq!(key.open(&sealed, b"kid-2"), Err(SealError::WrongKey));
        let (other, _) = SealingKey::generate().unwrap();
        assert_eq!(other.open(&sealed, b"kid-1"), Err(SealError::WrongKey));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&tampered, b"kid-1"), Err(SealError::WrongKey));
        assert!(!is_sealed(&[7u8; 32]));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64_and_never_print() {
        assert_eq!(SealingKey::from_base64("c2hvcnQ=").unwrap_err(), SealError::BadKey);
        assert_eq!(SealingKey::from_base64("not base64 at all!").unwrap_err(), SealError::BadKey);
        let (key, _) = SealingKey::generate().unwrap();
        assert_eq!(format!("{key:?}"), "SealingKey(****)");
    }
}
