//! `tolom reconcile`.

use super::{me, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::print_json;
use crate::CliError;

/// Runs `reconcile`.
pub async fn run(settings: &Settings, json: bool) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::Acquirer, KeyPolicy::Optional).await?;
    let r = operator(&tolom)?.reconcile(&me()).await?;
    if json {
        print_json(&r)
    } else {
        println!(
            "checked {}: {} succeeded, {} declined, {} failed, {} expired, {} unsettled, {} refunds settled, {} recovered, {} errors",
            r.checked, r.succeeded, r.declined, r.failed, r.expired, r.unsettled, r.refunds_settled, r.recovered, r.errors
        );
        Ok(())
    }
}
