//! `GET /reports`, `GET /audit/verify`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use tolom_core::time::to_bishkek;
use tolom_core::usecases::operator::report_csv;

use crate::auth::{operator, Caller};
use crate::error::ApiError;
use crate::extract::Params;
use crate::AdminState;

/// The longest report the API makes at once, in days.
pub const MAX_REPORT_DAYS: i64 = 366;

/// Query of `GET /reports`.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// First day (Asia/Bishkek), default today.
    pub from: Option<NaiveDate>,
    /// Last day, default `from`.
    pub to: Option<NaiveDate>,
    /// One service only.
    pub service: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

pub(crate) async fn report(
    State(state): State<AdminState>,
    caller: Caller,
    Params(q): Params<ReportQuery>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let operator = operator(&state, lang)?;
    let from = q
        .from
        .unwrap_or_else(|| to_bishkek(operator.now()).date_naive());
    let to = q.to.unwrap_or(from);
    let days = (to - from).num_days();
    if !(0..MAX_REPORT_DAYS).contains(&days) {
        return Err(ApiError::invalid(
            lang,
            format!("to must be from or later, at most {MAX_REPORT_DAYS} days in all"),
        ));
    }
    let rows = operator
        .report(&caller.principal, from, to, q.service.as_deref())
        .await
        .map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(match q.format.as_deref() {
        Some("csv") => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report_csv(&rows),
        )
            .into_response(),
        _ => Json(rows).into_response(),
    })
}

pub(crate) async fn audit_verify(
    State(state): State<AdminState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let report = operator(&state, lang)?
        .verify_audit(&caller.principal)
        .await
        .map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(report).into_response())
}
