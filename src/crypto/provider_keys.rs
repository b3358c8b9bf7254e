//! The keys latchkey signs with as an OpenID Provider: ID tokens and the access tokens
//! it gives other apps. RS256 (which OpenID Connect requires every provider to offer)
//! by default, EdDSA for the clients that ask for it. The newest current key of each
//! algorithm signs; every key still known verifies and is published in the JWKS.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::jwt::{check_times, VerifyError, LEEWAY_SECS};

/// The two algorithms, as stored in `jwt_keys.alg` and named in JWS headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum SigningAlg {
    RS256,
    EdDSA,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(value: &str) -> Option<SigningAlg> {
        match value {
            "RS256" => Some(SigningAlg::RS256),
            "EdDSA" => Some(SigningAlg::EdDSA),
            _ => None,
        }
    }

    fn jws(self) -> Algorithm {
        match self {
            SigningAlg::RS256 => Algorithm::RS256,
            SigningAlg::EdDSA => Algorithm::EdDSA,
        }
    }
}

/// A new RSA key: PKCS#1 DER of both halves.
pub struct NewRsa {
    pub kid: String,
    pub private_der: Vec<u8>,
    pub public_der: Vec<u8>,
}

/// A 2048-bit RSA key. Slow (up to seconds): run it off the async threads.
pub fn generate_rsa() -> anyhow::Result<NewRsa> {
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
    let public_der = private.to_public_key().to_pkcs1_der()?.as_bytes().to_vec();
    let private_der = private.to_pkcs1_der()?.as_bytes().to_vec();
    let kid = format!("rs-{}", URL_SAFE_NO_PAD.encode(&Sha256::digest(&public_der)[..12]));
    Ok(NewRsa { kid, private_der, public_der })
}

/// One stored key, private half opened.
pub struct StoredKey<'a> {
    pub kid: &'a str,
    pub alg: SigningAlg,
    pub private: &'a [u8],
    pub public: &'a [u8],
    pub current: bool,
}

struct Verifier {
    alg: SigningAlg,
    key: DecodingKey,
    jwk: Value,
}

pub struct ProviderKeys {
    signing: HashMap<SigningAlg, (String, EncodingKey)>,
    verifying: HashMap<String, Verifier>,
}

impl ProviderKeys {
    /// `keys` newest first: the first current key of each algorithm signs.
    pub fn new(keys: &[StoredKey<'_>]) -> anyhow::Result<ProviderKeys> {
        let mut signing = HashMap::new();
        let mut verifying = HashMap::new();
        for k in keys {
            let (encoding, verifier) = match k.alg {
                SigningAlg::RS256 => rsa_pair(k)?,
                SigningAlg::EdDSA => ed_pair(k)?,
            };
            if k.current && !signing.contains_key(&k.alg) {
                signing.insert(k.alg, (k.kid.to_string(), encoding));
            }
            verifying.insert(k.kid.to_string(), verifier);
        }
        Ok(ProviderKeys { signing, verifying })
    }

    pub fn can_sign(&self, alg: SigningAlg) -> bool {
        self.signing.contains_key(&alg)
    }

    /// A JWS of `claims` with the current key of `alg`; `typ` in the header when given
    /// (`at+jwt` for access tokens, RFC 9068).
    pub fn sign<T: Serialize>(&self, alg: SigningAlg, typ: Option<&str>, claims: &T) -> anyhow::Result<String> {
        let (kid, key) = self.signing.get(&alg).ok_or_else(|| anyhow::anyhow!("no current {} key", alg.as_str()))?;
        let mut header = Header::new(alg.jws());
        header.kid = Some(kid.clone());
        if let Some(typ) = typ {
            header.typ = Some(typ.to_string());
        }
        Ok(jsonwebtoken::encode(&header, claims, key)?)
    }

    /// A token this provider signed: known `kid`, that key's algorithm, the `typ` asked
    /// for, `iss`, and `exp` against `now` (not at all without one: an `id_token_hint`
    /// may have expired). The audience is the caller's to check.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
        now: Option<i64>,
    ) -> Result<T, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid)?;
        let kid = header.kid.ok_or(VerifyError::Invalid)?;
        let verifier = self.verifying.get(&kid).ok_or(VerifyError::UnknownKid)?;
        if header.alg != verifier.alg.jws() || !header.typ.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(typ)) {
            return Err(VerifyError::Invalid);
        }
        let mut validation = Validation::new(verifier.alg.jws());
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let data =
            jsonwebtoken::decode::<Value>(token, &verifier.key, &validation).map_err(|_| VerifyError::Invalid)?;
        let exp = data.claims["exp"].as_i64().ok_or(VerifyError::Invalid)?;
        if let Some(now) = now {
            check_times(now, i64::MIN, exp)?;
        }
        serde_json::from_value(data.claims).map_err(|_| VerifyError::Invalid)
    }

    /// The public keys, as JWKs.
    pub fn jwks(&self) -> Vec<Value> {
        let mut keys: Vec<(&String, &Verifier)> = self.verifying.iter().collect();
        keys.sort_by_key(|(kid, _)| *kid);
        keys.into_iter().map(|(_, v)| v.jwk.clone()).collect()
    }
}

