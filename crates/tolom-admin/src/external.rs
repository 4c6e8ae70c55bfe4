//! Payments made elsewhere (a bank's app, a terminal, ELQR, a bank's cash
//! desk), reported by the channel:
//!
//! - `POST /charges/{code}/external-payments` — a bank (role `bank`) or an
//!   operator records that the code was paid through its channel. The
//!   same `(channel, reference)` again answers `200` with the payment
//!   recorded the first time (nothing is written); a new one `201`. The
//!   answer's `payment.state` is `accepted` (it pays the charge) or
//!   `duplicate` (the charge was already paid: flagged for operators).
//! - `GET /external-payments` — payments made elsewhere, by `state`
//!   (`duplicate` lists what operators must resolve), `code`, `limit`.
//! - `POST /external-payments/{id}/resolve` — an operator resolves a
//!   flagged one: `returned` (the channel gave the money back) or
//!   `accepted` (it pays the charge, once the card payment that paid it
//!   was refunded in full), with a note.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tolom_core::errors::ExternalError;
use tolom_core::external::{ExternalState, PaymentChannel};
use tolom_core::i18n::Language;
use tolom_core::money::{Currency, Money};
use tolom_core::ports::ExternalQuery;
use tolom_core::usecases::operator::ExternalReport;
use tolom_core::usecases::OperatorError;
use uuid::Uuid;

use crate::auth::{operator, Audit, Caller};
use crate::error::ApiError;
use crate::extract::{Body, Params};
use crate::AdminState;

/// Body of `POST /charges/{code}/external-payments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalBody {
    /// `bank_app`, `terminal`, `elqr` or `bank_branch`.
    pub channel: String,
    /// The channel's reference of the payment (1 to 100 characters): with
    /// the channel, what makes a report of it idempotent.
    pub reference: String,
    /// What the payer paid, in som (`"885.00"`): the charge's amount.
    pub amount: String,
    /// When the payer paid (RFC 3339).
    pub paid_at: DateTime<Utc>,
}

/// The channel named in a request, refused with `external.channel_invalid`.
fn channel(text: &str, lang: Language) -> Result<PaymentChannel, ApiError> {
    PaymentChannel::parse(text)
        .filter(PaymentChannel::is_external)
        .ok_or_else(|| {
            ApiError::from_operator(ExternalError::ChannelInvalid(text.to_string()).into(), lang)
        })
}

/// `POST /charges/{code}/external-payments`
/// ([`tolom_core::usecases::Operator::record_external_payment`]),
/// recorded with the payment.
pub(crate) async fn record(
    State(state): State<AdminState>,
    caller: Caller,
    audit: Audit,
    Path(code): Path<String>,
    Body(body): Body<ExternalBody>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let channel = channel(&body.channel, lang)?;
    let amount = Money::parse(&body.amount, Currency::KGS)
        .map_err(|e| ApiError::invalid(lang, format!("amount: {e}")))?;
    let operator = operator(&state, lang)?;
    let recorded = audit.recording(operator, &caller.principal);
    let done = recorded
        .record_external_payment(ExternalReport {
            code,
            channel,
            reference: body.reference,
            amount,
            paid_at: body.paid_at,
        })
        .await;
    audit.done(&recorded);
    let done = done.map_err(|e| ApiError::from_operator(e, lang))?;
    let status = if done.is_new() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(done)).into_response())
}

/// Query of `GET /external-payments`.
#[derive(Debug, Deserialize)]
pub struct ExternalFilter {
    /// States, comma-separated (`duplicate`, `accepted,returned`).
    pub state: Option<String>,
    /// Only the payments of this code.
    pub code: Option<String>,
    /// At most this many (default 100, 0 = all, at most [`MAX_LIMIT`](crate::MAX_LIMIT)).
    pub limit: Option<usize>,
}

/// `GET /external-payments`, in the order recorded.
pub(crate) async fn list(
    State(state): State<AdminState>,
    caller: Caller,
    Params(f): Params<ExternalFilter>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let limit = crate::list_limit(lang, f.limit)?;
    let states = f
        .state
        .as_deref()
        .map(|list| {
            list.split(',')
                .map(|s| {
                    ExternalState::parse(s.trim()).ok_or_else(|| {
                        ApiError::invalid(
                            lang,
                            format!("unknown state {s:?} (accepted, duplicate, returned)"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let operator = operator(&state, lang)?;
    let charge_id = match &f.code {
        Some(code) => Some(
            operator
                .charge(&caller.principal, code)
                .await
                .map_err(|e| ApiError::from_operator(e, lang))?
                .charge
                .id,
        ),
        None => None,
    };
    let found = operator
        .external_payments(
            &caller.principal,
            &ExternalQuery {
                states,
                charge_id,
                limit,
                ..ExternalQuery::default()
            },
        )
        .await
        .map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(found).into_response())
}

/// Body of `POST /external-payments/{id}/resolve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `returned` (the channel gave the money back) or `accepted` (it pays
    /// the charge after all).
    pub resolution: String,
    /// What was done (1 to 500 characters), kept with the payment and in
    /// the audit log.
    pub note: String,
}

/// `POST /external-payments/{id}/resolve`
/// ([`tolom_core::usecases::Operator::resolve_external`]), recorded with
/// the resolution.
pub(crate) async fn resolve(
    State(state): State<AdminState>,
    caller: Caller,
    audit: Audit,
    Path(id): Path<String>,
    Body(body): Body<ResolveBody>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let id = Uuid::parse_str(&id).map_err(|_| {
        ApiError::from_operator(OperatorError::External(ExternalError::NotFound), lang)
    })?;
    let to = match ExternalState::parse(body.resolution.trim()) {
        Some(s @ (ExternalState::Returned | ExternalState::Accepted)) => s,
        _ => {
            return Err(ApiError::invalid(
                lang,
                "resolution is `returned` or `accepted`",
            ))
        }
    };
    let operator = operator(&state, lang)?;
    let recorded = audit.recording(operator, &caller.principal);
    let done = recorded.resolve_external(id, to, &body.note).await;
    audit.done(&recorded);
    let payment = done.map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(payment).into_response())
}
