//! Authentication and the request record around every route.
//!
//! - A request without a valid bearer token is refused (`401`) and
//!   recorded as `admin.auth_failed` (actor `anonymous`, subject the path;
//!   method, path, client address, reason and, for a token that was
//!   given, the first 8 hex digits of its SHA-256 — never the token),
//!   within the bounds of [`crate::failures`].
//! - An authenticated request is recorded as `admin.<action>`: by the
//!   action itself in the transaction of its first change when it changes
//!   something ([`Audit`], [`tolom_core::usecases::Operator::recording`]),
//!   else (refused, a read, a replay) here after the answer, with its
//!   status.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tolom_core::access::{hash_token, Principal};
use tolom_core::i18n::{Language, Text};
use tolom_core::usecases::operator::{Recorded, RequestRecord};
use tolom_core::usecases::Operator;

use crate::error::ApiError;
use crate::failures::Admit;
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

/// The request's audit record, for the handlers of actions that change
/// something: they run the action through [`Audit::recording`] so that
/// the record is written with the action's first change, and tell
/// [`Audit::done`] whether it was.
#[derive(Debug, Clone)]
pub(crate) struct Audit {
    record: RequestRecord,
    written: Arc<AtomicBool>,
}

impl Audit {
    /// The operator's actions, recording this request with their change.
    pub(crate) fn recording<'a>(&self, operator: &'a Operator, who: &'a Principal) -> Recorded<'a> {
        let mut record = self.record.clone();
        record.data["with_change"] = json!(true);
        operator.recording(who, record)
    }

