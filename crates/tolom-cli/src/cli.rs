//! The command line's shape (clap derive). Every command has `--help` with
//! examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// tolom — payment codes, card payments and receipts for state-service fees.
#[derive(Debug, Parser)]
#[command(
    name = "tolom",
    version,
    about = "Operate a tolom payment portal: serve, codes, payments, refunds, reconciliation, reports, audit",
    after_help = "Configuration: --config FILE (default ./tolom.toml if present) plus TOLOM_* \
environment variables; secrets only from the environment or files.\n\nExamples:\n  \
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
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal, the admin API and the background jobs.
    #[command(
        after_help = "Examples:\n  tolom serve\n  tolom --config /etc/tolom/tolom.toml serve --addr 0.0.0.0:8080"
    )]
    Serve(ServeArgs),
    /// Create or upgrade the database schema (idempotent).
    #[command(
        after_help = "Example:\n  TOLOM_DATABASE_URL=postgres://tolom@db/tolom TOLOM_DATABASE_PASSWORD_FILE=/run/secrets/db tolom migrate"
    )]
    Migrate,
    /// Show the effective configuration (secrets redacted).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Receipt signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Issue, import, show and cancel payment codes.
    #[command(subcommand)]
    Codes(CodesCommand),
    /// List and show payments.
    #[command(subcommand)]
    Payments(PaymentsCommand),
    /// Refund a payment, in full or in part.
    #[command(
        after_help = "Examples:\n  tolom refund 6f1c...e2 --reason 'service not provided'\n  tolom refund 6f1c...e2 --amount 100.00 --reason 'overpaid' --key ticket-4711"
    )]
    Refund(RefundArgs),
    /// Settle payments with an unknown outcome by asking the acquirer.
    #[command(after_help = "Example:\n  tolom reconcile --json")]
    Reconcile,
    /// Expire abandoned payments and charges past their expiry.
    #[command(after_help = "Example:\n  tolom expire")]
    Expire,
    /// The outbox of receipt e-mails and agency notices.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Payments per day and service, for reconciliation with the bank's statement.
    #[command(
        after_help = "Examples:\n  tolom report --from 2026-11-25\n  tolom report --from 2026-11-01 --to 2026-11-30 --format csv --out november.csv"
    )]
    Report(ReportArgs),
    /// Receipts.
    #[command(subcommand)]
    Receipts(ReceiptsCommand),
    /// User-agreement editions.
    #[command(subcommand)]
    Terms(TermsCommand),
    /// Admin API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Personal-data retention.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Access requests of data subjects.
    #[command(subcommand)]
    Subject(SubjectCommand),
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address (overrides server.addr / TOLOM_ADDR).
    #[arg(long)]
    pub addr: Option<String>,
    /// Do not run the background jobs (another instance runs them).
    #[arg(long)]
    pub no_jobs: bool,
}

/// `config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting; secrets show as [REDACTED].
    #[command(after_help = "Example:\n  tolom --config tolom.toml config show")]
    Show,
}

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

/// `codes`.
#[derive(Debug, Subcommand)]
pub enum CodesCommand {
    /// Issue one code; the amount comes from the catalogue's tariff.
    #[command(
        after_help = "Examples:\n  tolom codes issue --service passport-2020 --payer 'Асанов Айбек'\n  \
tolom codes issue --service id-card-2017 --urgency 12-working-days --payer 'Asanov Aibek' --valid-days 10 --agency-ref REQ-1"
    )]
    Issue(IssueArgs),
    /// Issue many codes from a CSV file (re-running the same file creates no duplicates).
    #[command(
        after_help = "The CSV has a header line with these columns (order free):\n  \
service,urgency,amount,payer,code,agency_ref,expires_at\n\
service and payer are required, and code or agency_ref (so that a re-run\n\
recognises the rows it already issued). expires_at is an RFC 3339 instant or a\n\
day (end of that day, Asia/Bishkek); default --valid-days from now.\n\
Bad rows are reported with their line number and reason; valid rows are\n\
committed; the exit status is 1 when any row was bad.\n\n\
Example:\n  tolom codes import codes-2026-11-25.csv"
    )]
    Import(ImportArgs),
    /// Show a code's charge (full payer name) and its payments.
    #[command(after_help = "Example:\n  tolom codes show 16 0000 0000 0016")]
    Show {
        /// The code (spaces and dashes allowed).
        #[arg(num_args = 1.., required = true)]
        code: Vec<String>,
    },
    /// Cancel an unpaid code.
    #[command(after_help = "Example:\n  tolom codes cancel 1600000000016")]
    Cancel {
        /// The code.
        #[arg(num_args = 1.., required = true)]
        code: Vec<String>,
    },
}

/// `codes issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Service id (see the catalogue), e.g. passport-2020.
    #[arg(long)]
    pub service: String,
    /// Tariff urgency (needed when the service has several).
    #[arg(long)]
    pub urgency: Option<String>,
    /// Amount in som, when not from a tariff.
    #[arg(long)]
    pub amount: Option<String>,
    /// The payer's full name.
    #[arg(long)]
    pub payer: String,
    /// The agency's code (generated when absent).
    #[arg(long)]
    pub code: Option<String>,
    /// The agency's reference.
    #[arg(long)]
    pub agency_ref: Option<String>,
    /// Expiry: RFC 3339 instant or a day (end of day, Asia/Bishkek).
    #[arg(long)]
    pub expires: Option<String>,
    /// Days the code stays payable (default 30).
    #[arg(long, default_value_t = 30)]
    pub valid_days: u32,
}

