//! `latchkey user import`: accounts moved from another system, such as a Flask app's users
//! table, with the password hashes it made, so that nobody has to sign up again. Each
//! hash is re-made in latchkey's configured form at its owner's next login.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::json;

use super::accounts::insert_user;
use super::audit::{self, Event, Kind};
use super::{Client, Ctx};
use crate::crypto::password::{self, HashError};
use crate::domain::{Email, Role, Roles, Username};
use crate::error::AppError;

/// One account to import: a line of the import file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedAccount {
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
    /// argon2 (PHC string), bcrypt (`$2b$…`, as Flask-Bcrypt makes) or Werkzeug's
    /// `pbkdf2:…` / `scrypt:…` (as Flask's `generate_password_hash` makes).
    pub password_hash: String,
    /// Beside `user`, which every account has.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Records that cannot be imported: their line and the reason.
pub type Refusals = Vec<(usize, String)>;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Nothing was imported because of these records.
    #[error("{} record(s) refused", .0.len())]
    Refused(Refusals),
    #[error(transparent)]
    Failed(AppError),
}

struct Valid<'a> {
    line: usize,
    username: Username,
    email: Option<Email>,
    roles: Roles,
    hash: &'a str,
}

/// A line of the import file: the account it holds, or why it holds none.
pub type Record = (usize, Result<ImportedAccount, String>);

fn validate_all(records: &[Record]) -> Result<Vec<Valid<'_>>, Refusals> {
    let mut refused = Vec::new();
    let mut valid = Vec::new();
    let (mut usernames, mut emails) = (HashSet::new(), HashSet::new());
    for (line, record) in records {
        match record.as_ref().map_err(String::clone).and_then(|account| validate(*line, account)) {
            Ok(v) if !usernames.insert(v.username.key()) => refused.push((*line, "the username appears twice".into())),
            Ok(v) if v.email.as_ref().is_some_and(|e| !emails.insert(e.key())) => {
                refused.push((*line, "the email appears twice".into()))
            }
            Ok(v) => valid.push(v),
            Err(reason) => refused.push((*line, reason)),
        }
    }
    if refused.is_empty() {
        Ok(valid)
    } else {
        Err(refused)
    }
}

/// Imports every account or none: all records are checked first, and every problem is
/// reported; then the accounts are inserted in one transaction.
pub async fn import(ctx: &Ctx, records: &[Record]) -> Result<usize, ImportError> {
    let valid = validate_all(records).map_err(ImportError::Refused)?;
    let client = Client::local();
    let mut change = ctx.begin().await.map_err(ImportError::Failed)?;
    for v in &valid {
        let user = match insert_user(&mut change, &v.username, v.email.as_ref(), v.hash, &v.roles).await {
            Ok(user) => user,
            Err(AppError::UsernameTaken) => return Err(refused_one(v.line, "the username is taken")),
            Err(AppError::EmailTaken) => return Err(refused_one(v.line, "the email is already in use")),
            Err(other) => return Err(ImportError::Failed(other)),
        };
        let detail = json!({"by": "import", "roles": v.roles.names()});
        audit::record(&mut change, Event::new(Kind::Signup, &client).user(user.id).detail(detail))
            .await
            .map_err(ImportError::Failed)?;
    }
    change.commit().await.map_err(ImportError::Failed)?;
    Ok(valid.len())
}

fn refused_one(line: usize, reason: &str) -> ImportError {
    ImportError::Refused(vec![(line, reason.into())])
}

fn validate(line: usize, account: &ImportedAccount) -> Result<Valid<'_>, String> {
    let username = Username::parse(&account.username).map_err(|e| format!("username {e}"))?;
    let email = match account.email.as_deref() {
        None | Some("") => None,
        Some(e) => Some(Email::parse(e).map_err(|e| format!("email {e}"))?),
    };
    let roles: Vec<Role> = account
        .roles
        .iter()
        .map(|r| Role::parse(r).map_err(|e| format!("role {r:?} {e}")))
        .collect::<Result<_, _>>()?;
    password::check_format(&account.password_hash).map_err(|e| match e {
        HashError::TooCostly => {
            "password_hash costs more than latchkey allows (see the README's import section)".to_string()
        }
        _ => "password_hash is not an argon2, bcrypt or Werkzeug pbkdf2/scrypt hash".to_string(),
    })?;
    Ok(Valid { line, username, email, roles: Roles::new(roles), hash: &account.password_hash })
}
