//! How another service verifies latchkey's access tokens offline: fetch the JWKS once
//! (and again when a token names a `kid` it does not know), then check each token
//! locally: signature by `kid`, algorithm pinned to EdDSA, issuer, audience, expiry.
//!
//!     cargo run --example verify_token -- http://127.0.0.1:8080 "$ACCESS_TOKEN"

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    username: String,
    roles: Vec<String>,
    exp: i64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(issuer), Some(token)) = (args.next(), args.next()) else {
        return Err("usage: verify_token ISSUER_URL ACCESS_TOKEN".into());
    };
    let jwks: JwkSet = reqwest::get(format!("{issuer}/.well-known/jwks.json")).await?.json().await?;

    let kid = decode_header(&token)?.kid.ok_or("the token has no kid")?;
    let jwk = jwks.find(&kid).ok_or("no such key in the JWKS (refetch it once, then give up)")?;
    let key = DecodingKey::from_jwk(jwk)?;

    let mut validation = Validation::new(Algorithm::EdDSA); // never take the algorithm from the token
    validation.set_issuer(&[&issuer]);
    validation.set_audience(&["latchkey"]);
    validation.leeway = 30;
    let claims = decode::<Claims>(&token, &key, &validation)?.claims;
    println!("valid: user {} ({}), roles {:?}, expires at {}", claims.username, claims.sub, claims.roles, claims.exp);
    Ok(())
}
