//! `GET /metrics` behind the admin API's bearer tokens, for a portal whose
//! admin API shares the public listener (no `server.admin_addr`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::auth::{language, operator, principal, Asking};
use crate::error::ApiError;
use crate::AdminState;

/// Renders the metrics in the Prometheus text format.
pub type RenderMetrics = Arc<dyn Fn() -> String + Send + Sync>;

/// The content type of the Prometheus text format.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone)]
pub(crate) struct MetricsState {
    pub(crate) admin: AdminState,
    pub(crate) render: RenderMetrics,
}

/// Authenticates the bearer token (a missing or unknown one is refused
/// and recorded, as on every admin route), checks that its role may read
/// metrics (operator, auditor; a refusal is recorded), and renders.
/// Allowed reads are not recorded: a scraper comes every few seconds.
pub(crate) async fn metrics(State(state): State<MetricsState>, req: Request) -> Response {
    let lang = language(req.headers());
    let operator = match operator(&state.admin, lang) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let asking = Asking::of(&req, &state.admin);
    let principal = match principal(&state.admin, operator, asking, lang).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    if let Err(e) = operator.allow_metrics(&principal).await {
        return ApiError::from_operator(e, lang).into_response();
    }
    let mut res = (state.render)().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_TEXT),
    );
    res
}
