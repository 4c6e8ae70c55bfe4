//! `tolom keys generate|public`.

use std::path::PathBuf;

use clap::Subcommand;
use tolom_core::ports::Ed25519Signer;

use crate::compose::keys::{generate_key_file, signing_seed, KeyPolicy};
use crate::config::Settings;
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
}

/// Runs `keys`.
pub fn run(settings: &Settings, command: KeysCommand) -> Result<(), CliError> {
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
    }
}
