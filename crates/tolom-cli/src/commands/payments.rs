//! `tolom payments list|show|duplicates|return-duplicate|import-external|
//! external|resolve-external`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;
use tolom_core::external::ExternalState;
use tolom_core::payment::PaymentState;
use tolom_core::ports::{ExternalQuery, PaymentQuery};
use tolom_core::time::{format_bishkek, parse_when};
use tolom_core::usecases::operator::RequestRecord;
use tolom_core::usecases::ReturnOutcome;

use super::{me, operator, payment_id, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::{print_json, table};
use crate::CliError;

pub mod import_external;

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
    /// List duplicate approvals whose money is not back yet (a card
    /// charged again for a code another payment paid), oldest first.
    #[command(
        after_help = "Each is reversed, else refunded, by reconciliation with back-off\n\
(1m, 5m, 30m, 2h, 12h, then daily); LAST ERROR says why the last attempt failed.\n\n\
Examples:\n  tolom payments duplicates\n  tolom payments duplicates --json"
    )]
    Duplicates,
    /// Give a duplicate approval's money back now: reverse, else refund the
    /// total, whatever its back-off says.
    #[command(
        after_help = "Prints the outcome: reversed, refunded, refund_pending (reconciliation\n\
settles it) or failed (tried again later; see `tolom payments duplicates`).\n\n\
Example:\n  tolom payments return-duplicate 6f1c2a4e-..."
    )]
    ReturnDuplicate {
        /// Payment id (of the duplicate).
        id: String,
    },
    /// Record payments of codes made elsewhere (a bank's app, a terminal,
    /// ELQR, a bank's cash desk) from a bank statement as CSV (re-running
    /// the same file records nothing new).
    #[command(
        after_help = "The CSV has a header line with these columns (order free):\n  \
code,channel,reference,amount,paid_at\n\
channel is bank_app, terminal, elqr or bank_branch; reference is the channel's\n\
own id of the payment (with the channel, what makes a row idempotent); amount\n\
in som is the code's amount; paid_at is an RFC 3339 instant or\n\
YYYY-MM-DD HH:MM[:SS] in Asia/Bishkek time.\n\
A row pays its code (recorded), or, when the code was already paid (by card\n\
or by another channel), is recorded flagged (external_duplicate: resolve it\n\
with the channel, see tolom payments external --state duplicate). A row\n\
recorded by an earlier run is 'already recorded'. Bad rows are reported as\n\
FILE:LINE: reason; valid rows are recorded; the exit status is 1 when any\n\
row was bad.\n\n\
Example:\n  tolom payments import-external kicb-2026-11-25.csv"
    )]
    ImportExternal(ImportExternalArgs),
    /// List payments made elsewhere, in the order recorded.
    #[command(
        after_help = "Examples:\n  tolom payments external --state duplicate\n  \
tolom payments external --code 110000000017 --json"
    )]
    External(ExternalArgs),
    /// Resolve a flagged payment made elsewhere (external_duplicate): the
    /// channel gave the money back (--returned), or it pays the code after
    /// all (--accepted, once the card payment that paid the code was
    /// refunded in full).
    #[command(
        after_help = "Example:\n  tolom payments resolve-external 6f1c2a4e-... --returned \\\n    \
--note 'KICB returned 885.00 to the payer, their ref R-77'"
    )]
    ResolveExternal(ResolveArgs),
}

/// `payments import-external`.
#[derive(Debug, Args)]
pub struct ImportExternalArgs {
    /// The CSV file (a bank statement).
    pub file: PathBuf,
}

