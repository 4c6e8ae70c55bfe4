//! Configuration of an emulator instance.

use std::net::SocketAddr;
use std::time::Duration;

/// Merchant user name accepted by default.
pub const DEFAULT_USER_NAME: &str = "tolom";
/// Merchant password accepted by default.
pub const DEFAULT_PASSWORD: &str = "secret";
/// The default path prefix of the merchant API (`…/payment/rest/`).
pub const DEFAULT_BASE_PATH: &str = "/payment/rest/";
/// The one-time code that passes the emulator's 3-D Secure page by default.
pub const DEFAULT_OTP: &str = "123456";

/// The merchant API credentials the emulator accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Accepted `userName`.
    pub user_name: String,
    /// Accepted `password`.
    pub password: String,
    /// Accepted `token` (an alternative to `userName` + `password`); `None`
    /// accepts no token.
    pub token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user_name", &self.user_name)
            .field("password", &"[REDACTED]")
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            user_name: DEFAULT_USER_NAME.to_owned(),
            password: DEFAULT_PASSWORD.to_owned(),
            token: None,
        }
    }
}

/// Configuration of [`crate::Emulator::start`].
///
/// `EmulatorConfig::default()` listens on `127.0.0.1:0` (a free port), with
/// user `tolom` / password `secret`, prefix `/payment/rest/`, OTP `123456`.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Accepted merchant credentials.
    pub credentials: Credentials,
    /// Path prefix of the merchant API; must start and end with `/`.
    pub base_path: String,
    /// Public root URL used in `formUrl`, `acsUrl`, `termUrl` (no trailing
    /// slash, e.g. `http://localhost:8090`). `None`: `http://<bound addr>`.
    pub public_url: Option<String>,
    /// One-time code that passes the 3-D Secure page.
    pub otp: String,
    /// How long [`crate::cards::SLOW_APPROVE`] takes before it is approved.
    pub slow_card_delay: Duration,
    /// Payment session length when `register.do` has no
    /// `sessionTimeoutSecs`.
    pub default_session_timeout: Duration,
    /// Whether unpaid orders time out at all (default `true`). `false`
    /// plays a gateway that never times orders out: an unpaid order stays
    /// payable until someone closes it (`decline.do`).
    pub expire_orders: bool,
    /// Seed of the generator of order ids, approval codes and RRNs (the same
    /// sequence of calls gives the same values).
    pub seed: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials: Credentials::default(),
            base_path: DEFAULT_BASE_PATH.to_owned(),
            public_url: None,
            otp: DEFAULT_OTP.to_owned(),
            slow_card_delay: Duration::from_secs(3),
            default_session_timeout: Duration::from_secs(1200),
            expire_orders: true,
            seed: 0x0074_6f6c_6f6d,
        }
    }
}

impl EmulatorConfig {
    /// Sets the accepted `userName` and `password`.
    pub fn with_credentials(mut self, user_name: &str, password: &str) -> Self {
        self.credentials.user_name = user_name.to_owned();
        self.credentials.password = password.to_owned();
        self
    }

    /// Sets the accepted `token`.
    pub fn with_token(mut self, token: &str) -> Self {
        self.credentials.token = Some(token.to_owned());
        self
    }

    /// Sets the listen address.
    pub fn with_listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }

    /// Sets the API path prefix (a leading and a trailing `/` are added when
    /// missing).
    pub fn with_base_path(mut self, base_path: &str) -> Self {
        self.base_path = normalise_base_path(base_path);
        self
    }

    /// Sets the one-time code of the 3-D Secure page.
    pub fn with_otp(mut self, otp: &str) -> Self {
        self.otp = otp.to_owned();
        self
    }

    /// Sets the delay of [`crate::cards::SLOW_APPROVE`].
    pub fn with_slow_card_delay(mut self, delay: Duration) -> Self {
        self.slow_card_delay = delay;
        self
    }

    /// Sets the public root URL used in the URLs the emulator hands out.
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.trim_end_matches('/').to_owned());
        self
    }
}

pub(crate) fn normalise_base_path(p: &str) -> String {
    let trimmed = p.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}/")
    }
}
