//! API.md "Throttling" as policy over the [`Limiter`](crate::limiter::Limiter): which
//! keys a login or signup attempt counts against, reserved before the password hash.
//!
//! A password attempt reserves a slot on its account (one budget per account, whether
//! the username or the email was typed, in any case) and one on its client address
//! (IPv6 clients counted per /64, since one host gets a whole /64). A success clears the
//! account's slots and hands the address's slot back; a failure keeps both.

use std::net::IpAddr;
use std::time::Duration;

use crate::domain::UserId;
use crate::error::AppError;
use crate::limiter::{LimitError, Reservation, Rule, Verdict};

use super::{Client, Ctx};

const SIGNUP_WINDOW: Duration = Duration::from_secs(3600);
/// Verification and reset mails are counted per hour.
const EMAIL_WINDOW: Duration = Duration::from_secs(3600);

/// The slots a password attempt holds while its hash is checked.
pub struct Slots {
    account_key: String,
    ip: Option<Reservation>,
}

/// Why an attempt was refused before any work.
pub struct Throttled {
    pub retry_after_secs: u64,
    /// The first refusal of this key's window: the one worth an audit event.
    pub first_denial: bool,
}

impl From<Throttled> for AppError {
    fn from(t: Throttled) -> AppError {
        AppError::RateLimited { retry_after_secs: t.retry_after_secs }
    }
}

fn unavailable(e: LimitError) -> AppError {
    tracing::error!(error = %e, "throttle counters unreachable");
    AppError::Unavailable("throttle counters unreachable".into())
}

/// The account's budget: by id when the name names an account, else by the name typed
/// (so guesses at names that do not exist are limited too), hashed: whatever was typed,
/// the key is short, plain ASCII, and keeps no attempted name in the counters' store.
pub fn account_key(user: Option<UserId>, login_key: &str) -> String {
    match user {
        Some(id) => format!("login:acct:{id}"),
        None => format!("login:name:{}", crate::feed::hex(&crate::crypto::token::token_hash(login_key)[..16])),
    }
}

/// The address's budget; IPv6 addresses share theirs with their /64.
pub fn ip_key(scope: &str, ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{scope}:ip:{v4}"),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & (u128::MAX << 64);
            format!("{scope}:ip:{}/64", std::net::Ipv6Addr::from(network))
        }
    }
}

fn login_rules(ctx: &Ctx) -> (Rule, Rule) {
    let t = &ctx.config.throttle;
    (Rule::new(t.login_per_account, t.window.0), Rule::new(t.login_per_ip, t.window.0))
}

/// Reserves the account's slot and, when `client` is given, the address's, before a
/// password is checked. Refused → nothing stays reserved.
pub async fn reserve_password_attempt(
    ctx: &Ctx,
    account_key: String,
    client: Option<&Client>,
) -> Result<Result<Slots, Throttled>, AppError> {
    let (account_rule, ip_rule) = login_rules(ctx);
    let now = ctx.clock.now_ms();
    let account = match ctx.limiter.reserve(&account_key, account_rule, now).await.map_err(unavailable)? {
        Verdict::Granted(r) => r,
        Verdict::Denied { retry_after_secs, first_denial } => {
            return Ok(Err(Throttled { retry_after_secs, first_denial }))
        }
    };
    let Some(client) = client else { return Ok(Ok(Slots { account_key, ip: None })) };
    match ctx.limiter.reserve(&ip_key("login", client.ip), ip_rule, now).await {
        Ok(Verdict::Granted(ip)) => Ok(Ok(Slots { account_key, ip: Some(ip) })),
        Ok(Verdict::Denied { retry_after_secs, first_denial }) => {
            refund(ctx, &account).await;
            Ok(Err(Throttled { retry_after_secs, first_denial }))
        }
        Err(e) => {
            refund(ctx, &account).await;
            Err(unavailable(e))
        }
    }
}

/// The password was right: the account's failures are forgiven (API.md), and the
/// address gets its slot back (but keeps its other failures, so logging into an account
/// of one's own does not buy more guesses at others).
pub async fn password_accepted(ctx: &Ctx, slots: Slots) {
    if let Err(e) = ctx.limiter.reset(&slots.account_key).await {
        tracing::warn!(error = %e, "account throttle not reset");
    }
    if let Some(ip) = slots.ip {
        refund(ctx, &ip).await;
    }
}

