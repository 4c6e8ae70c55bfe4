//! What every handler shares: the use cases and the portal's settings.

use std::sync::Arc;

use rand::RngCore;
use tolom_core::Tolom;

use crate::lifecycle::Lifecycle;
use crate::security::{IdempotencyCache, RateLimiter, IDEMPOTENCY_TTL};

/// Settings of the portal (the use cases have their own, in
/// [`tolom_core::Config`]).
#[derive(Clone)]
pub struct PortalConfig {
    /// The address payers reach the portal at, without a trailing slash;
    /// used in receipt verification links.
    pub public_url: String,
    /// Code look-ups allowed per client per minute (0: no limit).
    pub lookup_rate_per_minute: u32,
    /// Look-ups a client may make in a burst.
    pub lookup_burst: u32,
    /// How many clients the rate limit remembers (least recently seen
    /// forgotten first; [`crate::security::RateLimiter`]).
    pub rate_limit_clients: usize,
    /// How many idempotency keys the API remembers (oldest forgotten
    /// first; [`crate::security::IdempotencyCache`]).
    pub idempotency_keys: usize,
    /// Take the client address from the last `X-Forwarded-For` entry (only
    /// behind a reverse proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Send `Strict-Transport-Security` (when served over TLS, directly or
    /// behind a proxy).
    pub hsts: bool,
    /// Mark cookies `Secure` (when served over TLS).
    pub secure_cookies: bool,
    /// Server secret for CSRF tokens and idempotency fingerprints.
    pub secret: [u8; 32],
    /// The origins (`https://acs.bank.kg`) the payer may be sent to for 3-D
    /// Secure or the acquirer's hosted page: the redirect page's
    /// `form-action` allows exactly these, and a challenge pointing
    /// anywhere else is refused (and logged). Empty: no bank page at all
    /// (one-time codes are typed on the portal).
    pub bank_origins: Vec<String>,
}

impl std::fmt::Debug for PortalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalConfig")
            .field("public_url", &self.public_url)
            .field("lookup_rate_per_minute", &self.lookup_rate_per_minute)
            .field("lookup_burst", &self.lookup_burst)
            .field("rate_limit_clients", &self.rate_limit_clients)
            .field("idempotency_keys", &self.idempotency_keys)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("hsts", &self.hsts)
            .field("secure_cookies", &self.secure_cookies)
            .field("bank_origins", &self.bank_origins)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

impl PortalConfig {
    /// Defaults: 20 look-ups a minute per client with bursts of 10 (up to
    /// 100,000 clients remembered), up to 20,000 idempotency keys
    /// remembered, no HSTS, a random secret.
    pub fn new(public_url: impl Into<String>) -> PortalConfig {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let public_url: String = public_url.into();
        PortalConfig {
            public_url: public_url.trim_end_matches('/').to_string(),
            lookup_rate_per_minute: 20,
            lookup_burst: 10,
            rate_limit_clients: crate::security::RATE_LIMIT_CLIENTS,
            idempotency_keys: crate::security::IDEMPOTENCY_KEYS,
            trust_forwarded_for: false,
            hsts: false,
            secure_cookies: false,
            secret,
            bank_origins: Vec::new(),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub tolom: Arc<Tolom>,
    /// The portal's settings.
    pub config: Arc<PortalConfig>,
    /// The rate limit of everything that tells whether a code exists
    /// (look-ups and starts).
    pub limiter: Arc<RateLimiter>,
    /// API answers by idempotency key.
    pub idempotency: Arc<IdempotencyCache>,
    /// The instance's readiness checks, shutdown flag and requests in
    /// flight (shared with the program's other listeners).
    pub lifecycle: Arc<Lifecycle>,
}

impl AppState {
    /// The state for a [`Tolom`] and settings.
    pub fn new(tolom: Arc<Tolom>, config: PortalConfig) -> AppState {
        AppState {
            limiter: Arc::new(RateLimiter::with_capacity(
                config.lookup_rate_per_minute,
                config.lookup_burst,
                config.rate_limit_clients,
            )),
            idempotency: Arc::new(IdempotencyCache::new(
                config.idempotency_keys,
                IDEMPOTENCY_TTL,
            )),
            tolom,
            config: Arc::new(config),
            lifecycle: Arc::new(Lifecycle::new()),
        }
    }

    /// The same state with the program's [`Lifecycle`] (its own readiness
    /// checks, its shutdown flag).
    pub fn with_lifecycle(mut self, lifecycle: Arc<Lifecycle>) -> AppState {
        self.lifecycle = lifecycle;
        self
    }
}
