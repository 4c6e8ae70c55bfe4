//! `tolom keys generate|public|show|rotate`.

use std::path::PathBuf;

use clap::Subcommand;
use tolom_core::ports::{Ed25519Signer, KeyRing, ReceiptSigner};

use crate::compose::keys::{generate_key_file, key_ring, rotate, signing_seed, KeyPolicy};
use crate::config::Settings;
use crate::output::print_json;
use crate::CliError;

/// `keys`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new Ed25519 receipt signing key (hex, mode 0600) and print its public key.
    #[command(
        after_help = "Examples:\n  tolom keys generate\n  tolom keys generate --out /etc/tolom/receipt-signing.key"
    )]
    Generate {
        /// Where (default: signing.key_file, or <data_dir>/receipt-signing.key).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the public key of the configured signing key.
    Public,
    /// Print the receipt key ring for agencies: every public key receipts are
    /// verified against (current and retired), with its id, validity period
    /// and PEM form (`--json`: as `GET /api/v1/receipts/keys` serves it).
    #[command(
        after_help = "Examples:\n  tolom keys show\n  tolom --json keys show > receipt-keys.json"
    )]
    Show,
    /// Rotate the receipt signing key: write a new key to signing.key_file and
    /// retire the old one's public key into signing.ring_file (valid until now
    /// plus the overlap). Receipts signed before still verify by their key id.
    /// Then copy the ring file to every instance (they reload it), then the
    /// key file, and restart the instances one at a time within the overlap.
    #[command(
        after_help = "Examples:\n  tolom keys rotate\n  tolom keys rotate --overlap-minutes 0   # the old key leaked: it signs nothing from now"
    )]
    Rotate {
        /// Minutes the old key stays valid for signing, for instances not
        /// yet restarted (default 60; 0 when the old key leaked).
        #[arg(long, default_value_t = 60)]
        overlap_minutes: u32,
    },
}

/// Runs `keys`.
pub fn run(settings: &Settings, command: KeysCommand, json: bool) -> Result<(), CliError> {
    match command {
        KeysCommand::Generate { out } => {
            let path = out.unwrap_or_else(|| settings.signing_key_file());
            let seed = generate_key_file(&path)?;
            println!("wrote {} (mode 0600)", path.display());
            println!(
                "public key: {}",
                Ed25519Signer::from_seed(seed).public_key()
            );
            Ok(())
        }
        KeysCommand::Public => {
            let seed = signing_seed(settings, KeyPolicy::Required)?;
            println!("{}", Ed25519Signer::from_seed(seed).public_key());
            Ok(())
        }
        KeysCommand::Show => {
            let signer = Ed25519Signer::from_seed(signing_seed(settings, KeyPolicy::Required)?);
            let ring = key_ring(settings, &signer)?;
            show(&ring, &signer.key_id(), json)
        }
        KeysCommand::Rotate { overlap_minutes } => {
            let done = rotate(
                settings,
                chrono::Duration::minutes(i64::from(overlap_minutes)),
            )?;
            let until = done
                .retired
                .valid_until()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
            if json {
                print_json(&serde_json::json!({
                    "retired": {"key_id": done.retired.key_id(), "valid_until": until},
                    "current": {"key_id": done.current.key_id(), "public_key": done.current.public_key_base64url()},
                    "key_file": done.key_file,
                    "ring_file": done.ring_file,
                }))?;
            } else {
                println!(
                    "retired key {} (verifies receipts whose facts are older than {until})",
                    done.retired.key_id()
                );
                println!(
                    "new key {} in {} (public key {})",
                    done.current.key_id(),
                    done.key_file.display(),
                    done.current.public_key_base64url()
                );
                println!("ring written to {}", done.ring_file.display());
                println!(
                    "next: copy {} to every instance (they reload it within 10 s), then {}, and \
                     restart the instances one at a time before {until}; publish `tolom keys show`",
                    done.ring_file.display(),
                    done.key_file.display()
                );
            }
            Ok(())
        }
    }
}

fn show(ring: &KeyRing, current: &str, json: bool) -> Result<(), CliError> {
    if json {
        let mut v = ring.to_json();
        v["current"] = serde_json::Value::String(current.to_string());
        return print_json(&v);
    }
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    for k in ring.keys() {
        let state = if k.key_id() == current {
            "current"
        } else {
            "retired"
        };
        println!("key {} ({state}, Ed25519)", k.key_id());
        println!("  public key   {}", k.public_key_base64url());
        println!(
            "  valid from   {}",
            time(k.valid_from()).unwrap_or_else(|| "(not recorded)".into())
        );
        println!(
            "  valid until  {}",
            time(k.valid_until()).unwrap_or_else(|| "(current)".into())
        );
        print!("{}", k.public_key_pem());
        println!();
    }
    Ok(())
}
