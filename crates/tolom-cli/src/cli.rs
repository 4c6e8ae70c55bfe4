//! The command line's shape (clap derive). Each command's arguments live
//! with the command, in [`crate::commands`]; every command has `--help`
//! with examples.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::*;
use crate::config::Settings;
use crate::CliError;

/// tolom — payment codes, card payments and receipts for state-service fees.
#[derive(Debug, Parser)]
#[command(
    name = "tolom",
    version,
    about = "Operate a tolom payment portal: serve, codes, payments, refunds, reconciliation, reports, audit",
    after_help = "Configuration: --config FILE (default ./tolom.toml if present) plus TOLOM_* \
environment variables; secrets only from the environment or files.\n\nExamples:\n  \
tolom demo                      # try it: SQLite under ./tolom-data, sandbox acquirer, demo codes\n  \
tolom migrate\n  tolom serve\n  tolom codes issue --service passport-2020 --payer 'Асанов Айбек'\n  \
tolom payments list --status succeeded --from 2026-11-25\n  tolom report --from 2026-11-25 --format csv"
)]
pub struct Cli {
    /// The configuration file (TOML).
    #[arg(long, short = 'c', global = true, env = "TOLOM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log lines on stderr: `text` (default) or `json` (one object per
    /// line, with the spans' fields: `request_id` on every line of a
    /// request). The level comes from `TOLOM_LOG` (e.g. `info`).
    #[arg(
        long,
        global = true,
        env = "TOLOM_LOG_FORMAT",
        value_enum,
        default_value_t = crate::telemetry::LogFormat::Text
    )]
    pub log_format: crate::telemetry::LogFormat,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal, the admin API and the background jobs.
    #[command(
        after_help = "Examples:\n  tolom serve\n  tolom --config /etc/tolom/tolom.toml serve --addr 0.0.0.0:8080\n  \
TOLOM_ADMIN_ADDR=10.0.0.5:9090 tolom serve --log-format json   # admin API and /metrics on a private address\n  \
tolom serve --demo              # the same as `tolom demo`"
    )]
    Serve(serve::ServeArgs),
    /// Try tolom: `serve --demo` — SQLite under ./tolom-data, the sandbox
    /// acquirer, demo codes and test cards printed, notifications written to
    /// ./tolom-data/notifications.log.
    #[command(after_help = "Example:\n  tolom demo\n  tolom demo --addr 127.0.0.1:9090")]
    Demo(serve::DemoArgs),
    /// Create or upgrade the database schema (idempotent).
    #[command(
        after_help = "Example:\n  TOLOM_DATABASE_URL=postgres://tolom@db/tolom TOLOM_DATABASE_PASSWORD_FILE=/run/secrets/db tolom migrate"
    )]
    Migrate,
    /// Show the effective configuration (secrets redacted).
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Receipt signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Issue, import, show and cancel payment codes.
    #[command(subcommand)]
    Codes(codes::CodesCommand),
    /// List and show payments.
    #[command(subcommand)]
    Payments(payments::PaymentsCommand),
    /// Refund a payment, fully or in part.
    #[command(
        after_help = "Examples:\n  tolom refund 6f1c2a4e-... --reason 'service not provided'\n  \
tolom refund 6f1c2a4e-... --amount 100.00 --reason 'fee corrected' --key refund-4711"
    )]
    Refund(refund::RefundArgs),
    /// Settle payments with an unknown outcome by asking the acquirer.
    #[command(after_help = "Example:\n  tolom reconcile --json")]
    Reconcile,
    /// Expire abandoned payments and charges past their expiry.
    #[command(after_help = "Example:\n  tolom expire")]
    Expire,
    /// The outbox of receipt e-mails and agency notices.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Payments per day and service, for reconciliation with the bank's statement.
    #[command(
        after_help = "Examples:\n  tolom report --from 2026-11-25\n  tolom report --from 2026-11-01 --to 2026-11-30 --format csv --out november.csv"
    )]
    Report(report::ReportArgs),
    /// Receipts.
    #[command(subcommand)]
    Receipts(receipts::ReceiptsCommand),
    /// User-agreement editions.
    #[command(subcommand)]
    Terms(terms::TermsCommand),
    /// Admin API tokens.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Personal-data retention.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Access requests of data subjects.
    #[command(subcommand)]
    Subject(subject::SubjectCommand),
}

impl Cli {
    /// Loads the configuration and runs the command.
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::load(self.config.as_deref())?;
        let json = self.json;
        match self.command {
            Command::Serve(args) => serve::serve(settings, args).await,
            Command::Demo(args) => serve::demo(settings, args).await,
            Command::Migrate => migrate::run(&settings, json).await,
            Command::Config(c) => config_cmd::run(&settings, c),
            Command::Keys(k) => keys::run(&settings, k, json),
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
}
