//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): an app sends the
//! browser here to end the latchkey session too, then back to an address it registered.

use std::collections::HashMap;

use super::clients;
use super::tokens::verify_id_token_hint;
use crate::error::AppError;
use crate::service::Ctx;

/// A logout request, checked.
pub struct Checked {
    /// Where the browser goes afterwards.
    pub back_to: String,
    /// The user the `id_token_hint` names: their session may end without asking.
    pub hinted_user: Option<String>,
}

/// Checks the request: a `post_logout_redirect_uri` must be registered by the client the
/// hint or `client_id` names. `Err` holds the refusal shown on a page of our own.
pub async fn check(ctx: &Ctx, params: &HashMap<String, String>) -> Result<Result<Checked, String>, AppError> {
    let get = |key: &str| params.get(key).map(String::as_str).filter(|v| !v.is_empty());
    let hint = match get("id_token_hint") {
        Some(token) => match verify_id_token_hint(ctx, token).await {
            Some(hint) => Some(hint),
            None => return Ok(Err("The app's id_token_hint is not an ID token from this server.".into())),
        },
        None => None,
    };
    let client_id = match (get("client_id"), &hint) {
        (Some(id), Some((_, aud))) if id != aud => {
            return Ok(Err("client_id and the id_token_hint name different apps.".into()));
        }
        (Some(id), _) => Some(id.to_string()),
        (None, Some((_, aud))) => Some(aud.clone()),
        (None, None) => None,
    };
    let back_to = match get("post_logout_redirect_uri") {
        None => "/".to_string(),
        Some(uri) => {
            let registered = match &client_id {
                Some(id) => clients::find(ctx, id).await?.is_some_and(|c| c.post_logout_uri_matches(uri)),
                None => false,
            };
            if !registered {
                return Ok(Err(
                    "The app asked to send you to an address it has not registered, so you were not sent there.".into(),
                ));
            }
            match get("state") {
                Some(state) => {
                    let sep = if uri.contains('?') { '&' } else { '?' };
                    format!(
                        "{uri}{sep}{}",
                        url::form_urlencoded::Serializer::new(String::new()).append_pair("state", state).finish()
                    )
                }
                None => uri.to_string(),
            }
        }
    };
    Ok(Ok(Checked { back_to, hinted_user: hint.map(|(sub, _)| sub) }))
}
