//! The built-in web app: files of `web/dist`, embedded in release builds (read from disk
//! in debug builds). Hashed assets are cached for a year; `index.html` never is, and
//! answers every client-side route.

use axum::http::{header, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::AppError;

#[derive(RustEmbed)]
#[folder = "web/dist"]
#[allow_missing = true]
struct Assets;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";
/// The app loads only its own scripts and styles; images may also be `blob:` (avatar
/// previews) or `data:`.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
                   object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// The answer for every path no route claimed.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path == "/api" {
        return AppError::NotFound.into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return AppError::MethodNotAllowed.into_response();
    }
    let file = path.trim_start_matches('/');
    if let Some(asset) = (!file.is_empty()).then(|| Assets::get(file)).flatten() {
        let cache = if file.starts_with("assets/") { IMMUTABLE } else { NO_CACHE };
        return file_response(asset, mime_guess::from_path(file).first_or_octet_stream().as_ref(), cache);
    }
    // A missing file under /assets/ (or anything with an extension) is a 404, not the app:
    // a stale cached index.html must not get HTML where it asked for a script.
    if file.starts_with("assets/") || file.rsplit('/').next().is_some_and(|last| last.contains('.')) {
        return AppError::NotFound.into_response();
    }
    match Assets::get("index.html") {
        Some(index) => file_response(index, "text/html; charset=utf-8", NO_CACHE),
        None => AppError::Unavailable(
            "the web app is not built: run `npm ci && npm run build` in web/, or build with cargo, which does it"
                .into(),
        )
        .into_response(),
    }
}

fn file_response(file: rust_embed::EmbeddedFile, content_type: &str, cache: &'static str) -> Response {
    let is_html = content_type.starts_with("text/html");
    let content_type =
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = (
        [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, HeaderValue::from_static(cache))],
        file.data.into_owned(),
    )
        .into_response();
    if is_html {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    response
}
