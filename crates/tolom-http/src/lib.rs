//! # tolom-http
//!
//! The tolom payment portal on [axum]:
//!
//! - server-rendered pages that work **without JavaScript** for the whole
//!   payment flow (code → masked payer and amount → user agreement → card
//!   form → one-time code → receipt), in Kyrgyz, Russian and English;
//! - receipts as printable HTML, PDF and JSON, with a QR code carrying a
//!   verification link, and a `/verify` page;
//! - a JSON API under `/api/v1/` with `Idempotency-Key` support and an
//!   OpenAPI document at `/api/v1/openapi.json`;
//! - security headers, CSRF tokens on every form, a per-client rate limit on
//!   code look-ups; card data never reaches logs or error pages.
//!
//! Pages are hand-written HTML through one escaping function
//! ([`html::esc`]), which keeps compile times low and needs no template
//! engine. Added dependencies, chosen for health and size: `qrcode` (pure
//! Rust QR encoder, SVG output only, no image stack), `ttf-parser` (zero-dependency
//! font parser used by resvg/rustybuzz) and `miniz_oxide` (the deflate used
//! by `flate2`) for the PDF writer in [`pdf`]; the font is DejaVu Sans Mono
//! (free licence in `assets/DejaVu-LICENSE.txt`). The OpenAPI document is
//! built in [`openapi`] from a route table and the same error-to-status
//! mapping the handlers use, rather than with `utoipa`.
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

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use rand::RngCore;
use tolom_core::Tolom;

pub mod api;
pub mod html;
pub mod openapi;
pub mod pdf;
pub mod receipt;
pub mod security;
mod web;

/// Settings of the portal (the use cases have their own, in
/// [`tolom_core::Config`]).
#[derive(Clone)]
pub struct PortalConfig {
    /// The address payers reach the portal at, without a trailing slash;
    /// used in receipt verification links.
    pub public_url: String,
    /// Code look-ups allowed per client per minute (0: no limit).
    pub lookup_rate_per_minute: u32,
    /// Look-ups a client may make in a burst.
    pub lookup_burst: u32,
    /// Take the client address from the last `X-Forwarded-For` entry (only
    /// behind a reverse proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Send `Strict-Transport-Security` (when served over TLS, directly or
    /// behind a proxy).
    pub hsts: bool,
    /// Mark cookies `Secure` (when served over TLS).
    pub secure_cookies: bool,
    /// Server secret for CSRF tokens and idempotency fingerprints.
    pub secret: [u8; 32],
}

impl std::fmt::Debug for PortalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalConfig")
            .field("public_url", &self.public_url)
            .field("lookup_rate_per_minute", &self.lookup_rate_per_minute)
            .field("lookup_burst", &self.lookup_burst)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("hsts", &self.hsts)
            .field("secure_cookies", &self.secure_cookies)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

impl PortalConfig {
    /// Defaults: 20 look-ups a minute per client with bursts of 10, no HSTS,
    /// a random secret.
    pub fn new(public_url: impl Into<String>) -> PortalConfig {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let public_url: String = public_url.into();
        PortalConfig {
            public_url: public_url.trim_end_matches('/').to_string(),
            lookup_rate_per_minute: 20,
            lookup_burst: 10,
            trust_forwarded_for: false,
            hsts: false,
            secure_cookies: false,
            secret,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub tolom: Arc<Tolom>,
    /// The portal's settings.
    pub config: Arc<PortalConfig>,
    /// The look-up rate limit.
    pub limiter: Arc<security::RateLimiter>,
    /// API answers by idempotency key.
    pub idempotency: Arc<security::IdempotencyCache>,
}

impl AppState {
    /// The state for a [`Tolom`] and settings.
    pub fn new(tolom: Arc<Tolom>, config: PortalConfig) -> AppState {
        AppState {
            limiter: Arc::new(security::RateLimiter::new(
                config.lookup_rate_per_minute,
                config.lookup_burst,
            )),
            tolom,
            config: Arc::new(config),
            idempotency: Arc::new(security::IdempotencyCache::default()),
        }
    }
}

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
            security::context,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .layer(axum::middleware::from_fn(security::access_log))
        .with_state(state)
}
