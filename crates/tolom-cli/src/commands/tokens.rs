//! `tolom tokens create|list|revoke`.

use clap::Subcommand;
use tolom_core::access::Role;
use tolom_core::time::format_bishkek;

use super::{me, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::{print_json, table};
use crate::CliError;

/// `tokens`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; its secret is printed once and never stored.
    #[command(
        after_help = "Roles: issuer (create/cancel charges), operator (refunds, reconciliation,\n\
reports, reads, payments made elsewhere), auditor (reads only), bank (records\n\
the payments of codes made through its channel, nothing else).\n\n\
Examples:\n  tolom tokens create agency-passport --role issuer\n  \
tolom tokens create bank-kicb --role bank"
    )]
    Create {
        /// Name (letters, digits, - _ .).
        name: String,
        /// issuer, operator, auditor or bank.
        #[arg(long)]
        role: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by name.
    #[command(after_help = "Example:\n  tolom tokens revoke agency-passport")]
    Revoke {
        /// Name.
        name: String,
    },
}

/// Runs `tokens`.
pub async fn run(settings: &Settings, command: TokensCommand, json: bool) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Optional).await?;
    let operator = operator(&tolom)?;
    let who = me();
    match command {
        TokensCommand::Create { name, role } => {
            let role = Role::parse(&role).ok_or_else(|| {
                CliError::Usage(format!(
                    "unknown role {role:?} (issuer, operator, auditor or bank)"
                ))
            })?;
            let t = operator.create_token(&who, &name, role).await?;
            if json {
                print_json(
                    &serde_json::json!({"name": t.token.name, "role": role.as_str(), "secret": t.secret}),
                )
            } else {
                println!(
                    "token {} ({}) created. Its secret, shown only now:",
                    t.token.name,
                    role.as_str()
                );
                println!("{}", t.secret);
                Ok(())
            }
        }
        TokensCommand::List => {
            let tokens = operator.tokens(&who).await?;
            if json {
                let v: Vec<_> = tokens
                    .iter()
                    .map(|t| serde_json::json!({"name": t.name, "role": t.role.as_str(), "created_at": t.created_at, "revoked_at": t.revoked_at}))
                    .collect();
                return print_json(&v);
            }
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|t| {
                    vec![
                        t.name.clone(),
                        t.role.as_str().to_string(),
                        format_bishkek(t.created_at),
                        t.revoked_at
                            .map(format_bishkek)
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(&["NAME", "ROLE", "CREATED", "REVOKED"], &rows);
            Ok(())
        }
        TokensCommand::Revoke { name } => {
            operator.revoke_token(&who, &name).await?;
            println!("revoked {name}");
            Ok(())
        }
    }
}
