//! Password hashes: argon2id (PHC strings) by default, bcrypt selectable, and Werkzeug's
//! pbkdf2/scrypt hashes accepted from imported Flask accounts. Any stored hash verifies
//! whatever the configured algorithm; one in another form is re-hashed on the next
//! successful login. Foreign hashes costlier than the caps of `[password]` (`config::MAX_*`)
//! are refused so an imported hash cannot exhaust CPU or memory.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::rngs::OsRng;
use rand::TryRngCore;

use super::werkzeug;
use crate::config::{
    HashPolicy, PasswordAlgorithm, MAX_ARGON2_ITERATIONS, MAX_ARGON2_LANES, MAX_ARGON2_MEMORY_KIB, MAX_BCRYPT_COST,
};

/// bcrypt reads at most 72 bytes; longer passwords are refused rather than truncated.
pub const BCRYPT_MAX_BYTES: usize = 72;
/// The stored "hash" of an account without a password (made through a provider): no
/// password matches it, and no hash format reads it.
pub const NO_PASSWORD: &str = "!none";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashError {
    #[error("the stored hash is not a format latchkey reads")]
    UnknownFormat,
    #[error("the stored hash's parameters exceed latchkey's caps")]
    TooCostly,
    #[error("the password is longer than bcrypt's 72 bytes")]
    TooLongForBcrypt,
    #[error("the password hashing queue is full")]
    Busy,
    #[error("password hashing failed")]
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Right password; `rehash` when the stored hash is not in the configured form.
    Match {
        rehash: bool,
    },
    Mismatch,
}

pub fn hash(policy: HashPolicy, password: &str) -> Result<String, HashError> {
    match policy.algorithm {
        PasswordAlgorithm::Argon2id => {
            let mut salt = [0u8; 16];
            OsRng.try_fill_bytes(&mut salt).map_err(|_| HashError::Failed)?;
            let salt = SaltString::encode_b64(&salt).map_err(|_| HashError::Failed)?;
            argon2(policy.argon2_memory_kib, policy.argon2_iterations, policy.argon2_lanes)?
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|_| HashError::Failed)
        }
        PasswordAlgorithm::Bcrypt => {
            if password.len() > BCRYPT_MAX_BYTES {
                return Err(HashError::TooLongForBcrypt);
            }
            // Checked above: at most 72 bytes, so only bcrypt's NUL terminator can be cut.
            bcrypt::hash(password, policy.bcrypt_cost).map_err(|_| HashError::Failed)
        }
    }
}

/// Whether `stored` is a hash latchkey can verify, within its cost caps, without
/// verifying anything: the check an import makes before it stores a hash.
pub fn check_format(stored: &str) -> Result<(), HashError> {
    if is_bcrypt(stored) {
        let cost = bcrypt_cost(stored).ok_or(HashError::UnknownFormat)?;
        return if cost > MAX_BCRYPT_COST { Err(HashError::TooCostly) } else { Ok(()) };
    }
    if werkzeug::looks_like(stored) {
        return werkzeug::parse(stored).map(drop);
    }
    let parsed = PasswordHash::new(stored).map_err(|_| HashError::UnknownFormat)?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(HashError::UnknownFormat);
    }
    argon2_params(&parsed).map(drop)
}

pub fn verify(policy: HashPolicy, password: &str, stored: &str) -> Result<Verified, HashError> {
    let algorithm = policy.algorithm;
    if werkzeug::looks_like(stored) {
        return Ok(match werkzeug::parse(stored)?.matches(password)? {
            true => Verified::Match { rehash: true },
            false => Verified::Mismatch,
        });
    }
    if is_bcrypt(stored) {
        let cost = bcrypt_cost(stored).ok_or(HashError::UnknownFormat)?;
        if cost > MAX_BCRYPT_COST {
            return Err(HashError::TooCostly);
        }
        if password.len() > BCRYPT_MAX_BYTES {
            return Ok(Verified::Mismatch);
        }
        return match bcrypt::verify(password, stored) {
            Ok(true) => {
                Ok(Verified::Match { rehash: algorithm != PasswordAlgorithm::Bcrypt || cost != policy.bcrypt_cost })
            }
            Ok(false) => Ok(Verified::Mismatch),
            Err(_) => Err(HashError::UnknownFormat),
        };
    }
    let parsed = PasswordHash::new(stored).map_err(|_| HashError::UnknownFormat)?;
    let params = argon2_params(&parsed)?;
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(Verified::Match {
            rehash: algorithm != PasswordAlgorithm::Argon2id
                || parsed.algorithm != argon2::ARGON2ID_IDENT
                || parsed.version != Some(Version::V0x13.into())
                || (params.m_cost(), params.t_cost(), params.p_cost())
                    != (policy.argon2_memory_kib, policy.argon2_iterations, policy.argon2_lanes),
        }),
        Err(password_hash::Error::Password) => Ok(Verified::Mismatch),
        Err(_) => Err(HashError::UnknownFormat),
    }
}

