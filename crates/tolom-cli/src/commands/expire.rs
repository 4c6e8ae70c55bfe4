//! `tolom expire`.

use super::{me, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::print_json;
use crate::CliError;

/// Runs `expire`.
pub async fn run(settings: &Settings, json: bool) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::Acquirer, KeyPolicy::Optional).await?;
    let r = operator(&tolom)?.expire(&me()).await?;
    if json {
        print_json(&r)
    } else {
        println!(
            "{} payments expired, {} settled, {} charges expired, {} errors",
            r.payments_expired, r.payments_settled, r.charges_expired, r.errors
        );
        Ok(())
    }
}
