//! `tolom receipts verify`.

use clap::Subcommand;

use super::tolom;
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::print_json;
use crate::CliError;

/// `receipts`.
#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// Check a receipt number and signature (as printed or in the QR code).
    #[command(
        after_help = "Example:\n  tolom receipts verify 20261125-3F2A9C0D11B7E845 3q2+7w..."
    )]
    Verify {
        /// Receipt number.
        number: String,
        /// Signature.
        signature: String,
    },
}

/// Runs `receipts`.
pub async fn run(
    settings: &Settings,
    command: ReceiptsCommand,
    json: bool,
) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Required).await?;
    match command {
        ReceiptsCommand::Verify { number, signature } => {
            match tolom
                .verify_receipt(&number, &signature)
                .await
                .map_err(CliError::refused)?
            {
                Some(r) => {
                    if json {
                        print_json(&serde_json::json!({"genuine": true, "receipt": r}))?;
                    } else {
                        println!(
                            "genuine: receipt {} for {} ({}), {}",
                            r.number, r.total, r.service, r.status
                        );
                    }
                    Ok(())
                }
                None => {
                    if json {
                        print_json(&serde_json::json!({"genuine": false}))?;
                    }
                    Err(CliError::CheckFailed(format!(
                        "receipt {number} is NOT genuine (unknown number or wrong signature)"
                    )))
                }
            }
        }
    }
}
