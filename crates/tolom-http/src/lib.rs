//! # tolom-http
//!
//! The tolom payment portal on [axum]: server-rendered pages that work
//! without JavaScript, a JSON API under `/api/v1/` (one module per
//! resource, every error an [`api::ApiError`]), receipts as HTML, PDF and
//! JSON.
//!
//! ```no_run
//! # async fn run(tolom: std::sync::Arc<tolom_core::Tolom>) -> std::io::Result<()> {
//! use tolom_http::{router, AppState, PortalConfig};
//! let state = AppState::new(tolom, PortalConfig::new("http://127.0.0.1:8080"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(
//!     listener,
//!     router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
//! )
//! .await
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use axum::routing::{get, post};
use axum::Router;

pub mod api;
mod errors;
mod facts;
pub mod html;
pub mod middleware;
pub mod pdf;
pub mod receipt;
pub mod security;
mod state;
mod web;

pub use errors::ErrorKind;
pub use state::{AppState, PortalConfig};

/// The whole portal: pages, receipts, the JSON API and static files.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so
/// the rate limit sees client addresses.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(web::home))
        .route("/lookup", post(web::lookup))
        .route("/pay/{code}", get(web::charge_page))
        .route("/pay/{code}/terms", get(web::terms_page))
        .route("/pay/{code}/start", post(web::start))
        .route("/payments/{id}", get(web::status_page))
        .route(
            "/payments/{id}/card",
            get(web::card_page).post(web::card_submit),
        )
        .route(
            "/payments/{id}/confirm",
            get(web::confirm_page).post(web::confirm_submit),
        )
        .route(
            "/payments/{id}/return",
            get(web::challenge_return).post(web::challenge_return_post),
        )
        .route("/payments/{id}/receipt", get(receipt::receipt_page))
        .route("/payments/{id}/receipt.pdf", get(receipt::receipt_pdf))
        .route("/payments/{id}/receipt.json", get(receipt::receipt_json))
        .route("/verify", get(receipt::verify_page))
        .route("/documents", get(web::documents))
        .route("/documents/{id}", get(web::document_edition))
        .route("/static/portal.css", get(web::stylesheet))
        .route("/healthz", get(web::healthz))
        .nest("/api/v1", api::routes())
        .fallback(web::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::context,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::headers,
        ))
        .layer(axum::middleware::from_fn(middleware::access_log))
        .with_state(state)
}
