//! `codes import`: bulk issue from CSV, idempotent by agency reference.
//!
//! Every row is one [`Operator::issue_once`]: a row without a `code` gets
//! a code with a random serial (the core draws it from the operating
//! system's CSPRNG; the store's unique index refuses a taken one and
//! another is drawn). A row whose agency reference (or chosen code) was
//! issued before with the same data is "already issued" and gets the same
//! code back; with other data it is a bad row, named by its line, and
//! nothing is issued for it.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tolom_core::access::Principal;
use tolom_core::errors::IssueError;
use tolom_core::money::{Currency, Money};
use tolom_core::time::parse_when;
use tolom_core::usecases::{IssueCharge, Issued, Operator, OperatorError};
use tolom_core::Tolom;

use crate::commands::csv_file::{col, CsvFile};
use crate::CliError;

/// One refused row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BadRow {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// The code of one imported row: what the agency hands to its payer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportedCode {
    /// Line number in the file.
    pub line: u64,
    /// The agency's reference of the row.
    pub agency_ref: Option<String>,
    /// The payment code.
    pub code: String,
    /// `issued` (now) or `already_issued` (by an earlier run).
    pub status: &'static str,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Rows read (without the header).
    pub rows: u64,
    /// Charges issued.
    pub issued: u64,
    /// Rows issued by an earlier run (same agency reference or code, same
    /// data).
    pub already_issued: u64,
    /// Refused rows.
    pub bad: Vec<BadRow>,
    /// The code of every row that has one, in file order.
    pub codes: Vec<ImportedCode>,
}

impl ImportReport {
    /// The codes as CSV (`line,agency_ref,code,status`), for the agency.
    pub fn codes_csv(&self) -> Result<String, CliError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| CliError::Usage(format!("cannot write the codes: {e}"));
        w.write_record(["line", "agency_ref", "code", "status"])
            .map_err(io)?;
        for c in &self.codes {
            w.write_record([
                c.line.to_string().as_str(),
                c.agency_ref.as_deref().unwrap_or(""),
                c.code.as_str(),
                c.status,
            ])
            .map_err(io)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| CliError::Usage(format!("cannot write the codes: {e}")))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Imports `path`; `progress` is told after each row.
pub async fn import(
    tolom: &Tolom,
    who: &Principal,
    path: &Path,
    valid_days: u32,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportReport, CliError> {
    let mut file = CsvFile::open(
        path,
        &["service", "payer"],
        "service,urgency,amount,payer,code,agency_ref,expires_at",
    )?;
    let total = file.total();
    let headers = file.headers().clone();
    let operator: &Operator = crate::commands::operator(tolom)?;
    let now = tolom.clock().now();
    let default_expiry = super::expiry_after(now, valid_days)?;
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
        match import_row(operator, who, &headers, &rec, default_expiry).await {
            Ok(issued) => {
                let status = match &issued {
                    Issued::New(_) => {
                        report.issued += 1;
                        "issued"
                    }
                    Issued::Existing(_) => {
                        report.already_issued += 1;
                        "already_issued"
                    }
                };
                let charge = issued.into_charge();
                report.codes.push(ImportedCode {
                    line,
                    agency_ref: charge.agency_ref,
                    code: charge.code.to_string(),
                    status,
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
    default_expiry: DateTime<Utc>,
) -> Result<Issued, String> {
    let service = col(headers, rec, "service").ok_or("service is empty")?;
    let payer = col(headers, rec, "payer").ok_or("payer is empty")?;
    let agency_ref = col(headers, rec, "agency_ref");
    let code = col(headers, rec, "code");
    if code.is_none() && agency_ref.is_none() {
        return Err(
            "code or agency_ref is required (so that a re-run creates no duplicates)".into(),
        );
    }
    let amount = col(headers, rec, "amount")
        .map(|a| Money::parse(a, Currency::KGS).map_err(|e| format!("amount {a:?}: {e}")))
        .transpose()?;
    let expires_at = match col(headers, rec, "expires_at") {
        Some(v) => parse_when(v, true)
            .ok_or_else(|| format!("expires_at {v:?} is not a date or RFC 3339 instant"))?,
        None => default_expiry,
    };
    operator
        .issue_once(
            who,
            IssueCharge {
                service: service.to_string(),
                urgency: col(headers, rec, "urgency").map(str::to_string),
                amount,
                payer: payer.to_string(),
                code: code.map(str::to_string),
                expires_at,
                agency_ref: agency_ref.map(str::to_string),
            },
        )
        .await
        .map_err(|e| match e {
            OperatorError::Issue(IssueError::Store(e)) | OperatorError::Store(e) => {
                format!("storage: {e}")
            }
            e => format!("{} ({})", e, tolom_core::i18n::ErrorCode::code(&e)),
        })
}
