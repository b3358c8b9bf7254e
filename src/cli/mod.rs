//! The command line: `serve` (default), `migrate`,
//! `user create|import|set-roles|delete|reset-link`, `keys rotate|reseal`,
//! `client create|list|delete|rotate-secret`, `config check`.

mod clients;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};

use crate::app::{build_ctx, App};
use crate::config::{Config, Overrides};
use crate::domain::{Role, Roles};
use crate::error::AppError;
use crate::service::import::{self, ImportError, ImportedAccount};
use crate::service::{accounts, admin, keys, mail, recovery, users, Client};

#[derive(Parser)]
#[command(name = "latchkey", version, about = "Authentication server for single-page apps")]
pub struct Cli {
    /// Configuration file [default: ./latchkey.toml when it exists]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// Public URL of this server, e.g. https://auth.example.com
    #[arg(long, global = true, value_name = "URL")]
    public_url: Option<String>,
    /// sqlite://FILE or postgres://…
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the web app (the default)
    Serve,
    /// Apply database migrations and exit
    Migrate,
    /// Manage user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the JWT signing keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the apps that log their users in through latchkey (OpenID Connect clients)
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the HTTP API's OpenAPI document (what `GET /api/openapi.json` serves), to
    /// generate a client from without running a server
    Openapi,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key current; older keys verify until their tokens expire
    Rotate,
    /// Encrypt every signing key under a new key (then configure that key everywhere)
    Reseal {
        /// File holding the new key: 32 bytes in base64 (`openssl rand -base64 32`)
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input (one line)
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Give the account the admin role
        #[arg(long)]
        admin: bool,
    },
    /// Import accounts with their password hashes from a JSON Lines file ("-": stdin),
    /// one `{"username", "email"?, "password_hash", "roles"?}` per line; all or none
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Replace an account's roles (`user` is always kept)
    SetRoles {
        #[arg(long)]
        username: String,
        #[arg(value_name = "ROLE")]
        roles: Vec<String>,
    },
    /// Delete an account with its sessions
    Delete {
        #[arg(long)]
        username: String,
    },
    /// Print a one-time password reset link (valid 30 minutes) to hand to the user
    ResetLink {
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print it, secrets masked
    Check,
}

/// Discovers each federation provider now and says what it found, or what is wrong
/// (a provider that cannot be reached is a warning: latchkey retries it while running).
async fn check_providers(config: &Config) -> anyhow::Result<()> {
    use crate::config::ProviderKind;
    let providers = crate::service::federation::Providers::new(&config.federation)?;
    for provider in providers.all() {
        let id = &provider.config.id;
        let redirect_uri = format!("{}/api/federation/{id}/callback", config.public_url.trim_end_matches('/'));
        if provider.config.kind == ProviderKind::Github {
            eprintln!(
                "provider {id}: GitHub at {}; register the callback URL {redirect_uri}",
                provider.config.issuer()
            );
            continue;
        }
        match providers.discover(provider).await {
            Ok(found) => eprintln!(
                "provider {id}: discovered (token endpoint auth {}, iss in answers: {}); register the redirect URI {redirect_uri}",
                found.auth.as_str(),
                if found.iss_parameter { "yes" } else { "no" }
            ),
            Err(e) => eprintln!(
                "warning: provider {id}: {e}; latchkey keeps trying it, the other providers work meanwhile"
            ),
        }
    }
    Ok(())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = Overrides { listen: cli.listen, public_url: cli.public_url, database_url: cli.database_url };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    // The configuration knows nothing of mail transports and templates: the mailer
    // checks its own settings.
    mail::check_config(&config.smtp).map_err(anyhow::Error::msg)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let url = crate::config::mask_url_password(&config.database_url);
            build_ctx(config).await?.store.close().await;
            println!("migrations applied to {url}");
            Ok(())
        }
        Command::Openapi => {
            let document: serde_json::Value = serde_json::from_str(crate::http::openapi::document())?;
            println!("{}", serde_json::to_string_pretty(&document)?);
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            print!("{}", config.to_masked_toml());
            if config.tokens.algorithm == crate::config::JwtAlgorithm::EdDSA
                && config.keys.encryption_key.is_none()
                && config.keys.encryption_key_file.is_none()
                && keys::default_key_file(&config).is_none()
            {
                eprintln!("warning: {}", keys::UNSEALED_WARNING);
            }
            let passkeys = crate::service::passkeys::RelyingParty::from_config(&config)?;
            if config.passkeys.enabled && passkeys.is_none() {
                eprintln!("warning: {}", crate::service::passkeys::OFF_ON_AN_IP);
            }
            check_providers(&config).await?;
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::User(command) => user(config, command).await,
        Command::Client(command) => {
            let ctx = build_ctx(config).await?;
            let result = clients::run(&ctx, command).await;
            ctx.store.close().await;
            result
        }
        Command::Keys(KeysCommand::Rotate) => {
            let ctx = build_ctx(config).await?;
            let rotated = keys::rotate(&ctx).await;
            ctx.store.close().await;
            let (kid, retired) = rotated?;
            println!("new signing key {kid}; {retired} older key(s) verify until their tokens expire");
            Ok(())
        }
        Command::Keys(KeysCommand::Reseal { new_key_file }) => {
            let text = std::fs::read_to_string(&new_key_file)
                .with_context(|| format!("cannot read {}", new_key_file.display()))?;
            let new = crate::crypto::sealing::SealingKey::from_base64(&text)
                .with_context(|| new_key_file.display().to_string())?;
            let ctx = build_ctx(config).await?;
            let resealed = keys::reseal(&ctx, &new).await;
            ctx.store.close().await;
            let (keys, secrets) = resealed?;
            println!(
                "{keys} signing key(s) and {secrets} TOTP secret(s) now encrypted under {}: configure it on every \
                 instance (keys.encryption_key_file) and restart them",
                new_key_file.display()
            );
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    crate::telemetry::init(config.log.format);
    let public_url = config.public_url.clone();
    let app = App::build(config).await?.handle_hangups()?;
    println!("latchkey listening on {public_url} (port {})", app.port());
    app.run_until_stopped().await
}

async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let ctx = build_ctx(config).await?;
    let client = Client::local();
    let result = match command {
        UserCommand::Create { username, email, admin } => {
            let password = read_password()?;
            let user =
                accounts::create_user(&ctx, &username, email.as_deref(), &password, admin).await.map_err(explain)?;
            println!("created user {} (id {}, roles {})", user.username, user.id, user.roles.names().join(", "));
            Ok(())
        }
        UserCommand::Import { file } => import_users(&ctx, &file).await,
        UserCommand::SetRoles { username, roles } => {
            let roles = Roles::new(parse_roles(&roles).map_err(anyhow::Error::msg)?);
            let id = users::user_id_by_username(&ctx, &username).await.map_err(|e| explain_user(e, &username))?;
            let user = admin::set_roles(&ctx, id, roles, None, &client).await.map_err(explain)?;
            println!("{} now has roles {}", user.username, user.roles.names().join(", "));
            Ok(())
        }
        UserCommand::ResetLink { username } => {
            let id = users::user_id_by_username(&ctx, &username).await.map_err(|e| explain_user(e, &username))?;
            let link = recovery::reset_link(&ctx, id).await.map_err(explain)?;
            println!("{link}");
            eprintln!("one-time password reset link for {username}, valid 30 minutes; older links no longer work");
            Ok(())
        }
        UserCommand::Delete { username } => {
            let id = users::user_id_by_username(&ctx, &username).await.map_err(|e| explain_user(e, &username))?;
            admin::delete_user(&ctx, id, None, &client).await.map_err(explain)?;
            println!("deleted user {username}");
            Ok(())
        }
    };
    ctx.store.close().await;
    result
}

async fn import_users(ctx: &crate::service::Ctx, file: &std::path::Path) -> anyhow::Result<()> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let records: Vec<_> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let account = serde_json::from_str::<ImportedAccount>(line);
            (index + 1, account.map_err(|e| format!("not an account record: {e}")))
        })
        .collect();
    match import::import(ctx, &records).await {
        Ok(count) => {
            println!("imported {count} account(s); each password is re-hashed at its owner's next login");
            Ok(())
        }
        Err(ImportError::Refused(refused)) => {
            for (line, reason) in &refused {
                eprintln!("{}:{line}: {reason}", file.display());
            }
            bail!("nothing was imported: {} record(s) refused", refused.len())
        }
        Err(ImportError::Failed(e)) => Err(explain(e)),
    }
}