    /// After the action: whether its change carried the record (then the
    /// request is not recorded again after the answer).
    pub(crate) fn done(&self, recorded: &Recorded<'_>) {
        if recorded.written() {
            self.written.store(true, Ordering::SeqCst);
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Audit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Audit>().cloned().ok_or_else(|| {
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

/// The secret of `Authorization: Bearer <secret>`, or why there is none:
/// `missing` (no header) or `malformed` (another scheme, no secret, not
/// text).
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, &'static str> {
    let v = headers.get(header::AUTHORIZATION).ok_or("missing")?;
    let v = v.to_str().map_err(|_| "malformed")?;
    let (scheme, secret) = v.split_once(' ').ok_or("malformed")?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(secret.trim())
        .filter(|s| !s.is_empty())
        .ok_or("malformed")
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

/// What authentication needs of a request (all of it `Sync`, unlike the
/// request's body, so it may be held across the store's awaits).
pub(crate) struct Asking<'a> {
    headers: &'a HeaderMap,
    method: &'a Method,
    path: String,
    client: Option<IpAddr>,
}

impl<'a> Asking<'a> {
    /// The parts of `req` authentication needs.
    pub(crate) fn of(req: &'a Request, state: &AdminState) -> Asking<'a> {
        Asking {
            headers: req.headers(),
            method: req.method(),
            path: path_of(req),
            client: client(req, state.trust_forwarded_for),
        }
    }
}

/// The client's address: the connection's peer, or the last
/// `X-Forwarded-For` entry when the portal trusts its proxy.
fn client(req: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        if let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return Some(ip);
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The path the client asked for (with the prefix the admin router is
/// nested under), shortened.
fn path_of(req: &Request) -> String {
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().path(), |u| u.0.path());
    short(path)
}

/// At most this many characters of a path go into the audit log.
const PATH_CHARS: usize = 200;

fn short(path: &str) -> String {
    path.chars().take(PATH_CHARS).collect()
}

/// The principal of the request's bearer token, or the `401` answer —
/// the failure recorded as `admin.auth_failed` within the bounds of
/// [`crate::failures`] (never the token: at most its hash's first 8 hex
/// digits).
pub(crate) async fn principal(
    state: &AdminState,
    operator: &Operator,
    req: Asking<'_>,
    lang: Language,
) -> Result<Principal, Response> {
    let (reason, fingerprint) = match bearer(req.headers) {
        Err(reason) => (reason, None),
        Ok(secret) => match operator.identify(secret).await {
            Ok(Some(principal)) => return Ok(principal),
            // Unknown or revoked (the store tells no revoked token apart).
            Ok(None) => ("unknown_token", Some(hash_token(secret)[..8].to_string())),
            Err(e) => return Err(ApiError::from_operator(e, lang).into_response()),
        },
    };
    let refused = ApiError::new(StatusCode::UNAUTHORIZED, Text::AuthUnauthenticated, lang);
    let client_text = req
        .client
        .map_or_else(|| "unknown".to_string(), |c| c.to_string());
    let path = req.path;
    match state.failures.admit(&client_text, operator.now()) {
        Admit::Suppress { first } => {
            if first {
                tracing::warn!(
                    client = %client_text,
                    "failed admin authentications past the audit bound: counted, not recorded one by one"
                );
            }
            Err(refused.into_response())
        }
        Admit::Record { suppressed_before } => {
            tracing::info!(
                client = %client_text,
                reason,
                fingerprint = fingerprint.as_deref().unwrap_or("-"),
                "admin authentication failed"
            );
            let mut data = json!({
                "method": req.method.as_str(),
                "path": path,
                "client": client_text,
                "reason": reason,
                "status": StatusCode::UNAUTHORIZED.as_u16(),
            });
            if let Some(f) = fingerprint {
                data["fingerprint"] = json!(f);
            }
            if suppressed_before > 0 {
                data["suppressed_before"] = json!(suppressed_before);
            }
            match operator
                .record_anonymous("admin.auth_failed", &path, data)
                .await
            {
                Ok(()) => Err(refused.into_response()),
                Err(e) => {
                    tracing::error!(error = %e, "failed admin authentication not recorded in the audit log");
                    Err(ApiError::from_operator(e, lang).into_response())
                }
            }
        }
    }
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
        ("POST", "/payments/{id}/return-duplicate") => "admin.return_duplicate",
        ("GET", "/duplicates") => "admin.duplicates.list",
        ("POST", "/charges/{code}/external-payments") => "admin.external_payment.record",
        ("GET", "/external-payments") => "admin.external_payments.list",
        ("POST", "/external-payments/{id}/resolve") => "admin.external_payment.resolve",
        ("POST", "/reconcile") => "admin.reconcile",
        ("GET", "/reports") => "admin.report",
        ("GET", "/audit/verify") => "admin.audit.verify",
        _ => "admin.unknown",
    }
}

/// What a request is about: the value of the route's parameter (a code, a
/// payment id), else the path's last segment (`charges`, `reconcile`).
fn subject_of(route: &str, path: &str) -> String {
    let route = route.trim_start_matches("/api/v1/admin");
    let path_tail: Vec<&str> = path.split('/').collect();
    let route_tail: Vec<&str> = route.split('/').collect();
    // Align the ends: the route is relative to where the router is nested.
    let offset = path_tail.len().saturating_sub(route_tail.len());
    for (i, segment) in route_tail.iter().enumerate() {
        if segment.starts_with('{') {
            if let Some(v) = path_tail.get(offset + i) {
                return short(v);
            }
        }
    }
    path.rsplit('/')
        .find(|s| !s.is_empty())
        .map(short)
        .unwrap_or_else(|| "-".to_string())
}

/// Authenticates the bearer token, runs the route, and records the request
/// (who, what, the status) in the audit log unless the action recorded it
/// with its change. A request that cannot be recorded is not acknowledged
/// as done.
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
    let asking = Asking::of(&req, &state);
    let principal = match principal(&state, operator, asking, lang).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let method = req.method().clone();
    let path = path_of(&req);
    let route = matched.as_ref().map(|m| m.as_str()).unwrap_or("");
    let action = action_of(&method, route);
    let subject = subject_of(route, &path);
    let role = match &principal {
        Principal::Token { role, .. } => role.as_str(),
        _ => "-",
    };
    let audit = Audit {
        record: RequestRecord {
            action: action.to_string(),
            subject: subject.clone(),
            data: json!({
                "method": method.as_str(),
                "path": path,
                "role": role,
            }),
        },
        written: Arc::new(AtomicBool::new(false)),
    };
    let written = audit.written.clone();
    req.extensions_mut().insert(audit);
    req.extensions_mut().insert(Caller {
        principal: principal.clone(),
        lang,
    });
    let response = next.run(req).await;
    if written.load(Ordering::SeqCst) {
        return response;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_the_routes_parameter() {
        let id = "6f1c2a4e-0000-4000-8000-000000000001";
        assert_eq!(
            subject_of(
                "/api/v1/admin/payments/{id}/return-duplicate",
                &format!("/api/v1/admin/payments/{id}/return-duplicate")
            ),
            id
        );
        assert_eq!(
            subject_of("/payments/{id}/refunds", &format!("/payments/{id}/refunds")),
            id
        );
        assert_eq!(
            subject_of("/charges/{code}", "/api/v1/admin/charges/1600000000016"),
            "1600000000016"
        );
        assert_eq!(
            subject_of("/reconcile", "/api/v1/admin/reconcile"),
            "reconcile"
        );
        assert_eq!(subject_of("", "/"), "-");
    }

    #[test]
    fn a_bearer_token_or_why_there_is_none() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), Err("missing"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().expect("header"));
        assert_eq!(bearer(&h), Err("malformed"));
        h.insert(header::AUTHORIZATION, "Bearer  ".parse().expect("header"));
        assert_eq!(bearer(&h), Err("malformed"));
        h.insert(
            header::AUTHORIZATION,
            "bearer tlm_1".parse().expect("header"),
        );
        assert_eq!(bearer(&h), Ok("tlm_1"));
    }
}
