//! One-time codes: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, ±1 step of
//! drift) through `totp-rs`, and recovery codes. Pure functions of the time passed in,
//! so the application clock (and the tests') decides what "now" is.

use rand::rngs::OsRng;
use rand::TryRngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

pub const STEP_SECS: i64 = 30;
const DIGITS: usize = 6;
/// 160 bits, RFC 4226's recommendation.
pub const SECRET_BYTES: usize = 20;
/// Lower-case letters and digits without the ones people misread (0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const RECOVERY_CHARS: usize = 10;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.try_fill_bytes(&mut bytes).expect("the OS random number generator failed");
    bytes
}

pub fn new_secret() -> [u8; SECRET_BYTES] {
    random_bytes()
}

fn totp(secret: &[u8], issuer: Option<&str>, account: &str) -> Result<TOTP, anyhow::Error> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS as u64,
        secret.to_vec(),
        issuer.map(str::to_string),
        account.to_string(),
    )
    .map_err(|e| anyhow::anyhow!("TOTP parameters refused: {e:?}"))
}

/// What an authenticator app is given: the secret in base32 and the `otpauth://` URI
/// that the QR code carries.
pub fn provisioning(secret: &[u8], issuer: &str, account: &str) -> Result<(String, String), anyhow::Error> {
    let totp = totp(secret, Some(issuer), account)?;
    Ok((totp.get_secret_base32(), totp.get_url()))
}

/// The code of one time step.
pub fn code_at_step(secret: &[u8], step: i64) -> Result<String, anyhow::Error> {
    Ok(totp(secret, None, "")?.generate((step.max(0) * STEP_SECS) as u64))
}

/// The time step (within one step of `now`) whose code `code` is, if any. Spaces are
/// ignored; anything but six digits matches nothing.
pub fn matching_step(secret: &[u8], code: &str, now: i64) -> Result<Option<i64>, anyhow::Error> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret, None, "")?;
    let current = now / STEP_SECS;
    Ok((current - 1..=current + 1)
        .find(|step| bool::from(totp.generate((step * STEP_SECS) as u64).as_bytes().ct_eq(code.as_bytes()))))
}

/// A recovery code as shown to the user: `xxxxx-xxxxx`, about 49 bits of entropy.
pub fn new_recovery_code() -> String {
    let bytes: [u8; RECOVERY_CHARS] = random_bytes();
    let chars: String =
        bytes.iter().map(|b| RECOVERY_ALPHABET[*b as usize % RECOVERY_ALPHABET.len()] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// The form a recovery code is hashed in: without separators or spaces, lower-cased.
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last six.
        let secret = b"12345678901234567890";
        assert_eq!(code_at_step(secret, 1).unwrap(), "287082");
        assert_eq!(matching_step(secret, "287 082", 59).unwrap(), Some(1));
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let secret = new_secret();
        let now = 1_000_000 * STEP_SECS + 7;
        let step = now / STEP_SECS;
        for drift in [-1, 0, 1] {
            let code = code_at_step(&secret, step + drift).unwrap();
            assert_eq!(matching_step(&secret, &code, now).unwrap(), Some(step + drift));
        }
        for drift in [-2, 2] {
            let code = code_at_step(&secret, step + drift).unwrap();
            assert_eq!(matching_step(&secret, &code, now).unwrap(), None, "drift {drift}");
        }
        assert_eq!(matching_step(&secret, "12345", now).unwrap(), None);
        assert_eq!(matching_step(&secret, "abcdef", now).unwrap(), None);
    }

    #[test]
    fn provisioning_uri_names_issuer_account_and_secret() {
        let secret = new_secret();
        let (base32, uri) = provisioning(&secret, "latchkey", "ada").unwrap();
        assert!(uri.starts_with("otpauth://totp/latchkey:ada?"), "{uri}");
        assert!(uri.contains(&format!("secret={base32}")), "{uri}");
    }

    #[test]
    fn recovery_codes_are_random_and_normalise() {
        let a = new_recovery_code();
        assert_eq!(a.len(), 11);
        assert_ne!(a, new_recovery_code());
        assert_eq!(normalise_recovery_code(&a.to_uppercase().replace('-', " ")), a.replace('-', ""));
    }
}
