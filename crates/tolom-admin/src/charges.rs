//! `POST /charges`, `GET /charges/{code}`, `DELETE /charges/{code}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use tolom_core::money::{Currency, Money};
use tolom_core::usecases::IssueCharge;

use crate::auth::{operator, Caller};
use crate::error::ApiError;
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
    /// Days the code stays payable (default 30, at most 3650).
    pub valid_days: Option<u32>,
}

/// Longest validity an agency may give a code through the API.
const MAX_VALID_DAYS: u32 = 3650;

pub(crate) async fn issue(
    State(state): State<AdminState>,
    caller: Caller,
    Json(body): Json<IssueBody>,
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
        None => {
            let days = body.valid_days.unwrap_or(30);
            if days > MAX_VALID_DAYS {
                return Err(ApiError::invalid(
                    lang,
                    format!("valid_days is at most {MAX_VALID_DAYS}"),
                ));
            }
            operator.now() + Duration::days(i64::from(days))
        }
    };
    let charge = operator
        .issue(
            &caller.principal,
            IssueCharge {
                service: body.service,
                urgency: body.urgency,
                amount,
                payer: body.payer,
                code: body.code,
                expires_at,
                agency_ref: body.agency_ref,
            },
        )
        .await
        .map_err(|e| ApiError::from_operator(e, lang))?;
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
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let charge = operator(&state, lang)?
        .cancel(&caller.principal, &code)
        .await
        .map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(charge).into_response())
}
