//! Security building blocks: the per-request context (language, CSRF token,
//! client address), CSRF tokens, the Content-Security-Policy, the look-up
//! rate limit and the API's idempotency cache. The middleware that puts
//! them to work is in the `middleware` module; this module depends on no
//! other module of the crate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use tolom_core::i18n::Language;

type HmacSha256 = Hmac<Sha256>;

/// The language cookie.
pub const LANG_COOKIE: &str = "tolom_lang";
/// The session cookie the CSRF token is bound to.
pub const SESSION_COOKIE: &str = "tolom_sid";
/// The cookie naming the payment this browser started last, with a MAC
/// bound to the session, so that a start refused because "a payment is in
/// progress" can recognise the payer's own payment.
pub const STARTED_COOKIE: &str = "tolom_started";

/// What every handler knows about the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The payer's language.
    pub lang: Language,
    /// The CSRF token to put in forms (empty on API routes).
    pub csrf: String,
    /// The client's address (for the rate limit).
    pub ip: IpAddr,
}

impl Ctx {
    /// Whether a posted CSRF token is this session's (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        !self.csrf.is_empty() && same(&self.csrf, token)
    }
}

/// Handlers take the [`Ctx`] as an argument; the `context` middleware
/// (`middleware::context`) puts it in every request, so a missing
/// one is a wiring mistake (500).
impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Ctx, StatusCode> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// A cookie value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language of a request: `?lang=`, then the cookie, then
/// `Accept-Language`, else Kyrgyz.
pub fn language_of(query: Option<&str>, headers: &HeaderMap) -> (Language, bool) {
    if let Some(l) = query_param(query, "lang").and_then(|v| v.parse::<Language>().ok()) {
        return (l, true);
    }
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(|v| v.parse::<Language>().ok()) {
        return (l, false);
    }
    let negotiated = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::negotiate)
        .unwrap_or_default();
    (negotiated, false)
}

