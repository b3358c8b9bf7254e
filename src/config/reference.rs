//! The book's configuration reference (`docs/src/configuration.md`) is checked against
//! this module: every key the configuration accepts has a row there, with its default.

use std::collections::BTreeMap;

use figment::providers::{Format, Toml};
use figment::Figment;
use serde_json::Value;

use crate::config::{Config, ProviderConfig};

const REFERENCE: &str = include_str!("../../docs/src/configuration.md");

/// `| `key` | default | meaning |` rows: the key and its default as written.
fn documented() -> BTreeMap<String, String> {
    REFERENCE
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.strip_prefix("| `")?.splitn(3, " | ").collect();
            let key = cells.first()?.strip_suffix('`')?;
            Some((key.to_string(), cells.get(1)?.to_string()))
        })
        .collect()
}

/// Every setting with its default: tables flattened one level (`session.same_site`),
/// lists as one value.
fn leaves(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                leaves(&key, field, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn default_in_book(written: &str) -> Option<Value> {
    match written {
        "unset" => Some(Value::Null),
        "required" => None,
        code => {
            let literal = code.strip_prefix('`').and_then(|c| c.strip_suffix('`')).unwrap_or(code);
            let parsed: BTreeMap<String, Value> =
                Figment::from(Toml::string(&format!("value = {literal}"))).extract().unwrap_or_else(|e| {
                    panic!("the default {written} is not a TOML value: {e}");
                });
            parsed.get("value").cloned()
        }
    }
}

#[test]
fn every_setting_is_in_the_book_with_its_default() {
    let mut settings = BTreeMap::new();
    leaves("", &serde_json::to_value(Config::default()).unwrap(), &mut settings);
    leaves("federation.providers[]", &serde_json::to_value(ProviderConfig::default()).unwrap(), &mut settings);
    let book = documented();
    let mut problems = Vec::new();
    for (key, default) in &settings {
        let Some(written) = book.get(key) else {
            problems.push(format!("{key} (default {default}) has no row"));
            continue;
        };
        match default_in_book(written) {
            None if key.starts_with("federation.providers[].") => {}
            None => problems.push(format!("{key}: `required`, but it has the default {default}")),
            Some(value) if &value != default => {
                problems.push(format!("{key}: the book says {written}, the code {default}"))
            }
            Some(_) => {}
        }
    }
    for key in book.keys().filter(|key| !settings.contains_key(*key)) {
        problems.push(format!("{key} is in the book but not a setting"));
    }
    assert!(problems.is_empty(), "docs/src/configuration.md and the code disagree:\n{}", problems.join("\n"));
}
