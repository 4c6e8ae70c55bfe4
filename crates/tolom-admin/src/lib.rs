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
//! the secret's SHA-256 up (secrets are never stored). No, an unknown or a
//! revoked token → `401 auth.unauthenticated` (and the failed attempt is in
//! the audit log); a token whose role may not do this → `403
//! auth.forbidden`. Messages follow `Accept-Language` (ky, ru, en).
//!
//! | route                               | issuer | operator | auditor |
//! |-------------------------------------|:------:|:--------:|:-------:|
//! | `POST   /charges`                   |   ✓    |          |         |
//! | `DELETE /charges/{code}`            |   ✓    |          |         |
//! | `GET    /charges/{code}`            |   ✓    |    ✓     |    ✓    |
//! | `GET    /payments`, `/payments/{id}`|        |    ✓     |    ✓    |
//! | `POST   /payments/{id}/refunds`     |        |    ✓     |         |
//! | `POST   /reconcile`                 |        |    ✓     |         |
//! | `GET    /reports`                   |        |    ✓     |    ✓    |
//! | `GET    /audit/verify`              |        |    ✓     |    ✓    |
//!
//! (The table is [`tolom_core::access::Role::may`].) Operator and auditor
//! tokens may also read the service's metrics ([`metrics_router`]: `GET
//! /metrics` on the public listener when the admin API has no listener of
//! its own). Every authenticated
//! request — allowed or refused — is also recorded as `admin.<action>` with
//! its method, path and HTTP status; an action that changes something is
//! recorded by the action itself, in its own transaction (the event's
//! actor, e.g. `refund.requested` by `token:ops-1`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use tolom_core::Tolom;

mod auth;
mod charges;
mod error;
mod metrics;
mod payments;
mod reports;

pub use auth::Caller;
pub use error::ApiError;
pub use metrics::{RenderMetrics, PROMETHEUS_TEXT};

/// What the admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    /// The use cases (the operator's among them).
    pub tolom: Arc<Tolom>,
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
/// no personal data). `render` gives the Prometheus text.
pub fn metrics_router(state: AdminState, render: RenderMetrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .with_state(metrics::MetricsState {
            admin: state,
            render,
        })
}
