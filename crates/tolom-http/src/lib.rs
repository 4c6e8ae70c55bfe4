//! # tolom-http
//!
//! The tolom payment portal on [axum]:
//!
//! - server-rendered pages that work **without JavaScript** for the whole
//!   payment flow (code → masked payer and amount → user agreement → card
//!   form → one-time code or the bank's page → receipt), in Kyrgyz,
//!   Russian and English;
//! - receipts as printable HTML, PDF and JSON, with a QR code carrying a
//!   verification link, and a `/verify` page;
//! - a JSON API under `/api/v1/` with `Idempotency-Key` support and an
//!   OpenAPI document at `/api/v1/openapi.json`;
//! - security headers, CSRF tokens on every form, a per-client rate limit on
//!   everything that tells whether a code exists (look-ups and starts);
//!   card data never reaches logs or pages, nor comes back on Back after
//!   paying (`docs/security.md`);
//! - `/healthz` and `/readyz` probes, a request id (`x-request-id`) and a
//!   `request` span around every request, and HTTP metrics through the
//!   `metrics` facade (`docs/observability.md`).
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
//!
//! # Layout of the crate
//!
//! ```text
//! lib.rs          the router
//! state.rs        AppState, PortalConfig
//! security.rs     Ctx (language, CSRF token, client), CSRF tokens, CSP, rate limit, idempotency cache
//! middleware.rs   request id, span and metrics; context (Ctx, cookies), security headers, access log
//! lifecycle.rs    Lifecycle: the instance's own readiness checks, shutdown flag, requests in flight
//! health.rs       /healthz, /readyz
//! errors.rs       ErrorKind: error text → kind → HTTP status (pages and API alike)
//! facts.rs        money, a receipt's facts, its verification link and JSON
//! pdf.rs          the receipt as a PDF
//! pages/          one module per page, each with its template in templates/
//!   layout.rs       Layout (what base.html reads), Page (render with a status), form values
//!   extract.rs      CsrfForm<T>, PaymentId
//!   flow.rs         where a payment continues; completing a challenge
//!   error.rs        the error page and "page not found"
//!   home, charge, terms, card, confirm, redirect, status, receipt (+ PDF, JSON),
//!   verify, documents, edition, services; agreement.rs (agreement Markdown as HTML), assets.rs
//! api/            the JSON API, one module per resource
//!   error.rs        ApiError: the one IntoResponse of every API error
//!   extract.rs      PaymentId, JsonPost (JSON body + Idempotency-Key rules)
//!   charges, payments, receipts, catalogue, terms, openapi
//! ```
//!
//! No two modules use each other, directly or in a loop: pages and the API
//! sit on `state`, `security`, `errors` and `facts`, which use neither.
//!
//! # Templates
//!
//! Pages are [askama] templates in `templates/`, compiled into the crate:
//! a wrong field name, a missing text key or a syntax error is a build
//! error, not a broken page. `base.html` is the layout of every page
//! (`<html lang>`, skip link, header with the navigation and the language
//! switch, the `<h1>`, the footer with the operator's name, address and
//! support contacts, the stylesheet); each page extends it with one
//! template (`home.html`, `charge.html`, `terms.html`, `card.html`,
//! `confirm.html`, `redirect.html`, `status.html`, `receipt.html`,
//! `verify.html`, `documents.html`, `edition.html`, `services.html`,
//! `error.html`), and
//! `macros.html` holds the pieces forms share (a field with its label, hint
//! and error tied by `aria-describedby`; the error summary; the payment's
//! facts; the agreement text).
//!
//! Every text a payer reads comes from Fluent through typed keys: templates
//! write `{{ layout.t(Text::CardPan) }}`, never a literal. Autoescaping is
//! on for everything; two values are marked `|safe`: the receipt's QR code,
//! SVG markup the `qrcode` crate draws from our own verification link, and
//! the agreement, HTML that `pages::agreement` renders from an edition's
//! Markdown with `pulldown-cmark`, escaping every text of the edition and
//! showing its raw HTML, its links to other schemes than http, https and
//! mailto, and its images as text (`docs/operations.md`, "Agreement
//! editions: the Markdown"). The stylesheet and the redirect
//! page's and the card form's scripts are files in `assets/`.
//!
//! **Why askama, and without `askama_web`.** askama checks templates at
//! compile time and renders through generated Rust (no template files read
//! at run time, nothing to deploy next to the binary). It is maintained
//! (askama-rs, the merged askama/rinja team), used by rustdoc itself, and
//! adds only its derive macro to the tree. We use 0.14, the newest release
//! whose MSRV (1.83) fits the workspace's `rust-version` (0.15 and later
//! need Rust 1.88). The axum glue is one function
//! (`pages::layout::Page::respond`: render, then `(status, Html(body))`, or
//! a logged plain 500), so we do without the `askama_web` crate: it would
//! save only that function (its `IntoResponse` answers 200, and our pages
//! also answer 404, 409, 422 and 429, some with headers such as
//! `Retry-After` or the bank's origin in the CSP), and its releases must
//! follow askama's in lockstep.
//!
//! # Extractors
//!
//! What every handler would otherwise repeat:
//!
//! - [`security::Ctx`] (language, CSRF token, client address), put in every
//!   request by the `context` middleware;
//! - `pages::extract::CsrfForm<T>`: the posted form as a `T` after checking
//!   its `csrf` field against the session's token; a missing or wrong token
//!   is the translated `403 request.csrf` page, a body that does not parse
//!   the `400 request.invalid` page;
//! - `pages::extract::PaymentId`: the `{id}` of a payment address; anything
//!   but a UUID is the translated "page not found" page;
//! - [`api::extract::PaymentId`] and [`api::extract::JsonPost`] for the
//!   API, which reject with an [`ApiError`](api::ApiError) in the caller's
//!   language.
//!
//! # Errors
//!
//! Every error is a [`tolom_core::i18n::Text`]: a stable code and a message
//! in each language. Its [`ErrorKind`] (not found, conflict, invalid input,
//! ...) gives the HTTP status, for pages and the API alike. The API answers
//! every error with [`api::ApiError`] (`{"error": {"code", "message",
//! "fields"}}`), and the OpenAPI document lists each operation's errors
//! through the same type, so the document and the server cannot disagree.
//!
//! # Dependencies
//!
//! Chosen for health and size: `askama` (templates, above); `qrcode` (pure
//! Rust QR encoder, SVG output only, no image stack); `ttf-parser`
//! (zero-dependency font parser used by resvg/rustybuzz) and `miniz_oxide`
//! (the deflate used by `flate2`) for the PDF writer in [`pdf`]; the font
//! is DejaVu Sans Mono (free licence in `assets/DejaVu-LICENSE.txt`). The
//! OpenAPI document is built in [`api::openapi`] from a route table and
//! [`api::ApiError`], rather than with `utoipa`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use axum::routing::{get, post};
use axum::Router;

