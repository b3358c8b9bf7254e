//! `AppError`: API.md's error table, one variant per code, and the one place that
//! turns an error into a response. Internal causes are logged, never sent.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::crypto::password::HashError;
use crate::store::{Constraint, StoreError};

pub type FieldErrors = BTreeMap<&'static str, String>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("invalid credentials")]
    InvalidCredentials { fields: Option<FieldErrors> },
    #[error("token expired")]
    TokenExpired,
    #[error("invalid token")]
    InvalidToken,
    #[error("forbidden")]
    Forbidden,
    #[error("cross-site request refused")]
    CsrfRejected,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("username taken")]
    UsernameTaken,
    #[error("email taken")]
    EmailTaken,
    #[error("last admin")]
    LastAdmin,
    #[error("payload too large")]
    PayloadTooLarge { limit: &'static str },
    #[error("unsupported media type")]
    UnsupportedMediaType(&'static str),
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// The password was right; the login waits for its second step.
    #[error("second factor required")]
    SecondFactorRequired {
        challenge: String,
        methods: Vec<&'static str>,
        expires_in: i64,
        /// The options of `navigator.credentials.get` when a passkey may be the second step.
        webauthn: Option<Box<serde_json::Value>>,
    },
    /// A passkey assertion that does not verify (unknown credential, bad signature).
    #[error("invalid passkey")]
    InvalidPasskey,
    /// A new passkey whose registration does not verify.
    #[error("passkey registration refused")]
    PasskeyRejected,
    #[error("passkey already registered")]
    PasskeyExists,
    #[error("invalid challenge")]
    InvalidChallenge,
    #[error("invalid code")]
    InvalidCode,
    #[error("reauthentication required")]
    ReauthenticationRequired,
    #[error("second factor already enabled")]
    SecondFactorEnabled,
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A link from a mail that is unknown, used, expired or replaced by a newer one.
    #[error("invalid link")]
    InvalidLink,
    #[error("email not verified")]
    EmailNotVerified,
    /// latchkey has no mail server (`[smtp]` unset).
    #[error("email unavailable")]
    EmailUnavailable,
    /// A provider login whose email belongs to an account it may not be joined to.
    #[error("account exists")]
    AccountExists,
    /// A first provider login where accounts are not made that way.
    #[error("signup disabled")]
    SignupDisabled,
    /// An identity at a provider that another account has.
    #[error("identity in use")]
    IdentityInUse,
    /// Removing this would leave the account no way to log in.
    #[error("last credential")]
    LastCredential,
    /// A public client (an SPA, a native app) has no secret to rotate.
    #[error("public client")]
    PublicClient,
    /// No finished round trip to a provider for this browser.
    #[error("federation expired")]
    FederationExpired,
    /// An app's authorization request needs a (fresh) login before it can be allowed.
    #[error("login required")]
    LoginRequired,
    /// The provider refused, or its answer did not verify.
    #[error("federation failed")]
    FederationFailed,
    /// The provider could not be reached.
    #[error("provider unavailable")]
    ProviderUnavailable,
}

/// The stable machine codes of API.md's error table, declared once: the `error` field of
/// every error body, and an enum in `/api/openapi.json` that clients generate their types from.
macro_rules! error_codes {
    ($($variant:ident = $code:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            #[cfg(test)]
            const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    BadRequest = "bad_request",
    Unauthorized = "unauthorized",
    InvalidCredentials = "invalid_credentials",
    TokenExpired = "token_expired",
    InvalidToken = "invalid_token",
    Forbidden = "forbidden",
    CsrfRejected = "csrf_rejected",
    NotFound = "not_found",
    MethodNotAllowed = "method_not_allowed",
    UsernameTaken = "username_taken",
    EmailTaken = "email_taken",
    LastAdmin = "last_admin",
    PayloadTooLarge = "payload_too_large",
    UnsupportedMediaType = "unsupported_media_type",
    ValidationFailed = "validation_failed",
    RateLimited = "rate_limited",
    SecondFactorRequired = "second_factor_required",
    InvalidChallenge = "invalid_challenge",
    InvalidCode = "invalid_code",
    InvalidPasskey = "invalid_passkey",
    PasskeyExists = "passkey_exists",
    ReauthenticationRequired = "reauthentication_required",
    SecondFactorEnabled = "second_factor_enabled",
    Internal = "internal",
    Unavailable = "unavailable",
    InvalidLink = "invalid_link",
    EmailNotVerified = "email_not_verified",
    EmailUnavailable = "email_unavailable",
    AccountExists = "account_exists",
    SignupDisabled = "signup_disabled",
    IdentityInUse = "identity_in_use",
    LastCredential = "last_credential",
    PublicClient = "public_client",
    FederationExpired = "federation_expired",
    LoginRequired = "login_required",
    FederationFailed = "federation_failed",
    ProviderUnavailable = "provider_unavailable",
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": "invalid_credentials", "message": "Invalid username or password"}))]
pub struct ErrorBody {
    /// Stable machine code from API.md's table.
    pub error: ErrorCode,
    /// For people.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldErrors>,
    /// With `second_factor_required`: what finishes the login at the second-factor route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// With `second_factor_required`: what the second step may be (`totp`, `recovery_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<&'static str>>,
    /// With `second_factor_required`: seconds the challenge stays valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// With `second_factor_required`, when the account has passkeys: the options for
    /// `navigator.credentials.get` (`{"publicKey": {...}}`, binary fields in base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub webauthn: Option<Box<serde_json::Value>>,
}

impl AppError {
    pub fn validation(field: &'static str, message: impl Into<String>) -> AppError {
        AppError::Validation(BTreeMap::from([(field, message.into())]))
    }

    pub fn status(&self) -> StatusCode {
        use AppError::*;
        match self {
            BadRequest(_) | InvalidLink | PasskeyRejected => StatusCode::BAD_REQUEST,
            Unauthorized
            | InvalidCredentials { .. }
            | TokenExpired
            | InvalidToken
            | SecondFactorRequired { .. }
            | InvalidChallenge
            | InvalidCode
            | InvalidPasskey
            | FederationExpired
            | LoginRequired
            | FederationFailed => StatusCode::UNAUTHORIZED,
            Forbidden | CsrfRejected | ReauthenticationRequired | EmailNotVerified | SignupDisabled => {
                StatusCode::FORBIDDEN
            }
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            UsernameTaken | EmailTaken | LastAdmin | SecondFactorEnabled | PasskeyExists | AccountExists
            | IdentityInUse | LastCredential | PublicClient => StatusCode::CONFLICT,
            PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Unavailable(_) | EmailUnavailable | ProviderUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn code(&self) -> ErrorCode {
        use AppError::*;
        match self {
            BadRequest(_) => ErrorCode::BadRequest,
            Unauthorized => ErrorCode::Unauthorized,
            InvalidCredentials { .. } => ErrorCode::InvalidCredentials,
            TokenExpired => ErrorCode::TokenExpired,
            InvalidToken => ErrorCode::InvalidToken,
            Forbidden => ErrorCode::Forbidden,
            CsrfRejected => ErrorCode::CsrfRejected,
            NotFound => ErrorCode::NotFound,
            MethodNotAllowed => ErrorCode::MethodNotAllowed,
            UsernameTaken => ErrorCode::UsernameTaken,
            EmailTaken => ErrorCode::EmailTaken,
            LastAdmin => ErrorCode::LastAdmin,
            PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Validation(_) => ErrorCode::ValidationFailed,
            RateLimited { .. } => ErrorCode::RateLimited,
            SecondFactorRequired { .. } => ErrorCode::SecondFactorRequired,
            InvalidChallenge => ErrorCode::InvalidChallenge,
            InvalidCode => ErrorCode::InvalidCode,
            InvalidPasskey | PasskeyRejected => ErrorCode::InvalidPasskey,
            PasskeyExists => ErrorCode::PasskeyExists,
            ReauthenticationRequired => ErrorCode::ReauthenticationRequired,
            SecondFactorEnabled => ErrorCode::SecondFactorEnabled,
            Internal(_) => ErrorCode::Internal,
            Unavailable(_) => ErrorCode::Unavailable,
            InvalidLink => ErrorCode::InvalidLink,
            EmailNotVerified => ErrorCode::EmailNotVerified,
            EmailUnavailable => ErrorCode::EmailUnavailable,
            AccountExists => ErrorCode::AccountExists,
            SignupDisabled => ErrorCode::SignupDisabled,
            IdentityInUse => ErrorCode::IdentityInUse,
            LastCredential => ErrorCode::LastCredential,
            PublicClient => ErrorCode::PublicClient,
            FederationExpired => ErrorCode::FederationExpired,
            LoginRequired => ErrorCode::LoginRequired,
            FederationFailed => ErrorCode::FederationFailed,
            ProviderUnavailable => ErrorCode::ProviderUnavailable,
        }
    }

    fn message(&self) -> String {
        use AppError::*;
        match self {
            BadRequest(m) => m.clone(),
            Unauthorized => "Authentication required".into(),
            InvalidCredentials { .. } => "Invalid username or password".into(),
            TokenExpired => "The access token has expired".into(),
            InvalidToken => "The token is not valid".into(),
            Forbidden => "You are not allowed to do this".into(),
            CsrfRejected => "Cross-site request refused".into(),
            NotFound => "Not found".into(),
            MethodNotAllowed => "Method not allowed".into(),
            UsernameTaken => "That username is taken".into(),
            EmailTaken => "That email address is already in use".into(),
            LastAdmin => "The last admin cannot lose the admin role".into(),
            PayloadTooLarge { limit } => format!("The request body is larger than {limit}"),
            UnsupportedMediaType(m) => (*m).into(),
            Validation(_) => "Some fields are not valid".into(),
            RateLimited { retry_after_secs } => format!("Too many attempts; try again in {retry_after_secs} seconds"),
            SecondFactorRequired { .. } => "The password is right; finish the login with a second factor".into(),
            InvalidChallenge => "The login challenge is unknown, expired, used or not yours; log in again".into(),
            InvalidCode => "The code is not valid".into(),
            InvalidPasskey => "The passkey could not be verified".into(),
            PasskeyRejected => "The new passkey could not be verified; try again".into(),
            PasskeyExists => "This passkey is registered already".into(),
            ReauthenticationRequired => "Confirm it is you: re-authenticate, then try again".into(),
            SecondFactorEnabled => "An authenticator app is already enabled; disable it first".into(),
            Internal(_) => "Internal error".into(),
            Unavailable(_) => "The service is temporarily unavailable; try again later".into(),
            InvalidLink => "This link is invalid, expired or already used; ask for a new one".into(),
            EmailNotVerified => "Confirm your email address first: follow the link in the mail we sent".into(),
            EmailUnavailable => "This server sends no mail; ask its operator for help".into(),
            AccountExists => "An account with this email address exists: log in to it, then connect this provider from the account page".into(),
            SignupDisabled => "No account is linked to this login, and new accounts cannot be made here".into(),
            IdentityInUse => "This account at the provider is connected to another account here".into(),
            PublicClient => "A public client has no secret: it proves itself with PKCE".into(),
            LastCredential => "This is the account's only way to log in: set a password or add another way first".into(),
            LoginRequired => "Log in (again) first: the app asks for a login newer than this session".into(),
            FederationExpired => "The login with the provider is unknown, expired, used or was started in another browser; start again".into(),
            FederationFailed => "The login with the provider did not succeed; start again".into(),
            ProviderUnavailable => "The provider cannot be reached right now; try again later or log in another way".into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            AppError::Internal(cause) => tracing::error!(error = format!("{cause:#}"), "request failed"),
            AppError::Unavailable(cause) => tracing::warn!(error = %cause, "service unavailable"),
            _ => {}
        }
        let fields = match &self {
            AppError::Validation(f) => Some(f.clone()),
            AppError::InvalidCredentials { fields } => fields.clone(),
            _ => None,
        };
        let (challenge, methods, expires_in, webauthn) = match &self {
            AppError::SecondFactorRequired { challenge, methods, expires_in, webauthn } => {
                (Some(challenge.clone()), Some(methods.clone()), Some(*expires_in), webauthn.clone())
            }
            _ => (None, None, None, None),
        };
        let body =
            ErrorBody { error: self.code(), message: self.message(), fields, challenge, methods, expires_in, webauthn };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            AppError::TokenExpired | AppError::InvalidToken => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
            }
            AppError::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            AppError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Conflict(Constraint::Username) => AppError::UsernameTaken,
            StoreError::Conflict(Constraint::Email) => AppError::EmailTaken,
            StoreError::Conflict(Constraint::Identity) => AppError::IdentityInUse,
            StoreError::Unavailable(cause) => AppError::Unavailable(cause.to_string()),
            StoreError::Contended(cause) => AppError::Unavailable(cause.to_string()),
            StoreError::Gone => AppError::NotFound,
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<HashError> for AppError {
    fn from(e: HashError) -> AppError {
        match e {
            HashError::Busy => AppError::Unavailable("password hashing queue is full".into()),
            other => AppError::Internal(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_say_nothing_more() {
        let response =
            AppError::Internal(anyhow::anyhow!("SELECT * FROM secret_table failed at /src/x.rs")).into_response();
        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"error":"internal","message":"Internal error"}"#);
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let response = AppError::RateLimited { retry_after_secs: 42 }.into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
    }

    #[test]
    fn each_code_is_written_as_api_md_spells_it() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(ErrorCode::ALL.len(), 37);
    }
}
