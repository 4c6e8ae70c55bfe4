//! # tolom-notify-smtp
//!
//! Receipt e-mails over SMTP: the [`Notifier`] of the
//! [`Channel::Email`] channel, on [`lettre`].
//!
//! - The e-mail is in the payer's language (Kyrgyz, Russian or English),
//!   `multipart/alternative` with a `text/plain` and a `text/html` part,
//!   and carries every fact of the receipt (number, service, payer, code,
//!   amount, fee, total, masked card, authorisation code, RRN, time in
//!   Asia/Bishkek, operator contacts). See [`content::render`].
//! - A link to the online receipt when [`SmtpConfig::base_url`] is set, and
//!   a PDF attachment when a renderer is plugged in with
//!   [`SmtpNotifier::with_pdf_renderer`].
//! - Plain SMTP, STARTTLS or implicit TLS ([`Security`]); the password is a
//!   [`SecretString`] and never appears in `Debug` or logs.
//! - Errors are mapped at the edge: SMTP 4xx, refused connections,
//!   timeouts and TLS failures are transient ([`NotifyError::transient`]),
//!   SMTP 5xx and messages that cannot be built are permanent.
//! - The outbox message id is the `Message-ID` (`<id@domain-of-from>`) and
//!   the `X-Tolom-Message-Id` header, so that a redelivery after a crash is
//!   recognisable as the same message.
//!
//! ```no_run
//! use std::time::Duration;
//! use tolom_notify_smtp::{Security, SmtpConfig, SmtpCredentials, SmtpNotifier};
//!
//! let notifier = SmtpNotifier::new(SmtpConfig {
//!     host: "smtp.example.kg".into(),
//!     port: 587,
//!     security: Security::StartTls,
//!     credentials: Some(SmtpCredentials::new("receipts", "secret from the vault")),
//!     from: "Tolom <receipts@pay.example.kg>".into(),
//!     timeout: Duration::from_secs(30),
//!     base_url: Some("https://pay.example.kg".into()),
//!     ..SmtpConfig::default()
//! })?;
//! # Ok::<(), tolom_notify_smtp::ConfigError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod content;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use tolom_core::i18n::Language;
use tolom_core::outbox::Channel;
use tolom_core::ports::{Notification, Notifier, NotifyError};
use tolom_core::receipt::Receipt;
use uuid::Uuid;

pub use content::{EmailContent, Links};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Security {
    /// No encryption: only for a relay on the same host or a trusted
    /// network (port 25).
    Plain,
    /// Plain connection upgraded with `STARTTLS`, which MUST succeed
    /// (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte, "SMTPS" (port 465).
    Tls,
}

impl Security {
    /// The usual port for this mode: 25, 587 or 465.
    pub fn default_port(&self) -> u16 {
        match self {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Tls => 465,
        }
    }
}

/// SMTP login. The password never appears in `Debug` output.
#[derive(Debug, Clone)]
pub struct SmtpCredentials {
    /// User name.
    pub user: String,
    /// Password (secret).
    pub password: SecretString,
}

impl SmtpCredentials {
    /// Credentials from a user name and a password.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> SmtpCredentials {
        SmtpCredentials {
            user: user.into(),
            password: SecretString::from(password.into()),
        }
    }
}

/// Builds a PDF of a receipt in a language; `None` when it cannot (the
/// e-mail is then sent without an attachment).
pub type PdfRenderer = Arc<dyn Fn(&Receipt, Language) -> Option<Vec<u8>> + Send + Sync>;

/// Settings of the SMTP notifier.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Server host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Server port (see [`Security::default_port`]).
    pub port: u16,
    /// Plain, STARTTLS or TLS.
    pub security: Security,
    /// Login, if the server wants one.
    pub credentials: Option<SmtpCredentials>,
    /// The sender, `receipts@pay.example.kg` or `Name <receipts@...>`.
    pub from: String,
    /// Time allowed for one whole delivery: connecting, the TLS handshake,
    /// the SMTP dialogue and the message data. A server that does not
    /// answer in time is a transient failure (the message is retried).
    pub timeout: Duration,
    /// The portal's public address, e.g. `https://pay.example.kg`; when
    /// set, the e-mail links to the online receipt and to the verification
    /// page at `base_url` + [`SmtpConfig::receipt_path`] /
    /// [`SmtpConfig::verify_path`].
    pub base_url: Option<String>,
    /// Path of the online receipt; `{payment_id}`, `{number}`, `{lang}` and
    /// `{signature}` are replaced (URL-encoded). Default: the reference
    /// portal's `/payments/{payment_id}/receipt?lang={lang}`. Empty: no
    /// link.
    pub receipt_path: String,
    /// Path of the page that checks a receipt's signature, same
    /// placeholders. Default: the reference portal's
    /// `/verify?n={number}&s={signature}`. Empty: no link.
    pub verify_path: String,
    /// The name sent in `EHLO` (default: the domain of `from`).
    pub helo_name: Option<String>,
    /// Extra trusted root certificates (PEM) for a server with a private
    /// certificate authority, in addition to the public roots.
    pub root_certificates_pem: Vec<Vec<u8>>,
}