pub mod api;
mod errors;
mod facts;
pub mod health;
mod lifecycle;
pub mod middleware;
mod pages;
pub mod pdf;
pub mod security;
mod state;

/// The request bodies of the JSON API and the posted forms of the pages, as
/// their handlers parse them: for `tolom-fuzz`, which feeds them arbitrary
/// bytes (`docs/security.md`, "Fuzzing"). Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::api::payments::{ChallengeBody, StartBody};
    pub use crate::api::receipts::VerifyBody;
    pub use crate::pages::card::CardPost;
    pub use crate::pages::charge::LookupForm;
    pub use crate::pages::extract::Posted;
}

pub use errors::ErrorKind;
pub use lifecycle::{Lifecycle, Redactor};
pub use state::{AppState, PortalConfig};

/// The whole portal: pages, receipts, the JSON API and static files.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so
/// the rate limit sees client addresses.
pub fn router(state: AppState) -> Router {
    use pages::*;
    Router::new()
        .route("/", get(home::home))
        .route("/lookup", post(charge::lookup))
        .route("/pay/{code}", get(charge::charge))
        .route("/pay/{code}/receipt", post(charge::receipt))
        .route("/pay/{code}/terms", get(terms::terms))
        .route("/pay/{code}/start", post(terms::start))
        .route("/payments/{id}", get(status::status))
        .route("/payments/{id}/card", get(card::card).post(card::submit))
        .route("/payments/{id}/hosted", post(card::hosted))
        .route(
            "/payments/{id}/confirm",
            get(confirm::confirm).post(confirm::submit),
        )
        .route(
            "/payments/{id}/return",
            get(redirect::back).post(redirect::back_posted),
        )
        .route("/payments/{id}/receipt", get(receipt::receipt))
        .route("/payments/{id}/receipt.pdf", get(receipt::pdf))
        .route("/payments/{id}/receipt.json", get(receipt::json))
        .route("/verify", get(verify::verify))
        .route("/services", get(services::services))
        .route("/documents", get(documents::documents))
        .route("/documents/{id}", get(edition::edition))
        .route("/static/portal.css", get(assets::stylesheet))
        .route("/static/autosubmit.js", get(assets::autosubmit))
        .route("/static/cardform.js", get(assets::cardform))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/api/v1", api::routes())
        .fallback(error::not_found)
        // Two layers, not four: `context` inside `headers`, then the
        // access log inside `observe`'s span, each pair in one function
        // (one state clone and one boxed future a request each).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::context_and_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.lifecycle.clone(),
            middleware::observe_and_log,
        ))
        .with_state(state)
}

/// `/healthz` and `/readyz` alone, for another listener of the program
/// (the admin listener).
pub fn probes(probes: health::Probes) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(probes)
}

/// Wraps another router of the program (the admin API) in the same request
/// id, span, in-flight count and HTTP metrics as the portal
/// ([`middleware::observe`]).
pub fn observed(router: Router, lifecycle: std::sync::Arc<Lifecycle>) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        lifecycle,
        middleware::observe,
    ))
}
