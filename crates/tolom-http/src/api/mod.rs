//! The JSON API under `/api/v1/`, one module per resource.
//!
//! Errors are [`ApiError`]s:
//! `{"error": {"code": "...", "message": "...", "fields": [...]}}` with a
//! stable code, a message in the request's language (`?lang=`, else
//! `Accept-Language`, else Kyrgyz) and the status of the error's kind.
//! `POST` requests must be `application/json` and may carry an
//! `Idempotency-Key` header ([`extract::JsonPost`]): the same key with the
//! same body returns the same answer; with another body, 409.

use axum::routing::{get, post};
use axum::Router;
use tolom_core::i18n::Text;

use crate::security::Ctx;
use crate::state::AppState;

mod catalogue;
mod charges;
pub mod error;
pub mod extract;
pub mod openapi;
pub(crate) mod payments;
pub(crate) mod receipts;
mod terms;

pub use charges::charge_json;
pub use error::ApiError;
pub use payments::payment_json;

/// The routes, to nest under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/charges/{code}", get(charges::look_up))
        .route("/payments", post(payments::start_payment))
        .route("/payments/{id}", get(payments::payment))
        .route("/payments/{id}/card", post(payments::submit_card))
        .route("/payments/{id}/challenge", post(payments::challenge))
        .route("/payments/{id}/receipt", get(receipts::receipt))
        .route("/services", get(catalogue::services))
        .route("/terms", get(terms::terms))
        .route(
            "/receipts/verify",
            get(receipts::verify).post(receipts::verify_posted),
        )
        .route("/receipts/keys", get(receipts::keys))
        .route("/openapi.json", get(openapi::serve))
        .fallback(not_found)
}

/// Anything else under `/api/v1/`: `404 request.not_found`.
async fn not_found(ctx: Ctx) -> ApiError {
    ApiError::new(Text::RequestNotFound, ctx.lang)
}
