//! How the pages hand a payer on: where a payment continues, loading a
//! payment for a page, and continuing after a challenge (the one-time code
//! form and the bank's page both end here).

use axum::response::{IntoResponse, Redirect, Response};
use tolom_core::charge::ChargeStatus;
use tolom_core::code::PaymentCode;
use tolom_core::errors::ChallengeError;
use tolom_core::payment::{ChallengeResponse, Payment, PaymentState};
use uuid::Uuid;

use crate::pages::error::failure_page;
use crate::security::Ctx;
use crate::state::AppState;

/// Where a payment in its state continues.
pub(crate) fn next_url(p: &Payment) -> String {
    match p.state() {
        PaymentState::Created => format!("/payments/{}/card", p.id()),
        PaymentState::ActionRequired => format!("/payments/{}/confirm", p.id()),
        PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded => {
            format!("/payments/{}/receipt", p.id())
        }
        _ => format!("/payments/{}", p.id()),
    }
}

/// `303 See Other` to where a payment continues.
pub(crate) fn continue_at(p: &Payment) -> Response {
    Redirect::to(&next_url(p)).into_response()
}

/// Whether `code` is paid now. For a payment that could not go on (its
/// session ended, its code was paid meanwhile): another tab or another
/// payment of the same code paid it, and the payer is to be told "already
/// paid", with the way to the receipt, not "start again".
pub(crate) async fn code_paid(state: &AppState, code: &PaymentCode) -> bool {
    matches!(
        state.tolom.look_up(code.as_str()).await,
        Ok(view) if view.status == ChargeStatus::Paid
    )
}

/// `303 See Other` to the page of `code`: for a paid code, "already paid"
/// and the way to its receipt.
pub(crate) fn to_code_page(code: &PaymentCode) -> Response {
    Redirect::to(&format!("/pay/{}", code.as_str())).into_response()
}

/// The payment `id`, or the error page (404 for an unknown one).
pub(crate) async fn load(state: &AppState, ctx: &Ctx, id: Uuid) -> Result<Payment, Response> {
    state
        .tolom
        .payment(id)
        .await
        .map_err(|e| failure_page(state, ctx, &e, "/"))
}

/// Completes the challenge of payment `id` and sends the payer on; a
/// payment that is not waiting for one (a second submit, the bank's page
/// reloaded) is shown where it stands.
pub(crate) async fn complete_challenge(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    response: ChallengeResponse,
) -> Response {
    match state.tolom.complete_challenge(id, &response).await {
        Ok(p) => continue_at(&p),
        Err(e) => challenge_failed(state, ctx, id, e).await,
    }
}

/// Where a payer goes when a challenge could not be completed: a payment
/// no longer waiting for one is shown where it stands; one whose session
/// is over, when its code was paid meanwhile (another tab), goes to the
/// code's page ("already paid"); anything else is the error page.
pub(crate) async fn challenge_failed(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    error: ChallengeError,
) -> Response {
    let here = format!("/payments/{id}");
    match error {
        ChallengeError::NotAwaiting => match state.tolom.payment(id).await {
            Ok(p) => continue_at(&p),
            Err(e) => failure_page(state, ctx, &e, &here),
        },
        ChallengeError::Expired => match state.tolom.payment(id).await {
            Ok(p) if code_paid(state, p.code()).await => to_code_page(p.code()),
            _ => failure_page(state, ctx, &error, &here),
        },
        e => failure_page(state, ctx, &e, &here),
    }
}
