//! One module per command; each is a thin mapping of its arguments onto
//! the core's use cases (the operator's, acting as the local user
//! `cli:<user>`), and of the result onto standard output.

use std::sync::Arc;

use tolom_core::access::Principal;
use tolom_core::money::{Currency, Money};
use tolom_core::usecases::Operator;
use tolom_core::Tolom;
use uuid::Uuid;

use crate::cli::{Cli, Command};
use crate::compose::{self, KeyPolicy, Mode, Needs};
use crate::config::Settings;
use crate::CliError;

pub mod audit;
pub mod codes;
pub mod config_cmd;
pub mod expire;
pub mod keys;
pub mod migrate;
pub mod outbox;
pub mod payments;
pub mod receipts;
pub mod reconcile;
pub mod refund;
pub mod report;
pub mod retention;
pub mod serve;
pub mod subject;
pub mod terms;
pub mod tokens;

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::load(cli.config.as_deref())?;
    let json = cli.json;
    match cli.command {
        Command::Serve(args) => serve::serve(settings, args).await,
        Command::Demo(args) => serve::demo(settings, args).await,
        Command::Migrate => migrate::run(&settings, json).await,
        Command::Config(c) => config_cmd::run(&settings, c),
        Command::Keys(k) => keys::run(&settings, k),
        Command::Codes(c) => codes::run(&settings, c, json).await,
        Command::Payments(c) => payments::run(&settings, c, json).await,
        Command::Refund(a) => refund::run(&settings, a, json).await,
        Command::Reconcile => reconcile::run(&settings, json).await,
        Command::Expire => expire::run(&settings, json).await,
        Command::Outbox(c) => outbox::run(&settings, c, json).await,
        Command::Report(a) => report::run(&settings, a, json).await,
        Command::Receipts(c) => receipts::run(&settings, c, json).await,
        Command::Terms(c) => terms::run(&settings, c, json).await,
        Command::Tokens(c) => tokens::run(&settings, c, json).await,
        Command::Audit(c) => audit::run(&settings, c, json).await,
        Command::Retention(c) => retention::run(&settings, c, json).await,
        Command::Subject(c) => subject::run(&settings, c).await,
    }
}

/// The principal of command-line actions: the operating-system user
/// (`cli:<user>` in the audit log).
pub fn me() -> Principal {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    Principal::Local { user }
}

/// The use cases of a command: production composition, signing key as the
/// command needs it.
pub(crate) async fn tolom(
    settings: &Settings,
    needs: Needs,
    keys: KeyPolicy,
) -> Result<Arc<Tolom>, CliError> {
    Ok(compose::compose(settings, Mode::Production, needs, keys)
        .await?
        .tolom)
}

/// The operator's use case of a composed [`Tolom`].
pub(crate) fn operator(tolom: &Tolom) -> Result<&Operator, CliError> {
    tolom
        .operator()
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// An amount in som.
pub(crate) fn money(s: &str) -> Result<Money, CliError> {
    Money::parse(s, Currency::KGS).map_err(|e| CliError::Usage(format!("amount {s:?}: {e}")))
}

/// A payment id.
pub(crate) fn payment_id(s: &str) -> Result<Uuid, CliError> {
    Uuid::parse_str(s.trim()).map_err(|_| CliError::Refused {
        code: "payment.not_found".into(),
        message: format!("{s:?} is not a payment id"),
    })
}
