//! `/api/openapi.json`, generated from the handlers' `#[utoipa::path]` annotations.

use std::sync::OnceLock;

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::federation;

/// What the document says besides its routes; the routes come from the router itself
/// (`super::api`), so the two cannot disagree.
#[derive(OpenApi)]
#[openapi(
    info(title = "latchkey", description = "Authentication server for single-page apps: accounts, cookie sessions, tokens, roles."),
    components(schemas(crate::domain::User, crate::error::ErrorBody, federation::Linked,
        federation::ReauthenticatedByProvider, crate::service::tokens::TokenPair)),
    tags(
        (name = "sessions", description = "Signup, login and cookie sessions"),
        (name = "account", description = "The caller's own account"),
        (name = "tokens", description = "JWT access tokens, refresh tokens, JWKS"),
        (name = "second factors", description = "Two-step login, TOTP, recovery codes, re-authentication"),
        (name = "passkeys", description = "WebAuthn passkeys: registration, and login without a password"),
        (name = "admin", description = "User administration and the audit log (role admin)"),
        (name = "posts", description = "The example protected resource"),
        (name = "recovery", description = "Email verification, forgotten passwords, address changes"),
        (name = "federation", description = "Logging in with an account at an OpenID Connect provider or GitHub; connected accounts"),
        (name = "openid provider", description = "latchkey as an OpenID Provider: other apps log their users in with latchkey (authorization code + PKCE); their clients, and the consents users gave"),
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

/// The answers the layers around every handler can give, added to each operation so the
/// document lists every status a route can answer: 500 (a bug) and 503 (database or
/// Redis unreachable, or the request timeout) anywhere; 401 where a credential is
/// required; 403 `csrf_rejected` for unsafe methods; 400/413/415 where a JSON body is
/// read; 400 where paging parameters are parsed; 404 for `{id}` that names nothing.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            // Apps' endpoints skip the CSRF origin check and speak OAuth's own errors.
            let app_endpoint = super::oauth2::is_app_endpoint(path) || path == "/oauth2/authorize";
            for (method, op) in operations(item) {
                let json_body = op.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"));
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let params = op.parameters.as_deref().unwrap_or_default();
                let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
                let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
                if json_body || has_query {
                    add(op, 400, "bad_request: malformed JSON, a body that is not an object, wrong field types, or bad query values");
                }
                if secured {
                    add(op, 401, "unauthorized (no credential), invalid_token or token_expired (a bad Bearer token)");
                }
                if method != "get" && !app_endpoint {
                    add(op, 403, "csrf_rejected: a cookie-authenticated (or login) request from another origin");
                }
                if has_path {
                    add(op, 404, "not_found: the id names nothing (or is not a number)");
                }
                if json_body {
                    add(op, 413, "payload_too_large: the body is over 1 MiB");
                    add(op, 415, "unsupported_media_type: the body is not sent as application/json");
                }
                add(op, 500, "internal: a bug; logged with the request id, the body says nothing more");
                add(
                    op,
                    503,
                    "unavailable: the database or Redis cannot be reached, or the request timed out; Retry-After",
                );
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [("get", &mut item.get), ("put", &mut item.put), ("post", &mut item.post), ("delete", &mut item.delete)]
        .into_iter()
        .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
        .collect()
}

/// Adds an error answer unless the handler's annotation already describes that status.
fn add(op: &mut Operation, status: u16, description: &str) {
    op.responses.responses.entry(status.to_string()).or_insert_with(|| RefOr::T(error_response(description)));
}

fn error_response(description: &str) -> Response {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    ResponseBuilder::new().description(description).content("application/json", content).build()
}

/// Rules between the fields of a request body, which no field's own schema can state:
/// which fields must come one at a time, or at least one of them.
struct FieldRules;

enum Choice {
    ExactlyOne,
    AtLeastOne,
}

impl Modify for FieldRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let rules: [(&str, Choice, &[&str]); 3] = [
            ("SecondFactorRequest", Choice::ExactlyOne, &["code", "recovery_code", "credential"]),
            ("DisableTotpRequest", Choice::ExactlyOne, &["code", "recovery_code"]),
            ("ReauthenticateRequest", Choice::AtLeastOne, &["password", "code"]),
        ];
        let Some(components) = openapi.components.as_mut() else { return };
        for (name, choice, fields) in rules {
            let Some(fields_schema) = components.schemas.remove(name) else { continue };
            let present = |field: &&str| ObjectBuilder::new().required(*field).build();
            let choice: Schema = match choice {
                Choice::ExactlyOne => fields.iter().map(present).fold(OneOfBuilder::new(), |b, s| b.item(s)).into(),
                Choice::AtLeastOne => fields.iter().map(present).fold(AnyOfBuilder::new(), |b, s| b.item(s)).into(),
            };
            let schema = AllOfBuilder::new().item(fields_schema).item(choice).build();
            components.schemas.insert(name.to_string(), RefOr::T(Schema::AllOf(schema)));
        }
    }
}

