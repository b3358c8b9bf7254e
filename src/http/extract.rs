//! Extractors: JSON with our error bodies, the calling client, and the caller's identity.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::AppState;
use crate::config::{canonical, IpNet};
use crate::domain::User;
use crate::error::AppError;
use crate::service::sessions::Current;
use crate::service::stepup::Proof;
use crate::service::{sessions, Client};

/// `axum::Json` whose rejections are API.md's: 415 without a JSON content type, 413 over
/// the body limit, 400 for malformed JSON, wrong field types, or a body that is not an
/// object (serde would otherwise read a struct from an array of its fields in order).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json_content_type(req.headers()) {
            return Err(AppError::UnsupportedMediaType("Send the body as JSON with Content-Type: application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge { limit: "1 MiB" },
            _ => AppError::BadRequest("The request body could not be read".into()),
        })?;
        json_object(&bytes).map(Json)
    }
}

/// The JSON body as `T`, refused unless it is a JSON object.
pub fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => return Err(AppError::BadRequest("The body is not valid JSON".into())),
        Some(_) => {
            return Err(AppError::BadRequest("The JSON body must be an object with the documented fields".into()))
        }
    }
    match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(value)) => Ok(value),
        Err(JsonRejection::JsonDataError(e)) => Err(AppError::BadRequest(data_error_message(&e.body_text()))),
        Err(_) => Err(AppError::BadRequest("The body is not valid JSON".into())),
    }
}

/// `application/json`, or any `application/*+json`, parameters allowed.
fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.strip_prefix("application/") {
        Some(subtype) => subtype == "json" || (subtype.ends_with("+json") && !subtype.contains('/')),
        None => false,
    }
}

/// serde's own words name the field and the type it wanted, which helps the caller, but
/// "expected struct SignupRequest" would name our internals: those become "an object".
fn data_error_message(body_text: &str) -> String {
    let detail = body_text.rsplit(": ").next().unwrap_or("wrong field types");
    if detail.contains("struct ") || detail.contains("enum ") {
        "The JSON body must be an object with the documented fields".into()
    } else {
        format!("The JSON body does not fit: {detail}")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client
where
    AppState: axum::extract::FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let state = AppState::from_ref(state);
        Ok(client_of(parts, &state.trusted_proxies))
    }
}

use axum::extract::FromRef;

/// The client's address (API.md "Throttling": the socket peer, or the last untrusted hop
/// of `X-Forwarded-For` when the peer is a trusted proxy) and its user agent.
pub fn client_of(parts: &Parts, trusted: &[IpNet]) -> Client {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| canonical(ci.0.ip()))
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| crate::service::truncate(ua, 512).to_string());
    Client { ip: forwarded_client(peer, &parts.headers, trusted), user_agent }
}

/// Whether the client's request travelled over https: TLS to us, or a trusted proxy
/// says so in `X-Forwarded-Proto` (its last value: the proxy nearest us appends).
pub fn reached_over_https<B>(req: &axum::http::Request<B>, trusted: &[IpNet]) -> bool {
    if req.extensions().get::<crate::server::Transport>().is_some_and(|t| t.tls) {
        return true;
    }
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ci| canonical(ci.0.ip()));
    if !peer.is_some_and(|p| trusted.iter().any(|net| net.contains(p))) {
        return false;
    }
    let last = req
        .headers()
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last();
    last.is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    // Right to left: each trusted hop vouches for the one before it.
    let hops: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(canonical(ip)) => client = canonical(ip),
            Ok(ip) => return canonical(ip),
            Err(_) => return client,
        }
    }
    client
}

/// The authenticated caller: a valid session cookie or `Authorization: Bearer` token.
/// `session_id` is set when the credential was the session cookie.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: Arc<User>,
    pub session_id: Option<i64>,
    /// How the credential was obtained, for step-up checks.
    pub proof: Proof,
}

/// What a request presents as its credential. A Bearer token wins over the cookie.
pub enum Credential<'a> {
    Bearer(&'a str),
    Cookie(&'a str),
    None,
}

pub fn credential<'a>(headers: &'a HeaderMap, state: &AppState) -> Credential<'a> {
    if let Some(token) = bearer_token(headers) {
        return Credential::Bearer(token);
    }
    match state.cookie.read(headers) {
        Some(token) => Credential::Cookie(token),
        None => Credential::None,
    }
}

/// `Bearer <token>`, scheme case-insensitive; `Bearer: <token>` (colon, optional space)
/// as one seed tutorial's client sends it, too.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let scheme = value.get(..6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let rest = &value[6..];
    let token = match rest.strip_prefix(':') {
        Some(after_colon) => after_colon.trim_start(),
        None if rest.is_empty() || rest.starts_with(' ') => rest.trim_start(),
        None => return None,
    };
    Some(token)
}

