//! Hashes made by Werkzeug's `generate_password_hash`, the default of Flask apps that do
//! not use Flask-Bcrypt: `pbkdf2:sha256:600000$salt$hex` and `scrypt:32768:8:1$salt$hex`.
//! They are not PHC strings, so they get this parser. latchkey only verifies them (and
//! re-hashes on the next login); it never writes them.

use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::password::HashError;

/// Werkzeug 3.1 uses 1,000,000; twice that is the most one login may cost.
const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
/// scrypt needs 128·N·r bytes: at most 64 MiB per hash (Werkzeug's default is 32 MiB).
const MAX_SCRYPT_MEMORY_BYTES: u64 = 64 * 1024 * 1024;
const MAX_SCRYPT_PARALLELISM: u32 = 4;
/// Werkzeug's scrypt output length.
const SCRYPT_KEY_BYTES: usize = 64;

enum Kdf {
    Pbkdf2Sha256 { iterations: u32 },
    Pbkdf2Sha512 { iterations: u32 },
    Scrypt { log_n: u8, r: u32, p: u32 },
}

/// A parsed Werkzeug hash, its cost already checked against the caps.
pub struct WerkzeugHash<'a> {
    kdf: Kdf,
    salt: &'a str,
    expected: Vec<u8>,
}

/// Whether `stored` claims to be a Werkzeug hash (it may still be malformed).
pub fn looks_like(stored: &str) -> bool {
    stored.starts_with("pbkdf2:") || stored.starts_with("scrypt:")
}

pub fn parse(stored: &str) -> Result<WerkzeugHash<'_>, HashError> {
    let mut parts = stored.splitn(3, '$');
    let (Some(method), Some(salt), Some(hex)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(HashError::UnknownFormat);
    };
    let expected = decode_hex(hex).ok_or(HashError::UnknownFormat)?;
    if salt.is_empty() || expected.is_empty() {
        return Err(HashError::UnknownFormat);
    }
    let args: Vec<&str> = method.split(':').collect();
    // Werkzeug always writes the parameters it used; a hash without them predates
    // today's defaults and cannot be verified reliably.
    let kdf = match args.as_slice() {
        ["pbkdf2", digest, iterations] => {
            let iterations: u32 = iterations.parse().map_err(|_| HashError::UnknownFormat)?;
            if iterations == 0 {
                return Err(HashError::UnknownFormat);
            }
            if iterations > MAX_PBKDF2_ITERATIONS {
                return Err(HashError::TooCostly);
            }
            match *digest {
                "sha256" => Kdf::Pbkdf2Sha256 { iterations },
                "sha512" => Kdf::Pbkdf2Sha512 { iterations },
                _ => return Err(HashError::UnknownFormat),
            }
        }
        ["scrypt", n, r, p] => {
            let parse = |s: &str| s.parse::<u32>().map_err(|_| HashError::UnknownFormat);
            let (n, r, p) = (parse(n)?, parse(r)?, parse(p)?);
            if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 {
                return Err(HashError::UnknownFormat);
            }
            if 128 * u64::from(n) * u64::from(r) > MAX_SCRYPT_MEMORY_BYTES || p > MAX_SCRYPT_PARALLELISM {
                return Err(HashError::TooCostly);
            }
            Kdf::Scrypt { log_n: n.trailing_zeros() as u8, r, p }
        }
        _ => return Err(HashError::UnknownFormat),
    };
    Ok(WerkzeugHash { kdf, salt, expected })
}

impl WerkzeugHash<'_> {
    pub fn matches(&self, password: &str) -> Result<bool, HashError> {
        let (password, salt) = (password.as_bytes(), self.salt.as_bytes());
        let derived = match self.kdf {
            Kdf::Pbkdf2Sha256 { iterations } => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec()
            }
            Kdf::Pbkdf2Sha512 { iterations } => {
                pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec()
            }
            Kdf::Scrypt { log_n, r, p } => {
                let params =
                    scrypt::Params::new(log_n, r, p, SCRYPT_KEY_BYTES).map_err(|_| HashError::UnknownFormat)?;
                let mut out = vec![0u8; SCRYPT_KEY_BYTES];
                scrypt::scrypt(password, salt, &params, &mut out).map_err(|_| HashError::Failed)?;
                out
            }
        };
        Ok(derived.len() == self.expected.len() && bool::from(derived.ct_eq(&self.expected)))
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by Werkzeug 3.1's `generate_password_hash("correct horse battery", method=...)`.
    const PBKDF2_SHA256: &str =
        "pbkdf2:sha256:600000$zYJ0shTiNSLhMFy8$db3fa871adebbbd50fcb1936f593955654f0fb6536467f071694483dd8ae9767";
    const PBKDF2_SHA512: &str = "pbkdf2:sha512:1000$yOFT0LDAYZOmj3wk$c21d63a95d46cd743d570324097b87e8eac175966aa1638571307dba9453aea415a178686b56cb16c900d3c318a86f80782754e923f476ade073d7b95ade3a8b";
    const SCRYPT_DEFAULT: &str = "scrypt:32768:8:1$NAVi16kNv5mPbJMn$6cc4b0da617a3cbec088604a0de21e9244d8a041e93ec321da6dd910d430b0f3a52afe2721ac4f67973c4b7e0a5c45ec1ac88c9e84467b4e3afff5a9de904dfc";

    #[test]
    fn werkzeug_hashes_verify() {
        for stored in [PBKDF2_SHA256, PBKDF2_SHA512, SCRYPT_DEFAULT] {
            let parsed = parse(stored).unwrap();
            assert!(parsed.matches("correct horse battery").unwrap(), "{stored}");
            assert!(!parsed.matches("correct horse batterz").unwrap(), "{stored}");
        }
    }

    #[test]
    fn costly_or_malformed_werkzeug_hashes_are_refused() {
        let refused = |s: &str| parse(s).err();
        assert_eq!(refused("pbkdf2:sha256:9000000$salt$abcd"), Some(HashError::TooCostly));
        assert_eq!(refused("scrypt:1048576:8:1$salt$abcd"), Some(HashError::TooCostly));
        assert_eq!(refused("scrypt:1024:8:64$salt$abcd"), Some(HashError::TooCostly));
        for malformed in [
            "pbkdf2:sha256$salt$abcd",
            "pbkdf2:md5:1000$salt$abcd",
            "pbkdf2:sha256:0$salt$abcd",
            "pbkdf2:sha256:1000$salt$xyz",
            "pbkdf2:sha256:1000$$abcd",
            "pbkdf2:sha256:1000$salt",
            "scrypt:1000:8:1$salt$abcd",
            "scrypt:1024:0:1$salt$abcd",
        ] {
            assert_eq!(refused(malformed), Some(HashError::UnknownFormat), "{malformed}");
        }
    }
}
