//! Secrets in the configuration: never written in the file (so it can be shared), given
//! by the environment or by a file of their own, and never shown.

use std::fmt;
use std::path::Path;

use figment::providers::{Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize, Serializer};

use super::{Config, ConfigError};

/// A secret that never shows in `Debug` output or `config check`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"****\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("****")
    }
}

/// A secret setting `key` (dotted), set by `LATCHKEY_<KEY>` or read from `<key>_file`.
struct SecretSetting {
    key: &'static str,
    /// The secret in its file's text; `None` when the secret's user reads the file.
    from_file: Option<fn(&str) -> &str>,
    /// The secret's field and its file's.
    fields: fn(&mut Config) -> (&mut Option<Secret>, Option<&Path>),
}

/// `secret!(table.field / file_field, from_file)`: the key is spelled by the fields it names.
macro_rules! secret {
    ($table:ident . $field:ident / $file:ident, $from_file:expr) => {
        SecretSetting {
            key: concat!(stringify!($table), ".", stringify!($field)),
            from_file: $from_file,
            fields: |c| (&mut c.$table.$field, c.$table.$file.as_deref()),
        }
    };
}

/// Every secret setting, one line each.
const SECRETS: &[SecretSetting] = &[
    secret!(tokens.hs256_secret / hs256_secret_file, Some(without_line_ending)),
    // Read by the key ring, whose SQLite default is a key file beside the database.
    secret!(keys.encryption_key / encryption_key_file, None),
    // Compared with a header value, which never carries surrounding whitespace.
    secret!(metrics.bearer_token / bearer_token_file, Some(str::trim)),
    secret!(smtp.password / password_file, Some(without_line_ending)),
];

/// A secret file's text without its line ending: a key may well end in a space.
fn without_line_ending(text: &str) -> &str {
    text.trim_end_matches(['\r', '\n'])
}

/// The TOML file as a provider, refusing a secret written into it.
pub(super) fn file_without_secrets(path: &Path) -> Result<figment::providers::Data<Toml>, ConfigError> {
    let file = Figment::from(Toml::file_exact(path));
    for secret in SECRETS {
        if file.find_value(secret.key).is_ok() {
            let key = secret.key;
            let env = format!("LATCHKEY_{}", key.replace('.', "__").to_ascii_uppercase());
            return Err(ConfigError::Invalid(format!(
                "{key} may not be written in the configuration file: set {env} or {key}_file"
            )));
        }
    }
    if let Ok(providers) = file.find_value("federation.providers") {
        for (index, provider) in providers.as_array().into_iter().flatten().enumerate() {
            if provider.as_dict().is_some_and(|d| d.contains_key("client_secret")) {
                return Err(ConfigError::Invalid(format!(
                    "federation.providers[{index}].client_secret may not be written in the configuration file: \
                     set {} or client_secret_file",
                    provider_secret_variable(index)
                )));
            }
        }
    }
    Ok(Toml::file_exact(path))
}

/// The variable that holds the client secret of the `index`th provider (from 0).
pub fn provider_secret_variable(index: usize) -> String {
    format!("LATCHKEY_FEDERATION__PROVIDERS__{index}__CLIENT_SECRET")
}

impl Config {
    /// Reads each secret given as `<key>_file`; the file wins over the environment.
    pub(super) fn load_secret_files(&mut self) -> Result<(), ConfigError> {
        for secret in SECRETS {
            let (value, file) = (secret.fields)(self);
            let (Some(path), Some(from_file)) = (file, secret.from_file) else { continue };
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::Invalid(format!("{}_file {}: {e}", secret.key, path.display())))?;
            *value = Some(Secret(from_file(&text).into()));
        }
        Ok(())
    }
}

impl Config {
    /// Each provider's client secret: from its `client_secret_file`, else from its
    /// variable (`var` reads the environment).
    pub(super) fn load_provider_secrets(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for (index, provider) in self.federation.providers.iter_mut().enumerate() {
            if let Some(path) = &provider.client_secret_file {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::Invalid(format!(
                        "federation.providers[{index}].client_secret_file {}: {e}",
                        path.display()
                    ))
                })?;
                provider.client_secret = Some(Secret(without_line_ending(&text).into()));
            } else if let Some(value) = var(&provider_secret_variable(index)) {
                provider.client_secret = Some(Secret(value));
            }
        }
        Ok(())
    }
}

/// A URL with its password (if any) replaced by `****`, for logs and `config check`.
pub fn mask_url_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:****{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_is_refused_in_the_file_with_the_variable_that_sets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        for secret in SECRETS {
            let (table, field) = secret.key.split_once('.').unwrap();
            std::fs::write(&path, format!("[{table}]\n{field} = \"written\"\n")).unwrap();
            let Err(ConfigError::Invalid(e)) = file_without_secrets(&path) else { panic!("{} accepted", secret.key) };
            let env = format!("LATCHKEY_{}__{}", table.to_uppercase(), field.to_uppercase());
            assert!(e.contains(&env) && e.contains(&format!("{}_file", secret.key)), "{e}");
        }
    }

    #[test]
    fn secret_files_are_read_as_their_setting_says() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, " s3cret \n").unwrap();
        let mut config = Config::default();
        config.tokens.hs256_secret_file = Some(file.clone());
        config.metrics.bearer_token_file = Some(file.clone());
        config.keys.encryption_key_file = Some(file);
        config.load_secret_files().unwrap();
        assert_eq!(config.tokens.hs256_secret.map(|s| s.0).as_deref(), Some(" s3cret "));
        assert_eq!(config.metrics.bearer_token.map(|s| s.0).as_deref(), Some("s3cret"));
        assert!(config.keys.encryption_key.is_none(), "read by the key ring");
    }
}
