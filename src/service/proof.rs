//! What a verified proof of identity carries into the login pipeline (`login`): who,
//! against which credentials, by which methods, and what checking it spent.

use super::throttle::Slots;
use super::Change;
use crate::domain::User;
use crate::error::AppError;

/// How a proof was given: it decides whether a second step may still be asked for, and
/// how a proof that went stale is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A password: the account's second factor, if any, is still to come.
    Password,
    /// The second step of a login challenge (a code or a passkey).
    SecondStep,
    /// A passkey on its own: a login of its own, needing no second step.
    Passkey,
    /// A login through a provider; `second_factor` when the provider checked one itself
    /// and is trusted to say so (`trust_upstream_mfa`).
    Provider { second_factor: bool },
}

impl Method {
    /// Whether this proof alone completes a login of an account with a second factor.
    pub fn completes_login(self) -> bool {
        match self {
            Method::Password => false,
            Method::SecondStep | Method::Passkey => true,
            Method::Provider { second_factor } => second_factor,
        }
    }

    /// The answer when the credentials changed after this proof was checked (or the
    /// account is gone): the same as a wrong proof of its kind.
    pub fn stale(self) -> AppError {
        match self {
            Method::Password => AppError::InvalidCredentials { fields: None },
            Method::SecondStep => AppError::InvalidChallenge,
            Method::Passkey => AppError::InvalidPasskey,
            Method::Provider { .. } => AppError::FederationFailed,
        }
    }
}

/// A proof that verified.
pub struct Proven<'c> {
    pub user: User,
    /// The account's credentials epoch read together with what the proof was checked
    /// against (the password hash, the challenge, the passkey).
    pub epoch: i64,
    pub method: Method,
    /// RFC 8176 values for `amr`, in the order they were proven.
    pub amr: Vec<String>,
    /// What checking the proof spent (a code, the challenge, a passkey's counter): it
    /// commits with the login or not at all. Such a change already holds the account at
    /// `epoch` (taken before anything was spent, in the order the credential changes lock).
    pub change: Option<Change<'c>>,
    /// Throttle slots the attempt holds, handed back once the login goes through.
    pub slots: Option<Slots>,
    /// The provider a federated login came through, for the audit log.
    pub provider: Option<String>,
}

impl<'c> Proven<'c> {
    pub fn new(user: User, epoch: i64, method: Method, amr: Vec<String>) -> Proven<'c> {
        Proven { user, epoch, method, amr, change: None, slots: None, provider: None }
    }

    pub fn from_provider(mut self, provider: &str) -> Proven<'c> {
        self.provider = Some(provider.to_string());
        self
    }

    pub fn with_slots(mut self, slots: Slots) -> Proven<'c> {
        self.slots = Some(slots);
        self
    }

    /// The proof was checked in `change`, which holds the account at the proof's epoch.
    pub fn in_change(mut self, change: Change<'c>) -> Proven<'c> {
        self.change = Some(change);
        self
    }
}
