//! The probes: `/healthz` (the process answers; no I/O) and `/readyz`
//! (this instance can serve payers: 200, or 503 naming each failed check
//! and why).

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tolom_core::Tolom;

use crate::lifecycle::Lifecycle;
use crate::state::AppState;

/// What the probes need: the use cases and the instance's life.
#[derive(Clone)]
pub struct Probes {
    /// The use cases (their storage checks).
    pub tolom: Arc<Tolom>,
    /// The instance's own checks and its shutdown flag.
    pub lifecycle: Arc<Lifecycle>,
}

impl FromRef<AppState> for Probes {
    fn from_ref(state: &AppState) -> Probes {
        Probes {
            tolom: state.tolom.clone(),
            lifecycle: state.lifecycle.clone(),
        }
    }
}

/// `GET /healthz`: alive. Touches nothing.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: `200 {"status": "ready", "checks": [...]}` or `503
/// {"status": "not_ready", "failed": ["database", ...], "checks": [...]}`,
/// each check with its name, `ok` and, when it failed, why.
pub(crate) async fn readyz(State(probes): State<Probes>) -> Response {
    let readiness = probes.lifecycle.readiness(&probes.tolom).await;
    let ready = readiness.is_ready();
    let failed: Vec<&str> = readiness.failed().map(|c| c.name.as_str()).collect();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "failed": failed,
        "checks": readiness.checks,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