impl Default for SmtpConfig {
    /// `localhost:587`, STARTTLS, no login, from `receipts@localhost`, 30 s.
    fn default() -> Self {
        SmtpConfig {
            host: "localhost".into(),
            port: Security::StartTls.default_port(),
            security: Security::StartTls,
            credentials: None,
            from: "receipts@localhost".into(),
            timeout: Duration::from_secs(30),
            base_url: None,
            receipt_path: DEFAULT_RECEIPT_PATH.into(),
            verify_path: DEFAULT_VERIFY_PATH.into(),
            helo_name: None,
            root_certificates_pem: Vec::new(),
        }
    }
}

/// The reference portal's receipt page.
pub const DEFAULT_RECEIPT_PATH: &str = "/payments/{payment_id}/receipt?lang={lang}";
/// The reference portal's verification page.
pub const DEFAULT_VERIFY_PATH: &str = "/verify?n={number}&s={signature}";

/// The configuration cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `from` is not a mailbox.
    #[error("sender address {0:?} is not a valid mailbox")]
    From(String),
    /// A root certificate could not be read.
    #[error("root certificate {0} is not valid PEM")]
    Certificate(usize),
    /// The TLS settings could not be built.
    #[error("TLS settings: {0}")]
    Tls(String),
}

const CERT_PEM_TAG: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// Sends receipt e-mails over SMTP.
///
/// Handles [`Notification::ReceiptEmail`] only; an agency notice given to
/// it is a permanent error (it belongs to the webhook channel).
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
    from: Mailbox,
    domain: String,
    base_url: Option<String>,
    receipt_path: String,
    verify_path: String,
    pdf: Option<PdfRenderer>,
    summary: String,
}

impl fmt::Debug for SmtpNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpNotifier")
            .field("server", &self.summary)
            .field("from", &self.from.email.to_string())
            .field("pdf", &self.pdf.is_some())
            .finish_non_exhaustive()
    }
}

