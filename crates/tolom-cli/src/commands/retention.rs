//! `tolom retention run`.

use clap::Subcommand;

use super::{me, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::print_json;
use crate::CliError;

/// `retention`.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Anonymise contact data (phone, e-mail, cardholder name) of payments
    /// settled longer ago than the retention period.
    #[command(after_help = "Examples:\n  tolom retention run\n  tolom retention run --days 1095")]
    Run {
        /// Days (default: retention.days, 365).
        #[arg(long)]
        days: Option<u32>,
    },
}

/// Runs `retention`.
pub async fn run(
    settings: &Settings,
    command: RetentionCommand,
    json: bool,
) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Optional).await?;
    match command {
        RetentionCommand::Run { days } => {
            let days = days.unwrap_or(settings.retention_days);
            let n = operator(&tolom)?.run_retention(&me(), days).await?;
            if json {
                print_json(&serde_json::json!({"anonymised": n, "days": days}))
            } else {
                println!("{n} payments anonymised (settled more than {days} days ago)");
                Ok(())
            }
        }
    }
}