/// The parameters of an argon2 PHC string, within the caps.
fn argon2_params(parsed: &PasswordHash<'_>) -> Result<Params, HashError> {
    if parsed.algorithm != argon2::ARGON2ID_IDENT
        && parsed.algorithm != argon2::ARGON2I_IDENT
        && parsed.algorithm != argon2::ARGON2D_IDENT
    {
        return Err(HashError::UnknownFormat);
    }
    // What argon2 itself refuses when it verifies is refused here, before any hashing, so
    // that a hash `user import` accepts is one a login can verify.
    if !matches!(parsed.version, None | Some(0x10) | Some(0x13)) {
        return Err(HashError::UnknownFormat);
    }
    let mut salt = [0u8; 64];
    let salt = parsed.salt.ok_or(HashError::UnknownFormat)?.decode_b64(&mut salt);
    if salt.map_err(|_| HashError::UnknownFormat)?.len() < argon2::MIN_SALT_LEN {
        return Err(HashError::UnknownFormat);
    }
    let params = Params::try_from(parsed).map_err(|_| HashError::UnknownFormat)?;
    if params.m_cost() > MAX_ARGON2_MEMORY_KIB
        || params.t_cost() > MAX_ARGON2_ITERATIONS
        || params.p_cost() > MAX_ARGON2_LANES
    {
        return Err(HashError::TooCostly);
    }
    Ok(params)
}

fn argon2(m: u32, t: u32, p: u32) -> Result<Argon2<'static>, HashError> {
    let params = Params::new(m, t, p, None).map_err(|_| HashError::Failed)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"].iter().any(|p| stored.starts_with(p))
}

