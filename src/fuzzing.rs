//! What an attacker reaches without an account, one function per fuzz target in `fuzz/`:
//! each takes arbitrary bytes, drives the same code a request would, and asserts the
//! properties that must hold for any input. The proptest twins at the bottom run the same
//! functions in the normal test suite. Not an API: hidden from the docs, and nothing
//! outside `fuzz/` and the tests calls it.

#![allow(clippy::panic)] // a broken property must stop the fuzzer with the input that broke it

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue};

use crate::config::Config;
use crate::crypto::jwt::{Claims, Ed25519Key, KeySet, VerifyError};
use crate::crypto::password::{self, HashError, Verified};
use crate::crypto::token::looks_like_token;
use crate::domain::{Email, Password, Username, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::error::AppError;
use crate::http::auth::{LoginRequest, SignupRequest};
use crate::http::cookies::SessionCookie;
use crate::http::extract::{bearer_token, json_object};
use crate::http::tokens::{RefreshRequest, RevokeRequest, TokenRequest};
use crate::service::accounts::{self, NewAccount};

const ISSUER: &str = "http://127.0.0.1:8080";
const AUDIENCE: &str = "latchkey";
/// The clock the fuzzed tokens are verified at: inside the valid token's lifetime.
const NOW: i64 = 1_800_000_000;

/// A fixed Ed25519 key (a test key: its seed is in this file), as the server holds one.
fn keys() -> &'static (KeySet, String) {
    static KEYS: OnceLock<(KeySet, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let seed = [7u8; 32];
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let key = Ed25519Key { kid: "fuzz", seed: &seed, public: &public };
        let Some(keys) = KeySet::ed25519(&[key], ISSUER, AUDIENCE) else { unreachable!("one key was given") };
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "17".into(),
            username: "ada".into(),
            roles: vec!["user".into()],
            iat: 0,
            nbf: 0,
            // Far in the future: the property is about the bytes, not the clock.
            exp: 32_503_680_000,
            jti: "fuzz".into(),
            amr: vec!["pwd".into()],
            auth_time: 0,
            sid: None,
        };
        let Ok(token) = keys.sign(&claims) else { unreachable!("signing with a valid key") };
        (keys, token)
    })
}

/// The `Authorization` header and JWT verification. Properties: the token taken from
/// the header is part of it; verification never panics and accepts only our own token;
/// changing any one byte of a valid token makes it invalid.
pub fn authorization(data: &[u8]) {
    let (keys, valid) = keys();
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(data) {
        headers.insert(header::AUTHORIZATION, value);
    }
    if let Some(token) = bearer_token(&headers) {
        let raw = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()).unwrap_or_default();
        assert!(raw.windows(token.len().max(1)).any(|w| w == token.as_bytes()) || token.is_empty());
        assert!(!token.starts_with(' '), "{token:?}");
        if let Ok(claims) = keys.verify(token, NOW) {
            assert_eq!(token, valid, "only the token we signed verifies");
            assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISSUER, AUDIENCE));
        }
    }
    // The same bytes as a tampering: one byte of the valid token replaced.
    if let [position, replacement, ..] = *data {
        let mut tampered = valid.clone().into_bytes();
        let at = usize::from(position) * tampered.len() / 256;
        if tampered[at] != replacement {
            tampered[at] = replacement;
            if let Ok(tampered) = String::from_utf8(tampered) {
                assert!(keys.verify(&tampered, NOW).is_err(), "a tampered token verified: {tampered}");
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        match keys.verify(text, NOW) {
            Ok(_) => assert_eq!(text, valid),
            Err(VerifyError::Expired | VerifyError::UnknownKid | VerifyError::Invalid) => {}
        }
    }
}

/// The `Cookie` header. Properties: the session token read is non-empty, holds no `;`,
/// and is part of the header; a token that does not look like one of ours is never
/// worth a lookup.
pub fn cookie(data: &[u8]) {
    static COOKIE: OnceLock<SessionCookie> = OnceLock::new();
    let cookie = COOKIE.get_or_init(|| SessionCookie::new(&Config::default()));
    let mut headers = HeaderMap::new();
    // Several Cookie headers, as HTTP/2 clients send them: split at newlines.
    for line in data.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(header::COOKIE, value);
        }
    }
    if let Some(token) = cookie.read(&headers) {
        assert!(!token.is_empty() && !token.contains(';'), "{token:?}");
        assert!(headers.get_all(header::COOKIE).iter().any(|v| v.to_str().is_ok_and(|v| v.contains(token))));
        if looks_like_token(token) {
            assert_eq!(token.len(), 43);
        }
    }
}

