//! Security building blocks: the per-request context (language, CSRF token,
//! client address), CSRF tokens, the Content-Security-Policy, the look-up
//! rate limit and the API's idempotency cache. The middleware that puts
//! them to work is in the `middleware` module; this module depends on no
//! other module of the crate.

use std::collections::hash_map::RandomState;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use axum::http::StatusCode;
use hashlink::{LinkedHashMap, LruCache};
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

/// The client a rate limit counts for: an IPv4 address as it is, an IPv6
/// address by its /64 network (a home or a server gets a whole /64 and can
/// pick any address in it), an IPv4-mapped IPv6 address as its IPv4
/// address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
            )),
        },
    }
}

/// How many clients the rate limit remembers by default.
pub const RATE_LIMIT_CLIENTS: usize = 100_000;

/// A per-client token bucket for everything that tells whether a code
/// exists: look-ups (the page, the form, the API) and starts of a payment
/// (the page and the API) take from the same bucket. Clients are counted
/// by [`client_key`].
///
/// At most `capacity` clients are remembered, in least-recently-used
/// order ([`hashlink::LruCache`]): every check is O(1), and a new client
/// past the bound pushes out the one not seen for longest (whose bucket
/// would be full again by then, or is only as full as a new client's).
/// Keys are hashed with the standard library's keyed SipHash, as client
/// addresses are chosen by clients.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<LruCache<IpAddr, Bucket, RandomState>>,
}

