//! `tolom payments list|show|duplicates|return-duplicate`.

use clap::{Args, Subcommand};
use serde_json::json;
use tolom_core::payment::PaymentState;
use tolom_core::ports::PaymentQuery;
use tolom_core::time::{format_bishkek, parse_when};
use tolom_core::usecases::operator::RequestRecord;
use tolom_core::usecases::ReturnOutcome;

use super::{me, operator, payment_id, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::{print_json, table};
use crate::CliError;

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
            Ok(())
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
