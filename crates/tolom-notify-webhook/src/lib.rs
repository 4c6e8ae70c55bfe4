//! # tolom-notify-webhook
//!
//! Signed webhooks to the agency that issued a payment code: the
//! [`Notifier`] of the [`Channel::Webhook`] channel, on [`reqwest`].
//!
//! Each [`AgencyEvent`] is POSTed to the agency's URL as a JSON
//! [`WebhookEvent`] (`payment.succeeded`, `payment.refunded`) with a stable
//! event id, signed with HMAC-SHA256 over the timestamp and the body in the
//! `Tolom-Signature` header. Receivers check it with [`verify`] and
//! deduplicate by the event id: the outbox delivers at least once, so the
//! same event may arrive more than once.
//!
//! Outcome mapping: a 2xx answer is a delivery; 408, 429, 5xx, timeouts and
//! connection failures are transient (retried on the outbox schedule: about
//! 1 min, 5 min, 1 h, 1 day, 2 days, then a dead letter); every other
//! answer (3xx, 4xx such as 400, 401, 404, 410) is permanent and becomes a
//! dead letter at once, for an operator to look at and retry.
//!
//! ```no_run
//! use tolom_notify_webhook::{WebhookConfig, WebhookNotifier};
//!
//! let notifier = WebhookNotifier::new(WebhookConfig::new(
//!     "https://agency.example.kg/tolom/events",
//!     "whsec_from_the_vault",
//! ))?;
//! # Ok::<(), tolom_notify_webhook::ConfigError>(())
//! ```
//!
//! ## Receiving
//!
//! What an agency's endpoint does with one request, whatever its web
//! framework: verify the signature over the raw body, then act once per
//! event id.
//!
//! ```
//! use std::collections::HashSet;
//! use tolom_core::outbox::AgencyEventKind;
//! use tolom_notify_webhook::{verify, WebhookEvent, DEFAULT_TOLERANCE};
//! use uuid::Uuid;
//!
//! /// Returns the HTTP status to answer.
//! fn receive(secret: &str, signature: Option<&str>, body: &[u8], seen: &mut HashSet<Uuid>) -> u16 {
//!     // 1. Authenticity and freshness, on the bytes as received.
//!     let Some(signature) = signature else { return 400 };
//!     if verify(secret, signature, body, chrono::Utc::now(), DEFAULT_TOLERANCE).is_err() {
//!         return 401;
//!     }
//!     // 2. Signed by tolom but of a type this build does not know:
//!     //    acknowledge, or it would be retried for two days.
//!     let Ok(event) = serde_json::from_slice::<WebhookEvent>(body) else { return 200 };
//!     // 3. At-least-once delivery: act once per event id (in a database,
//!     //    a unique key on the id, written with the effect).
//!     if !seen.insert(event.id) {
//!         return 200;
//!     }
//!     match event.kind {
//!         AgencyEventKind::PaymentSucceeded => { /* the fee for event.data.code is paid */ }
//!         AgencyEventKind::PaymentRefunded => { /* event.data.refunded went back */ }
//!     }
//!     200
//! }
//!
//! // A delivery as tolom sends it, and a redelivery of it.
//! let body = br#"{"id":"6f1c2a9e-3d4b-4c8e-9a51-0b7d2e8f4a10","type":"payment.succeeded","created":"2026-11-25T12:00:00Z","data":{"code":"110000012349","agency_ref":"AG-77","service":"passport-2020","payment_id":"00000000-0000-0000-0000-000000000abc","receipt_number":"20261125-0000002748","amount":{"amount":"885.00","currency":"KGS"},"refunded":{"amount":"0.00","currency":"KGS"}}}"#;
//! let header = tolom_notify_webhook::sign(b"whsec_test", chrono::Utc::now().timestamp(), body);
//! let mut seen = HashSet::new();
//! assert_eq!(receive("whsec_test", Some(&header), body, &mut seen), 200);
//! assert_eq!(receive("whsec_test", Some(&header), body, &mut seen), 200);
//! assert_eq!(seen.len(), 1);
//! assert_eq!(receive("another secret", Some(&header), body, &mut seen), 401);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod signature;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tolom_core::external::PaymentChannel;
use tolom_core::money::Money;
use tolom_core::outbox::{AgencyEvent, AgencyEventKind, Channel};
use tolom_core::ports::{Clock, SystemClock};
use tolom_core::ports::{Notification, Notifier, NotifyError};
use uuid::Uuid;

