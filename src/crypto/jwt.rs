//! JWT signing and verification keys: Ed25519 (`EdDSA`, the default) or a shared HS256
//! secret. Verification pins the configured algorithm and accepts only our own keys,
//! chosen by `kid`; `iss`, `aud`, `exp` and `nbf` are checked with 30 s of leeway.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::rngs::OsRng;
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const LEEWAY_SECS: u64 = 30;

/// PKCS#8 v1 wrapping of a 32-byte Ed25519 seed (RFC 8410): this prefix, then the seed.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// An Ed25519 seed as the PKCS#8 document signing keys are made from.
pub fn ed25519_pkcs8(seed: &[u8]) -> Vec<u8> {
    let mut der = ED25519_PKCS8_PREFIX.to_vec();
    der.extend_from_slice(seed);
    der
}

/// The claims latchkey puts in every access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub username: String,
    pub roles: Vec<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// How the login behind this token authenticated (RFC 8176 values: `pwd`, `otp`,
    /// `webauthn`). Empty in tokens signed before second factors existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// When that login (or a later re-authentication) happened; 0 when unknown.
    #[serde(default)]
    pub auth_time: i64,
    /// The token login (refresh-token family) this token was issued for; absent in
    /// tokens issued otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// A freshly generated Ed25519 key pair.
pub struct NewEd25519 {
    pub kid: String,
    pub seed: [u8; 32],
    pub public: [u8; 32],
}

pub fn generate_ed25519() -> Result<NewEd25519, rand::rand_core::OsError> {
    let mut seed = [0u8; 32];
    OsRng.try_fill_bytes(&mut seed)?;
    let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(public)[..12]);
    Ok(NewEd25519 { kid, seed, public })
}

#[derive(Debug, PartialEq, Eq)]
pub enum VerifyError {
    Expired,
    /// The `kid` names no key we know; a reload may find it.
    UnknownKid,
    Invalid,
}

struct VerifyKey {
    key: DecodingKey,
    /// For the JWKS; `None` for HS256.
    jwk: Option<Value>,
}

/// The keys in force: one signs, all of them verify.
pub struct KeySet {
    algorithm: Algorithm,
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, VerifyKey>,
    validation: Validation,
}

/// One stored Ed25519 key.
pub struct Ed25519Key<'a> {
    pub kid: &'a str,
    pub seed: &'a [u8],
    pub public: &'a [u8],
}

impl KeySet {
    /// Ed25519 keys, the first of which signs.
    pub fn ed25519(keys: &[Ed25519Key<'_>], issuer: &str, audience: &str) -> Option<KeySet> {
        let first = keys.first()?;
        let signing = EncodingKey::from_ed_der(&ed25519_pkcs8(first.seed));
        let mut verifying = HashMap::new();
        for k in keys {
            let x = URL_SAFE_NO_PAD.encode(k.public);
            let Ok(key) = DecodingKey::from_ed_components(&x) else { continue };
            let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": k.kid, "alg": "EdDSA", "use": "sig"});
            verifying.insert(k.kid.to_string(), VerifyKey { key, jwk: Some(jwk) });
        }
        Some(KeySet {
            algorithm: Algorithm::EdDSA,
            signing_kid: first.kid.to_string(),
            signing,
            verifying,
            validation: validation(Algorithm::EdDSA, issuer, audience),
        })
    }

    /// One shared secret; its `kid` is derived from it, so it names the secret without
    /// revealing it.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> KeySet {
        let kid = format!("hs256-{}", URL_SAFE_NO_PAD.encode(&Sha256::digest(Sha256::digest(secret))[..9]));
        let verifying = HashMap::from([(kid.clone(), VerifyKey { key: DecodingKey::from_secret(secret), jwk: None })]);
        KeySet {
            algorithm: Algorithm::HS256,
            signing_kid: kid,
            signing: EncodingKey::from_secret(secret),
            verifying,
            validation: validation(Algorithm::HS256, issuer, audience),
        }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing)
    }

    /// Verifies the signature, algorithm, `kid`, `iss` and `aud`, and `exp`/`nbf` against
    /// `now` (the application's clock, in Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid)?;
        if header.alg != self.algorithm {
            return Err(VerifyError::Invalid);
        }
        let kid = header.kid.ok_or(VerifyError::Invalid)?;
        let key = self.verifying.get(&kid).ok_or(VerifyError::UnknownKid)?;
        let claims =
            jsonwebtoken::decode::<Claims>(token, &key.key, &self.validation).map_err(|_| VerifyError::Invalid)?.claims;
        check_times(now, claims.nbf, claims.exp)?;
        Ok(claims)
    }

    /// `{"keys": [...]}`: the public keys, newest first. Empty for HS256, whose key is secret.
    pub fn jwks(&self) -> Value {
        let mut keys: Vec<&Value> = self.verifying.values().filter_map(|k| k.jwk.as_ref()).collect();
        keys.sort_by_key(|jwk| jwk["kid"] != self.signing_kid.as_str());
        json!({ "keys": keys })
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }
}