/// One line from standard input; without echo when it is a terminal.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat password: ")?;
        if first != again {
            bail!("the passwords do not match");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let _ = std::io::stdout().flush();
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn explain_user(e: AppError, username: &str) -> anyhow::Error {
    match e {
        AppError::NotFound => anyhow::anyhow!("no user named {username:?}"),
        other => explain(other),
    }
}

/// A service error as an operator should read it.
pub(crate) fn explain(e: AppError) -> anyhow::Error {
    match e {
        AppError::Validation(fields) => {
            let list: Vec<String> = fields.iter().map(|(k, v)| format!("{k} {v}")).collect();
            anyhow::anyhow!("invalid: {}", list.join("; "))
        }
        AppError::UsernameTaken => anyhow::anyhow!("that username is taken"),
        AppError::EmailTaken => anyhow::anyhow!("that email address is already in use"),
        AppError::LastAdmin => anyhow::anyhow!("refused: that would leave no admin"),
        AppError::NotFound => anyhow::anyhow!("no such user"),
        AppError::Internal(cause) => cause,
        other => anyhow::anyhow!("{other}"),
    }
}

/// Role names from the command line, checked with the same rule as the API's.
fn parse_roles(names: &[String]) -> Result<Vec<Role>, String> {
    names.iter().map(|n| Role::parse(n).map_err(|e| format!("role {n:?}: {e}"))).collect()
}
