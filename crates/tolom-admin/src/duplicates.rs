//! `GET /duplicates`, `POST /payments/{id}/return-duplicate`: duplicate
//! approvals (a card charged a second time for a code another payment
//! paid) whose money is not back yet, and giving one back now.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::auth::{operator, Audit, Caller};
use crate::error::ApiError;
use crate::payments::payment_id;
use crate::AdminState;

/// The open duplicates, oldest first
/// ([`tolom_core::usecases::Operator::open_duplicates`]).
pub(crate) async fn list(
    State(state): State<AdminState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let open = operator(&state, lang)?
        .open_duplicates(&caller.principal)
        .await
        .map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(open).into_response())
}

/// Reverse, else refund, one duplicate now
/// ([`tolom_core::usecases::Operator::return_duplicate`]); the answer
/// tells the outcome (`reversed`, `refunded`, `refund_pending`, `failed`)
/// and the payment after the attempt. Recorded with the attempt's first
/// write.
pub(crate) async fn return_duplicate(
    State(state): State<AdminState>,
    caller: Caller,
    audit: Audit,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let lang = caller.lang;
    let id = payment_id(&id, lang)?;
    let operator = operator(&state, lang)?;
    let recorded = audit.recording(operator, &caller.principal);
    let returned = recorded.return_duplicate(id).await;
    audit.done(&recorded);
    let done = returned.map_err(|e| ApiError::from_operator(e, lang))?;
    Ok(Json(done).into_response())
}