pub use signature::{sign, verify, VerifyError, DEFAULT_TOLERANCE, SIGNATURE_HEADER};

/// The header with the event id (the same as the body's `id`).
pub const EVENT_ID_HEADER: &str = "Tolom-Event-Id";
/// The header with the event type, e.g. `payment.succeeded`.
pub const EVENT_TYPE_HEADER: &str = "Tolom-Event-Type";
/// The header with the id of the outbox message that carries the event
/// (stable across redeliveries, like the event id).
pub const MESSAGE_ID_HEADER: &str = "Tolom-Message-Id";

/// The JSON body of a webhook.
///
/// ```json
/// {
///   "id": "6f1c2a9e-3d4b-4c8e-9a51-0b7d2e8f4a10",
///   "type": "payment.succeeded",
///   "created": "2026-11-25T12:00:00Z",
///   "data": {
///     "code": "110000012349",
///     "agency_ref": "AG-77",
///     "service": "passport-2020",
///     "payment_id": "00000000-0000-0000-0000-000000000abc",
///     "receipt_number": "20261125-0000002748",
///     "amount": { "amount": "885.00", "currency": "KGS" },
///     "refunded": { "amount": "0.00", "currency": "KGS" }
///   }
/// }
/// ```
///
/// A payment made elsewhere (a bank's app, a terminal, ELQR) has
/// `"channel": "elqr"` (…) in `data`, and its `receipt_number` is the
/// channel's reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The event id: the same on every redelivery of this event.
    pub id: Uuid,
    /// `payment.succeeded` or `payment.refunded` (more may come: ignore
    /// types you do not know, and answer 2xx).
    #[serde(rename = "type")]
    pub kind: AgencyEventKind,
    /// When it happened (RFC 3339, UTC).
    pub created: DateTime<Utc>,
    /// What it is about.
    pub data: EventData,
}

/// The payload of a [`WebhookEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventData {
    /// The payment code the agency issued.
    pub code: String,
    /// The agency's own reference of the charge, if it gave one.
    pub agency_ref: Option<String>,
    /// The service id, e.g. `passport-2020`.
    pub service: String,
    /// The payment.
    pub payment_id: Uuid,
    /// The receipt number: tolom's receipt of a card payment, or the
    /// channel's reference of a payment made elsewhere.
    pub receipt_number: Option<String>,
    /// The amount of the charge that was paid (decimal string + currency).
    pub amount: Money,
    /// Refunded so far (for `payment.refunded`: the running total).
    pub refunded: Money,
    /// How the fee was paid when it was not by card through tolom: the
    /// channel that reported the payment (`bank_app`, `terminal`, `elqr`,
    /// `bank_branch`). Absent for a card payment, so that the body of a
    /// card payment's event is what it always was.
    #[serde(default, skip_serializing_if = "is_card")]
    pub channel: PaymentChannel,
}

fn is_card(channel: &PaymentChannel) -> bool {
    *channel == PaymentChannel::Card
}

impl From<&AgencyEvent> for WebhookEvent {
    fn from(e: &AgencyEvent) -> Self {
        WebhookEvent {
            id: e.event_id,
            kind: e.kind,
            created: e.occurred_at,
            data: EventData {
                code: e.code.clone(),
                agency_ref: e.agency_ref.clone(),
                service: e.service.clone(),
                payment_id: e.payment_id,
                receipt_number: e.receipt_number.clone(),
                amount: e.amount,
                refunded: e.refunded,
                channel: e.channel,
            },
        }
    }
}

impl WebhookEvent {
    /// The body as sent (compact JSON). The signature covers these exact
    /// bytes.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Settings of the webhook notifier.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The agency's endpoint (`https://...`; `http://` only for tests and
    /// trusted networks).
    pub url: String,
    /// The secret shared with the agency (never in `Debug` or logs).
    pub secret: SecretString,
    /// Time allowed for one delivery: connecting, sending, and the answer's
    /// status line (default 10 s).
    pub timeout: Duration,
    /// The `User-Agent` header (default `tolom-webhook/<version>`).
    pub user_agent: String,
}

