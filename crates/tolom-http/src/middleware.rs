//! The middleware every request goes through: the request context
//! (language, session, CSRF token, client address), the security headers,
//! and the access log (which never sees bodies or query strings, so card
//! data cannot reach it).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::security::{
    cookie, csrf_token, language_of, random_hex, Ctx, CSP, LANG_COOKIE, SESSION_COOKIE,
};
use crate::state::AppState;

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
pub async fn context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
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
    let h = resp.headers_mut();
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
    if state.config.hsts {
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
    resp
}

/// Middleware: one access-log line per request: method, path, status,
/// time. Never the query string, headers or body.
pub async fn access_log(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        target: "tolom_http::access",
        %method,
        path = %path,
        status = resp.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
    );
    resp
}