/// The JSON bodies of signup, login, token, refresh and revoke: the first byte picks the
/// body, the rest is the body. Properties: anything but a JSON object is a 400; a parsed
/// signup passes validation only with a valid username, password and email.
pub fn json_bodies(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else { return };
    let is_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let outcome: Result<(), AppError> = match which % 5 {
        0 => json_object::<SignupRequest>(body).and_then(|req| signup_rules(&req)),
        1 => json_object::<LoginRequest>(body).map(drop),
        2 => json_object::<TokenRequest>(body).map(drop),
        3 => json_object::<RefreshRequest>(body).map(|req| {
            // Only a token of our shape is looked up: nothing else reaches the database.
            if let Some(token) = req.refresh_token.as_deref().filter(|t| looks_like_token(t)) {
                assert!(token.is_ascii() && token.len() == 43);
            }
        }),
        _ => json_object::<RevokeRequest>(body).map(drop),
    };
    match outcome {
        Ok(()) => assert!(is_object, "a body that is not an object was accepted"),
        Err(AppError::BadRequest(message)) => {
            assert!(!message.contains("struct") && !message.contains("Request"), "{message}");
        }
        Err(AppError::Validation(fields)) => assert!(!fields.is_empty() && which % 5 == 0),
        Err(other) => panic!("unexpected refusal of a body: {other:?}"),
    }
}

fn signup_rules(req: &SignupRequest) -> Result<(), AppError> {
    let account = NewAccount {
        username: req.username.as_deref(),
        password: req.password.as_deref(),
        password_confirmation: req.password_confirmation.as_deref(),
        email: req.email.as_deref(),
    };
    for bcrypt in [false, true] {
        accounts::validate(&account, bcrypt)?;
    }
    // Accepted: each field follows API.md's rules, checked here independently.
    let username = req.username.as_deref().unwrap_or_default();
    assert!((3..=32).contains(&username.len()) && Username::parse(username).is_ok());
    let password = req.password.as_deref().unwrap_or_default();
    let chars = password.chars().count();
    assert!((PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) && password.len() <= 72);
    assert!(Password::parse(password).is_ok() && !password.contains('\0'));
    if let Some(confirmation) = &req.password_confirmation {
        assert_eq!(confirmation, password);
    }
    if let Some(email) = req.email.as_deref().filter(|e| !e.is_empty()) {
        assert!(Email::parse(email).is_ok() && email.matches('@').count() == 1);
    }
    Ok(())
}

/// Avatar type sniffing. Properties: an accepted avatar is PNG, JPEG or GIF, declared as
/// such, and its bytes start with that type's magic; anything else is a 415.
pub fn avatar(data: &[u8]) {
    let (declared, bytes) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (std::str::from_utf8(&data[..at]).ok(), &data[at + 1..]),
        None => (None, data),
    };
    match crate::service::avatars::checked_type(declared, bytes) {
        Ok(kind) => {
            let essence = declared.unwrap_or_default().split(';').next().unwrap_or_default().trim();
            assert!(essence.eq_ignore_ascii_case(kind), "{declared:?} accepted as {kind}");
            let magic: &[&[u8]] = match kind {
                "image/png" => &[b"\x89PNG\r\n\x1a\n"],
                "image/jpeg" => &[b"\xff\xd8\xff"],
                "image/gif" => &[b"GIF87a", b"GIF89a"],
                other => panic!("accepted an avatar of type {other}"),
            };
            assert!(magic.iter().any(|m| bytes.starts_with(m)));
        }
        Err(AppError::UnsupportedMediaType(_)) => {}
        Err(other) => panic!("unexpected refusal of an avatar: {other:?}"),
    }
}

/// The foreign hash parsers (bcrypt, argon2 PHC, Werkzeug pbkdf2 and scrypt), as
/// `latchkey user import` checks a hash and a later login verifies it. Properties: no
/// panic; a hash the import accepts is one a login can verify (a match or a mismatch,
/// never "unknown format"); the first line is the hash, the rest the password tried.
pub fn foreign_hash(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (stored, attempt) = text.split_once('\n').unwrap_or((text, "correct horse battery"));
    let accepted = password::check_format(stored);
    // Verifying costs what the hash says; the fuzzer keeps to cheap ones, as the caps
    // keep a login to affordable ones.
    if accepted.is_ok() && cheap(stored) {
        for algorithm in [crate::config::PasswordAlgorithm::Argon2id, crate::config::PasswordAlgorithm::Bcrypt] {
            match password::verify(algorithm.into(), attempt, stored) {
                Ok(Verified::Match { .. } | Verified::Mismatch) => {}
                Err(e) => panic!("import accepts {stored:?} but login cannot verify it: {e:?}"),
            }
        }
    }
    if let Err(e) = accepted {
        assert!(matches!(e, HashError::UnknownFormat | HashError::TooCostly), "{e:?}");
    }
}

