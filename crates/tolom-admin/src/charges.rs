//! `POST /charges`, `GET /charges/{code}`, `DELETE /charges/{code}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use tolom_core::i18n::Language;
use tolom_core::money::{Currency, Money};
use tolom_core::usecases::{IssueCharge, MAX_VALID_DAYS};

use crate::auth::{operator, Audit, Caller};
use crate::error::ApiError;
use crate::extract::Body;
use crate::AdminState;

/// Body of `POST /charges`.
#[derive(Debug, Deserialize)]
pub struct IssueBody {
    /// Service id from the catalogue.
    pub service: String,
    /// Tariff urgency (the amount comes from the catalogue).
    pub urgency: Option<String>,
    /// Amount in som, when not from a tariff.
    pub amount: Option<String>,
    /// The payer's full name.
    pub payer: String,
    /// The agency's code (generated when absent).
    pub code: Option<String>,
    /// The agency's reference.
    pub agency_ref: Option<String>,
    /// Expiry (default: `valid_days` from now).
    pub expires_at: Option<DateTime<Utc>>,
    /// Days the code stays payable (default 30; 1 to 3650).
    pub valid_days: Option<u32>,
}

/// The expiry `days` from `now`: refused outside 1..=[`MAX_VALID_DAYS`]
/// (never an overflow).
fn expiry(now: DateTime<Utc>, days: u32, lang: Language) -> Result<DateTime<Utc>, ApiError> {
    if !(1..=MAX_VALID_DAYS).contains(&days) {
        return Err(ApiError::invalid(
            lang,
            format!("valid_days must be 1 to {MAX_VALID_DAYS}, not {days}"),
        ));
    }
    now.checked_add_signed(Duration::days(i64::from(days)))
        .ok_or_else(|| ApiError::invalid(lang, "valid_days is out of range"))
}

pub(crate) async fn issue(
    State(state): State<AdminState>,
    caller: Caller,
    audit: Audit,
    Body(body): Body<IssueBody>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let operator = operator(&state, lang)?;
    let amount = body
        .amount
        .as_deref()
        .map(|a| Money::parse(a, Currency::KGS).map_err(|e| ApiError::invalid(lang, e.to_string())))
        .transpose()?;
    let expires_at = match body.expires_at {
        Some(t) => t,
        None => expiry(operator.now(), body.valid_days.unwrap_or(30), lang)?,
    };
    let recorded = audit.recording(operator, &caller.principal);
    let issued = recorded
        .issue(IssueCharge {
            service: body.service,
            urgency: body.urgency,
            amount,
            payer: body.payer,
            code: body.code,
            expires_at,
            agency_ref: body.agency_ref,
        })
        .await;
    audit.done(&recorded);
    let charge = issued
        .map_err(|e| ApiError::from_operator(e, lang))?
        .into_charge();
    Ok((StatusCode::CREATED, Json(charge)).into_response())
}

pub(crate) async fn show(
    State(state): State<AdminState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let details = operator(&state, lang)?
        .charge(&caller.principal, &code)
        .await
        .map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(details.charge).into_response())
}

pub(crate) async fn cancel(
    State(state): State<AdminState>,
    caller: Caller,
    audit: Audit,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let operator = operator(&state, lang)?;
    let recorded = audit.recording(operator, &caller.principal);
    let cancelled = recorded.cancel(&code).await;
    audit.done(&recorded);
    let charge = cancelled.map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(charge).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn valid_days_outside_the_range_are_refused_not_a_panic() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .unwrap_or_default();
        for days in [0, MAX_VALID_DAYS + 1, u32::MAX] {
            assert!(expiry(now, days, Language::En).is_err(), "{days}");
        }
        assert!(expiry(DateTime::<Utc>::MAX_UTC, 1, Language::En).is_err());
        assert_eq!(
            expiry(now, 30, Language::En).ok(),
            Some(now + Duration::days(30))
        );
    }
}