fn rsa_pair(k: &StoredKey<'_>) -> anyhow::Result<(EncodingKey, Verifier)> {
    let private = RsaPrivateKey::from_pkcs1_der(k.private)?;
    let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
    let key = DecodingKey::from_rsa_components(&n, &e)?;
    let jwk = json!({"kty": "RSA", "n": n, "e": e, "kid": k.kid, "alg": "RS256", "use": "sig"});
    Ok((EncodingKey::from_rsa_der(k.private), Verifier { alg: SigningAlg::RS256, key, jwk }))
}

fn ed_pair(k: &StoredKey<'_>) -> anyhow::Result<(EncodingKey, Verifier)> {
    let x = URL_SAFE_NO_PAD.encode(k.public);
    let key = DecodingKey::from_ed_components(&x)?;
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": k.kid, "alg": "EdDSA", "use": "sig"});
    Ok((EncodingKey::from_ed_der(&super::jwt::ed25519_pkcs8(k.private)), Verifier { alg: SigningAlg::EdDSA, key, jwk }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_keys_sign_and_verify_and_publish_only_their_public_half() {
        let rsa = generate_rsa().unwrap();
        let ed = super::super::jwt::generate_ed25519().unwrap();
        let keys = ProviderKeys::new(&[
            StoredKey {
                kid: &rsa.kid,
                alg: SigningAlg::RS256,
                private: &rsa.private_der,
                public: &rsa.public_der,
                current: true,
            },
            StoredKey { kid: &ed.kid, alg: SigningAlg::EdDSA, private: &ed.seed, public: &ed.public, current: true },
        ])
        .unwrap();
        let now = 1_800_000_000;
        let claims = json!({"iss": "https://id.example", "sub": "7", "iat": now, "exp": now + 60});
        for alg in [SigningAlg::RS256, SigningAlg::EdDSA] {
            let token = keys.sign(alg, Some("at+jwt"), &claims).unwrap();
            let back: Value = keys.verify(&token, "at+jwt", "https://id.example", Some(now)).unwrap();
            assert_eq!(back["sub"], "7");
            let verify = |typ: &str, iss: &str, at: Option<i64>| keys.verify::<Value>(&token, typ, iss, at);
            assert_eq!(verify("JWT", "https://id.example", Some(now)).unwrap_err(), VerifyError::Invalid);
            assert_eq!(verify("at+jwt", "https://other", Some(now)).unwrap_err(), VerifyError::Invalid);
            assert_eq!(verify("at+jwt", "https://id.example", Some(now + 200)).unwrap_err(), VerifyError::Expired);
            assert!(verify("at+jwt", "https://id.example", None).is_ok(), "a hint may have expired");
        }
        let jwks = keys.jwks();
        assert_eq!(jwks.len(), 2);
        for jwk in jwks {
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(jwk.get(private).is_none(), "{private} published");
            }
        }
    }
}