/// Avatars travel as the raw bytes of a PNG, JPEG or GIF, in both directions.
struct AvatarBodies;

impl Modify for AvatarBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let types = ["image/png", "image/jpeg", "image/gif"];
        let binary = || {
            let schema = ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)));
            ContentBuilder::new().schema(Some(schema)).build()
        };
        let paths = &mut openapi.paths.paths;
        if let Some(put) = paths.get_mut("/api/me/avatar").and_then(|item| item.put.as_mut()) {
            let body = types.iter().fold(RequestBodyBuilder::new(), |body, t| body.content(*t, binary()));
            put.request_body = Some(
                body.description(Some(
                    "The image, at most 5 MiB; its bytes must really be the type it is sent as (415 otherwise)",
                ))
                .required(Some(Required::True))
                .build(),
            );
        }
        if let Some(get) = paths.get_mut("/api/users/{id}/avatar").and_then(|item| item.get.as_mut()) {
            let image = types.iter().fold(ResponseBuilder::new(), |r, t| r.content(*t, binary()));
            get.responses.responses.insert("200".into(), RefOr::T(image.description("The image as uploaded").build()));
        }
    }
}

/// A link's name and the link.
type Target = (&'static str, utoipa::openapi::link::Link);

/// OpenAPI links: how the ids and tokens one answer carries feed the next request, which
/// is what a stateful client (and schemathesis' stateful phase) follows.
struct Links;

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let user_ops = ["get_user", "set_user_roles", "revoke_user_sessions", "delete_user", "get_avatar"];
        let by_id = |source: &str| {
            user_ops.map(|target| (target, LinkBuilder::new().operation_id(target).parameter("id", source).build()))
        };
        let refresh_body = |source: &str| {
            ["refresh_token", "revoke_token"].map(|target| {
                let body = serde_json::json!({ "refresh_token": source });
                (target, LinkBuilder::new().operation_id(target).request_body(Some(body)).build())
            })
        };
        let mut links: Vec<(&str, &str, u16, Vec<Target>)> = vec![
            ("/api/signup", "post", 201, by_id("$response.body#/id").into()),
            ("/api/login", "post", 200, by_id("$response.body#/id").into()),
            ("/api/me", "get", 200, by_id("$response.body#/id").into()),
        ];
        for path in ["/api/token", "/api/token/refresh"] {
            let mut to = refresh_body("$response.body#/refresh_token").to_vec();
            to.extend(by_id("$response.body#/user/id"));
            links.push((path, "post", 200, to));
        }
        let delete_post = LinkBuilder::new().operation_id("delete_post").parameter("id", "$response.body#/id").build();
        links.push(("/api/posts", "post", 201, vec![("delete_post", delete_post)]));
        for (path, method, status, targets) in links {
            let Some(item) = openapi.paths.paths.get_mut(path) else { continue };
            let Some((_, op)) = operations(item).into_iter().find(|(m, _)| *m == method) else { continue };
            if let Some(RefOr::T(response)) = op.responses.responses.get_mut(&status.to_string()) {
                for (name, link) in targets {
                    response.links.insert(name.to_string(), RefOr::T(link));
                }
            }
        }
    }
}

/// utoipa 5 writes a link's fields in Rust's spelling (`operation_id`, `request_body`);
/// OpenAPI, and every client that follows links, reads `operationId` and `requestBody`.
fn spell_links(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    let responses = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else { continue };
        for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
            for (rust, openapi) in [("operation_id", "operationId"), ("request_body", "requestBody")] {
                if let Some(value) = link.remove(rust) {
                    link.insert(openapi.into(), value);
                }
            }
        }
    }
}

/// The document, rendered once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, mut openapi) = super::api(true).split_for_parts();
        let modifiers: [&dyn Modify; 5] = [&SecuritySchemes, &AvatarBodies, &CommonAnswers, &FieldRules, &Links];
        for modifier in modifiers {
            modifier.modify(&mut openapi);
        }
        let mut doc = serde_json::to_value(openapi).unwrap_or_default();
        spell_links(&mut doc);
        doc.to_string()
    })
}

/// The base of the document: its description, tags and the schemas no route names.
pub(super) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
