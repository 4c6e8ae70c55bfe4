//! `payments import-external`: payments of codes made elsewhere (a bank's
//! app, a terminal, ELQR, a bank's cash desk), from a bank statement as
//! CSV, each row one [`Operator::record_external_payment`].
//!
//! Idempotent by `(channel, reference)`: a row recorded by an earlier run
//! is "already recorded" and nothing is written for it. A row the core
//! refuses (an unknown code, another amount, a reference recorded with
//! other data, a cancelled code, ...) is a bad row, named by its line; the
//! other rows are recorded. A row for a code that was already paid (by
//! card, or by another channel) is recorded **flagged**
//! (`external_duplicate`) for operators to resolve with the channel.

use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use tolom_core::access::Principal;
use tolom_core::external::{ExternalState, PaymentChannel};
use tolom_core::money::{Currency, Money};
use tolom_core::time::bishkek;
use tolom_core::usecases::operator::{ExternalRecorded, ExternalReport};
use tolom_core::usecases::{Operator, OperatorError};
use uuid::Uuid;

use crate::commands::csv_file::{col, CsvFile};
use crate::CliError;

/// The columns of the statement (order free, names case-insensitive).
pub const COLUMNS: [&str; 5] = ["code", "channel", "reference", "amount", "paid_at"];

/// One refused row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BadRow {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// Why (with the stable code of the refusal, when the core gave one).
    pub reason: String,
}

/// One recorded row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportedPayment {
    /// Line number in the file.
    pub line: u64,
    /// The payment tolom recorded.
    pub id: Uuid,
    /// The code paid.
    pub code: String,
    /// The channel and its reference.
    pub channel: PaymentChannel,
    /// The channel's reference.
    pub reference: String,
    /// `recorded` (pays the code), `flagged` (the code was already paid:
    /// `external_duplicate`, for operators) or `already_recorded` (by an
    /// earlier run; its state then is `state`).
    pub status: &'static str,
    /// The payment's state.
    pub state: ExternalState,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Rows read (without the header).
    pub rows: u64,
    /// Rows recorded now that pay their code.
    pub recorded: u64,
    /// Rows recorded now for a code already paid: flagged for operators.
    pub flagged: u64,
    /// Rows an earlier run recorded (nothing written).
    pub already_recorded: u64,
    /// Refused rows.
    pub bad: Vec<BadRow>,
    /// Every recorded row, in file order.
    pub payments: Vec<ImportedPayment>,
}

/// A time of payment as statements write it: an RFC 3339 instant, or
/// `YYYY-MM-DD HH:MM[:SS]` (or with a `T`) in Asia/Bishkek time. A day
/// alone is refused: whether it was paid before the code expired depends
/// on the time.
pub fn paid_at(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .and_then(|t| t.and_local_timezone(bishkek()).single())
    .map(|t| t.with_timezone(&Utc))
}

/// Imports `path`; `progress` is told after each row.
pub async fn import(
    operator: &Operator,
    who: &Principal,
    path: &Path,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportReport, CliError> {
    let mut file = CsvFile::open(path, &COLUMNS, &COLUMNS.join(","))?;
    let total = file.total();
    let headers = file.headers().clone();
    let mut report = ImportReport::default();
    for (line, rec) in file.rows() {
        report.rows += 1;
        let rec = match rec {
            Ok(r) => r,
            Err(reason) => {
                report.bad.push(BadRow { line, reason });
                progress(report.rows, total.max(report.rows));
                continue;
            }
        };
        match import_row(operator, who, &headers, &rec).await {
            Ok(done) => {
                let p = done.payment();
                let status = match (&done, p.state) {
                    (ExternalRecorded::Existing(_), _) => {
                        report.already_recorded += 1;
                        "already_recorded"
                    }
                    (ExternalRecorded::New(_), ExternalState::Duplicate) => {
                        report.flagged += 1;
                        "flagged"
                    }
                    (ExternalRecorded::New(_), _) => {
                        report.recorded += 1;
                        "recorded"
                    }
                };
                report.payments.push(ImportedPayment {
                    line,
                    id: p.id,
                    code: p.code.to_string(),
                    channel: p.channel,
                    reference: p.reference.clone(),
                    status,
                    state: p.state,
                });
            }
            Err(reason) => report.bad.push(BadRow { line, reason }),
        }
        progress(report.rows, total.max(report.rows));
    }
    Ok(report)
}

async fn import_row(
    operator: &Operator,
    who: &Principal,
    headers: &csv::StringRecord,
    rec: &csv::StringRecord,
) -> Result<ExternalRecorded, String> {
    let code = col(headers, rec, "code").ok_or("code is empty")?;
    let channel_text = col(headers, rec, "channel").ok_or("channel is empty")?;
    let channel = PaymentChannel::parse(channel_text)
        .filter(PaymentChannel::is_external)
        .ok_or_else(|| {
            format!(
                "channel {channel_text:?} is not known (bank_app, terminal, elqr, bank_branch) \
                 (external.channel_invalid)"
            )
        })?;
    let reference = col(headers, rec, "reference").ok_or("reference is empty")?;
    let amount = col(headers, rec, "amount").ok_or("amount is empty")?;
    let amount =
        Money::parse(amount, Currency::KGS).map_err(|e| format!("amount {amount:?}: {e}"))?;
    let when = col(headers, rec, "paid_at").ok_or("paid_at is empty")?;
    let paid_at = paid_at(when).ok_or_else(|| {
        format!(
            "paid_at {when:?} is not an RFC 3339 instant or YYYY-MM-DD HH:MM[:SS] \
             (Asia/Bishkek)"
        )
    })?;
    operator
        .record_external_payment(
            who,
            ExternalReport {
                code: code.to_string(),
                channel,
                reference: reference.to_string(),
                amount,
                paid_at,
            },
        )
        .await
        .map_err(|e| match e {
            OperatorError::Store(e) => format!("storage: {e}"),
            e => format!("{} ({})", e, tolom_core::i18n::ErrorCode::code(&e)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_payment_as_statements_write_them() {
        let at = |s: &str| paid_at(s).map(|t| t.to_rfc3339());
        assert_eq!(
            at("2026-11-25T12:00:00Z").as_deref(),
            Some("2026-11-25T12:00:00+00:00")
        );
        assert_eq!(
            at("2026-11-25 18:00").as_deref(),
            Some("2026-11-25T12:00:00+00:00"),
            "Bishkek time"
        );
        assert_eq!(
            at(" 2026-11-25T18:00:30 ").as_deref(),
            Some("2026-11-25T12:00:30+00:00")
        );
        assert_eq!(at("2026-11-25"), None, "a day alone is not a time");
        assert_eq!(at("25.11.2026 18:00"), None);
        assert_eq!(at("2026-13-45 99:00"), None);
    }
}