/// `exp` and `nbf` against `now`, with [`LEEWAY_SECS`]: the one check of a token's times,
/// for a token just verified and for one remembered from before.
pub fn check_times(now: i64, nbf: i64, exp: i64) -> Result<(), VerifyError> {
    let leeway = LEEWAY_SECS as i64;
    if now > exp.saturating_add(leeway) {
        return Err(VerifyError::Expired);
    }
    if now.saturating_add(leeway) < nbf {
        return Err(VerifyError::Invalid);
    }
    Ok(())
}

fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(algorithm);
    // Times are checked by `check_times` against the application's clock, not the
    // system's, so that every path (and every test moving the clock) agrees.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> Claims {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Claims {
            iss: "http://issuer".into(),
            aud: "latchkey".into(),
            sub: "1".into(),
            username: "ada".into(),
            roles: vec!["user".into()],
            iat: now,
            nbf: now,
            exp: now + exp_in,
            jti: "j".into(),
            amr: vec!["pwd".into()],
            auth_time: now,
            sid: None,
        }
    }

    fn ed_set() -> (KeySet, NewEd25519) {
        let k = generate_ed25519().unwrap();
        let set = KeySet::ed25519(
            &[Ed25519Key { kid: &k.kid, seed: &k.seed, public: &k.public }],
            "http://issuer",
            "latchkey",
        )
        .unwrap();
        (set, k)
    }

    #[test]
    fn ed25519_tokens_round_trip_and_carry_the_kid() {
        let (set, k) = ed_set();
        let token = set.sign(&claims(900)).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(), Some(k.kid.as_str()));
        assert_eq!(set.verify(&token, time::OffsetDateTime::now_utc().unix_timestamp()).unwrap().username, "ada");
        assert_eq!(set.jwks()["keys"][0]["x"], URL_SAFE_NO_PAD.encode(k.public));
    }

    #[test]
    fn expiry_has_thirty_seconds_of_leeway() {
        let (set, _) = ed_set();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!(set.verify(&set.sign(&claims(-20)).unwrap(), now).is_ok());
        assert_eq!(set.verify(&set.sign(&claims(-40)).unwrap(), now).unwrap_err(), VerifyError::Expired);
    }

    #[test]
    fn times_follow_the_clock_given_not_the_systems() {
        let (set, _) = ed_set();
        let token = set.sign(&claims(900)).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(set.verify(&token, now + 900 + 31).unwrap_err(), VerifyError::Expired);
        assert_eq!(set.verify(&token, now - 31).unwrap_err(), VerifyError::Invalid, "not yet valid");
        assert!(set.verify(&token, now + 900 + 29).is_ok());
    }

    #[test]
    fn another_keys_signature_and_other_algorithms_are_refused() {
        let (set, _) = ed_set();
        let (other, _) = ed_set();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(set.verify(&other.sign(&claims(900)).unwrap(), now).unwrap_err(), VerifyError::UnknownKid);
        let hs = KeySet::hs256(&[7u8; 32], "http://issuer", "latchkey");
        assert_eq!(set.verify(&hs.sign(&claims(900)).unwrap(), now).unwrap_err(), VerifyError::Invalid);
        assert_eq!(hs.jwks()["keys"], json!([]));
        assert!(hs.verify(&hs.sign(&claims(900)).unwrap(), now).is_ok());
        assert_eq!(set.verify("not.a.jwt", now).unwrap_err(), VerifyError::Invalid);
    }
}
