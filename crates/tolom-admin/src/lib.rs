//! # tolom-admin
//!
//! The admin JSON API of a tolom portal, mounted by `tolom serve` under
//! `/api/v1/admin/`: a thin mapping of HTTP onto the core's operator use
//! case ([`tolom_core::usecases::Operator`]). Every rule — who may do what,
//! what is recorded in the audit log and in which transaction — lives in
//! the core; this crate only authenticates the bearer token, turns requests
//! into operator calls and errors into answers.
//!
//! Every request carries `Authorization: Bearer <secret>`; the core looks
//! the secret's SHA-256 up (secrets are never stored). No, a malformed, an
//! unknown or a revoked token → `401 auth.unauthenticated`, and the failed
//! attempt is in the audit log as `admin.auth_failed` (method, path,
//! client address, reason, the first 8 hex digits of the token's SHA-256 —
//! never the token), at most 10 entries per client and 100 in all per
//! minute, the rest counted ([`failures`]); a token whose role may not do
//! this → `403 auth.forbidden`. Messages follow `Accept-Language` (ky, ru,
//! en).
//!
//! | route                                        | issuer | operator | auditor | bank |
//! |----------------------------------------------|:------:|:--------:|:-------:|:----:|
//! | `POST   /charges`                            |   ✓    |          |         |      |
//! | `DELETE /charges/{code}`                     |   ✓    |          |         |      |
//! | `GET    /charges/{code}`                     |   ✓    |    ✓     |    ✓    |      |
//! | `POST   /charges/{code}/external-payments`   |        |    ✓     |         |  ✓   |
//! | `GET    /payments`, `/payments/{id}`         |        |    ✓     |    ✓    |      |
//! | `POST   /payments/{id}/refunds`              |        |    ✓     |         |      |
//! | `GET    /duplicates`                         |        |    ✓     |    ✓    |      |
//! | `POST   /payments/{id}/return-duplicate`     |        |    ✓     |         |      |
//! | `GET    /external-payments`                  |        |    ✓     |    ✓    |      |
//! | `POST   /external-payments/{id}/resolve`     |        |    ✓     |         |      |
//! | `POST   /reconcile`                          |        |    ✓     |         |      |
//! | `GET    /reports`                            |        |    ✓     |    ✓    |      |
//! | `GET    /audit/verify`                       |        |    ✓     |    ✓    |      |
//!
//! (The table is [`tolom_core::access::Role::may`].) Operator and auditor
//! tokens may also read the service's metrics ([`metrics_router`]: `GET
//! /metrics` on the public listener when the admin API has no listener of
//! its own). Every authenticated request — allowed or refused — is
//! recorded as `admin.<action>` with its method, path and role. A request
//! that changes something (issue, cancel, refund, return a duplicate,
//! record or resolve a payment made elsewhere, reconcile) is recorded **in the transaction of its first change**
//! ([`tolom_core::usecases::Operator::recording`]; `with_change: true` in
//! the entry's data): a committed change always has its entry, even when
//! the client goes away before the answer. What changes nothing (a
//! refusal, a read, a replayed request) is recorded after the answer, with
//! its HTTP status.
//!
//! Inputs are bounded: a body or query value that does not fit its field,
//! a `valid_days` outside 1..=3650, an expiry further than that, a `limit`
//! above [`MAX_LIMIT`], a report longer than [`MAX_REPORT_DAYS`] are
//! refused with `422` and a stable code, never a panic.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use tolom_core::Tolom;

mod auth;
mod charges;
mod duplicates;
mod error;
mod external;
mod extract;
pub mod failures;
mod metrics;
mod payments;
mod reports;

pub use auth::Caller;
pub use error::ApiError;
pub use metrics::{RenderMetrics, PROMETHEUS_TEXT};
pub use reports::MAX_REPORT_DAYS;

/// The most rows a list may ask for (`limit`; 0 asks for all).
pub const MAX_LIMIT: usize = 10_000;

/// A list's `limit`: 100 when absent, refused above [`MAX_LIMIT`] (0 asks
/// for all).
fn list_limit(
    lang: tolom_core::i18n::Language,
    limit: Option<usize>,
) -> Result<usize, error::ApiError> {
    let limit = limit.unwrap_or(100);
    if limit > MAX_LIMIT {
        return Err(error::ApiError::invalid(
            lang,
            format!("limit is at most {MAX_LIMIT} (0 for all)"),
        ));
    }
    Ok(limit)
}

/// What the admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    /// The use cases (the operator's among them).
    pub tolom: Arc<Tolom>,
    failures: Arc<failures::AuthFailures>,
    trust_forwarded_for: bool,
}

impl AdminState {
    /// The admin API over these use cases; the client address of a failed
    /// authentication is the connection's peer.
    pub fn new(tolom: Arc<Tolom>) -> AdminState {
        AdminState {
            tolom,
            failures: Arc::default(),
            trust_forwarded_for: false,
        }
    }

    /// Takes the client address from the last `X-Forwarded-For` entry
    /// (behind a proxy that sets it only: `server.trust_forwarded_for`).
    pub fn trust_forwarded_for(mut self, trust: bool) -> AdminState {
        self.trust_forwarded_for = trust;
        self
    }
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .finish_non_exhaustive()
    }
}

/// The admin API's routes (relative: mount them with
/// `Router::nest("/api/v1/admin", admin_router(state))`). The [`Tolom`]
/// must have an operations store ([`tolom_core::usecases::TolomBuilder::ops`]);
/// without one every route answers `503 service.unavailable`.
pub fn admin_router(state: AdminState) -> Router {
    Router::new()
        .route("/charges", post(charges::issue))
        .route(
            "/charges/{code}",
            get(charges::show).delete(charges::cancel),
        )
        .route("/payments", get(payments::list))
        .route("/payments/{id}", get(payments::show))
        .route("/payments/{id}/refunds", post(payments::refund))
        .route(
            "/payments/{id}/return-duplicate",
            post(duplicates::return_duplicate),
        )
        .route("/duplicates", get(duplicates::list))
        .route("/charges/{code}/external-payments", post(external::record))
        .route("/external-payments", get(external::list))
        .route("/external-payments/{id}/resolve", post(external::resolve))
        .route("/reconcile", post(payments::reconcile))
        .route("/reports", get(reports::report))
        .route("/audit/verify", get(reports::audit_verify))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state)
}

/// `GET /metrics` for callers with an operator or auditor token
/// ([`tolom_core::access::Permission::ReadMetrics`]); mount it at the root
/// (`Router::merge`). An unknown token is refused and recorded as on every
/// admin route, and so is a role that may not read metrics; allowed reads
/// are not recorded (a scraper comes every few seconds, and metrics hold
/// no personal data). `render` gives the Prometheus text. A missing or
/// unknown token is recorded as on the admin routes (`admin.auth_failed`,
/// bounded).
pub fn metrics_router(state: AdminState, render: RenderMetrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .with_state(metrics::MetricsState {
            admin: state,
            render,
        })
}
