//! Configuration of the BPC client.

use std::time::Duration;

use secrecy::SecretString;
use tolom_core::i18n::Language;
use url::Url;

/// How the merchant authenticates at the gateway. `Debug` never shows the
/// secret.
#[derive(Debug, Clone)]
pub enum BpcCredentials {
    /// `userName` + `password`.
    Password {
        /// The merchant's API login (`userName`); not secret.
        user_name: String,
        /// The API password (secret).
        password: SecretString,
    },
    /// A `token` instead of login and password (secret).
    Token(SecretString),
}

/// Settings of a [`crate::BpcAcquirer`].
///
/// ```
/// use std::time::Duration;
/// use tolom_acquirer_bpc::BpcConfig;
///
/// let config = BpcConfig::new("https://bank.example/payment/rest/", "merchant", "s3cret".into())
///     .with_return_url("https://portal.example/payments/{order}/return")
///     .with_request_timeout(Duration::from_secs(20));
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone)]
pub struct BpcConfig {
    /// The acquirer name recorded on payments and receipts (default `bpc`;
    /// use the bank's name when several are configured).
    pub name: String,
    /// The merchant API root, e.g. `https://bank.example/payment/rest/`
    /// (a trailing `/` is added when missing). `https` is required except
    /// for loopback hosts, unless [`BpcConfig::allow_insecure_http`].
    pub base_url: String,
    /// The merchant's credentials.
    pub credentials: BpcCredentials,
    /// The language sent when the payer's is not in
    /// [`BpcConfig::languages`] (default Russian).
    pub default_language: Language,
    /// Languages the bank's pages support (default: Kyrgyz, Russian,
    /// English).
    pub languages: Vec<Language>,
    /// Time allowed to open a connection (default 5 s). A call that fails
    /// here was never sent.
    pub connect_timeout: Duration,
    /// Time allowed for a whole call (default 30 s). A call that times out
    /// after being sent has an unknown outcome.
    pub request_timeout: Duration,
    /// `returnUrl` when the purchase request has none; `{order}` is replaced
    /// by our order number.
    pub return_url: Option<String>,
    /// `failUrl` (declines); the return URL when `None`. `{order}` is
    /// replaced by our order number.
    pub fail_url: Option<String>,
    /// The portal's own 3-D Secure `TermUrl` (`{order}` replaced). When
    /// `None` (the usual BPC way), the ACS sends the browser to the
    /// gateway's `termUrl`, which finishes 3-D Secure and sends the browser
    /// on to the return URL. With a portal `TermUrl`, the portal receives
    /// `PaRes` and `MD` and passes them to `complete_challenge`, which
    /// forwards them to the gateway.
    pub term_url: Option<String>,
    /// Where `PaRes`/`MD` are forwarded when the gateway's answer named no
    /// `termUrl` (default `<base_url>finish3ds.do`).
    pub finish_3ds_url: Option<String>,
    /// `sessionTimeoutSecs` of registered orders (gateway default when
    /// `None`).
    pub session_timeout_secs: Option<u32>,
    /// Allow plain `http` to a non-loopback host (never in production:
    /// credentials and card data would travel unencrypted).
    pub allow_insecure_http: bool,
}

