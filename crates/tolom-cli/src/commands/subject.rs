//! `tolom subject export`.

use std::path::PathBuf;

use clap::Subcommand;

use super::{me, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::write_out;
use crate::CliError;

/// `subject`.
#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// Write everything held about a phone number or e-mail as JSON.
    #[command(
        after_help = "Examples:\n  tolom subject export --phone '+996 555 123 456'\n  \
tolom subject export --email aibek@example.kg --out request-4711.json"
    )]
    Export {
        /// Phone (any notation).
        #[arg(long)]
        phone: Option<String>,
        /// E-mail.
        #[arg(long)]
        email: Option<String>,
        /// Write to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `subject`.
pub async fn run(settings: &Settings, command: SubjectCommand) -> Result<(), CliError> {
    match command {
        SubjectCommand::Export { phone, email, out } => {
            if phone.is_none() && email.is_none() {
                return Err(CliError::Usage("give --phone or --email".into()));
            }
            let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Optional).await?;
            let export = operator(&tolom)?
                .subject_export(&me(), phone, email)
                .await?;
            let text = serde_json::to_string_pretty(&export)
                .map_err(|e| CliError::Usage(e.to_string()))?
                + "\n";
            write_out(out.as_deref(), &text)?;
            if out.is_some() {
                eprintln!("{} payments exported", export.payments.len());
            }
            Ok(())
        }
    }
}
