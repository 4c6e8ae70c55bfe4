//! `tolom codes issue|import|show|cancel`.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use clap::{Args, Subcommand};
use tolom_core::time::{format_bishkek, parse_when};
use tolom_core::usecases::{IssueCharge, MAX_VALID_DAYS};

use super::{me, money, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::print_json;
use crate::CliError;

mod import;

pub use import::{BadRow, ImportReport, ImportedCode};

/// `codes`.
#[derive(Debug, Subcommand)]
pub enum CodesCommand {
    /// Issue one code; the amount comes from the catalogue's tariff.
    #[command(
        after_help = "Examples:\n  tolom codes issue --service passport-2020 --payer 'Асанов Айбек'\n  \
tolom codes issue --service id-card-2017 --urgency 12-working-days --payer 'Asanov Aibek' --valid-days 10 --agency-ref REQ-1"
    )]
    Issue(IssueArgs),
    /// Issue many codes from a CSV file and print them (re-running the same file creates no duplicates).
    #[command(
        after_help = "The CSV has a header line with these columns (order free):\n  \
service,urgency,amount,payer,code,agency_ref,expires_at\n\
service and payer are required, and code or agency_ref (so that a re-run\n\
recognises the rows it already issued). A row without a code gets one with a\n\
random serial. A reference (or code) issued before with the same data is\n\
'already issued' and keeps its code; with other data the row is refused.\n\
expires_at is an RFC 3339 instant or a day (end of that day, Asia/Bishkek);\n\
default --valid-days from now.\n\
Every row's code is printed (line, agency_ref, code, status), and written as\n\
CSV to --codes-out for the agency. Bad rows are reported with their line\n\
number and reason; valid rows are committed; the exit status is 1 when any\n\
row was bad.\n\n\
Example:\n  tolom codes import codes-2026-11-25.csv --codes-out issued-2026-11-25.csv"
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
    /// Days the code stays payable (default 30, at most 3650).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub valid_days: u32,
}

/// `codes import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file.
    pub file: PathBuf,
    /// Days a code stays payable when the row has no expires_at (at most 3650).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub valid_days: u32,
    /// Also write every row's code as CSV (line,agency_ref,code,status) to
    /// this file, for the agency.
    #[arg(long)]
    pub codes_out: Option<PathBuf>,
}

/// The expiry `days` from `now` (`--valid-days`): refused outside
/// 1..=[`MAX_VALID_DAYS`] (never an overflow).
pub(crate) fn expiry_after(now: DateTime<Utc>, days: u32) -> Result<DateTime<Utc>, CliError> {
    if !(1..=MAX_VALID_DAYS).contains(&days) {
        return Err(CliError::Usage(format!(
            "--valid-days must be 1 to {MAX_VALID_DAYS}, not {days}"
        )));
    }
    now.checked_add_signed(Duration::days(i64::from(days)))
        .ok_or_else(|| CliError::Usage(format!("--valid-days {days} is out of range")))
}

/// Runs `codes`.
pub async fn run(settings: &Settings, command: CodesCommand, json: bool) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Optional).await?;
    let operator = operator(&tolom)?;
    let who = me();
    match command {
        CodesCommand::Issue(a) => {
            let expires_at = match &a.expires {
                Some(v) => parse_when(v, true)
                    .ok_or_else(|| CliError::Usage(format!("--expires {v:?}: not a date")))?,
                None => expiry_after(operator.now(), a.valid_days)?,
            };
            let charge = operator
                .issue(
                    &who,
                    IssueCharge {
                        service: a.service,
                        urgency: a.urgency,
                        amount: a.amount.as_deref().map(money).transpose()?,
                        payer: a.payer,
                        code: a.code,
                        expires_at,
                        agency_ref: a.agency_ref,
                    },
                )
                .await?;
            if json {
                return print_json(&charge);
            }
            println!("code      {}", charge.code.as_str());
            println!("service   {}", charge.service);
            println!("payer     {}", charge.payer.full_name);
            println!("amount    {}", charge.amount);
            println!("expires   {}", format_bishkek(charge.expires_at));
            Ok(())
        }
        CodesCommand::Import(a) => {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} rows {elapsed_precise}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let report = import::import(&tolom, &who, &a.file, a.valid_days, &progress).await?;
            bar.finish_and_clear();
            if let Some(out) = &a.codes_out {
                std::fs::write(out, report.codes_csv()?)
                    .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", out.display())))?;
            }
            if json {
                print_json(&report)?;
            } else {
                for c in &report.codes {
                    println!(
                        "line {:<6} {:<24} {}  {}",
                        c.line,
                        c.agency_ref.as_deref().unwrap_or("-"),
                        c.code,
                        c.status.replace('_', " ")
                    );
                }
                for b in &report.bad {
                    eprintln!("{}:{}: {}", a.file.display(), b.line, b.reason);
                }
                println!(
                    "{} rows: {} issued, {} already issued, {} refused",
                    report.rows,
                    report.issued,
                    report.already_issued,
                    report.bad.len()
                );
            }
            if report.bad.is_empty() {
                Ok(())
            } else {
                Err(CliError::CheckFailed(format!(
                    "{} rows refused (valid rows were imported)",
                    report.bad.len()
                )))
            }
        }
        CodesCommand::Show { code } => {
            let details = operator.charge(&who, &code.join(" ")).await?;
            if json {
                return print_json(&details);
            }
            let charge = &details.charge;
            println!("code        {}", charge.code.as_str());
            println!("service     {}", charge.service);
            println!("urgency     {}", charge.urgency.as_deref().unwrap_or("-"));
            println!("payer       {}", charge.payer.full_name);
            println!("amount      {}", charge.amount);
            println!(
                "status      {}",
                charge.effective_status(operator.now()).as_str()
            );
            println!("issued      {}", format_bishkek(charge.issued_at));
            println!("expires     {}", format_bishkek(charge.expires_at));
            println!(
                "agency ref  {}",
                charge.agency_ref.as_deref().unwrap_or("-")
            );
            for p in &details.payments {
                println!(
                    "payment     {}  {}  {}",
                    p.id(),
                    p.state().as_str(),
                    p.total()
                );
            }
            for p in &details.external {
                println!(
                    "elsewhere   {}  {}  {} {}  {}  paid {}",
                    p.id,
                    p.state.as_str(),
                    p.channel.as_str(),
                    p.reference,
                    p.amount,
                    format_bishkek(p.paid_at)
                );
            }
            Ok(())
        }
        CodesCommand::Cancel { code } => {
            let charge = operator.cancel(&who, &code.join(" ")).await?;
            if json {
                print_json(&charge)
            } else {
                println!("cancelled {}", charge.code.as_str());
                Ok(())
            }
        }
    }
}
