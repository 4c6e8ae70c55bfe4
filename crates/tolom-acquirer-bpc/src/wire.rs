//! HTTP to the gateway: one form-encoded POST per call, the JSON answer, and
//! the classification of transport failures into the port's error kinds.

use std::error::Error as _;

use secrecy::ExposeSecret;
use serde_json::Value;
use tolom_core::ports::AcquirerError;
use tracing::{debug, warn};
use url::Url;

use crate::config::BpcCredentials;

/// A merchant-API endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Register,
    PaymentOrder,
    Status,
    Refund,
    Reverse,
    Decline,
}

impl Endpoint {
    pub(crate) fn path(self) -> &'static str {
        match self {
            Endpoint::Register => "register.do",
            Endpoint::PaymentOrder => "paymentorder.do",
            Endpoint::Status => "getOrderStatusExtended.do",
            Endpoint::Refund => "refund.do",
            Endpoint::Reverse => "reverse.do",
            Endpoint::Decline => "decline.do",
        }
    }
}

/// Form parameters of one call. Values of secret parameters are kept apart
/// from the others so that nothing can print them by accident.
#[derive(Default)]
pub(crate) struct Params<'a> {
    plain: Vec<(&'static str, String)>,
    secret: Vec<(&'static str, &'a str)>,
}

impl<'a> Params<'a> {
    pub(crate) fn add(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.plain.push((name, value.into()));
        self
    }
    pub(crate) fn add_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.add(name, v),
            None => self,
        }
    }
    pub(crate) fn secret(mut self, name: &'static str, value: &'a str) -> Self {
        self.secret.push((name, value));
        self
    }
}

/// Reads an integer that gateways send as a number or as a string.
pub(crate) fn int(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a text that gateways send as a string or as a number.
pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The request-level `errorCode` (0 when absent, as `register.do` does on
/// success).
pub(crate) fn error_code(v: &Value) -> i64 {
    int(v, "errorCode").unwrap_or(0)
}

/// `errorMessage` (or `error`), for operators.
pub(crate) fn error_message(v: &Value) -> String {
    text(v, "errorMessage")
        .or_else(|| text(v, "error"))
        .unwrap_or_else(|| "(no message)".into())
}

/// Describes a transport error without its URL, for operators.
fn describe(e: &reqwest::Error) -> String {
    // The URL of a merchant-API call carries no secret (parameters travel in
    // the body), but keep it out of error texts anyway.
    let mut out = e.to_string();
    if let Some(url) = e.url() {
        out = out.replace(url.as_str(), "<gateway>");
    }
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Whether a failed call certainly did not reach the gateway.
fn certainly_not_sent(e: &reqwest::Error) -> bool {
    // Connecting (DNS, TCP, TLS) failed, or the request could not be built:
    // not a byte of the request was written.
    e.is_connect() || e.is_builder()
}

pub(crate) struct Wire {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) credentials: BpcCredentials,
}

impl Wire {
    pub(crate) fn url(&self, endpoint: Endpoint) -> Result<Url, AcquirerError> {
        self.base
            .join(endpoint.path())
            .map_err(|e| AcquirerError::not_sent(format!("{}: bad URL: {e}", endpoint.path())))
    }

    /// POSTs an authenticated call and returns the parsed JSON answer.
    ///
    /// Errors: `NotSent` when the connection could not be made; `Unknown`
    /// when the request may have reached the gateway and no readable answer
    /// came back (timeout, dropped connection, 5xx, malformed JSON);
    /// `Rejected` for a 4xx answer (the gateway refused the request).
    pub(crate) async fn call(
        &self,
        endpoint: Endpoint,
        params: Params<'_>,
    ) -> Result<Value, AcquirerError> {
        let url = self.url(endpoint)?;
        let name = endpoint.path();
        let mut form: Vec<(&str, &str)> =
            Vec::with_capacity(params.plain.len() + params.secret.len() + 2);
        match &self.credentials {
            BpcCredentials::Password {
                user_name,
                password,
            } => {
                form.push(("userName", user_name.as_str()));
                form.push(("password", password.expose_secret()));
            }
            BpcCredentials::Token(token) => form.push(("token", token.expose_secret())),
        }
        for (k, v) in &params.plain {
            form.push((k, v.as_str()));
        }
        for (k, v) in &params.secret {
            form.push((k, v));
        }
        debug!(endpoint = name, "calling the gateway");
        let sent = self.http.post(url).form(&form).send().await;
        drop(form);
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Err(transport_error(name, &e)),
        };
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::REQUEST_TIMEOUT {
            warn!(
                endpoint = name,
                http_status = status.as_u16(),
                "gateway answered with an HTTP error; outcome unknown"
            );
            return Err(AcquirerError::unknown(format!(
                "{name}: HTTP {status} (the request may have been processed)"
            )));
        }
        if status.is_client_error() {
            warn!(
                endpoint = name,
                http_status = status.as_u16(),
                "gateway refused the request"
            );
            return Err(AcquirerError::rejected(format!("{name}: HTTP {status}")));
        }
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                warn!(
                    endpoint = name,
                    "answer lost while reading; outcome unknown"
                );
                return Err(AcquirerError::unknown(format!(
                    "{name}: answer lost while reading: {}",
                    describe(&e)
                )));
            }
        };
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) if v.is_object() => {
                debug!(
                    endpoint = name,
                    error_code = error_code(&v),
                    "gateway answered"
                );
                Ok(v)
            }
            _ => {
                warn!(
                    endpoint = name,
                    bytes = body.len(),
                    "unreadable answer; outcome unknown"
                );
                Err(AcquirerError::unknown(format!(
                    "{name}: unreadable answer ({} bytes, not a JSON object)",
                    body.len()
                )))
            }
        }
    }

    /// POSTs `PaRes`/`MD` to the gateway's TermUrl (no credentials). The
    /// answer is a redirect or a page; only transport failures matter.
    pub(crate) async fn finish_3ds(
        &self,
        url: &str,
        pa_res: &str,
        md: &str,
    ) -> Result<(), AcquirerError> {
        let url = Url::parse(url)
            .map_err(|e| AcquirerError::not_sent(format!("finish3ds: bad TermUrl: {e}")))?;
        debug!(endpoint = "finish3ds", "forwarding the 3-D Secure result");
        let r = self
            .http
            .post(url)
            .form(&[("PaRes", pa_res), ("MD", md)])
            .send()
            .await
            .map_err(|e| transport_error("finish3ds", &e))?;
        let status = r.status();
        if status.is_server_error() {
            return Err(AcquirerError::unknown(format!("finish3ds: HTTP {status}")));
        }
        if status.is_client_error() {
            return Err(AcquirerError::rejected(format!("finish3ds: HTTP {status}")));
        }
        Ok(())
    }
}

fn transport_error(name: &str, e: &reqwest::Error) -> AcquirerError {
    if certainly_not_sent(e) {
        warn!(
            endpoint = name,
            "could not reach the gateway; nothing was sent"
        );
        AcquirerError::not_sent(format!("{name}: not sent: {}", describe(e)))
    } else {
        let what = if e.is_timeout() {
            "timed out after sending"
        } else {
            "connection lost after sending"
        };
        warn!(
            endpoint = name,
            timeout = e.is_timeout(),
            "{what}; outcome unknown"
        );
        AcquirerError::unknown(format!("{name}: {what}: {}", describe(e)))
    }
}