/// Tokens left and when they were counted.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_minute` look-ups a minute with bursts of `burst`; 0 disables.
    /// Remembers up to [`RATE_LIMIT_CLIENTS`] clients.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter::with_capacity(per_minute, burst, RATE_LIMIT_CLIENTS)
    }

    /// [`RateLimiter::new`] remembering up to `capacity` clients (at least
    /// one).
    pub fn with_capacity(per_minute: u32, burst: u32, capacity: usize) -> RateLimiter {
        RateLimiter {
            per_minute,
            burst: burst.max(1),
            buckets: Mutex::new(LruCache::with_hasher(capacity.max(1), RandomState::new())),
        }
    }

    /// Takes a token for the client at `ip`; `Err(seconds to wait)` when
    /// none is left.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(ip, Instant::now())
    }

    /// [`RateLimiter::check`] at `now`.
    pub fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(self.per_minute) / 60.0;
        let burst = f64::from(self.burst);
        let key = client_key(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = match buckets.get_mut(&key) {
            Some(b) => b,
            None => {
                // Full for a client not seen (or forgotten); past the bound
                // `insert` drops the least recently seen client (O(1)).
                buckets.insert(
                    key,
                    Bucket {
                        tokens: burst,
                        at: now,
                    },
                );
                match buckets.get_mut(&key) {
                    Some(b) => b,
                    None => return Ok(()),
                }
            }
        };
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// How many clients are remembered now.
    pub fn clients(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The most clients it remembers.
    pub fn capacity(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .capacity()
    }
}

/// A remembered API answer for an `Idempotency-Key`.
#[derive(Debug, Clone)]
enum Remembered {
    /// Being processed now by the request holding claim `claim`.
    InProgress {
        fingerprint: [u8; 32],
        claim: u64,
        at: Instant,
    },
    /// Done: the answer to replay.
    Done {
        fingerprint: [u8; 32],
        status: u16,
        body: Vec<u8>,
        at: Instant,
    },
}

impl Remembered {
    fn at(&self) -> Instant {
        match self {
            Remembered::InProgress { at, .. } | Remembered::Done { at, .. } => *at,
        }
    }
}

/// What to do with a request that carries an idempotency key.
#[derive(Debug)]
pub enum Begin {
    /// First time: process it, then [`Claim::finish`]. Dropping the claim
    /// unfinished (the client went away and the request with it) releases
    /// the key.
    Fresh(Claim),
    /// Seen with the same body: answer this.
    Replay(u16, Vec<u8>),
    /// Seen with another body.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// The right to answer a key first, from [`IdempotencyCache::begin`].
/// [`Claim::finish`] records the answer; dropped unfinished — the request
/// was dropped, e.g. its client disconnected and the server dropped the
/// handler — it releases the key, so that a retry runs instead of getting
/// `409 idempotency.in_progress` for ever.
#[derive(Debug)]
pub struct Claim {
    cache: Arc<IdempotencyCache>,
    scope: String,
    fingerprint: [u8; 32],
    id: u64,
    finished: bool,
}

impl Claim {
    /// Records the answer, or forgets the key when the answer should not be
    /// replayed (`None`: e.g. a temporary failure).
    pub fn finish(mut self, answer: Option<(u16, Vec<u8>)>) {
        self.finished = true;
        self.cache
            .finish(&self.scope, self.fingerprint, self.id, answer);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.finished {
            self.cache.release(&self.scope, self.id);
        }
    }
}

/// How many keys the idempotency cache remembers by default.
pub const IDEMPOTENCY_KEYS: usize = 20_000;

/// How long an answer is replayed.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// In-memory store of API answers by idempotency key, for
/// [`IDEMPOTENCY_TTL`]. The core also keeps its own idempotency (start and
/// submit keys are stored with the payment), so a restart or an eviction
/// loses only the exact replay of the body: the same key still finds the
/// same payment.
///
/// At most `capacity` keys are kept, in the order they were answered
/// ([`hashlink::LinkedHashMap`]): expired answers are dropped from the
/// old end and, past the bound, the oldest key is dropped — each O(1), no
/// scan of the whole map under the lock. A key whose request is dropped is
/// released ([`Claim`]).
#[derive(Debug)]
pub struct IdempotencyCache {
    inner: Mutex<Keys>,
    capacity: usize,
    ttl: Duration,
}

#[derive(Debug)]
struct Keys {
    entries: LinkedHashMap<String, Remembered, RandomState>,
    next_claim: u64,
}

impl Default for IdempotencyCache {
    fn default() -> Self {
        IdempotencyCache::new(IDEMPOTENCY_KEYS, IDEMPOTENCY_TTL)
    }
}

impl IdempotencyCache {
    /// A cache of up to `capacity` keys (at least one), answers kept for
    /// `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> IdempotencyCache {
        IdempotencyCache {
            inner: Mutex::new(Keys {
                entries: LinkedHashMap::with_hasher(RandomState::new()),
                next_claim: 0,
            }),
            capacity: capacity.max(1),
            ttl,
        }
    }

    fn keys(&self) -> MutexGuard<'_, Keys> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Looks up or claims `scope` (route + key) for a request whose keyed
    /// fingerprint is `fingerprint`.
    pub fn begin(self: &Arc<Self>, scope: &str, fingerprint: [u8; 32]) -> Begin {
        self.begin_at(scope, fingerprint, Instant::now())
    }

    /// [`IdempotencyCache::begin`] at `now`.
    pub fn begin_at(self: &Arc<Self>, scope: &str, fingerprint: [u8; 32], now: Instant) -> Begin {
        let mut keys = self.keys();
        // Expired answers leave from the old end: each is dropped once, so
        // this is O(1) a request, amortised.
        // (A request still running is released when it ends or is
        // dropped; one older than the time to live is forgotten too.)
        while keys
            .entries
            .front()
            .is_some_and(|(_, old)| now.saturating_duration_since(old.at()) >= self.ttl)
        {
            keys.entries.pop_front();
        }
        match keys.entries.get(scope) {
            Some(Remembered::Done {
                fingerprint: fp,
                status,
                body,
                at,
            }) if now.saturating_duration_since(*at) < self.ttl => {
                return if *fp == fingerprint {
                    Begin::Replay(*status, body.clone())
                } else {
                    Begin::Mismatch
                };
            }
            Some(Remembered::InProgress {
                fingerprint: fp, ..
            }) => {
                return if *fp == fingerprint {
                    Begin::InProgress
                } else {
                    Begin::Mismatch
                };
            }
            _ => {}
        }
        keys.entries.remove(scope);
        while keys.entries.len() >= self.capacity {
            keys.entries.pop_front();
        }
        keys.next_claim = keys.next_claim.wrapping_add(1);
        let id = keys.next_claim;
        keys.entries.insert(
            scope.to_string(),
            Remembered::InProgress {
                fingerprint,
                claim: id,
                at: now,
            },
        );
        Begin::Fresh(Claim {
            cache: Arc::clone(self),
            scope: scope.to_string(),
            fingerprint,
            id,
            finished: false,
        })
    }

    /// Whether claim `id` still holds `scope` (not pushed out meanwhile and
    /// taken again by another request).
    fn holds(keys: &Keys, scope: &str, id: u64) -> bool {
        matches!(keys.entries.get(scope), Some(Remembered::InProgress { claim, .. }) if *claim == id)
    }

    fn finish(&self, scope: &str, fingerprint: [u8; 32], id: u64, answer: Option<(u16, Vec<u8>)>) {
        let mut keys = self.keys();
        if !Self::holds(&keys, scope, id) {
            return;
        }
        keys.entries.remove(scope);
        if let Some((status, body)) = answer {
            while keys.entries.len() >= self.capacity {
                keys.entries.pop_front();
            }
            // At the young end: the order stays the order of answers.
            keys.entries.insert(
                scope.to_string(),
                Remembered::Done {
                    fingerprint,
                    status,
                    body,
                    at: Instant::now(),
                },
            );
        }
    }

    fn release(&self, scope: &str, id: u64) {
        let mut keys = self.keys();
        if Self::holds(&keys, scope, id) {
            keys.entries.remove(scope);
        }
    }

    /// How many keys are remembered now (answers and requests running).
    pub fn len(&self) -> usize {
        self.keys().entries.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys it remembers.
    pub fn capacity(&self) -> usize {
        self.capacity
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
    fn ipv6_clients_are_counted_by_their_64() {
        let ip = |s: &str| {
            s.parse::<IpAddr>()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        };
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(client_key(ip("2001:db8:1:2::1")), ip("2001:db8:1:2::"));
        assert_ne!(client_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(client_key(ip("192.0.2.1")), ip("192.0.2.1"));
        let rl = RateLimiter::new(60, 2);
        assert!(rl.check(ip("2001:db8:1:2::1")).is_ok());
        assert!(rl.check(ip("2001:db8:1:2::2")).is_ok());
        assert!(
            rl.check(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")).is_err(),
            "the same /64"
        );
        assert!(rl.check(ip("2001:db8:1:3::1")).is_ok(), "another /64");
    }

    #[test]
    fn the_rate_limit_is_bounded_and_forgets_the_least_recently_seen() {
        let cap = 1_000;
        let rl = RateLimiter::with_capacity(60, 1, cap);
        let v4 = |i: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let now = Instant::now();
        // The first client uses its only token.
        assert!(rl.check_at(v4(0), now).is_ok());
        assert!(rl.check_at(v4(0), now).is_err());
        for i in 1..(10 * cap as u32) {
            let _ = rl.check_at(v4(i), now);
            // The first client keeps coming back: recently seen, kept.
            if i % 100 == 0 {
                assert!(rl.check_at(v4(0), now).is_err(), "still limited at {i}");
            }
            assert!(rl.clients() <= cap, "{} clients after {i}", rl.clients());
        }
        assert_eq!(rl.clients(), cap);
        assert_eq!(rl.capacity(), cap);
        // The first client seen is still limited (seen every 100); one
        // seen once, long ago, went first: it starts with a full bucket.
        assert!(rl.check_at(v4(0), now).is_err());
        assert!(
            rl.check_at(v4(1), now).is_ok(),
            "the least recently seen went first"
        );
        assert!(rl.check_at(v4(1), now).is_err(), "and is counted again");
        // Also from IPv6 addresses, one /64 each.
        for i in 0..(3 * cap as u128) {
            let _ = rl.check_at(IpAddr::V6(Ipv6Addr::from(i << 64)), now);
        }
        assert_eq!(rl.clients(), cap);
    }

    #[test]
    fn idempotency_cache_replays_and_detects_mismatch() {
        let c = Arc::new(IdempotencyCache::default());
        let a = fingerprint(&[1; 32], b"a");
        let b = fingerprint(&[1; 32], b"b");
        let Begin::Fresh(claim) = c.begin("k", a) else {
            panic!("first use of a key");
        };
        assert!(matches!(c.begin("k", a), Begin::InProgress));
        assert!(matches!(c.begin("k", b), Begin::Mismatch));
        claim.finish(Some((201, b"x".to_vec())));
        assert!(matches!(c.begin("k", a), Begin::Replay(201, _)));
        assert!(matches!(c.begin("k", b), Begin::Mismatch));
    }

    #[test]
    fn a_dropped_claim_releases_its_key() {
        let c = Arc::new(IdempotencyCache::default());
        let a = fingerprint(&[1; 32], b"a");
        let Begin::Fresh(claim) = c.begin("k", a) else {
            panic!("first use of a key");
        };
        assert!(matches!(c.begin("k", a), Begin::InProgress));
        drop(claim);
        assert!(c.is_empty(), "released");
        let Begin::Fresh(claim) = c.begin("k", a) else {
            panic!("the key runs again");
        };
        claim.finish(None);
        assert!(c.is_empty(), "an answer not to replay is forgotten");
    }

    #[test]
    fn a_claim_pushed_out_does_not_touch_the_keys_next_holder() {
        let c = Arc::new(IdempotencyCache::new(1, IDEMPOTENCY_TTL));
        let a = fingerprint(&[1; 32], b"a");
        let Begin::Fresh(first) = c.begin("k", a) else {
            panic!("fresh");
        };
        // Pushed out by another key, then claimed again by a second request.
        let Begin::Fresh(other) = c.begin("other", a) else {
            panic!("fresh");
        };
        drop(other);
        let Begin::Fresh(second) = c.begin("k", a) else {
            panic!("fresh");
        };
        // The first request ends late: neither its answer nor its release
        // takes the key from the second.
        first.finish(Some((200, b"late".to_vec())));
        assert!(matches!(c.begin("k", a), Begin::InProgress));
        second.finish(Some((201, b"x".to_vec())));
        assert!(matches!(c.begin("k", a), Begin::Replay(201, _)));
    }

    #[test]
    fn the_idempotency_cache_is_bounded_and_drops_the_oldest_key_first() {
        let cap = 1_000;
        let c = Arc::new(IdempotencyCache::new(cap, IDEMPOTENCY_TTL));
        let fp = fingerprint(&[1; 32], b"a");
        for i in 0..10 * cap {
            if let Begin::Fresh(claim) = c.begin(&format!("k{i}"), fp) {
                claim.finish(Some((200, Vec::new())));
            }
            assert!(c.len() <= cap, "{} keys after {i}", c.len());
        }
        assert_eq!(c.len(), cap);
        // The newest keys are the ones kept.
        assert!(matches!(
            c.begin(&format!("k{}", 10 * cap - 1), fp),
            Begin::Replay(200, _)
        ));
        assert!(matches!(
            c.begin(&format!("k{}", 9 * cap), fp),
            Begin::Replay(200, _)
        ));
        assert!(matches!(c.begin("k0", fp), Begin::Fresh(_)));
        // Requests still running count against the bound too.
        let running: Vec<_> = (0..2 * cap)
            .filter_map(|i| match c.begin(&format!("r{i}"), fp) {
                Begin::Fresh(claim) => Some(claim),
                _ => None,
            })
            .collect();
        assert_eq!(running.len(), 2 * cap);
        assert!(c.len() <= cap);
        drop(running);
        assert!(c.len() <= cap);
    }

    #[test]
    fn expired_answers_are_forgotten() {
        let ttl = Duration::from_secs(60);
        let c = Arc::new(IdempotencyCache::new(100, ttl));
        let fp = fingerprint(&[1; 32], b"a");
        let t0 = Instant::now();
        for i in 0..10 {
            if let Begin::Fresh(claim) = c.begin_at(&format!("k{i}"), fp, t0) {
                claim.finish(Some((200, Vec::new())));
            }
        }
        assert_eq!(c.len(), 10);
        let later = Instant::now() + ttl + Duration::from_secs(1);
        let Begin::Fresh(claim) = c.begin_at("k0", fp, later) else {
            panic!("an expired answer is not replayed");
        };
        drop(claim);
        assert!(c.is_empty(), "every expired answer is gone: {}", c.len());
    }

    #[test]
    fn an_answer_inside_its_window_still_answers_while_older_ones_expire() {
        let ttl = Duration::from_secs(60);
        let cap = 100;
        let c = Arc::new(IdempotencyCache::new(cap, ttl));
        let fp = fingerprint(&[1; 32], b"a");
        let t0 = Instant::now();
        // One key a second, ten times the bound: the map never holds more
        // than the bound, and never more than the window (60 s) either.
        for i in 0..10 * cap as u64 {
            let at = t0 + Duration::from_secs(i);
            if let Begin::Fresh(claim) = c.begin_at(&format!("k{i}"), fp, at) {
                claim.finish(Some((200, Vec::new())));
            }
            assert!(c.len() <= cap, "{} keys after {i}", c.len());
        }
        // Answers are timed by `finish` (now); a key answered just now is
        // well inside its window a few seconds on.
        let Begin::Fresh(claim) = c.begin("fresh", fp) else {
            panic!("fresh");
        };
        claim.finish(Some((201, b"kept".to_vec())));
        let soon = Instant::now() + Duration::from_secs(5);
        for i in 0..cap {
            // Other keys keep arriving, within the bound.
            if let Begin::Fresh(claim) = c.begin_at(&format!("n{i}"), fp, soon) {
                claim.finish(None);
            }
            match c.begin_at("fresh", fp, soon) {
                Begin::Replay(201, body) => assert_eq!(body, b"kept"),
                other => panic!("inside its window, replayed: {other:?}"),
            }
        }
        assert!(c.len() <= cap);
    }

    #[test]
    fn csrf_token_depends_on_session_and_secret() {
        let t1 = csrf_token(&[1; 32], "s1");
        assert_ne!(t1, csrf_token(&[1; 32], "s2"));
        assert_ne!(t1, csrf_token(&[2; 32], "s1"));
        assert!(same(&t1, &csrf_token(&[1; 32], "s1")));
    }
}