impl CurrentUser {
    /// The cookie session or token login this request was made with.
    pub fn current(&self) -> Current {
        match &self.proof {
            Proof::Session(id) => Current { session: Some(*id), token_login: None },
            Proof::Token { family, .. } => Current { session: None, token_login: *family },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let state = AppState::from_ref(state);
        match credential(&parts.headers, &state) {
            Credential::Bearer(token) => {
                let (user, verified) = crate::service::tokens::authenticate(&state.ctx, token).await?;
                let proof =
                    Proof::Token { auth_time: verified.auth_time, amr: verified.amr.clone(), family: verified.family };
                Ok(CurrentUser { user, session_id: None, proof })
            }
            Credential::Cookie(token) => match sessions::authenticate(&state.ctx, token).await? {
                Some(s) => Ok(CurrentUser {
                    user: s.user,
                    session_id: Some(s.session_id),
                    proof: Proof::Session(s.session_id),
                }),
                None => Err(AppError::Unauthorized),
            },
            Credential::None => Err(AppError::Unauthorized),
        }
    }
}

/// For routes open to everyone that answer differently to a logged-in caller: a missing
/// or dead credential is "anonymous", but a failing database is still an error.
impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, AppError> {
        match <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(user) => Ok(Some(user)),
            Err(AppError::Unauthorized | AppError::InvalidToken | AppError::TokenExpired) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// The caller, who must hold the `admin` role: 401 when anonymous, 403 without it.
pub struct AdminUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for AdminUser
where
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let caller = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if !caller.user.roles.is_admin() {
            return Err(AppError::Forbidden);
        }
        Ok(AdminUser(caller))
    }
}

/// `?limit=N&<cursor>=ID` of a paginated list. A value that is not a number, a limit
/// outside `1..=max`, or either key given twice is 400; other query keys are ignored.
pub struct Page {
    pub limit: i64,
    pub cursor: Option<i64>,
}

impl Page {
    pub fn parse(query: Option<&str>, cursor: &str, default: i64, max: i64) -> Result<Page, AppError> {
        let mut limit = None;
        let mut after = None;
        let pairs = query.unwrap_or_default().split('&').filter(|p| !p.is_empty());
        for (key, value) in pairs.map(|p| p.split_once('=').unwrap_or((p, ""))) {
            let slot = if key == "limit" {
                &mut limit
            } else if key == cursor {
                &mut after
            } else {
                continue;
            };
            if slot.is_some() {
                return Err(AppError::BadRequest(format!("{key} may be given once")));
            }
            let number = value.parse::<i64>().map_err(|_| AppError::BadRequest(format!("{key} must be an integer")))?;
            *slot = Some(number);
        }
        let limit = limit.unwrap_or(default);
        if !(1..=max).contains(&limit) {
            return Err(AppError::BadRequest(format!("limit must be between 1 and {max}")));
        }
        Ok(Page { limit, cursor: after })
    }
}

/// A numeric `{id}` path segment. Anything else (not a number, out of range, not even
/// UTF-8) names no resource: 404 with API.md's body, never axum's plain-text 400.
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(raw) = <Path<String> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        raw.parse::<i64>().map(PathId).map_err(|_| AppError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn bearer_scheme_variants() {
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("BEARER   abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearer: abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearer:abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearerabc")), None);
        assert_eq!(bearer_token(&headers("Basic YWJj")), None);
        assert_eq!(bearer_token(&headers("Bearer ")), Some(""));
    }

    #[test]
    fn pages_parse_limits_and_cursors() {
        let p = Page::parse(Some("limit=10&after=17&x=y"), "after", 50, 200).unwrap();
        assert_eq!((p.limit, p.cursor), (10, Some(17)));
        let p = Page::parse(None, "after", 50, 200).unwrap();
        assert_eq!((p.limit, p.cursor), (50, None));
        for bad in ["limit=0", "limit=201", "limit=x", "after=abc", "limit=", "limit=5&limit=6", "after=1&after=2"] {
            assert!(Page::parse(Some(bad), "after", 50, 200).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_honoured_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1, 2.2.2.2, 10.0.0.5".parse().unwrap());
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(forwarded_client(peer, &h, &trusted), "2.2.2.2".parse::<IpAddr>().unwrap());
        let stranger: IpAddr = "8.8.8.8".parse().unwrap();
        assert_eq!(forwarded_client(stranger, &h, &trusted), stranger);
        assert_eq!(forwarded_client(peer, &HeaderMap::new(), &trusted), peer);
        h.insert("x-forwarded-for", "junk, 3.3.3.3".parse().unwrap());
        assert_eq!(forwarded_client(peer, &h, &trusted), "3.3.3.3".parse::<IpAddr>().unwrap());
    }
}
