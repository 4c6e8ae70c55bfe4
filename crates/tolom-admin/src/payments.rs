//! `GET /payments`, `GET /payments/{id}`, `POST /payments/{id}/refunds`,
//! `POST /reconcile`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tolom_core::errors::QueryError;
use tolom_core::money::{Currency, Money};
use tolom_core::payment::PaymentState;
use tolom_core::ports::PaymentQuery;
use tolom_core::time::parse_when;
use tolom_core::usecases::OperatorError;
use uuid::Uuid;

use crate::auth::{operator, Audit, Caller};
use crate::error::ApiError;
use crate::extract::{Body, Params};
use crate::AdminState;

/// Query of `GET /payments`.
#[derive(Debug, Deserialize)]
pub struct PaymentFilter {
    /// States, comma-separated (`succeeded,refunded`).
    pub status: Option<String>,
    /// Service id.
    pub service: Option<String>,
    /// Created on or after this day (Asia/Bishkek) or instant.
    pub from: Option<String>,
    /// Created before the end of this day (Asia/Bishkek) or before this
    /// instant.
    pub to: Option<String>,
    /// At most this many (default 100, 0 = all, at most
    /// [`MAX_LIMIT`](crate::MAX_LIMIT)).
    pub limit: Option<usize>,
}

pub(crate) async fn list(
    State(state): State<AdminState>,
    caller: Caller,
    Params(f): Params<PaymentFilter>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let limit = crate::list_limit(lang, f.limit)?;
    let states = f
        .status
        .as_deref()
        .map(PaymentState::parse_list)
        .transpose()
        .map_err(|d| ApiError::invalid(lang, d))?;
    let when = |s: &Option<String>, end: bool| {
        s.as_deref()
            .map(|v| {
                parse_when(v, end)
                    .ok_or_else(|| ApiError::invalid(lang, format!("not a date: {v}")))
            })
            .transpose()
    };
    let query = PaymentQuery {
        states: states.unwrap_or_default(),
        service: f.service,
        created_from: when(&f.from, false)?,
        created_to: when(&f.to, true)?,
        limit,
        ..PaymentQuery::default()
    };
    let payments = operator(&state, lang)?
        .payments(&caller.principal, &query)
        .await
        .map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(payments).into_response())
}

pub(crate) fn payment_id(s: &str, lang: tolom_core::i18n::Language) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s)
        .map_err(|_| ApiError::from_operator(OperatorError::Query(QueryError::NotFound), lang))
}

pub(crate) async fn show(
    State(state): State<AdminState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let id = payment_id(&id, lang)?;
    let details = operator(&state, lang)?
        .payment(&caller.principal, id)
        .await
        .map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(details).into_response())
}

/// Body of `POST /payments/{id}/refunds`.
#[derive(Debug, Deserialize)]
pub struct RefundBody {
    /// Amount in som (everything left when absent).
    pub amount: Option<String>,
    /// Why (kept with the refund and in the audit log).
    pub reason: String,
    /// The same key returns the same refund.
    pub idempotency_key: String,
}

pub(crate) async fn refund(
    State(state): State<AdminState>,
    caller: Caller,
    audit: Audit,
    Path(id): Path<String>,
    Body(body): Body<RefundBody>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let id = payment_id(&id, lang)?;
    let amount = body
        .amount
        .as_deref()
        .map(|a| Money::parse(a, Currency::KGS).map_err(|e| ApiError::invalid(lang, e.to_string())))
        .transpose()?;
    let operator = operator(&state, lang)?;
    let recorded = audit.recording(operator, &caller.principal);
    let refunded = recorded
        .refund(id, amount, &body.reason, &body.idempotency_key)
        .await;
    audit.done(&recorded);
    let refund = refunded.map_err(|e| ApiError::from_operator(e, lang))?;
    Ok((StatusCode::CREATED, Json(refund)).into_response())
}

pub(crate) async fn reconcile(
    State(state): State<AdminState>,
    caller: Caller,
    audit: Audit,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let operator = operator(&state, lang)?;
    let recorded = audit.recording(operator, &caller.principal);
    let reconciled = recorded.reconcile().await;
    audit.done(&recorded);
    let report = reconciled.map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(report).into_response())
}
