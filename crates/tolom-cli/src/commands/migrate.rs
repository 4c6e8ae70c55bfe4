//! `tolom migrate`: create or upgrade the schema (opening the store runs
//! the migrations), and create the receipt signing key, the portal secret
//! and the audit checkpoint key when missing.

use crate::compose::{self, KeyPolicy};
use crate::config::Settings;
use crate::output::print_json;
use crate::CliError;

/// Runs `migrate`.
pub async fn run(settings: &Settings, json: bool) -> Result<(), CliError> {
    let (_, _, kind) = compose::open_store(settings).await?;
    // The one set-up step creates the shared secrets when missing; give
    // every instance the same files.
    compose::keys::signing_seed(settings, KeyPolicy::CreateIfMissing)?;
    compose::keys::portal_secret(settings, KeyPolicy::CreateIfMissing)?;
    crate::checkpoints::signing_key(settings, KeyPolicy::CreateIfMissing)?;
    if json {
        print_json(&serde_json::json!({"migrated": true, "store": kind}))
    } else {
        println!("database is up to date ({kind})");
        Ok(())
    }
}