impl BpcConfig {
    /// A configuration with login and password and the defaults.
    pub fn new(base_url: &str, user_name: &str, password: SecretString) -> BpcConfig {
        BpcConfig {
            name: "bpc".to_string(),
            base_url: base_url.to_string(),
            credentials: BpcCredentials::Password {
                user_name: user_name.to_string(),
                password,
            },
            default_language: Language::Ru,
            languages: Language::ALL.to_vec(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            return_url: None,
            fail_url: None,
            term_url: None,
            finish_3ds_url: None,
            session_timeout_secs: None,
            allow_insecure_http: false,
        }
    }

    /// A configuration with a token and the defaults.
    pub fn with_token_auth(base_url: &str, token: SecretString) -> BpcConfig {
        BpcConfig {
            credentials: BpcCredentials::Token(token),
            ..BpcConfig::new(base_url, "", SecretString::from(String::new()))
        }
    }

    /// Sets the acquirer name.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Sets the default `returnUrl` (`{order}` replaced).
    pub fn with_return_url(mut self, url: &str) -> Self {
        self.return_url = Some(url.to_string());
        self
    }

    /// Sets the `failUrl` (`{order}` replaced).
    pub fn with_fail_url(mut self, url: &str) -> Self {
        self.fail_url = Some(url.to_string());
        self
    }

    /// Sets the portal's own 3-D Secure `TermUrl` (`{order}` replaced).
    pub fn with_term_url(mut self, url: &str) -> Self {
        self.term_url = Some(url.to_string());
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the timeout of a whole call.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets `sessionTimeoutSecs`.
    pub fn with_session_timeout_secs(mut self, secs: u32) -> Self {
        self.session_timeout_secs = Some(secs);
        self
    }

    /// Sets the default language and the languages the bank supports.
    pub fn with_languages(mut self, default: Language, supported: &[Language]) -> Self {
        self.default_language = default;
        self.languages = supported.to_vec();
        self
    }

    /// Checks the configuration and returns the parsed base URL (ending
    /// with `/`).
    pub fn validate(&self) -> Result<Url, BpcError> {
        if self.name.trim().is_empty() {
            return Err(BpcError::InvalidConfig("name is empty".into()));
        }
        let mut text = self.base_url.trim().to_string();
        if !text.ends_with('/') {
            text.push('/');
        }
        let url = Url::parse(&text)
            .map_err(|e| BpcError::InvalidConfig(format!("base_url is not a URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure_http || is_loopback(&url) => {}
            "http" => {
                return Err(BpcError::InvalidConfig(
                    "base_url must use https (plain http only to a loopback host, or with allow_insecure_http)".into(),
                ))
            }
            other => {
                return Err(BpcError::InvalidConfig(format!(
                    "base_url has an unsupported scheme {other:?}"
                )))
            }
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(BpcError::InvalidConfig(
                "base_url must not have a query or fragment".into(),
            ));
        }
        if url.username() != "" || url.password().is_some() {
            return Err(BpcError::InvalidConfig(
                "base_url must not carry credentials; use the credentials setting".into(),
            ));
        }
        match &self.credentials {
            BpcCredentials::Password { user_name, .. } if user_name.trim().is_empty() => {
                return Err(BpcError::InvalidConfig("user_name is empty".into()))
            }
            _ => {}
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(BpcError::InvalidConfig("timeouts must be positive".into()));
        }
        for (what, value) in [
            ("return_url", &self.return_url),
            ("fail_url", &self.fail_url),
            ("term_url", &self.term_url),
            ("finish_3ds_url", &self.finish_3ds_url),
        ] {
            if let Some(v) = value {
                let probe = v.replace("{order}", "0");
                let ok = Url::parse(&probe)
                    .map(|u| matches!(u.scheme(), "http" | "https"))
                    .unwrap_or(false);
                if !ok {
                    return Err(BpcError::InvalidConfig(format!(
                        "{what} is not an http(s) URL"
                    )));
                }
            }
        }
        if self.session_timeout_secs == Some(0) {
            return Err(BpcError::InvalidConfig(
                "session_timeout_secs must be positive".into(),
            ));
        }
        Ok(url)
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BpcError {
    /// A setting is invalid.
    #[error("invalid BPC configuration: {0}")]
    InvalidConfig(String),
    /// The HTTP client could not be created.
    #[error("cannot create the HTTP client: {0}")]
    Client(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: &str) -> BpcConfig {
        BpcConfig::new(
            base,
            "merchant",
            SecretString::from("pa55-word".to_string()),
        )
    }

    #[test]
    fn debug_hides_the_password_and_the_token() {
        let c = config("https://bank.example/payment/rest/");
        let text = format!("{c:?}");
        assert!(!text.contains("pa55-word"), "{text}");
        assert!(text.contains("merchant"));
        let t = BpcConfig::with_token_auth(
            "https://bank.example/payment/rest/",
            SecretString::from("tok-123-secret".to_string()),
        );
        assert!(!format!("{t:?}").contains("tok-123-secret"));
    }

    #[test]
    fn base_url_rules() {
        let url = config("https://bank.example/payment/rest")
            .validate()
            .unwrap();
        assert_eq!(url.as_str(), "https://bank.example/payment/rest/");
        assert!(config("http://127.0.0.1:8090/payment/rest/")
            .validate()
            .is_ok());
        assert!(config("http://localhost/payment/rest/").validate().is_ok());
        assert!(matches!(
            config("http://bank.example/payment/rest/").validate(),
            Err(BpcError::InvalidConfig(_))
        ));
        let mut insecure = config("http://bank.example/payment/rest/");
        insecure.allow_insecure_http = true;
        assert!(insecure.validate().is_ok());
        assert!(config("ftp://bank.example/").validate().is_err());
        assert!(config("not a url").validate().is_err());
        assert!(config("https://u:p@bank.example/").validate().is_err());
        assert!(config("https://bank.example/rest/?x=1").validate().is_err());
    }

    #[test]
    fn other_settings_are_checked() {
        assert!(
            BpcConfig::new("https://b.example/", " ", "x".to_string().into())
                .validate()
                .is_err()
        );
        assert!(config("https://b.example/")
            .with_request_timeout(Duration::ZERO)
            .validate()
            .is_err());
        assert!(config("https://b.example/")
            .with_return_url("portal/{order}")
            .validate()
            .is_err());
        assert!(config("https://b.example/")
            .with_return_url("https://portal.example/p/{order}/back")
            .with_term_url("https://portal.example/p/{order}/3ds")
            .validate()
            .is_ok());
        let mut zero = config("https://b.example/");
        zero.session_timeout_secs = Some(0);
        assert!(zero.validate().is_err());
        assert!(config("https://b.example/")
            .with_name("")
            .validate()
            .is_err());
    }
}
