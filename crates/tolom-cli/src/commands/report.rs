//! `tolom report`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tolom_core::time::to_bishkek;
use tolom_core::usecases::operator::report_csv;

use super::{me, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::write_out;
use crate::CliError;

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

/// Runs `report`.
pub async fn run(settings: &Settings, a: ReportArgs, json: bool) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Optional).await?;
    let operator = operator(&tolom)?;
    let today = to_bishkek(operator.now()).date_naive();
    let from = a.from.unwrap_or(today);
    let to = a.to.unwrap_or(from);
    let rows = operator
        .report(&me(), from, to, a.service.as_deref())
        .await?;
    let format = if json { Format::Json } else { a.format };
    let text = match format {
        Format::Csv => report_csv(&rows),
        Format::Json => {
            serde_json::to_string_pretty(&rows).map_err(|e| CliError::Usage(e.to_string()))? + "\n"
        }
        Format::Table => {
            let mut s = format!(
                "{:<10}  {:<24}  {:<11}  {:>8}  {:>12}  {:>10}  {:>12}  {:>12}  {:>12}\n",
                "DAY",
                "SERVICE",
                "CHANNEL",
                "PAYMENTS",
                "AMOUNT",
                "FEE",
                "TOTAL",
                "REFUNDED",
                "NET"
            );
            for r in &rows {
                s.push_str(&format!(
                    "{:<10}  {:<24}  {:<11}  {:>8}  {:>12}  {:>10}  {:>12}  {:>12}  {:>12}\n",
                    r.day.to_string(),
                    r.service,
                    r.channel.as_str(),
                    r.payments,
                    r.amount.amount().to_string(),
                    r.fee.amount().to_string(),
                    r.total.amount().to_string(),
                    r.refunded.amount().to_string(),
                    r.net.amount().to_string()
                ));
            }
            s.push_str(&duplicates_section(operator).await);
            s.push_str(&external_duplicates_section(operator).await);
            s.push_str(&audit_section(settings, operator).await);
            s
        }
    };
    write_out(a.out.as_deref(), &text)
}

/// The open duplicate approvals: cards charged a second time for a code
/// another payment paid, whose money is not back yet. They are not in the
/// rows (they paid nothing the agency asked for), but the bank's statement
/// shows them until they are reversed or refunded.
async fn duplicates_section(operator: &tolom_core::usecases::Operator) -> String {
    let heading =
        "\nDuplicate approvals whose money is not back yet (tolom payments duplicates):\n";
    let open = match operator.open_duplicates(&me()).await {
        Ok(open) => open,
        Err(e) => return format!("{heading}(unavailable: {e})\n"),
    };
    let Some(first) = open.first() else {
        return format!("{heading}none\n");
    };
    let mut total = tolom_core::money::Money::zero(first.total.currency());
    for d in &open {
        total = total.checked_add(d.total).unwrap_or(total);
    }
    let oldest = open
        .iter()
        .filter_map(|d| d.approved_at.map(|at| (at, d.payment_id)))
        .min();
    let mut s = format!("{heading}open      {}\ntotal     {total}\n", open.len());
    if let Some((at, id)) = oldest {
        s.push_str(&format!(
            "oldest    {}  payment {id}\n",
            tolom_core::time::format_bishkek(at)
        ));
    }
    s
}

/// The payments made elsewhere for codes that were already paid
/// (`external_duplicate`): the payer paid twice and the money is at the
/// other channel, which tolom cannot give back. Not in the rows (they pay
/// nothing); listed until an operator resolves them with the channel.
async fn external_duplicates_section(operator: &tolom_core::usecases::Operator) -> String {
    let heading = "\nPayments made elsewhere for codes already paid, to resolve with the channel \
                   (tolom payments external --state duplicate):\n";
    let flagged = match operator.external_duplicates(&me()).await {
        Ok(f) => f,
        Err(e) => return format!("{heading}(unavailable: {e})\n"),
    };
    let Some(first) = flagged.first() else {
        return format!("{heading}none\n");
    };
    let mut total = tolom_core::money::Money::zero(first.amount.currency());
    for p in &flagged {
        total = total.checked_add(p.amount).unwrap_or(total);
    }
    let mut s = format!("{heading}flagged   {}\ntotal     {total}\n", flagged.len());
    if let Some(oldest) = flagged.iter().min_by_key(|p| (p.recorded_at, p.id)) {
        s.push_str(&format!(
            "oldest    {}  {} {}  payment {}\n",
            tolom_core::time::format_bishkek(oldest.recorded_at),
            oldest.channel.as_str(),
            oldest.reference,
            oldest.id
        ));
    }
    s
}

/// The table's last section: a signed checkpoint of the audit log, fresh
/// when the checkpoint key is here (and then written to the configured
/// sinks as well), else the latest one kept. Kept with the report, it
/// anchors the log outside the database (`tolom audit verify
/// --checkpoint <report>` reads it back).
async fn audit_section(settings: &Settings, operator: &tolom_core::usecases::Operator) -> String {
    use tolom_core::usecases::operator::Checkpointing;
    let heading = "\nAudit log checkpoint (tolom audit verify --checkpoint <this file>):\n\n";
    let key = match crate::checkpoints::signing_key(settings, KeyPolicy::Optional) {
        Ok(k) => k,
        Err(e) => return format!("{heading}(none: {e})\n"),
    };
    let checkpoint = match key {
        Some(key) => match operator.checkpoint_audit(&me(), &key).await {
            Ok(Checkpointing::Made(c)) => {
                for f in crate::checkpoints::Sinks::configured(settings)
                    .publish(&c)
                    .await
                {
                    tracing::warn!(failed = %f, "audit checkpoint not written");
                }
                Ok(c)
            }
            Ok(Checkpointing::Kept(c)) => Ok(c),
            Ok(Checkpointing::Refused(why)) => Err(format!("AUDIT LOG TAMPERED: {why}")),
            Err(e) => Err(e.to_string()),
        },
        None => match operator.audit_checkpoints(&me(), 1).await {
            Ok(mut v) if !v.is_empty() => Ok(v.remove(0)),
            Ok(_) => Err("no checkpoint signed yet".into()),
            Err(e) => Err(e.to_string()),
        },
    };
    match checkpoint {
        Ok(c) => format!("{heading}{}", c.text()),
        Err(why) => format!("{heading}(none: {why})\n"),
    }
}