/// Whether verifying `stored` is cheap enough for a fuzzer's inner loop.
fn cheap(stored: &str) -> bool {
    let numbers = |s: &str| -> Vec<u64> {
        s.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect::<Vec<u64>>()
    };
    if stored.starts_with("$2") {
        return stored.get(4..).map(numbers).and_then(|n| n.first().copied()).is_some_and(|cost| cost <= 5);
    }
    if let Some(method) = stored.split('$').next().filter(|m| m.starts_with("pbkdf2:") || m.starts_with("scrypt:")) {
        return numbers(method).iter().product::<u64>() <= 4096;
    }
    let params = stored.split('$').find(|part| part.contains("m=")).map(numbers).unwrap_or_default();
    params.iter().product::<u64>() <= 4096
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Valid-looking inputs next to raw bytes, so the properties see both refusals and
    /// acceptances.
    fn tokens() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<Vec<u8>>(),
            "(?i:bearer)[: ]{0,2}[A-Za-z0-9_.=-]{0,200}".prop_map(String::into_bytes),
            (any::<u8>(), any::<u8>()).prop_map(|(a, b)| vec![a, b]),
            Just(format!("Bearer {}", keys().1).into_bytes()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn authorization_headers(data in tokens()) {
            authorization(&data);
        }

        #[test]
        fn cookie_headers(data in prop_oneof![
            any::<Vec<u8>>(),
            "([a-z_]{1,16}=\"?[A-Za-z0-9_-]{0,50}\"?; ?){0,4}(\n|latchkey_session=[A-Za-z0-9_-]{0,50})".prop_map(String::into_bytes),
        ]) {
            cookie(&data);
        }

        #[test]
        fn json_request_bodies(which in any::<u8>(), body in prop_oneof![
            any::<Vec<u8>>().prop_map(|b| b),
            json_like().prop_map(String::into_bytes),
        ]) {
            let mut data = vec![which];
            data.extend(body);
            json_bodies(&data);
        }

        #[test]
        fn avatar_sniffing(declared in "(?i:image/(png|jpeg|gif|svg\\+xml|webp))(; ?[a-z]+=[a-z0-9]+)?", magic in prop_oneof![
            Just(&b"\x89PNG\r\n\x1a\n"[..]), Just(&b"\xff\xd8\xff"[..]), Just(&b"GIF87a"[..]), Just(&b"GIF89a"[..]), Just(&b""[..]),
        ], rest in any::<Vec<u8>>()) {
            let mut data = declared.into_bytes();
            data.push(b'\n');
            data.extend_from_slice(magic);
            data.extend(rest);
            avatar(&data);
        }

        #[test]
        fn avatar_bytes(data in any::<Vec<u8>>()) {
            avatar(&data);
        }

        #[test]
        fn foreign_hashes(stored in prop_oneof![
            "\\$2[abxy]\\$[0-9$]{1,4}\\$[./A-Za-z0-9]{20,56}",
            "\\$argon2(id|i|d)\\$v=(19|16)\\$m=[0-9]{1,3},t=[0-9],p=[0-9]\\$[A-Za-z0-9+/]{0,24}\\$[A-Za-z0-9+/]{0,48}",
            "pbkdf2:sha(256|512|1):[0-9]{1,3}\\$[a-zA-Z0-9]{0,16}\\$[0-9a-f]{0,70}",
            "scrypt:[0-9]{1,3}:[0-9]:[0-9]\\$[a-zA-Z0-9]{0,16}\\$[0-9a-f]{0,130}",
            ".{0,80}",
        ], attempt in ".{0,20}") {
            foreign_hash(format!("{stored}\n{attempt}").as_bytes());
        }
    }

    /// JSON objects with the fields our bodies have, values of every kind.
    fn json_like() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("username"),
            Just("password"),
            Just("password_confirmation"),
            Just("email"),
            Just("refresh_token"),
            Just("x"),
        ];
        let value = prop_oneof![
            Just("null".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            ".{0,40}".prop_map(|s| serde_json::Value::String(s).to_string()),
            "[a-zA-Z0-9_.@-]{0,40}".prop_map(|s| format!("\"{s}\"")),
            Just("[]".to_string()),
            Just("{}".to_string()),
        ];
        let object = prop::collection::vec((key, value), 0..5).prop_map(|fields| {
            let fields: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            format!("{{{}}}", fields.join(", "))
        });
        prop_oneof![object.clone(), object.prop_map(|o| format!("[{o}]")), Just("[]".to_string())]
    }

    #[test]
    fn the_valid_token_verifies() {
        let (keys, valid) = keys();
        assert!(keys.verify(valid, NOW).is_ok());
        authorization(format!("Bearer {valid}").as_bytes());
    }
}
