//! The JSON API under `/api/v1/`, one module per resource.
//!
//! Errors are [`ApiError`]s:
//! `{"error": {"code": "...", "message": "...", "fields": [...]}}` with a
//! stable code, a message in the request's language (`?lang=`, else
//! `Accept-Language`, else Kyrgyz) and the status of the error's kind.
//! `POST` requests must be `application/json` and may carry an
//! `Idempotency-Key` header ([`extract::JsonPost`]): the same key with the
//! same body returns the same answer; with another body, 409. A `?lang=`
//! other than `ky`, `ru` or `en` is refused on every route (`400
//! request.lang_unsupported`): the OpenAPI document's enum is enforced,
//! not a hint. What clients send is held to the documented formats
//! ([`formats`]).

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tolom_core::i18n::Text;

use crate::security::Ctx;
use crate::state::AppState;

mod catalogue;
mod charges;
pub mod error;
pub mod extract;
pub mod formats;
pub mod openapi;
pub(crate) mod payments;
pub(crate) mod receipts;
mod terms;

pub use charges::charge_json;
pub use error::ApiError;
pub use payments::payment_json;

/// The routes, to nest under `/api/v1`.
pub fn routes() -> Router<AppState> {
    // `lang` is checked on the handlers only: a method a path does not
    // take stays 405, an unknown path 404, whatever `lang` says.
    let checked =
        |m: MethodRouter<AppState>| m.route_layer(middleware::from_fn(refuse_unknown_lang));
    Router::new()
        .route("/charges/{code}", checked(get(charges::look_up)))
        .route("/payments", checked(post(payments::start_payment)))
        .route("/payments/{id}", checked(get(payments::payment)))
        .route("/payments/{id}/card", checked(post(payments::submit_card)))
        .route(
            "/payments/{id}/challenge",
            checked(post(payments::challenge)),
        )
        .route("/payments/{id}/receipt", checked(get(receipts::receipt)))
        .route("/services", checked(get(catalogue::services)))
        .route("/terms", checked(get(terms::terms)))
        .route(
            "/receipts/verify",
            checked(get(receipts::verify).post(receipts::verify_posted)),
        )
        .route("/receipts/keys", checked(get(receipts::keys)))
        .route("/openapi.json", checked(get(openapi::serve)))
        .fallback(not_found)
}

/// Every `lang` of the query must be one of [`formats::LANGUAGES`], as
/// written: else `400 request.lang_unsupported` (its message in the
/// language of the cookie or `Accept-Language`, else Kyrgyz). A missing
/// `lang` is not refused.
async fn refuse_unknown_lang(ctx: Ctx, request: Request, next: Next) -> Response {
    let unknown = request.uri().query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "lang" && !formats::LANGUAGES.contains(&v.as_ref()))
    });
    if unknown {
        return ApiError::new(Text::RequestLangUnsupported, ctx.lang).into_response();
    }
    next.run(request).await
}

/// Anything else under `/api/v1/`: `404 request.not_found`.
async fn not_found(ctx: Ctx) -> ApiError {
    ApiError::new(Text::RequestNotFound, ctx.lang)
}
