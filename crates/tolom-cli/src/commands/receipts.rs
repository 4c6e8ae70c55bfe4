//! `tolom receipts verify`: a receipt checked by key id against the key
//! ring (`signing.ring_file` and the current key), as `/verify` does.

use std::path::PathBuf;

use clap::Subcommand;
use tolom_core::i18n::ErrorCode;
use tolom_core::usecases::{ReceiptCheck, ReceiptClaim};

use super::tolom;
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::print_json;
use crate::CliError;

/// `receipts`.
#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// Check a receipt: by its number, key id and signature (as printed or in
    /// the QR code), or by its JSON (`--file receipt.json`: the signed content
    /// in it is verified as given, so a changed name or amount is caught).
    #[command(
        after_help = "Examples:\n  tolom receipts verify 20261125-3F2A9C0D11B7E845 3q2-7w... --key-id Zk3pQ9xw\n  tolom receipts verify --file receipt-20261125-3F2A9C0D11B7E845.json"
    )]
    Verify {
        /// Receipt number.
        #[arg(required_unless_present = "file")]
        number: Option<String>,
        /// Signature.
        #[arg(required_unless_present = "file")]
        signature: Option<String>,
        /// Key id, as printed (default: every key of the ring is tried).
        #[arg(long)]
        key_id: Option<String>,
        /// A receipt's JSON (as the portal serves it: `signed_content` and
        /// `signature`), instead of a number and signature.
        #[arg(long, conflicts_with_all = ["number", "signature", "key_id"])]
        file: Option<PathBuf>,
    },
}

fn claim_from_file(path: &PathBuf) -> Result<ReceiptClaim, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {}", path.display(), e.kind())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", path.display())))?;
    let field = |name: &str| {
        v.get(name)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "{}: no \"{name}\" (a receipt's JSON as the portal serves it)",
                    path.display()
                ))
            })
    };
    Ok(ReceiptClaim::Content {
        content: field("signed_content")?,
        signature: field("signature")?,
    })
}

/// Runs `receipts`.
pub async fn run(
    settings: &Settings,
    command: ReceiptsCommand,
    json: bool,
) -> Result<(), CliError> {
    let ReceiptsCommand::Verify {
        number,
        signature,
        key_id,
        file,
    } = command;
    let claim = match file {
        Some(path) => claim_from_file(&path)?,
        None => ReceiptClaim::Reference {
            number: number.unwrap_or_default(),
            key_id,
            signature: signature.unwrap_or_default(),
        },
    };
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Required).await?;
    match tolom
        .check_receipt(&claim)
        .await
        .map_err(CliError::refused)?
    {
        ReceiptCheck::Genuine(g) => {
            let r = &g.receipt;
            if json {
                let mut receipt = serde_json::to_value(r).unwrap_or_default();
                receipt["format"] = tolom_core::receipt::CONTENT_VERSION.into();
                receipt["signed_content"] = r.signed_content().into();
                print_json(&serde_json::json!({
                    "genuine": true,
                    "receipt": receipt,
                    "key": {"key_id": g.key.key_id(), "valid_from": g.key.valid_from(), "valid_until": g.key.valid_until()},
                    "status_now": g.status_now.map(|s| s.as_str()),
                }))?;
            } else {
                println!(
                    "genuine: receipt {} for {} ({}), {}, paid by {}, signed with key {}",
                    r.number,
                    r.total,
                    r.service,
                    r.status,
                    r.payer,
                    g.key.key_id()
                );
                if let Some(now) = g.status_now {
                    println!("since then the payment is {now}");
                }
            }
            Ok(())
        }
        ReceiptCheck::NotGenuine(why) => {
            if json {
                print_json(&serde_json::json!({
                    "genuine": false,
                    "reason": {"code": why.code(), "detail": why.to_string()},
                }))?;
            }
            Err(CliError::CheckFailed(format!(
                "the receipt is NOT genuine: {why} ({})",
                why.code()
            )))
        }
    }
}
