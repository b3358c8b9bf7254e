//! `/api/openapi.json`, generated from the handlers' `#[utoipa::path]` annotations.

use std::sync::OnceLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{account, admin, auth, ops, posts, recovery, tokens};

#[derive(OpenApi)]
#[openapi(
    info(title = "latchkey", description = "Authentication server for single-page apps: accounts, cookie sessions, tokens, roles."),
    paths(
        auth::signup, auth::login, auth::check_session, auth::logout, auth::me,
        account::change_password, account::list_my_sessions, account::delete_my_session, account::delete_my_other_sessions,
        account::put_my_avatar, account::get_avatar,
        tokens::token, tokens::refresh_token, tokens::revoke_token, tokens::jwks,
        admin::list_users, admin::get_user, admin::set_user_roles, admin::revoke_user_sessions, admin::delete_user,
        admin::list_audit_events,
        posts::list_posts, posts::create_post, posts::delete_post,
        recovery::features, recovery::verify_email, recovery::resend_verification, recovery::forgot_password,
        recovery::reset_password, recovery::change_email,
        ops::healthz, ops::readyz, ops::metrics, ops::openapi,
    ),
    components(schemas(crate::domain::User, crate::error::ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "sessions", description = "Signup, login and cookie sessions"),
        (name = "account", description = "The caller's own account"),
        (name = "tokens", description = "JWT access tokens, refresh tokens, JWKS"),
        (name = "admin", description = "User administration and the audit log (role admin)"),
        (name = "posts", description = "The example protected resource"),
        (name = "recovery", description = "Email verification, forgotten passwords, address changes"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("latchkey_session"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The document, rendered once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()))
}