/// `payments external`.
#[derive(Debug, Args)]
pub struct ExternalArgs {
    /// States, comma-separated: accepted, duplicate (flagged), returned.
    #[arg(long)]
    pub state: Option<String>,
    /// Only the payments of this code.
    #[arg(long)]
    pub code: Option<String>,
    /// At most this many (0 = all).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// `payments resolve-external`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("resolution").required(true).args(["returned", "accepted"])))]
pub struct ResolveArgs {
    /// The payment made elsewhere (its id, from `tolom payments external`).
    pub id: String,
    /// The channel gave the money back to the payer.
    #[arg(long)]
    pub returned: bool,
    /// It pays the code (the card payment was refunded in full).
    #[arg(long)]
    pub accepted: bool,
    /// What was done (kept with the payment and in the audit log).
    #[arg(long)]
    pub note: String,
}

/// `payments list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// States, comma-separated: created, authorizing, action_required,
    /// unknown, succeeded, declined, failed, expired, partially_refunded, refunded,
    /// duplicate, returned.
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

fn when(v: &Option<String>, end: bool) -> Result<Option<chrono::DateTime<chrono::Utc>>, CliError> {
    v.as_deref()
        .map(|s| parse_when(s, end).ok_or_else(|| CliError::Usage(format!("{s:?} is not a date"))))
        .transpose()
}

/// Runs `payments`.
pub async fn run(
    settings: &Settings,
    command: PaymentsCommand,
    json: bool,
) -> Result<(), CliError> {
    let needs = match command {
        PaymentsCommand::ReturnDuplicate { .. } => Needs::Acquirer,
        _ => Needs::NoAcquirer,
    };
    let tolom = tolom(settings, needs, KeyPolicy::Optional).await?;
    let operator = operator(&tolom)?;
    match command {
        PaymentsCommand::List(a) => {
            let states = a
                .status
                .as_deref()
                .map(PaymentState::parse_list)
                .transpose()
                .map_err(CliError::Usage)?
                .unwrap_or_default();
            let payments = operator
                .payments(
                    &me(),
                    &PaymentQuery {
                        states,
                        service: a.service,
                        created_from: when(&a.from, false)?,
                        created_to: when(&a.to, true)?,
                        limit: a.limit,
                        ..PaymentQuery::default()
                    },
                )
                .await?;
            if json {
                return print_json(&payments);
            }
            let rows: Vec<Vec<String>> = payments
                .iter()
                .map(|p| {
                    vec![
                        p.id().to_string(),
                        format_bishkek(p.created_at()),
                        p.code().as_str().to_string(),
                        p.service().to_string(),
                        p.state().as_str().to_string(),
                        p.total().to_string(),
                        p.refunded().to_string(),
                        p.receipt_number().unwrap_or("-").to_string(),
                    ]
                })
                .collect();
            table(
                &[
                    "ID", "CREATED", "CODE", "SERVICE", "STATUS", "TOTAL", "REFUNDED", "RECEIPT",
                ],
                &rows,
            );
            Ok(())
        }
        PaymentsCommand::Duplicates => {
            let open = operator.open_duplicates(&me()).await?;
            if json {
                return print_json(&open);
            }
            let flagged = operator.external_duplicates(&me()).await?;
            let rows: Vec<Vec<String>> = open
                .iter()
                .map(|d| {
                    vec![
                        d.payment_id.to_string(),
                        d.approved_at.map_or_else(|| "-".into(), format_bishkek),
                        d.code.clone(),
                        d.service.clone(),
                        d.total.to_string(),
                        d.attempts.to_string(),
                        if d.refund_pending.is_zero() {
                            d.next_attempt_at.map_or_else(|| "-".into(), format_bishkek)
                        } else {
                            format!("refund of {} awaited", d.refund_pending)
                        },
                        d.last_error.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(
                &[
                    "ID",
                    "APPROVED",
                    "CODE",
                    "SERVICE",
                    "TOTAL",
                    "ATTEMPTS",
                    "NEXT ATTEMPT",
                    "LAST ERROR",
                ],
                &rows,
            );
            println!(
                "\nPayments made elsewhere for codes already paid (external_duplicate: the money \
                 is at the channel; resolve with tolom payments resolve-external):"
            );
            external_table(&flagged);
            Ok(())
        }
        PaymentsCommand::ImportExternal(a) => {
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
            let report = import_external::import(operator, &me(), &a.file, &progress).await?;
            bar.finish_and_clear();
            if json {
                print_json(&report)?;
            } else {
                for p in &report.payments {
                    println!(
                        "line {:<6} {}  {:<11} {:<24} {}  {}",
                        p.line,
                        p.code,
                        p.channel.as_str(),
                        p.reference,
                        p.id,
                        p.status.replace('_', " ")
                    );
                }
                for b in &report.bad {
                    eprintln!("{}:{}: {}", a.file.display(), b.line, b.reason);
                }
                if report.flagged > 0 {
                    eprintln!(
                        "{} rows paid codes that were already paid: recorded flagged \
                         (external_duplicate); the money is at the channel — see tolom payments \
                         external --state duplicate",
                        report.flagged
                    );
                }
                println!(
                    "{} rows: {} recorded, {} flagged, {} already recorded, {} refused",
                    report.rows,
                    report.recorded,
                    report.flagged,
                    report.already_recorded,
                    report.bad.len()
                );
            }
            if report.bad.is_empty() {
                Ok(())
            } else {
                Err(CliError::CheckFailed(format!(
                    "{} rows refused (valid rows were recorded)",
                    report.bad.len()
                )))
            }
        }
        PaymentsCommand::External(a) => {
            let states = a
                .state
                .as_deref()
                .map(|list| {
                    list.split(',')
                        .map(|s| {
                            ExternalState::parse(s.trim()).ok_or_else(|| {
                                CliError::Usage(format!(
                                    "unknown state {s:?} (accepted, duplicate, returned)"
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default();
            let charge_id = match &a.code {
                Some(code) => Some(operator.charge(&me(), code).await?.charge.id),
                None => None,
            };
            let found = operator
                .external_payments(
                    &me(),
                    &ExternalQuery {
                        states,
                        charge_id,
                        limit: a.limit,
                        ..ExternalQuery::default()
                    },
                )
                .await?;
            if json {
                return print_json(&found);
            }
            external_table(&found);
            Ok(())
        }
        PaymentsCommand::ResolveExternal(a) => {
            let id = uuid::Uuid::parse_str(a.id.trim()).map_err(|_| CliError::Refused {
                code: "external.not_found".into(),
                message: format!("{:?} is not a payment id", a.id),
            })?;
            let to = if a.accepted {
                ExternalState::Accepted
            } else {
                ExternalState::Returned
            };
            let who = me();
            // Recorded in the audit log with the resolution.
            let recorded = operator.recording(
                &who,
                RequestRecord {
                    action: "cli.resolve_external".into(),
                    subject: id.to_string(),
                    data: json!({"command": "payments resolve-external", "to": to.as_str()}),
                },
            );
            let done = recorded.resolve_external(id, to, &a.note).await?;
            if json {
                print_json(&done)
            } else {
                println!(
                    "payment made elsewhere {} ({} {}): now {}",
                    done.id,
                    done.channel.as_str(),
                    done.reference,
                    done.state.as_str()
                );
                Ok(())
            }
        }
        PaymentsCommand::ReturnDuplicate { id } => {
            let id = payment_id(&id)?;
            let who = me();
            // Recorded in the audit log with the attempt's first write.
            let recorded = operator.recording(
                &who,
                RequestRecord {
                    action: "cli.return_duplicate".into(),
                    subject: id.to_string(),
                    data: json!({"command": "payments return-duplicate"}),
                },
            );
            let done = recorded.return_duplicate(id).await?;
            let outcome = serde_json::to_value(done.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{:?}", done.outcome));
            if json {
                print_json(&done)?;
            } else {
                println!(
                    "duplicate {} ({}): {outcome}; payment now {}",
                    id,
                    done.payment.total(),
                    done.payment.state().as_str()
                );
            }
            if done.outcome == ReturnOutcome::Failed {
                return Err(CliError::CheckFailed(format!(
                    "the money of duplicate {id} is not back yet: tried again at its next \
                     attempt (tolom payments duplicates)"
                )));
            }
            Ok(())
        }
        PaymentsCommand::Show { id } => {
            let d = operator.payment(&me(), payment_id(&id)?).await?;
            if json {
                return print_json(&d);
            }
            let p = &d.payment;
            println!("payment     {}", p.id());
            println!("code        {}", p.code().as_str());
            println!("service     {}", p.service());
            println!("status      {}", p.state().as_str());
            println!(
                "amount      {} + fee {} = {}",
                p.amount(),
                p.fee(),
                p.total()
            );
            println!("refunded    {}", p.refunded());
            if let Some(c) = p.card() {
                println!("card        {} {:?}", c.masked_pan.as_str(), c.brand);
            }
            println!("receipt     {}", p.receipt_number().unwrap_or("-"));
            println!("created     {}", format_bishkek(p.created_at()));
            for r in &d.refunds {
                println!(
                    "refund      {}  {}  {}  {}",
                    r.id,
                    r.state.as_str(),
                    r.amount,
                    r.reason
                );
            }
            for e in &d.events {
                println!(
                    "event       {}  {}  {}",
                    format_bishkek(e.at),
                    e.kind,
                    e.actor
                );
            }
            Ok(())
        }
    }
}

/// Payments made elsewhere as a table (`none` when there is none).
fn external_table(payments: &[tolom_core::external::ExternalPayment]) {
    if payments.is_empty() {
        println!("none");
        return;
    }
    let rows: Vec<Vec<String>> = payments
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                format_bishkek(p.paid_at),
                p.code.as_str().to_string(),
                p.service.clone(),
                p.channel.as_str().to_string(),
                p.reference.clone(),
                p.amount.to_string(),
                p.state.as_str().to_string(),
                p.recorded_by.clone(),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "PAID",
            "CODE",
            "SERVICE",
            "CHANNEL",
            "REFERENCE",
            "AMOUNT",
            "STATE",
            "BY",
        ],
        &rows,
    );
}