impl SmtpNotifier {
    /// A notifier for one SMTP server. Nothing is sent and no connection is
    /// made until the first delivery; each delivery opens its own
    /// connection, so an outage of the server never poisons later ones.
    pub fn new(config: SmtpConfig) -> Result<SmtpNotifier, ConfigError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| ConfigError::From(config.from.clone()))?;
        let domain = from.email.domain().to_string();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(config.timeout))
            .hello_name(ClientId::Domain(
                config.helo_name.clone().unwrap_or_else(|| domain.clone()),
            ));
        let tls = || -> Result<TlsParameters, ConfigError> {
            let mut params = TlsParameters::builder(config.host.clone());
            for (i, pem) in config.root_certificates_pem.iter().enumerate() {
                // An empty or foreign file would otherwise add no root silently.
                if !pem.windows(CERT_PEM_TAG.len()).any(|w| w == CERT_PEM_TAG) {
                    return Err(ConfigError::Certificate(i));
                }
                let cert = Certificate::from_pem(pem).map_err(|_| ConfigError::Certificate(i))?;
                params = params.add_root_certificate(cert);
            }
            params.build().map_err(|e| ConfigError::Tls(e.to_string()))
        };
        builder = builder.tls(match config.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(tls()?),
            Security::Tls => Tls::Wrapper(tls()?),
        });
        if let Some(c) = &config.credentials {
            builder = builder.credentials(Credentials::new(
                c.user.clone(),
                c.password.expose_secret().to_string(),
            ));
        }
        let base_url = config
            .base_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty());
        Ok(SmtpNotifier {
            transport: builder.build(),
            timeout: config.timeout,
            from,
            domain,
            base_url,
            receipt_path: config.receipt_path.clone(),
            verify_path: config.verify_path.clone(),
            pdf: None,
            summary: format!(
                "{}:{} ({:?}{})",
                config.host,
                config.port,
                config.security,
                if config.credentials.is_some() {
                    ", with login"
                } else {
                    ""
                }
            ),
        })
    }

    /// Attaches a PDF of the receipt to every e-mail, made by `renderer`
    /// (for when the portal can render one).
    pub fn with_pdf_renderer(mut self, renderer: PdfRenderer) -> SmtpNotifier {
        self.pdf = Some(renderer);
        self
    }

    /// The portal addresses the e-mail links to (none without a base URL).
    pub fn links(&self, receipt: &Receipt, language: Language) -> content::Links {
        let Some(base) = self.base_url.as_deref() else {
            return content::Links::default();
        };
        let fill = |path: &str| {
            (!path.is_empty()).then(|| {
                let path = path
                    .replace("{payment_id}", &receipt.payment_id.to_string())
                    .replace("{number}", &percent_encode(&receipt.number))
                    .replace("{lang}", language.tag())
                    .replace("{signature}", &percent_encode(&receipt.signature));
                format!("{base}{path}")
            })
        };
        content::Links {
            receipt: fill(&self.receipt_path),
            verify: fill(&self.verify_path),
        }
    }

    /// Builds the e-mail for a receipt, exactly as [`Notifier::deliver`]
    /// sends it (useful for previews and tests).
    pub fn build_message(
        &self,
        message_id: Uuid,
        to: &str,
        language: Language,
        receipt: &Receipt,
    ) -> Result<Message, NotifyError> {
        let to: Mailbox = to.parse().map_err(|_| NotifyError {
            transient: false,
            message: "recipient address is not a valid mailbox".into(),
        })?;
        let pdf = self
            .pdf
            .as_ref()
            .and_then(|render| render(receipt, language));
        let links = self.links(receipt, language);
        let content = content::render(receipt, language, &links, pdf.is_some());
        let alternative = MultiPart::alternative_plain_html(content.text, content.html);
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(content.subject)
            .message_id(Some(format!("<{}@{}>", message_id, self.domain)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Content-Language"),
                language.tag().to_string(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_string(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Tolom-Message-Id"),
                message_id.to_string(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Tolom-Receipt"),
                receipt.number.clone(),
            ));
        let built = match pdf {
            Some(bytes) => {
                let pdf_type = ContentType::parse("application/pdf").map_err(|e| NotifyError {
                    transient: false,
                    message: format!("content type: {e}"),
                })?;
                builder.multipart(
                    MultiPart::mixed().multipart(alternative).singlepart(
                        Attachment::new(format!("receipt-{}.pdf", receipt.number))
                            .body(bytes, pdf_type),
                    ),
                )
            }
            None => builder.multipart(alternative),
        };
        built.map_err(|e| NotifyError {
            transient: false,
            message: format!("cannot build the e-mail: {e}"),
        })
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn deliver(
        &self,
        message_id: Uuid,
        notification: &Notification,
    ) -> Result<(), NotifyError> {
        let Notification::ReceiptEmail {
            to,
            language,
            receipt,
        } = notification
        else {
            return Err(NotifyError {
                transient: false,
                message: "the SMTP notifier delivers receipt e-mails only".into(),
            });
        };
        let message = self.build_message(message_id, to.as_str(), *language, receipt)?;
        // lettre's own timeout covers connecting only; a server that
        // accepts the connection and then stalls is bounded here.
        let sent = match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(sent) => sent,
            Err(_) => {
                let error = NotifyError {
                    transient: true,
                    message: format!(
                        "timeout: the SMTP server did not finish within {:?}",
                        self.timeout
                    ),
                };
                tracing::warn!(%message_id, error = %error.message, "receipt e-mail not accepted");
                return Err(error);
            }
        };
        match sent {
            Ok(_) => {
                tracing::info!(%message_id, receipt = %receipt.number, "receipt e-mail accepted by the SMTP server");
                Ok(())
            }
            Err(e) => {
                let error = map_error(&e);
                tracing::warn!(%message_id, transient = error.transient, error = %error.message, "receipt e-mail not accepted");
                Err(error)
            }
        }
    }
}

/// Maps a lettre SMTP error to the port's error: 5xx replies and local
/// (client) errors are permanent; 4xx replies, refused or dropped
/// connections, timeouts, TLS failures and unreadable replies are
/// transient.
pub fn map_error(e: &lettre::transport::smtp::Error) -> NotifyError {
    let transient = if e.is_permanent() || e.is_client() {
        false
    } else {
        // is_transient (4xx), timeouts, connection and network errors,
        // TLS handshakes, unparsable replies.
        true
    };
    let code = e
        .status()
        .map(|c| format!("SMTP {c}: "))
        .unwrap_or_default();
    let kind = if e.is_timeout() { "timeout: " } else { "" };
    NotifyError {
        transient,
        message: format!("{code}{kind}{e}"),
    }
}

/// Percent-encodes everything but unreserved URL characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_not_in_debug_output() {
        let config = SmtpConfig {
            credentials: Some(SmtpCredentials::new("u", "hunter2-very-secret")),
            ..SmtpConfig::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        let n = SmtpNotifier::new(config).unwrap();
        assert!(!format!("{n:?}").contains("hunter2"));
    }

    #[test]
    fn a_bad_sender_is_a_configuration_error() {
        let e = SmtpNotifier::new(SmtpConfig {
            from: "not an address".into(),
            ..SmtpConfig::default()
        })
        .unwrap_err();
        assert_eq!(e, ConfigError::From("not an address".into()));
        let e = SmtpNotifier::new(SmtpConfig {
            root_certificates_pem: vec![b"garbage".to_vec()],
            ..SmtpConfig::default()
        })
        .unwrap_err();
        assert_eq!(e, ConfigError::Certificate(0));
    }

    #[test]
    fn links_to_the_portal() {
        let r = match tolom_testkit::conformance::notifier::sample(Channel::Email) {
            Notification::ReceiptEmail { receipt, .. } => *receipt,
            Notification::Agency(_) => unreachable!(),
        };
        let n = SmtpNotifier::new(SmtpConfig {
            base_url: Some("https://pay.example.kg/".into()),
            ..SmtpConfig::default()
        })
        .unwrap();
        let links = n.links(&r, Language::Ru);
        assert_eq!(
            links.receipt.unwrap(),
            format!(
                "https://pay.example.kg/payments/{}/receipt?lang=ru",
                r.payment_id
            )
        );
        assert_eq!(
            links.verify.unwrap(),
            format!(
                "https://pay.example.kg/verify?n={}&s={}",
                percent_encode(&r.number),
                percent_encode(&r.signature)
            )
        );
        let custom = SmtpNotifier::new(SmtpConfig {
            base_url: Some("https://gov.example".into()),
            receipt_path: "/r/{number}".into(),
            verify_path: String::new(),
            ..SmtpConfig::default()
        })
        .unwrap();
        let links = custom.links(&r, Language::Ky);
        assert_eq!(
            links.receipt.unwrap(),
            format!("https://gov.example/r/{}", r.number)
        );
        assert!(links.verify.is_none());
        assert_eq!(percent_encode("a b/č"), "a%20b%2F%C4%8D");
        assert_eq!(
            SmtpNotifier::new(SmtpConfig::default())
                .unwrap()
                .links(&r, Language::En),
            content::Links::default()
        );
    }

    #[tokio::test]
    async fn an_agency_notice_is_refused_for_good() {
        let n = SmtpNotifier::new(SmtpConfig::default()).unwrap();
        let e = n
            .deliver(
                Uuid::new_v4(),
                &tolom_testkit::conformance::notifier::sample(Channel::Webhook),
            )
            .await
            .unwrap_err();
        assert!(!e.transient);
    }

    #[test]
    fn the_message_has_ids_language_and_both_alternatives() {
        let r = match tolom_testkit::conformance::notifier::sample(Channel::Email) {
            Notification::ReceiptEmail { receipt, .. } => *receipt,
            Notification::Agency(_) => unreachable!(),
        };
        let id = Uuid::from_u128(42);
        let n = SmtpNotifier::new(SmtpConfig {
            from: "Tolom <receipts@pay.example.kg>".into(),
            ..SmtpConfig::default()
        })
        .unwrap()
        .with_pdf_renderer(Arc::new(|_, _| Some(b"%PDF-1.4 test".to_vec())));
        let m = n
            .build_message(id, "a@example.kg", Language::Ky, &r)
            .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains(&format!("Message-ID: <{id}@pay.example.kg>")),
            "{raw}"
        );
        assert!(raw.contains(&format!("X-Tolom-Message-Id: {id}")));
        assert!(raw.contains("Content-Language: ky"));
        assert!(raw.contains("Auto-Submitted: auto-generated"));
        assert!(raw.contains("multipart/mixed"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain"));
        assert!(raw.contains("text/html"));
        assert!(raw.contains("application/pdf"));
        assert!(raw.contains(&format!("receipt-{}.pdf", r.number)));
        let e = n
            .build_message(id, "not a mailbox", Language::Ky, &r)
            .unwrap_err();
        assert!(!e.transient);
    }
}
