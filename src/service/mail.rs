//! Sending mail: templates, the outbox and its worker.
//!
//! A mail is rendered and written to the `outbox` table inside the transaction of the
//! change that causes it, so it exists if and only if the change committed. A worker in
//! every instance claims due mails (a lease, so two instances never send one mail at
//! once, and a mail whose sender died is sent again once the lease passes) and hands
//! them to the SMTP server, retrying with exponential back-off. A request never waits
//! for the mail server: a slow or stopped server delays mails, never answers.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use super::{html_escape, Change, Ctx};
use crate::config::SmtpConfig;
use crate::error::AppError;
use crate::store::email::{NewMail, OutboxRow};

/// How often the worker looks for due mails besides being woken (retries, other
/// instances' mails).
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Attempts before a mail is given up on (about two hours of back-off).
const MAX_ATTEMPTS: i64 = 10;
const FIRST_RETRY_SECS: i64 = 5;
const LONGEST_RETRY_SECS: i64 = 15 * 60;

/// The mails latchkey sends; each has a subject, a plain-text and an HTML template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Template {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
    EmailChanged,
}

impl Template {
    const ALL: [Template; 4] =
        [Template::VerifyEmail, Template::ResetPassword, Template::ChangeEmail, Template::EmailChanged];

    pub fn name(self) -> &'static str {
        match self {
            Template::VerifyEmail => "verify_email",
            Template::ResetPassword => "reset_password",
            Template::ChangeEmail => "change_email",
            Template::EmailChanged => "email_changed",
        }
    }

    /// The built-in subject, text and HTML.
    fn builtin(self) -> [&'static str; 3] {
        macro_rules! files {
            ($name:literal) => {
                [
                    include_str!(concat!("../../templates/mail/", $name, ".subject")),
                    include_str!(concat!("../../templates/mail/", $name, ".txt")),
                    include_str!(concat!("../../templates/mail/", $name, ".html")),
                ]
            };
        }
        match self {
            Template::VerifyEmail => files!("verify_email"),
            Template::ResetPassword => files!("reset_password"),
            Template::ChangeEmail => files!("change_email"),
            Template::EmailChanged => files!("email_changed"),
        }
    }
}

#[derive(Debug, Clone)]
struct Texts {
    subject: String,
    text: String,
    html: String,
}

/// Every template, the operator's where `smtp.templates_dir` has one, else built in.
#[derive(Debug, Clone)]
pub struct Templates(BTreeMap<Template, Texts>);

impl Templates {
    pub fn load(dir: Option<&Path>) -> Result<Templates, String> {
        let mut all = BTreeMap::new();
        for template in Template::ALL {
            let [subject, text, html] = template.builtin();
            let read = |ext: &str, builtin: &str| -> Result<String, String> {
                let Some(dir) = dir else { return Ok(builtin.to_string()) };
                let path = dir.join(format!("{}.{ext}", template.name()));
                match std::fs::read_to_string(&path) {
                    Ok(text) => Ok(text),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(builtin.to_string()),
                    Err(e) => Err(format!("smtp.templates_dir: cannot read {}: {e}", path.display())),
                }
            };
            let texts =
                Texts { subject: read("subject", subject)?, text: read("txt", text)?, html: read("html", html)? };
            all.insert(template, texts);
        }
        Ok(Templates(all))
    }

    /// Subject, plain text and HTML with `{{name}}` replaced by `values` (HTML-escaped in
    /// the HTML body). The subject is one line whatever the values hold.
    pub fn render(&self, template: Template, values: &[(&str, &str)]) -> (String, String, String) {
        let texts = &self.0[&template];
        let fill = |source: &str, escape: bool| {
            let mut out = source.to_string();
            for (name, value) in values {
                let value = if escape { html_escape(value) } else { (*value).to_string() };
                out = out.replace(&format!("{{{{{name}}}}}"), &value);
            }
            out
        };
        let subject = fill(&texts.subject, false).lines().map(str::trim).collect::<Vec<_>>().join(" ");
        (subject.trim().to_string(), fill(&texts.text, false), fill(&texts.html, true))
    }
}

