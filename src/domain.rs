//! Validated values: each `parse` is the only way in, so a `Username` or `Email` held
//! anywhere in latchkey is known to follow API.md's rules.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::crypto::common_passwords;

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 256;

/// 3 to 32 ASCII letters, digits, `_`, `.` and `-`; unique and matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Username, &'static str> {
        if s.len() < 3 {
            return Err("must be at least 3 characters");
        }
        if s.len() > 32 {
            return Err("must be at most 32 characters");
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
            return Err("may contain only letters, digits, '_', '.' and '-'");
        }
        Ok(Username(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The key uniqueness and login compare on.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// At most 254 characters, one `@` with text on both sides, no whitespace or control
/// characters, and an address mail can be sent to; unique and matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, &'static str> {
        if s.chars().count() > 254 {
            return Err("must be at most 254 characters");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters");
        }
        match s.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => {}
            _ => return Err("must be an email address like ada@example.com"),
        }
        // And one the mailer can write a mail to, as this very address (RFC 5322's local
        // part, a domain name): an address it cannot would never see a verification or
        // reset link, and its account could never be recovered. A message is built to
        // find out, because the mailer reads the recipient back from the message's `To`.
        let mailbox =
            s.parse::<lettre::message::Mailbox>().ok().filter(|m| m.name.is_none() && m.email.to_string() == s);
        let writable =
            mailbox.is_some_and(|to| lettre::Message::builder().from(to.clone()).to(to).body(String::new()).is_ok());
        if !writable {
            return Err("must be an address mail can be sent to, like ada@example.com");
        }
        Ok(Email(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A password that meets the policy: 8..=256 characters, no NUL, not a common password.
pub struct Password(String);

impl Password {
    pub fn parse(s: &str) -> Result<Password, &'static str> {
        let chars = s.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err("must be at least 8 characters");
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err("must be at most 256 characters");
        }
        if s.contains('\0') {
            return Err("must not contain NUL characters");
        }
        if common_passwords::is_common(s) {
            return Err("is too common; choose one that is harder to guess");
        }
        Ok(Password(s.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(****)")
    }
}

/// `[a-z][a-z0-9_-]{0,31}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Role(String);

impl Role {
    pub fn parse(s: &str) -> Result<Role, &'static str> {
        let mut bytes = s.bytes();
        let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
        if !first_ok
            || s.len() > 32
            || !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err("must be 1-32 characters: a lower-case letter, then lower-case letters, digits, '_' or '-'");
        }
        Ok(Role(s.to_string()))
    }
    pub fn user() -> Role {
        Role("user".into())
    }
    pub fn admin() -> Role {
        Role("admin".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's roles; always contains `user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles(BTreeSet<Role>);

impl Roles {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Roles {
        let mut set: BTreeSet<Role> = roles.into_iter().collect();
        set.insert(Role::user());
        Roles(set)
    }
    pub fn contains(&self, role: &Role) -> bool {
        self.0.contains(role)
    }
    pub fn is_admin(&self) -> bool {
        self.contains(&Role::admin())
    }
    /// Stored as one comma-separated column: portable and cheap to read with the user.
    pub fn to_column(&self) -> String {
        self.names().join(",")
    }
    pub fn from_column(column: &str) -> Roles {
        Roles::new(column.split(',').filter_map(|r| Role::parse(r.trim()).ok()))
    }
    /// `user` first, then the others in alphabetical order.
    pub fn names(&self) -> Vec<String> {
        let mut names = vec!["user".to_string()];
        names.extend(self.0.iter().filter(|r| r.as_str() != "user").map(|r| r.0.clone()));
        names
    }
}

pub type UserId = i64;

/// The user as API.md shows it. Never holds the password hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 17, "username": "ada", "email": null, "email_verified": false, "roles": ["user"], "created_at": "2026-11-22T12:00:00Z"}))]
pub struct User {
    pub id: UserId,
    pub username: String,
    /// Null when the account has none.
    #[schema(required = true)]
    pub email: Option<String>,
    /// Whether the owner proved the address is theirs by following a mailed link.
    pub email_verified: bool,
    #[serde(serialize_with = "serialize_roles")]
    #[schema(value_type = Vec<String>)]
    pub roles: Roles,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

fn serialize_roles<S: serde::Serializer>(roles: &Roles, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(roles.names())
}

/// Unix seconds ↔ `2026-11-22T12:00:00Z`.
pub fn from_unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn format_rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Serde adapter writing timestamps as RFC 3339 in UTC with whole seconds.
pub mod rfc3339_seconds {
    use time::OffsetDateTime;

    pub fn serialize<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339(*t))
    }

    pub mod option {
        use time::OffsetDateTime;
        pub fn serialize<S: serde::Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&super::super::format_rfc3339(*t)),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames_follow_the_contract() {
        for ok in ["ada", "Ada.Lovelace-1_x", &"a".repeat(32)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", &"a".repeat(33), "ada lovelace", "ada\0", "adä", "ada@x", ""] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Username::parse("Ada").unwrap().key(), "ada");
    }

    #[test]
    fn emails_follow_the_contract() {
        assert!(Email::parse("ada@example.com").is_ok());
        for bad in ["ada", "@x", "x@", "a@b@c", "a b@c", "a\u{7}@b", &format!("{}@b", "a".repeat(253))] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        // Addresses no mail can be sent to: a comment, a special character, a label that
        // ends in a hyphen, an address literal, a local part over 64 bytes.
        let long_local = format!("{}@b", "a".repeat(65));
        for undeliverable in
            ["ada(home)@example.com", "a<b@example.com", "ada@example-.com", "ada@[127.0.0.1]", &long_local]
        {
            assert!(Email::parse(undeliverable).is_err(), "{undeliverable:?}");
        }
        for deliverable in ["ada+latchkey@example.com", "o'brien@example.ie", "jürgen@münchen.de", "a.b_c@x.example"]
        {
            assert!(Email::parse(deliverable).is_ok(), "{deliverable:?}");
        }
        assert_eq!(Email::parse("Ada@Example.COM").unwrap().key(), "ada@example.com");
    }

    #[test]
    fn passwords_follow_the_policy() {
        assert!(Password::parse("correct horse battery").is_ok());
        assert_eq!(Password::parse("short").unwrap_err(), "must be at least 8 characters");
        assert!(Password::parse(&"é".repeat(256)).is_ok(), "256 characters, not bytes");
        assert!(Password::parse(&"x".repeat(257)).is_err());
        assert!(Password::parse("password123").is_err(), "common");
        assert!(Password::parse("PASSWORD123").is_err(), "common, any case");
        assert!(Password::parse("long enough\0").is_err());
    }

    #[test]
    fn roles_always_include_user_and_round_trip_through_the_column() {
        let roles = Roles::new([Role::admin(), Role::parse("editor").unwrap()]);
        assert_eq!(roles.names(), ["user", "admin", "editor"]);
        assert_eq!(Roles::from_column(&roles.to_column()), roles);
        assert!(Roles::from_column("").contains(&Role::user()));
        for bad in ["Admin", "1x", "", "a b", &"a".repeat(33)] {
            assert!(Role::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_seconds() {
        assert_eq!(format_rfc3339(from_unix(1_795_348_800)), "2026-11-22T12:00:00Z");
    }

    proptest! {
        #[test]
        fn username_parse_never_accepts_what_the_contract_forbids(s in "\\PC{0,40}") {
            if let Ok(u) = Username::parse(&s) {
                prop_assert!((3..=32).contains(&u.as_str().len()));
                prop_assert!(u.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)));
            }
        }

        #[test]
        fn email_parse_never_accepts_whitespace_or_two_ats(s in "\\PC{0,60}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(e.as_str().matches('@').count(), 1);
                prop_assert!(!e.as_str().chars().any(char::is_whitespace));
            }
        }
    }
}
