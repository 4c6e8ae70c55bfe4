//! `codes import`: bulk issue from CSV, idempotent by code.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tolom_core::access::Principal;
use tolom_core::errors::IssueError;
use tolom_core::money::{Currency, Money};
use tolom_core::ports::StoreError;
use tolom_core::time::parse_when;
use tolom_core::usecases::{IssueCharge, Operator, OperatorError};
use tolom_core::Tolom;

use crate::CliError;

/// One refused row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BadRow {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Rows read (without the header).
    pub rows: u64,
    /// Charges issued.
    pub issued: u64,
    /// Rows already issued by an earlier run (same code).
    pub already_issued: u64,
    /// Refused rows.
    pub bad: Vec<BadRow>,
}

/// A code derived from the agency's reference, stable across runs.
fn code_for_ref(tolom: &Tolom, service: &str, agency_ref: &str) -> Option<String> {
    let config = tolom.config();
    let family = config.catalogue.service(service)?.family;
    let format = &config.code_format;
    let prefix_len = format.prefix_of(family).map(str::len).unwrap_or(0);
    let body = format.length() - prefix_len - format.scheme().check_len();
    let digest = Sha256::digest(format!("{service}\u{1f}{agency_ref}").as_bytes());
    let mut n = [0u8; 16];
    n.copy_from_slice(&digest[..16]);
    let modulus = 10u128.saturating_pow(body.min(38) as u32);
    let serial = (u128::from_be_bytes(n) % modulus) as u64;
    format
        .generate(family, serial)
        .map(|c| c.as_str().to_string())
}

fn col<'a>(headers: &csv::StringRecord, rec: &'a csv::StringRecord, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
        .and_then(|i| rec.get(i))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Imports `path`; `progress` is told after each row.
pub async fn import(
    tolom: &Tolom,
    who: &Principal,
    path: &Path,
    valid_days: u32,
    progress: &dyn Fn(u64, u64),
) -> Result<ImportReport, CliError> {
    let text = std::fs::read(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let total = text
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        .saturating_sub(1) as u64;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| CliError::Usage(format!("{}: no header line: {e}", path.display())))?
        .clone();
    for required in ["service", "payer"] {
        if !headers.iter().any(|h| h.eq_ignore_ascii_case(required)) {
            return Err(CliError::Usage(format!(
                "{}: the header has no {required} column",
                path.display()
            )));
        }
    }
    let now = tolom.clock().now();
    let mut report = ImportReport::default();
    for rec in reader.records() {
        report.rows += 1;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(report.rows + 1);
                report.bad.push(BadRow {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(report.rows + 1);
        match import_row(tolom, who, &headers, &rec, now, valid_days).await {
            Ok(true) => report.issued += 1,
            Ok(false) => report.already_issued += 1,
            Err(reason) => report.bad.push(BadRow { line, reason }),
        }
        progress(report.rows, total.max(report.rows));
    }
    Ok(report)
}

async fn import_row(
    tolom: &Tolom,
    who: &Principal,
    headers: &csv::StringRecord,
    rec: &csv::StringRecord,
    now: DateTime<Utc>,
    valid_days: u32,
) -> Result<bool, String> {
    let service = col(headers, rec, "service").ok_or("service is empty")?;
    let payer = col(headers, rec, "payer").ok_or("payer is empty")?;
    let agency_ref = col(headers, rec, "agency_ref");
    let code = match (col(headers, rec, "code"), agency_ref) {
        (Some(c), _) => c.to_string(),
        (None, Some(r)) => {
            code_for_ref(tolom, service, r).ok_or_else(|| format!("unknown service {service:?}"))?
        }
        (None, None) => {
            return Err(
                "code or agency_ref is required (so that a re-run creates no duplicates)".into(),
            )
        }
    };
    let amount = col(headers, rec, "amount")
        .map(|a| Money::parse(a, Currency::KGS).map_err(|e| format!("amount {a:?}: {e}")))
        .transpose()?;
    let expires_at = match col(headers, rec, "expires_at") {
        Some(v) => parse_when(v, true)
            .ok_or_else(|| format!("expires_at {v:?} is not a date or RFC 3339 instant"))?,
        None => now + Duration::days(i64::from(valid_days)),
    };
    let operator: &Operator = tolom.operator().map_err(|e| e.to_string())?;
    match operator
        .issue(
            who,
            IssueCharge {
                service: service.to_string(),
                urgency: col(headers, rec, "urgency").map(str::to_string),
                amount,
                payer: payer.to_string(),
                code: Some(code.clone()),
                expires_at,
                agency_ref: agency_ref.map(str::to_string),
            },
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(OperatorError::Issue(IssueError::Store(StoreError::DuplicateCode))) => Ok(false),
        Err(OperatorError::Issue(IssueError::Store(e)) | OperatorError::Store(e)) => {
            Err(format!("storage: {e}"))
        }
        Err(e) => Err(format!("{} ({})", e, tolom_core::i18n::ErrorCode::code(&e))),
    }
}
