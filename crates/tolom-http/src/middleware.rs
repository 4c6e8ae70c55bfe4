//! The middleware every request goes through: the request's id, span and
//! metrics ([`observe`], outermost), the request context (language,
//! session, CSRF token, client address), the security headers, and the
//! access log (which never sees bodies or query strings, so card data
//! cannot reach it).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::lifecycle::Lifecycle;
use crate::security::{
    cookie, csrf_token, language_of, random_hex, Ctx, CSP, LANG_COOKIE, SESSION_COOKIE,
};
use crate::state::AppState;

/// The request id header: taken from the client or proxy when valid,
/// returned on every response.
pub const REQUEST_ID: &str = "x-request-id";

/// The id of the request being answered (in the request's extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Whether an `x-request-id` from outside is acceptable: 1 to 64
/// characters of `A-Z a-z 0-9 . _ -` (anything else could forge log lines
/// or blow up their size, and is replaced by a new id).
pub fn valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The route a request matched, as written in the router
/// (`/payments/{id}/card`), never the raw path; `unmatched` for anything
/// the router does not know (so random paths cannot multiply metrics).
fn route_of(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string())
}

/// Whether a route is a probe (not counted in flight, logged at debug).
fn is_probe(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz")
}

fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Middleware, outermost: the request's id (the client's or proxy's
/// `x-request-id` when valid, else a new random one), returned in the
/// response's `x-request-id` and carried by a `request` span around
/// everything the request does — so every log line of the request,
/// including the acquirer's, has `request_id`; the requests in flight
/// (for a clean stop); and the HTTP metrics by route template, method and
/// status: `tolom_http_requests_total`, `tolom_http_request_duration_seconds`,
/// `tolom_http_requests_in_flight`.
///
/// Apply it with `Router::layer`, so that the matched route is known.
pub async fn observe(
    State(lifecycle): State<Arc<Lifecycle>>,
    req: Request,
    next: Next,
) -> Response {
    observed(&lifecycle, req, next, false).await
}

/// [`observe`] and [`access_log`] in one layer, as the portal uses them:
/// the same request id, span, in-flight count, metrics and access-log
/// line (inside the request's span), with the route, the clock and the
/// state taken once a request instead of twice.
pub async fn observe_and_log(
    State(lifecycle): State<Arc<Lifecycle>>,
    req: Request,
    next: Next,
) -> Response {
    observed(&lifecycle, req, next, true).await
}

async fn observed(lifecycle: &Lifecycle, mut req: Request, next: Next, log: bool) -> Response {
    let id = match req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
    {
        Some(v) => v.to_string(),
        None => random_hex(16),
    };
    let route = route_of(&req);
    let method = method_label(req.method());
    // For the access log: the method as sent (the metrics' label folds
    // unusual ones into "other") and the path only, never the query string.
    let logged = log.then(|| (req.method().clone(), req.uri().path().to_string()));
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method, route = %route);
    let in_flight = (!is_probe(&route)).then(|| lifecycle.enter());
    let started = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    drop(in_flight);
    let elapsed = started.elapsed();
    let status = resp.status().as_u16();
    if let Some((logged_method, path)) = logged {
        let micros = elapsed.as_micros() as u64;
        span.in_scope(|| access_line(logged_method.as_str(), &path, &route, status, micros));
    }
    metrics::counter!(
        "tolom_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "tolom_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

/// The access-log line of a request (probes at debug level).
fn access_line(method: &str, path: &str, route: &str, status: u16, micros: u64) {
    if is_probe(route) {
        tracing::debug!(target: "tolom_http::access", %method, path = %path, route = %route, status, micros);
    } else {
        tracing::info!(target: "tolom_http::access", %method, path = %path, route = %route, status, micros);
    }
}

fn client_ip(req: &Request, trust_forwarded: bool) -> IpAddr {
    if trust_forwarded {
        if let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return ip;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Middleware: works out the [`Ctx`], sets the language and session cookies.
pub async fn context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    with_context(&state, req, next).await
}

async fn with_context(state: &AppState, mut req: Request, next: Next) -> Response {
    let (lang, explicit) = language_of(req.uri().query(), req.headers());
    let is_api = req.uri().path().starts_with("/api/");
    let ip = client_ip(&req, state.config.trust_forwarded_for);
    let mut new_session = None;
    let csrf = if is_api {
        String::new()
    } else {
        let sid = match cookie(req.headers(), SESSION_COOKIE) {
            Some(s) if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) => s.to_string(),
            _ => {
                let s = random_hex(16);
                new_session = Some(s.clone());
                s
            }
        };
        csrf_token(&state.config.secret, &sid)
    };
    req.extensions_mut().insert(Ctx { lang, csrf, ip });
    let mut resp = next.run(req).await;
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    if explicit {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
            lang.tag()
        )) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    if let Some(sid) = new_session {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax{secure}"
        )) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Middleware: security headers on every response; `no-store` unless the
/// handler chose a cache policy (only the static files do). A handler may
/// set its own Content-Security-Policy, built from [`CSP`] (the page that
/// sends the payer to the bank lets its form post to the bank's origin).
pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    secure(resp.headers_mut(), state.config.hsts);
    resp
}

/// [`headers`] around [`context`] in one layer, as the portal uses them
/// (one state clone and one boxed future a request instead of two).
pub async fn context_and_headers(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = with_context(&state, req, next).await;
    secure(resp.headers_mut(), state.config.hsts);
    resp
}

/// The security headers of [`headers`].
fn secure(h: &mut HeaderMap, hsts: bool) {
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(h, header::CONTENT_SECURITY_POLICY, CSP);
    }
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if hsts {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
        set(h, header::PRAGMA, "no-cache");
    }
}

/// Middleware: one access-log line per request: method, path, route,
/// status, time (probes at debug level). Never the query string, headers
/// or body.
pub async fn access_log(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = route_of(&req);
    let started = Instant::now();
    let resp = next.run(req).await;
    let micros = started.elapsed().as_micros() as u64;
    access_line(
        method.as_str(),
        &path,
        &route,
        resp.status().as_u16(),
        micros,
    );
    resp
}
