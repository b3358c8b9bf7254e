//! The ID token of an OpenID Connect login, checked as OpenID Connect Core §3.1.3.7
//! says: the provider's signature (its published keys, fetched again for an unknown
//! `kid`; asymmetric algorithms only), `iss`, `aud`, `azp`, `exp`, `iat` and `nonce`.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::providers::{Endpoints, Provider, Providers};
use super::upstream::UpstreamError;
use crate::crypto::token::token_hash;

/// Clock difference tolerated between latchkey and a provider.
const LEEWAY_SECS: i64 = 60;

/// Algorithms an ID token may be signed with: public-key ones only, so a provider's
/// published key can never be used as a shared secret.
const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// What an ID token that verified says.
#[derive(Debug)]
pub struct IdClaims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    pub amr: Vec<String>,
    pub auth_time: Option<i64>,
}

/// What the token must match.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce_hash: &'a [u8],
    pub now: i64,
    /// When the login began: a token issued before it belongs to another login.
    pub started_at: i64,
}

pub async fn verify(
    providers: &Providers,
    provider: &Provider,
    endpoints: &Endpoints,
    token: &str,
    expected: &Expected<'_>,
) -> Result<IdClaims, UpstreamError> {
    let refuse = |why: &str| UpstreamError::Refused(format!("ID token: {why}"));
    let header = jsonwebtoken::decode_header(token).map_err(|_| refuse("not a signed JWT"))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(refuse(&format!("algorithm {:?} not accepted", header.alg)));
    }
    if !endpoints.signing_algs.is_empty() && !endpoints.signing_algs.iter().any(|a| *a == format!("{:?}", header.alg)) {
        return Err(refuse(&format!("algorithm {:?} not among the provider's", header.alg)));
    }
    let mut keys = providers.keys(provider, endpoints, false).await?;
    let mut candidates = keys_for(&keys.keys, header.kid.as_deref());
    if candidates.is_empty() {
        keys = providers.keys(provider, endpoints, true).await?;
        candidates = keys_for(&keys.keys, header.kid.as_deref());
    }
    if candidates.is_empty() {
        return Err(refuse("signed by a key the provider does not publish"));
    }
    let mut validation = Validation::new(header.alg);
    // Times and audience are checked below, against latchkey's clock.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = candidates
        .iter()
        .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
        .find_map(|key| jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).ok())
        .ok_or_else(|| refuse("the signature does not verify"))?
        .claims;
    check_claims(&claims, expected).map_err(|why| refuse(&why))
}

/// The published keys a token may be signed with: the one its `kid` names, or all.
fn keys_for(keys: &[Jwk], kid: Option<&str>) -> Vec<Jwk> {
    keys.iter().filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid).cloned().collect()
}

fn check_claims(claims: &Map<String, Value>, expected: &Expected<'_>) -> Result<IdClaims, String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    if text("iss") != Some(expected.issuer) {
        return Err(format!("iss {:?} is not {:?}", text("iss"), expected.issuer));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err("aud does not name this client".into());
    }
    match text("azp") {
        Some(azp) if azp != expected.client_id => return Err("azp names another client".into()),
        None if audiences.len() > 1 => return Err("several audiences and no azp".into()),
        _ => {}
    }
    let Some(exp) = number("exp") else { return Err("no exp".into()) };
    if exp + LEEWAY_SECS <= expected.now {
        return Err("expired".into());
    }
    let Some(iat) = number("iat") else { return Err("no iat".into()) };
    if iat > expected.now + LEEWAY_SECS {
        return Err("issued in the future".into());
    }
    if iat + LEEWAY_SECS < expected.started_at {
        return Err("issued before this login began".into());
    }
    let nonce_matches =
        text("nonce").is_some_and(|nonce| bool::from(token_hash(nonce).as_slice().ct_eq(expected.nonce_hash)));
    if !nonce_matches {
        return Err("nonce missing or not this login's".into());
    }
    let subject = text("sub").filter(|s| !s.is_empty() && s.len() <= 255).ok_or("no usable sub")?;
    Ok(IdClaims {
        subject: subject.to_string(),
        email: text("email").map(str::to_string),
        email_verified: says_verified(claims),
        preferred_username: text("preferred_username").map(str::to_string),
        amr: claims
            .get("amr")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        auth_time: number("auth_time"),
    })
}

/// `email_verified` true (some providers send the string `"true"`), and not contradicted
/// by Microsoft Entra's `xms_edov` (whether the domain owner verified the address).
pub fn says_verified(claims: &Map<String, Value>) -> bool {
    let flag = |name: &str| match claims.get(name) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => Some(s == "true"),
        _ => None,
    };
    flag("email_verified") == Some(true) && flag("xms_edov") != Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected(nonce_hash: &[u8]) -> Expected<'_> {
        Expected { issuer: "https://idp.example", client_id: "latchkey", nonce_hash, now: 10_000, started_at: 9_900 }
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base = json!({"iss": "https://idp.example", "aud": "latchkey", "sub": "u1", "exp": 10_300,
            "iat": 9_950, "nonce": "n0nce"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base.as_object().unwrap().clone()
    }

    #[test]
    fn each_claim_rule_refuses_on_its_own() {
        let nonce = token_hash("n0nce");
        assert!(check_claims(&claims(json!({})), &expected(&nonce)).is_ok());
        let refused = [
            json!({"iss": "https://evil.example"}),
            json!({"aud": "other"}),
            json!({"aud": ["latchkey", "other"]}),
            json!({"aud": ["latchkey", "other"], "azp": "other"}),
            json!({"azp": "other"}),
            json!({"exp": 9_900}),
            json!({"exp": null}),
            json!({"iat": 10_500}),
            json!({"iat": 9_000}),
            json!({"nonce": "other"}),
            json!({"nonce": null}),
            json!({"sub": ""}),
        ];
        for extra in refused {
            assert!(check_claims(&claims(extra.clone()), &expected(&nonce)).is_err(), "{extra} accepted");
        }
        assert!(
            check_claims(&claims(json!({"aud": ["latchkey", "other"], "azp": "latchkey"})), &expected(&nonce)).is_ok()
        );
    }

    #[test]
    fn verified_means_true_and_not_contradicted() {
        let c = |v: Value| v.as_object().unwrap().clone();
        assert!(says_verified(&c(json!({"email_verified": true}))));
        assert!(says_verified(&c(json!({"email_verified": "true"}))));
        assert!(!says_verified(&c(json!({"email_verified": "false"}))));
        assert!(!says_verified(&c(json!({}))));
        assert!(!says_verified(&c(json!({"email_verified": true, "xms_edov": false}))));
    }
}
