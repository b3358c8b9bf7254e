//! The 11,611 most common passwords of 8 characters or more, lower-cased, from the
//! frequency lists of Dropbox's zxcvbn (MIT licence).

use std::collections::HashSet;
use std::sync::OnceLock;

static LIST: &str = include_str!("common-passwords.txt");

fn set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| LIST.lines().filter(|l| !l.is_empty()).collect())
}

/// Case-insensitive: `Password1` is as guessable as `password1`.
pub fn is_common(password: &str) -> bool {
    set().contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_is_loaded_and_matched_in_any_case() {
        assert!(super::set().len() > 10_000);
        assert!(super::is_common("12345678"));
        assert!(super::is_common("Trustno1"));
        assert!(!super::is_common("violet-otter-harbour"));
    }
}