/// The CSRF token for a session id: HMAC-SHA256 with the server secret.
pub fn csrf_token(secret: &[u8; 32], session: &str) -> String {
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(b"tolom-csrf-v1\0");
    mac.update(session.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `tolom_started` cookie value for payment `id` in the session whose
/// CSRF token is `csrf`: `<id>.<mac>`.
pub fn started_proof(secret: &[u8; 32], csrf: &str, id: &str) -> String {
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(b"tolom-started-v1\0");
    mac.update(csrf.as_bytes());
    mac.update(b"\0");
    mac.update(id.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("{id}.{}", hex::encode(&tag[..16]))
}

/// Whether the request's `tolom_started` cookie proves that this session
/// started payment `id`.
pub fn started_here(headers: &HeaderMap, secret: &[u8; 32], csrf: &str, id: &str) -> bool {
    !csrf.is_empty()
        && cookie(headers, STARTED_COOKIE)
            .is_some_and(|v| same(v, &started_proof(secret, csrf, id)))
}

/// Constant-time string comparison.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The Content-Security-Policy of every response: scripts, styles and
/// images from the portal only, forms posted to the portal only.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// [`CSP`] that also lets a form post to `origins` (the bank's pages a
/// payer is sent to for 3-D Secure or the hosted payment page).
pub fn csp_with_form_action(origins: &[String]) -> String {
    CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", origins.join(" ")),
    )
}

/// The origin (`scheme://host[:port]`) of an `http(s)` URL.
pub fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .map(|u| u.origin().ascii_serialization())
}

/// A random hex string of `bytes` random bytes.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A fresh random token for hidden idempotency fields.
pub fn random_key() -> String {
    random_hex(16)
}

/// A per-client token bucket for code look-ups.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute` look-ups a minute with bursts of `burst`; 0 disables.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            burst: burst.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip`; `Err(seconds to wait)` when none is left.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let rate = f64::from(self.per_minute) / 60.0;
        let burst = f64::from(self.burst);
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > 100_000 {
            // Forget clients whose bucket has refilled.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// A remembered API answer for an `Idempotency-Key`.
#[derive(Debug, Clone)]
pub enum Remembered {
    /// Being processed now.
    InProgress([u8; 32]),
    /// Done: fingerprint, status, body.
    Done([u8; 32], u16, Vec<u8>, Instant),
}

/// What to do with a request that carries an idempotency key.
#[derive(Debug)]
pub enum Begin {
    /// First time: process it, then call [`IdempotencyCache::finish`].
    Fresh,
    /// Seen with the same body: answer this.
    Replay(u16, Vec<u8>),
    /// Seen with another body.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// In-memory store of API answers by idempotency key (24 hours). The core
/// also keeps its own idempotency (start and submit keys are stored with the
/// payment), so a restart loses only the exact replay of the body.
#[derive(Debug, Default)]
pub struct IdempotencyCache {
    entries: Mutex<HashMap<String, Remembered>>,
}

const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

impl IdempotencyCache {
    /// Looks up or claims `scope` (route + key) for a request whose
    /// keyed fingerprint is `fingerprint`.
    pub fn begin(&self, scope: &str, fingerprint: [u8; 32]) -> Begin {
        let Ok(mut map) = self.entries.lock() else {
            return Begin::Fresh;
        };
        if map.len() > 50_000 {
            map.retain(|_, r| match r {
                Remembered::Done(_, _, _, at) => at.elapsed() < IDEMPOTENCY_TTL,
                Remembered::InProgress(_) => true,
            });
        }
        match map.get(scope) {
            Some(Remembered::Done(fp, status, body, at)) if at.elapsed() < IDEMPOTENCY_TTL => {
                if *fp == fingerprint {
                    Begin::Replay(*status, body.clone())
                } else {
                    Begin::Mismatch
                }
            }
            Some(Remembered::InProgress(fp)) => {
                if *fp == fingerprint {
                    Begin::InProgress
                } else {
                    Begin::Mismatch
                }
            }
            _ => {
                map.insert(scope.to_string(), Remembered::InProgress(fingerprint));
                Begin::Fresh
            }
        }
    }

    /// Records the answer (or forgets the key when the answer should not be
    /// replayed, e.g. a temporary failure).
    pub fn finish(&self, scope: &str, fingerprint: [u8; 32], answer: Option<(u16, Vec<u8>)>) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        match answer {
            Some((status, body)) => {
                map.insert(
                    scope.to_string(),
                    Remembered::Done(fingerprint, status, body, Instant::now()),
                );
            }
            None => {
                map.remove(scope);
            }
        }
    }
}

/// A keyed fingerprint of a request body (keyed so that a cached
/// fingerprint of a card submission reveals nothing about the card).
pub fn fingerprint(secret: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    mac.update(b"tolom-idempotency-v1\0");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn bucket_allows_burst_then_limits() {
        let rl = RateLimiter::new(60, 3);
        let ip: IpAddr = "10.0.0.1"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(rl.check(ip).is_ok());
        assert!(rl.check(ip).is_ok());
        assert!(rl.check(ip).is_ok());
        assert!(rl.check(ip).is_err());
        // Another client is not affected.
        assert!(rl.check(IpAddr::V4(Ipv4Addr::LOCALHOST)).is_ok());
    }

    #[test]
    fn disabled_limiter_never_limits() {
        let rl = RateLimiter::new(0, 1);
        for _ in 0..100 {
            assert!(rl.check(IpAddr::V4(Ipv4Addr::LOCALHOST)).is_ok());
        }
    }

    #[test]
    fn idempotency_cache_replays_and_detects_mismatch() {
        let c = IdempotencyCache::default();
        let a = fingerprint(&[1; 32], b"a");
        let b = fingerprint(&[1; 32], b"b");
        assert!(matches!(c.begin("k", a), Begin::Fresh));
        assert!(matches!(c.begin("k", a), Begin::InProgress));
        c.finish("k", a, Some((201, b"x".to_vec())));
        assert!(matches!(c.begin("k", a), Begin::Replay(201, _)));
        assert!(matches!(c.begin("k", b), Begin::Mismatch));
    }

    #[test]
    fn csrf_token_depends_on_session_and_secret() {
        let t1 = csrf_token(&[1; 32], "s1");
        assert_ne!(t1, csrf_token(&[1; 32], "s2"));
        assert_ne!(t1, csrf_token(&[2; 32], "s1"));
        assert!(same(&t1, &csrf_token(&[1; 32], "s1")));
    }
}