async fn refund(ctx: &Ctx, reservation: &Reservation) {
    if let Err(e) = ctx.limiter.refund(reservation).await {
        tracing::warn!(error = %e, "throttle slot not refunded");
    }
}

/// One signup slot for the client's address; signups are not refunded.
pub async fn reserve_signup(ctx: &Ctx, client: &Client) -> Result<(), AppError> {
    let rule = Rule::new(ctx.config.throttle.signup_per_ip, SIGNUP_WINDOW);
    match ctx.limiter.reserve(&ip_key("signup", client.ip), rule, ctx.clock.now_ms()).await.map_err(unavailable)? {
        Verdict::Granted(_) => Ok(()),
        Verdict::Denied { retry_after_secs, .. } => Err(AppError::RateLimited { retry_after_secs }),
    }
}

/// One mail-sending request for the client's address (`throttle.email_per_ip` an hour).
pub async fn reserve_mail_for_ip(ctx: &Ctx, client: &Client) -> Result<(), AppError> {
    let rule = Rule::new(ctx.config.throttle.email_per_ip, EMAIL_WINDOW);
    match ctx.limiter.reserve(&ip_key("email", client.ip), rule, ctx.clock.now_ms()).await.map_err(unavailable)? {
        Verdict::Granted(_) => Ok(()),
        Verdict::Denied { retry_after_secs, .. } => Err(AppError::RateLimited { retry_after_secs }),
    }
}

/// One mail to an account (`throttle.email_per_account` an hour): nobody can make
/// latchkey flood someone's mailbox, whichever addresses they ask from.
pub async fn reserve_mail_for_account(ctx: &Ctx, user: UserId) -> Result<(), AppError> {
    let rule = Rule::new(ctx.config.throttle.email_per_account, EMAIL_WINDOW);
    let key = format!("email:acct:{user}");
    match ctx.limiter.reserve(&key, rule, ctx.clock.now_ms()).await.map_err(unavailable)? {
        Verdict::Granted(_) => Ok(()),
        Verdict::Denied { retry_after_secs, .. } => Err(AppError::RateLimited { retry_after_secs }),
    }
}

/// One login started but not finished (a passkey ceremony, `scope = "passkey"`; a round
/// trip to a provider, `"federation"`) for the client's address (`throttle.login_per_ip`
/// in the login window): each is a row in the database until it is finished or expires.
pub async fn reserve_login_start(ctx: &Ctx, scope: &str, client: &Client) -> Result<(), AppError> {
    let rule = Rule::new(ctx.config.throttle.login_per_ip, ctx.config.throttle.window.0);
    match ctx.limiter.reserve(&ip_key(scope, client.ip), rule, ctx.clock.now_ms()).await.map_err(unavailable)? {
        Verdict::Granted(_) => Ok(()),
        Verdict::Denied { retry_after_secs, .. } => Err(AppError::RateLimited { retry_after_secs }),
    }
}

/// Drops counters no window can still need; run periodically.
pub async fn prune(ctx: &Ctx) {
    let longest = ctx.config.throttle.window.0.max(SIGNUP_WINDOW).max(EMAIL_WINDOW);
    let horizon = ctx.clock.now_ms() - i64::try_from(longest.as_millis()).unwrap_or(i64::MAX);
    if let Err(e) = ctx.limiter.prune(horizon).await {
        tracing::warn!(error = %e, "throttle counters not pruned");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key("login", a), "login:ip:2001:db8:1:2::/64");
        assert_eq!(ip_key("login", a), ip_key("login", b));
        assert_ne!(ip_key("login", a), ip_key("login", c));
        assert_eq!(ip_key("signup", "10.0.0.1".parse().unwrap()), "signup:ip:10.0.0.1");
    }

    #[test]
    fn accounts_are_keyed_by_id_whatever_was_typed() {
        assert_eq!(account_key(Some(7), "ada"), account_key(Some(7), "ada@example.com"));
        let unknown = account_key(None, "nobody\u{0}");
        assert!(unknown.starts_with("login:name:") && unknown.len() == 11 + 32, "{unknown}");
        assert!(unknown.is_ascii() && !unknown.contains("nobody"));
        assert_ne!(unknown, account_key(None, "somebody"));
    }
}
