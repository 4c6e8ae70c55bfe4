//! Authentication and the request record around every route.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tolom_core::access::Principal;
use tolom_core::i18n::{Language, Text};
use tolom_core::usecases::Operator;

use crate::error::ApiError;
use crate::AdminState;

/// The authenticated caller, for the handlers: who (a token's principal)
/// and in which language to answer.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's principal.
    pub principal: Principal,
    /// The caller's language.
    pub lang: Language,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                Text::AuthUnauthenticated,
                language(&parts.headers),
            )
        })
    }
}

/// The language of `Accept-Language` (English when none fits).
pub(crate) fn language(headers: &HeaderMap) -> Language {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::negotiate)
        .unwrap_or(Language::En)
}

/// The secret of `Authorization: Bearer <secret>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(secret.trim())
        .filter(|s| !s.is_empty())
}

/// The operator use case, or `503` when the portal has no operations store.
pub(crate) fn operator(state: &AdminState, lang: Language) -> Result<&Operator, ApiError> {
    state.tolom.operator().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Text::ServiceUnavailable,
            lang,
        )
        .detail("this portal has no operations store")
    })
}

/// The name a route's requests are recorded under.
fn action_of(method: &Method, route: &str) -> &'static str {
    let route = route.trim_start_matches("/api/v1/admin");
    match (method.as_str(), route) {
        ("POST", "/charges") => "admin.charge.issue",
        ("DELETE", "/charges/{code}") => "admin.charge.cancel",
        ("GET", "/charges/{code}") => "admin.charge.read",
        ("GET", "/payments") => "admin.payments.list",
        ("GET", "/payments/{id}") => "admin.payment.read",
        ("POST", "/payments/{id}/refunds") => "admin.refund",
        ("POST", "/reconcile") => "admin.reconcile",
        ("GET", "/reports") => "admin.report",
        ("GET", "/audit/verify") => "admin.audit.verify",
        _ => "admin.unknown",
    }
}

/// Authenticates the bearer token, runs the route, and records the request
/// (who, what, the status) in the audit log. A request that cannot be
/// recorded is not acknowledged as done.
pub(crate) async fn authenticate(
    State(state): State<AdminState>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let lang = language(req.headers());
    let operator = match operator(&state, lang) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let Some(secret) = bearer(req.headers()).map(str::to_string) else {
        return ApiError::new(StatusCode::UNAUTHORIZED, Text::AuthUnauthenticated, lang)
            .into_response();
    };
    let principal = match operator.authenticate(&secret).await {
        Ok(p) => p,
        Err(e) => return ApiError::from_operator(e, lang).into_response(),
    };
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let action = action_of(&method, matched.as_ref().map(|m| m.as_str()).unwrap_or(""));
    let subject = path
        .rsplit('/')
        .find(|s| !s.is_empty() && !matches!(*s, "refunds"))
        .unwrap_or("-")
        .to_string();
    let role = match &principal {
        Principal::Token { role, .. } => role.as_str(),
        _ => "-",
    };
    req.extensions_mut().insert(Caller {
        principal: principal.clone(),
        lang,
    });
    let response = next.run(req).await;
    let recorded = operator
        .record(
            &principal,
            action,
            &subject,
            json!({
                "method": method.as_str(),
                "path": path,
                "status": response.status().as_u16(),
                "role": role,
            }),
        )
        .await;
    if let Err(e) = recorded {
        tracing::error!(error = %e, "admin request not recorded in the audit log");
        return ApiError::from_operator(e, lang).into_response();
    }
    response
}