impl WebhookConfig {
    /// A configuration with the default timeout and user agent.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            secret: SecretString::from(secret.into()),
            timeout: Duration::from_secs(10),
            user_agent: concat!("tolom-webhook/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// The configuration cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL is not an absolute `http(s)` URL.
    #[error("webhook URL is not an absolute http(s) URL")]
    Url,
    /// The secret is empty.
    #[error("webhook secret is empty")]
    EmptySecret,
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// POSTs signed agency events.
///
/// Handles [`Notification::Agency`] only; a receipt e-mail given to it is a
/// permanent error (it belongs to the e-mail channel).
pub struct WebhookNotifier {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: SecretString,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a token in its query: show its origin only.
        f.debug_struct("WebhookNotifier")
            .field("endpoint", &self.url.origin().ascii_serialization())
            .finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// A notifier for one agency endpoint. Redirects are not followed (a
    /// 3xx is a permanent error: fix the URL).
    pub fn new(config: WebhookConfig) -> Result<WebhookNotifier, ConfigError> {
        let url = reqwest::Url::parse(&config.url).map_err(|_| ConfigError::Url)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ConfigError::Url);
        }
        if config.secret.expose_secret().is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(config.user_agent)
            .build()
            .map_err(|e| ConfigError::Client(e.without_url().to_string()))?;
        Ok(WebhookNotifier {
            client,
            url,
            secret: config.secret,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` for the signature timestamps (default: the system
    /// clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> WebhookNotifier {
        self.clock = clock;
        self
    }

    /// POSTs one event; `message_id` is the outbox message carrying it.
    pub async fn post(&self, message_id: Uuid, event: &AgencyEvent) -> Result<(), NotifyError> {
        let event = WebhookEvent::from(event);
        let body = event.to_body();
        let timestamp = self.clock.now().timestamp();
        let signature = sign(self.secret.expose_secret().as_bytes(), timestamp, &body);
        let sent = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_ID_HEADER, event.id.to_string())
            .header(EVENT_TYPE_HEADER, event.kind.as_str())
            .header(MESSAGE_ID_HEADER, message_id.to_string())
            .body(body)
            .send()
            .await;
        let result = match sent {
            Ok(response) => classify(response).await,
            Err(e) => Err(NotifyError {
                // Builder errors are ours and will not get better.
                transient: !e.is_builder(),
                message: describe(&e),
            }),
        };
        match &result {
            Ok(()) => {
                tracing::info!(%message_id, event_id = %event.id, kind = event.kind.as_str(), "agency webhook accepted")
            }
            Err(e) => {
                tracing::warn!(%message_id, event_id = %event.id, transient = e.transient, error = %e.message, "agency webhook not accepted")
            }
        }
        result
    }
}

/// 2xx: delivered; 408, 429, 5xx: transient; anything else: permanent.
async fn classify(response: reqwest::Response) -> Result<(), NotifyError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let transient = status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
    // A little of the answer helps operators; never more than that.
    let snippet: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    Err(NotifyError {
        transient,
        message: if snippet.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {snippet}")
        },
    })
}

/// An error without the URL (which may hold a token).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_request() {
        "request failed"
    } else {
        "error"
    };
    let mut text = format!("{kind}: ");
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut first = true;
    while let Some(err) = source {
        let s = err.to_string();
        if !first {
            text.push_str(": ");
        }
        // reqwest's own message names the URL; its sources do not.
        text.push_str(&if first { without_url(&s) } else { s });
        first = false;
        source = err.source();
    }
    text
}

fn without_url(s: &str) -> String {
    match s.find(" for url (") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    async fn deliver(
        &self,
        message_id: Uuid,
        notification: &Notification,
    ) -> Result<(), NotifyError> {
        match notification {
            Notification::Agency(event) => self.post(message_id, event).await,
            Notification::ReceiptEmail { .. } => Err(NotifyError {
                transient: false,
                message: "the webhook notifier delivers agency notices only".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let config = WebhookConfig::new("https://agency.example/hook?token=abc", "whsec_hunter2");
        assert!(!format!("{config:?}").contains("hunter2"));
        let n = WebhookNotifier::new(config).unwrap();
        let debug = format!("{n:?}");
        assert!(!debug.contains("hunter2"));
        assert!(!debug.contains("token=abc"));
        assert!(debug.contains("https://agency.example"));
    }

    #[test]
    fn configuration_errors() {
        for url in ["not a url", "ftp://agency.example/x", "/relative"] {
            assert_eq!(
                WebhookNotifier::new(WebhookConfig::new(url, "s")).unwrap_err(),
                ConfigError::Url,
                "{url}"
            );
        }
        assert_eq!(
            WebhookNotifier::new(WebhookConfig::new("https://a.example", "")).unwrap_err(),
            ConfigError::EmptySecret
        );
    }

    #[test]
    fn the_body_is_the_documented_json() {
        let Notification::Agency(event) =
            tolom_testkit::conformance::notifier::sample(Channel::Webhook)
        else {
            unreachable!()
        };
        let body = WebhookEvent::from(&event).to_body();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "00000000-0000-0000-0000-0000000000e1",
                "type": "payment.succeeded",
                "created": "2026-11-25T12:00:00Z",
                "data": {
                    "code": "110000012349",
                    "agency_ref": "AG-77",
                    "service": "passport-2020",
                    "payment_id": "00000000-0000-0000-0000-000000000abc",
                    "receipt_number": event.receipt_number,
                    "amount": {"amount": "885.00", "currency": "KGS"},
                    "refunded": {"amount": "0.00", "currency": "KGS"}
                }
            })
        );
        // Receivers can parse it back.
        let back: WebhookEvent = serde_json::from_slice(&body).unwrap();
        assert_eq!(back, WebhookEvent::from(&event));
    }

    /// The example in `docs/notifications.md`, byte for byte.
    #[test]
    fn the_documented_example_is_exact() {
        use chrono::TimeZone;
        let event = AgencyEvent {
            event_id: "6f1c2a9e-3d4b-4c8e-9a51-0b7d2e8f4a10".parse().unwrap(),
            kind: AgencyEventKind::PaymentSucceeded,
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap(),
            code: "110000012349".into(),
            agency_ref: Some("AG-77".into()),
            service: "passport-2020".into(),
            payment_id: Uuid::from_u128(0xabc),
            receipt_number: Some("20261125-0000002748".into()),
            amount: Money::som(885),
            refunded: Money::som(0),
            channel: PaymentChannel::Card,
        };
        let body = WebhookEvent::from(&event).to_body();
        assert_eq!(
            String::from_utf8(body.clone()).unwrap(),
            r#"{"id":"6f1c2a9e-3d4b-4c8e-9a51-0b7d2e8f4a10","type":"payment.succeeded","created":"2026-11-25T12:00:00Z","data":{"code":"110000012349","agency_ref":"AG-77","service":"passport-2020","payment_id":"00000000-0000-0000-0000-000000000abc","receipt_number":"20261125-0000002748","amount":{"amount":"885.00","currency":"KGS"},"refunded":{"amount":"0.00","currency":"KGS"}}}"#
        );
        assert_eq!(
            sign(b"whsec_example", 1_764_072_005, &body),
            "t=1764072005,v1=7299367906ee9797e083fcf85302780ff2dc77dc10f7d4e83ce85a475c076eec"
        );
    }

    /// A payment made elsewhere says its channel, and its receipt number is
    /// the channel's reference; a card payment's body has no `channel`.
    #[test]
    fn a_payment_made_elsewhere_names_its_channel() {
        use chrono::TimeZone;
        let event = AgencyEvent {
            event_id: Uuid::from_u128(1),
            kind: AgencyEventKind::PaymentSucceeded,
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap(),
            code: "110000012349".into(),
            agency_ref: None,
            service: "passport-2020".into(),
            payment_id: Uuid::from_u128(2),
            receipt_number: Some("ELQR-20261125-000123".into()),
            amount: Money::som(885),
            refunded: Money::som(0),
            channel: PaymentChannel::Elqr,
        };
        let body = WebhookEvent::from(&event).to_body();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["data"]["channel"], "elqr");
        assert_eq!(json["data"]["receipt_number"], "ELQR-20261125-000123");
        let back: WebhookEvent = serde_json::from_slice(&body).unwrap();
        assert_eq!(back.data.channel, PaymentChannel::Elqr);
        let card = AgencyEvent {
            channel: PaymentChannel::Card,
            ..event
        };
        let body = WebhookEvent::from(&card).to_body();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json["data"].get("channel").is_none(), "{json}");
        let back: WebhookEvent = serde_json::from_slice(&body).unwrap();
        assert_eq!(back.data.channel, PaymentChannel::Card);
    }

    #[test]
    fn urls_are_cut_from_error_text() {
        assert_eq!(
            without_url("error sending request for url (https://a.example/?token=x)"),
            "error sending request"
        );
    }

    #[tokio::test]
    async fn a_receipt_email_is_refused_for_good() {
        let n = WebhookNotifier::new(WebhookConfig::new("http://127.0.0.1:9/", "s")).unwrap();
        let e = n
            .deliver(
                Uuid::new_v4(),
                &tolom_testkit::conformance::notifier::sample(Channel::Email),
            )
            .await
            .unwrap_err();
        assert!(!e.transient);
    }
}