/// The cost of a bcrypt hash laid out exactly as bcrypt writes it: `$2a$`, `$2b$`, `$2x$`
/// or `$2y$`, two digits of cost (4 to 31), `$`, then 22 characters of salt and 31 of
/// hash in bcrypt's base64, each decoding cleanly. The bcrypt crate's own parser is more
/// lenient than its verifier (it skips empty `$` fields and takes any cost), so it cannot
/// be the check an import relies on.
fn bcrypt_cost(stored: &str) -> Option<u32> {
    let rest = stored.get(4..)?;
    let (cost, rest) = (rest.get(..2)?, rest.get(2..)?);
    let (salt, hash) = rest.strip_prefix('$').filter(|r| r.len() == 53).map(|r| r.split_at(22))?;
    if !cost.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cost: u32 = cost.parse().ok()?;
    let salt_ok = bcrypt::BASE_64.decode(salt).is_ok_and(|s| s.len() == 16);
    let hash_ok = bcrypt::BASE_64.decode(hash).is_ok();
    ((4..=31).contains(&cost) && salt_ok && hash_ok).then_some(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PasswordAlgorithm::*;

    /// Made by Python's `bcrypt` 5.0: `bcrypt.hashpw(b"correct horse battery", bcrypt.gensalt(12))`.
    pub const PYTHON_BCRYPT_12: &str = "$2b$12$.wIQ.XNLoyzccq1veD.w7uFPe7V0cEb.5wi5nQqQM7X8jURFp9dAe";

    /// Found by the `foreign_hash` property (src/fuzzing.rs): each was accepted by
    /// `check_format`, so `user import` stored it, and then every login failed with 500.
    #[test]
    fn the_import_refuses_what_a_login_could_not_verify() {
        let body = &PYTHON_BCRYPT_12[7..];
        for stored in [
            format!("$2b$4${body}"),
            format!("$2b$03${body}"),
            format!("$2b$$12${body}"),
            format!("$2b$12$${body}"),
            format!("$2b$+4${body}"),
            // The last salt character carries bits bcrypt's base64 does not allow.
            format!("$2b$12${}/{}", &body[..21], &body[22..]),
            "$argon2id$v=19$m=30,t=1,p=1$A+Aa$aA000AAaaA0a0AA0A0aAaa0".into(),
            "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$K2RVDNrCfTd3Z0/TiuCuhQ".into(),
        ] {
            assert_eq!(check_format(&stored), Err(HashError::UnknownFormat), "{stored}");
        }
        assert_eq!(check_format(PYTHON_BCRYPT_12), Ok(()));
        assert_eq!(check_format("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$K2RVDNrCfTd3Z0/TiuCuhQ"), Ok(()));
    }

    #[test]
    fn a_hash_made_by_python_bcrypt_verifies() {
        assert_eq!(
            verify(Bcrypt.into(), "correct horse battery", PYTHON_BCRYPT_12),
            Ok(Verified::Match { rehash: false })
        );
        assert_eq!(
            verify(Argon2id.into(), "correct horse battery", PYTHON_BCRYPT_12),
            Ok(Verified::Match { rehash: true })
        );
        assert_eq!(verify(Bcrypt.into(), "correct horse batterz", PYTHON_BCRYPT_12), Ok(Verified::Mismatch));
    }

    #[test]
    fn argon2id_round_trip_with_the_configured_parameters() {
        let h = hash(Argon2id.into(), "correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(verify(Argon2id.into(), "correct horse battery", &h), Ok(Verified::Match { rehash: false }));
        assert_eq!(verify(Argon2id.into(), "wrong horse battery", &h), Ok(Verified::Mismatch));
        assert_eq!(verify(Bcrypt.into(), "correct horse battery", &h), Ok(Verified::Match { rehash: true }));
    }

    #[test]
    fn bcrypt_round_trip_and_upgrade() {
        let h = hash(Bcrypt.into(), "correct horse battery").unwrap();
        assert!(h.starts_with("$2b$12$"), "{h}");
        assert_eq!(verify(Bcrypt.into(), "correct horse battery", &h), Ok(Verified::Match { rehash: false }));
        assert_eq!(verify(Argon2id.into(), "correct horse battery", &h), Ok(Verified::Match { rehash: true }));
        assert_eq!(verify(Bcrypt.into(), "wrong", &h), Ok(Verified::Mismatch));
    }

    #[test]
    fn bcrypt_never_truncates() {
        let long = "a".repeat(80);
        assert_eq!(hash(Bcrypt.into(), &long), Err(HashError::TooLongForBcrypt));
        let h = hash(Bcrypt.into(), &"a".repeat(72)).unwrap();
        assert_eq!(verify(Bcrypt.into(), &long, &h), Ok(Verified::Mismatch), "the first 72 bytes alone must not match");
    }

    #[test]
    fn weak_argon2_parameters_are_upgraded() {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let weak = argon2(4096, 1, 1).unwrap().hash_password(b"correct horse battery", &salt).unwrap().to_string();
        assert_eq!(verify(Argon2id.into(), "correct horse battery", &weak), Ok(Verified::Match { rehash: true }));
    }

    #[test]
    fn formats_are_checked_without_a_password() {
        let argon = hash(Argon2id.into(), "correct horse battery").unwrap();
        for good in [argon.as_str(), PYTHON_BCRYPT_12, "pbkdf2:sha256:600000$zYJ0shTiNSLhMFy8$db3f"] {
            assert_eq!(check_format(good), Ok(()), "{good}");
        }
        assert_eq!(
            check_format("$2b$20$.wIQ.XNLoyzccq1veD.w7uFPe7V0cEb.5wi5nQqQM7X8jURFp9dAe"),
            Err(HashError::TooCostly)
        );
        for bad in ["", "hunter2", "$2b$12$short", "$argon2id$v=19$m=19456", "md5$abc$def"] {
            assert_eq!(check_format(bad), Err(HashError::UnknownFormat), "{bad}");
        }
    }

    #[test]
    fn costly_or_unknown_foreign_hashes_are_refused() {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let greedy = PasswordHash::generate(argon2(8, 1, 1).unwrap(), b"x", &salt)
            .unwrap()
            .to_string()
            .replace("m=8", "m=4000000");
        assert_eq!(verify(Argon2id.into(), "x", &greedy), Err(HashError::TooCostly));
        assert_eq!(
            verify(Argon2id.into(), "x", "$2b$31$abcdefghijklmnopqrstuuKg7lV6d/1Tn2D3eaRfBDpJ0eqWwPfKa"),
            Err(HashError::TooCostly)
        );
        assert_eq!(verify(Argon2id.into(), "x", "sha256$salt$abc"), Err(HashError::UnknownFormat));
        assert_eq!(verify(Argon2id.into(), "x", ""), Err(HashError::UnknownFormat));
    }
}