/// Checks `[smtp]` at start-up (and for `config check`): a URL lettre can use, a sender,
/// a readable templates folder.
pub fn check_config(smtp: &SmtpConfig) -> Result<(), String> {
    let Some(url) = &smtp.url else { return Ok(()) };
    if !url.starts_with("smtp://") && !url.starts_with("smtps://") {
        return Err(format!(
            "smtp.url: {:?} must start with smtp:// or smtps://",
            crate::config::mask_url_password(url)
        ));
    }
    transport(smtp).map(drop)?;
    match &smtp.from {
        None => return Err("smtp.from is required with smtp.url (e.g. \"latchkey <auth@example.com>\")".into()),
        Some(from) => {
            from.parse::<Mailbox>().map_err(|e| format!("smtp.from: {from:?} is not a mail address: {e}"))?;
        }
    }
    if let Some(reply_to) = &smtp.reply_to {
        reply_to.parse::<Mailbox>().map_err(|e| format!("smtp.reply_to: {reply_to:?} is not a mail address: {e}"))?;
    }
    if smtp.timeout.is_zero() {
        return Err("smtp.timeout must be longer than 0s".into());
    }
    if let Some(dir) = &smtp.templates_dir {
        if !dir.is_dir() {
            return Err(format!("smtp.templates_dir: {} is not a folder", dir.display()));
        }
    }
    Templates::load(smtp.templates_dir.as_deref()).map(drop)
}

/// The user name written in an SMTP URL (`smtps://user@host`), if any.
fn url_user(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = &authority[..authority.rfind('@')?];
    let user = userinfo.split(':').next().unwrap_or_default();
    (!user.is_empty()).then_some(user)
}

fn transport(smtp: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let Some(url) = &smtp.url else { return Err("smtp.url is not set".into()) };
    let masked = crate::config::mask_url_password(url);
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| format!("smtp.url: {masked:?} is not usable: {e}"))?
        .timeout(Some(smtp.timeout.0));
    if let Some(password) = &smtp.password {
        let Some(user) = url_user(url) else {
            return Err("smtp.password needs a user name in smtp.url (smtps://user@host:465)".into());
        };
        builder = builder.credentials(Credentials::new(user.to_string(), password.0.clone()));
    }
    Ok(builder.build())
}

/// What sends mail: present in `Ctx` only when `[smtp]` is configured.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    templates: Templates,
    timeout_secs: i64,
    wake: Notify,
}

impl Mailer {
    /// `None` without `smtp.url`. The configuration was validated already.
    pub fn from_config(smtp: &SmtpConfig) -> anyhow::Result<Option<Arc<Mailer>>> {
        if smtp.url.is_none() {
            return Ok(None);
        }
        let from = smtp.from.as_deref().unwrap_or_default().parse::<Mailbox>()?;
        let reply_to = smtp.reply_to.as_deref().map(str::parse::<Mailbox>).transpose()?;
        Ok(Some(Arc::new(Mailer {
            transport: transport(smtp).map_err(anyhow::Error::msg)?,
            from,
            reply_to,
            templates: Templates::load(smtp.templates_dir.as_deref()).map_err(anyhow::Error::msg)?,
            timeout_secs: smtp.timeout.secs().max(1),
            wake: Notify::new(),
        })))
    }

    /// Tells the worker a mail is waiting (after the change that wrote it committed).
    /// Waits until woken (a mail or a request was queued) or for the next poll.
    pub async fn wait_for_work(&self) {
        tokio::select! {
            () = self.wake.notified() => {}
            () = tokio::time::sleep(POLL_EVERY) => {}
        }
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn message(&self, row: &OutboxRow) -> Result<Message, String> {
        let to = row.recipient.parse::<Mailbox>().map_err(|e| format!("recipient refused: {e}"))?;
        let mut builder = Message::builder().from(self.from.clone()).to(to).subject(row.subject.clone());
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(row.text_body.clone(), row.html_body.clone()))
            .map_err(|e| format!("message not built: {e}"))
    }
}

/// The mailer, or 503 `email_unavailable` when latchkey has no mail server.
pub fn mailer(ctx: &Ctx) -> Result<&Arc<Mailer>, AppError> {
    ctx.mailer.as_ref().ok_or(AppError::EmailUnavailable)
}

/// Renders `template` for `to` and writes it to the outbox, as part of `change`. Call
/// [`Mailer::wake`] after the change commits.
pub async fn enqueue(
    change: &mut Change<'_>,
    mailer: &Mailer,
    to: &str,
    template: Template,
    values: &[(&str, &str)],
) -> Result<(), AppError> {
    let app = change.ctx().config.public_url.clone();
    let mut all = vec![("app", app.as_str())];
    all.extend_from_slice(values);
    let (subject, text, html) = mailer.templates.render(template, &all);
    let now = change.now;
    change.enqueue_mail(&NewMail { recipient: to, subject: &subject, text_body: &text, html_body: &html, now }).await?;
    Ok(())
}

