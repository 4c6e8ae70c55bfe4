//! How the pages hand a payer on: where a payment continues, loading a
//! payment for a page, and continuing after a challenge (the one-time code
//! form and the bank's page both end here).

use axum::response::{IntoResponse, Redirect, Response};
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
    let here = format!("/payments/{id}");
    match state.tolom.complete_challenge(id, &response).await {
        Ok(p) => continue_at(&p),
        Err(ChallengeError::NotAwaiting) => match state.tolom.payment(id).await {
            Ok(p) => continue_at(&p),
            Err(e) => failure_page(state, ctx, &e, &here),
        },
        Err(e) => failure_page(state, ctx, &e, &here),
    }
}
