//! `latchkey client …`: the apps that log their users in through latchkey.

use clap::Subcommand;

use super::explain;
use crate::service::oauth2::clients::{self, NewClientRequest, OAuthClient, ScopeName, WithSecret};
use crate::service::{Client, Ctx};

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register an app; prints its client_id (and, for a confidential client, its secret, shown this once)
    Create {
        #[arg(long)]
        name: String,
        /// Where latchkey may send the browser back with a code (exact match); repeat for several
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// An SPA or a native app: no secret, PKCE only
        #[arg(long, conflicts_with = "confidential")]
        public: bool,
        /// A server-side app with a secret (the default)
        #[arg(long)]
        confidential: bool,
        /// The scopes it may ask for, space- or comma-separated (default: all)
        #[arg(long, value_name = "SCOPES")]
        scopes: Option<String>,
        /// Where latchkey may send the browser after a logout the app asked for; repeat for several
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// The team's own app: users are not asked to consent
        #[arg(long)]
        skip_consent: bool,
        /// The ID token's algorithm: RS256 (default) or EdDSA
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<String>,
        /// Print the result as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// List the registered apps
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete an app: its consents and every login through it end
    Delete { client_id: String },
    /// Give a confidential app a new secret (the old one stops working at once)
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(ctx: &Ctx, command: ClientCommand) -> anyhow::Result<()> {
    let local = Client::local();
    match command {
        ClientCommand::Create {
            name,
            redirect_uris,
            public,
            confidential: _,
            scopes,
            post_logout_redirect_uris,
            skip_consent,
            id_token_alg,
            json,
        } => {
            let scopes = match scopes {
                None => None,
                Some(text) => Some(
                    text.split([' ', ','])
                        .filter(|s| !s.is_empty())
                        .map(|s| {
                            ScopeName::parse(s).ok_or_else(|| anyhow::anyhow!("{s:?} is not a scope latchkey knows"))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?,
                ),
            };
            let req = NewClientRequest {
                name: Some(name),
                redirect_uris: Some(redirect_uris),
                post_logout_redirect_uris: Some(post_logout_redirect_uris),
                public: Some(public),
                scopes,
                skip_consent: Some(skip_consent),
                id_token_signed_response_alg: id_token_alg,
            };
            let created = clients::create(ctx, req, None, &local).await.map_err(explain)?;
            print_with_secret(&created, json)
        }
        ClientCommand::List { json } => {
            let list = clients::list(ctx).await.map_err(explain)?;
            if json {
                println!("{}", serde_json::to_string(&serde_json::json!({ "clients": list }))?);
            } else if list.is_empty() {
                eprintln!("no apps registered (latchkey client create --name … --redirect-uri …)");
            } else {
                for c in &list {
                    println!("{}", describe(c));
                }
            }
            Ok(())
        }
        ClientCommand::Delete { client_id } => {
            clients::delete(ctx, &client_id, None, &local).await.map_err(explain)?;
            println!("deleted client {client_id}");
            Ok(())
        }
        ClientCommand::RotateSecret { client_id, json } => {
            let rotated = clients::rotate_secret(ctx, &client_id, None, &local).await.map_err(explain)?;
            print_with_secret(&rotated, json)
        }
    }
}

fn print_with_secret(client: &WithSecret, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(client)?);
        return Ok(());
    }
    println!("client_id: {}", client.client.client_id);
    if let Some(secret) = &client.client_secret {
        println!("client_secret: {secret}");
        eprintln!("the secret is shown this once; latchkey keeps only its hash");
    }
    eprintln!("{}", describe(&client.client));
    Ok(())
}

fn describe(c: &OAuthClient) -> String {
    format!(
        "{}  {:?}  {}  redirect URIs: {}{}",
        c.client_id,
        c.name,
        if c.public { "public" } else { "confidential" },
        c.redirect_uris.join(" "),
        if c.skip_consent { "  (no consent asked)" } else { "" }
    )
}