/// Seconds to wait after the `attempts`-th failure: 5 s, doubling, at most 15 minutes.
fn backoff_secs(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    FIRST_RETRY_SECS.saturating_mul(1 << doublings).min(LONGEST_RETRY_SECS)
}

/// Sends due mails one at a time until none is due.
pub async fn deliver_due(ctx: &Ctx, mailer: &Mailer) {
    loop {
        let now = ctx.now();
        // Long enough for one delivery at the transport's timeout, with room to record it.
        let lease_until = now + 2 * mailer.timeout_secs + 30;
        let row = match ctx.store.claim_mails(now, lease_until, 1).await {
            Ok(mut rows) => match rows.pop() {
                Some(row) => row,
                None => return,
            },
            Err(e) => {
                tracing::warn!(error = %e, "outbox not read; trying again shortly");
                return;
            }
        };
        deliver(ctx, mailer, row).await;
    }
}

async fn deliver(ctx: &Ctx, mailer: &Mailer, row: OutboxRow) {
    let outcome = match mailer.message(&row) {
        Ok(message) => mailer.transport.send(message).await.map(drop).map_err(|e| (e.is_permanent(), e.to_string())),
        Err(e) => Err((true, e)),
    };
    let now = ctx.now();
    let recorded = match outcome {
        Ok(()) => {
            metrics::counter!("latchkey_mails_sent_total").increment(1);
            tracing::info!(mail_id = row.id, "mail sent");
            ctx.store.delete_mail(row.id).await
        }
        Err((permanent, error)) => {
            metrics::counter!("latchkey_mails_failed_total").increment(1);
            if permanent || row.attempts >= MAX_ATTEMPTS {
                tracing::error!(mail_id = row.id, attempts = row.attempts, %error, "mail given up");
                ctx.store.give_up_mail(row.id, now, &error).await
            } else {
                let wait = backoff_secs(row.attempts);
                tracing::warn!(mail_id = row.id, attempts = row.attempts, retry_in_secs = wait, %error, "mail not sent");
                ctx.store.retry_mail(row.id, now + wait, &error).await
            }
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the mail is tried again: sent twice at worst, never lost.
        tracing::warn!(mail_id = row.id, error = %e, "outcome of a mail not recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_a_ceiling() {
        let waits: Vec<i64> = (1..=10).map(backoff_secs).collect();
        assert_eq!(&waits[..5], &[5, 10, 20, 40, 80]);
        assert_eq!(waits[9], LONGEST_RETRY_SECS);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn templates_fill_values_and_escape_them_in_html() {
        let t = Templates::load(None).unwrap();
        let (subject, text, html) = t
            .render(Template::ResetPassword, &[("app", "http://x"), ("username", "<b>"), ("link", "http://x/r#t=a&b")]);
        assert_eq!(subject, "Reset your password for http://x");
        assert!(text.contains("Hello <b>,") && text.contains("http://x/r#t=a&b"), "{text}");
        assert!(html.contains("Hello &lt;b&gt;,") && html.contains("http://x/r#t=a&amp;b"), "{html}");
        assert!(!text.contains("{{"), "{text}");
    }

    #[test]
    fn operator_templates_override_the_builtin_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("verify_email.subject"), "Bitte bestätigen: {{email}}\n").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let (subject, text, _) = t.render(Template::VerifyEmail, &[("email", "a@b")]);
        assert_eq!(subject, "Bitte bestätigen: a@b");
        assert!(text.contains("confirm that a@b"), "the text stays built in: {text}");
    }

    #[test]
    fn smtp_urls_are_checked_and_their_user_found() {
        let mut smtp = SmtpConfig { url: Some("smtp://127.0.0.1:1025".into()), ..SmtpConfig::default() };
        assert!(check_config(&smtp).unwrap_err().contains("smtp.from"));
        smtp.from = Some("latchkey <auth@example.com>".into());
        assert_eq!(check_config(&smtp), Ok(()));
        smtp.url = Some("http://x".into());
        assert!(check_config(&smtp).is_err());
        assert_eq!(url_user("smtps://ada:pw@mail.example.com:465"), Some("ada"));
        assert_eq!(url_user("smtps://ada@mail.example.com"), Some("ada"));
        assert_eq!(url_user("smtp://mail.example.com:25"), None);
        smtp.url = Some("smtp://mail.example.com:25".into());
        smtp.password = Some(crate::config::Secret("pw".into()));
        assert!(check_config(&smtp).unwrap_err().contains("user name"));
    }
}