/// `codes import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file.
    pub file: PathBuf,
    /// Days a code stays payable when the row has no expires_at.
    #[arg(long, default_value_t = 30)]
    pub valid_days: u32,
}

/// `payments`.
#[derive(Debug, Subcommand)]
pub enum PaymentsCommand {
    /// List payments, oldest first.
    #[command(
        after_help = "Examples:\n  tolom payments list --status succeeded,refunded --from 2026-11-25 --to 2026-11-25\n  \
tolom payments list --service passport-2020 --json"
    )]
    List(ListArgs),
    /// Show one payment with its refunds and events.
    #[command(after_help = "Example:\n  tolom payments show 6f1c2a4e-...")]
    Show {
        /// Payment id.
        id: String,
    },
}

/// `payments list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// States, comma-separated: created, authorizing, action_required,
    /// unknown, succeeded, declined, failed, expired, partially_refunded, refunded.
    #[arg(long)]
    pub status: Option<String>,
    /// Service id.
    #[arg(long)]
    pub service: Option<String>,
    /// Created on or after (day in Asia/Bishkek, or RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// Created up to the end of this day (or before this RFC 3339 instant).
    #[arg(long)]
    pub to: Option<String>,
    /// At most this many (0 = all).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// `refund`.
#[derive(Debug, Args)]
pub struct RefundArgs {
    /// Payment id.
    pub payment: String,
    /// Amount in som (default: everything not yet refunded).
    #[arg(long)]
    pub amount: Option<String>,
    /// Why.
    #[arg(long)]
    pub reason: String,
    /// Idempotency key: the same key never refunds twice (default: derived
    /// from payment, amount and reason).
    #[arg(long)]
    pub key: Option<String>,
}

/// `outbox`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Messages, newest first.
    #[command(
        after_help = "Examples:\n  tolom outbox status\n  tolom outbox status --status dead"
    )]
    Status {
        /// pending, delivered or dead.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Put dead letters back in the queue.
    #[command(
        after_help = "Examples:\n  tolom outbox retry 0b6e...\n  tolom outbox retry --all-dead"
    )]
    Retry {
        /// Message ids.
        ids: Vec<String>,
        /// Every dead message.
        #[arg(long)]
        all_dead: bool,
    },
}

/// Report formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// A table for people.
    Table,
    /// CSV.
    Csv,
    /// JSON.
    Json,
}

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day (Asia/Bishkek), default today.
    #[arg(long)]
    pub from: Option<chrono::NaiveDate>,
    /// Last day, default --from.
    #[arg(long)]
    pub to: Option<chrono::NaiveDate>,
    /// One service only.
    #[arg(long)]
    pub service: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `receipts`.
#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// Check a receipt number and signature (as printed or in the QR code).
    #[command(after_help = "Example:\n  tolom receipts verify TLM-2026-000123 3q2+7w...")]
    Verify {
        /// Receipt number.
        number: String,
        /// Signature.
        signature: String,
    },
}

/// `terms`.
#[derive(Debug, Subcommand)]
pub enum TermsCommand {
    /// Publish a new edition (never rewrites an existing one).
    #[command(
        after_help = "Example:\n  tolom terms publish --id 2026-12 --effective 2026-12-01 \\\n    --ky terms.ky.md --ru terms.ru.md --en terms.en.md"
    )]
    Publish(PublishArgs),
    /// List editions.
    List,
}

/// `terms publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Edition id.
    #[arg(long)]
    pub id: String,
    /// When it takes effect: RFC 3339, or a day (midnight, Asia/Bishkek).
    #[arg(long)]
    pub effective: String,
    /// The "last changed" date shown to payers (default: the effective day).
    #[arg(long)]
    pub last_changed: Option<chrono::NaiveDate>,
    /// Kyrgyz text file.
    #[arg(long)]
    pub ky: PathBuf,
    /// Russian text file.
    #[arg(long)]
    pub ru: PathBuf,
    /// English text file.
    #[arg(long)]
    pub en: PathBuf,
}

/// `tokens`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; its secret is printed once and never stored.
    #[command(
        after_help = "Roles: issuer (create/cancel charges), operator (refunds, reconciliation,\n\
reports, reads), auditor (reads only).\n\nExample:\n  tolom tokens create agency-passport --role issuer"
    )]
    Create {
        /// Name (letters, digits, - _ .).
        name: String,
        /// issuer, operator or auditor.
        #[arg(long)]
        role: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by name.
    #[command(after_help = "Example:\n  tolom tokens revoke agency-passport")]
    Revoke {
        /// Name.
        name: String,
    },
}

/// `audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; exit 1 naming the first altered, inserted or deleted entry.
    #[command(after_help = "Example:\n  tolom audit verify")]
    Verify,
    /// Show the latest entries.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        last: usize,
    },
}

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

/// `subject`.
#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// Write everything held about a phone number or e-mail as JSON.
    #[command(
        after_help = "Examples:\n  tolom subject export --phone '+996 555 123 456'\n  \
tolom subject export --email aibek@example.kg --out request-4711.json"
    )]
    Export {
        /// Phone (any notation).
        #[arg(long)]
        phone: Option<String>,
        /// E-mail.
        #[arg(long)]
        email: Option<String>,
        /// Write to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}
