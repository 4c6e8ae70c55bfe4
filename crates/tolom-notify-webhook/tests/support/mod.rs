//! A real agency receiver (axum on 127.0.0.1) for the tests: it verifies
//! signatures, deduplicates by event id, and can be told to fail.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use tokio::task::JoinHandle;
use tolom_notify_webhook::{
    verify, VerifyError, WebhookEvent, DEFAULT_TOLERANCE, EVENT_ID_HEADER, MESSAGE_ID_HEADER,
    SIGNATURE_HEADER,
};
use uuid::Uuid;

/// What the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Process and answer 200.
    Ok,
    /// Answer this status without processing.
    Status(u16),
    /// Process, then answer 200 only after this long.
    Slow(Duration),
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Headers (lowercase names).
    pub headers: HashMap<String, String>,
    /// The raw body.
    pub body: Vec<u8>,
    /// What `verify` said.
    pub verified: Result<(), VerifyError>,
    /// The status answered.
    pub answered: u16,
}

impl Delivery {
    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Inner {
    secret: String,
    mode: Mutex<Mode>,
    deliveries: Mutex<Vec<Delivery>>,
    /// Events processed, by id: what the agency's system acted on.
    processed: Mutex<Vec<WebhookEvent>>,
}

/// A running receiver; stopped when dropped.
pub struct Receiver {
    /// Its endpoint.
    pub url: String,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

async fn hook(State(s): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header_map: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let signature = header_map
        .get(&SIGNATURE_HEADER.to_ascii_lowercase())
        .cloned()
        .unwrap_or_default();
    let verified = verify(&s.secret, &signature, &body, Utc::now(), DEFAULT_TOLERANCE);
    let mode = s.mode.lock().map(|m| *m).unwrap_or(Mode::Ok);
    let status = if verified.is_err() {
        StatusCode::UNAUTHORIZED
    } else {
        match mode {
            Mode::Status(code) => StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT),
            Mode::Ok | Mode::Slow(_) => match serde_json::from_slice::<WebhookEvent>(&body) {
                Err(_) => StatusCode::BAD_REQUEST,
                Ok(event) => {
                    // Idempotent by event id: a redelivery changes nothing.
                    if let Ok(mut p) = s.processed.lock() {
                        if !p.iter().any(|e| e.id == event.id) {
                            p.push(event);
                        }
                    }
                    StatusCode::OK
                }
            },
        }
    };
    if let Ok(mut d) = s.deliveries.lock() {
        d.push(Delivery {
            headers: header_map,
            body: body.to_vec(),
            verified,
            answered: status.as_u16(),
        });
    }
    if let (Mode::Slow(delay), StatusCode::OK) = (mode, status) {
        tokio::time::sleep(delay).await;
    }
    status
}

impl Receiver {
    /// Starts a receiver that shares `secret` with the sender.
    pub async fn start(secret: &str) -> Receiver {
        let inner = Arc::new(Inner {
            secret: secret.to_string(),
            mode: Mutex::new(Mode::Ok),
            deliveries: Mutex::new(Vec::new()),
            processed: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/agency/events", post(hook))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/agency/events"),
            inner,
            task,
        }
    }

    /// Changes what it answers.
    pub fn set_mode(&self, mode: Mode) {
        if let Ok(mut m) = self.inner.mode.lock() {
            *m = mode;
        }
    }

    /// Every request so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner
            .deliveries
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    /// Every event processed, once each.
    pub fn processed(&self) -> Vec<WebhookEvent> {
        self.inner
            .processed
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// The bodies received for one outbox message.
    pub fn bodies_for(&self, message_id: Uuid) -> Vec<String> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.header(MESSAGE_ID_HEADER) == Some(message_id.to_string().as_str()))
            .map(|d| d.text())
            .collect()
    }

    /// The requests that carried this event id.
    pub fn deliveries_of(&self, event_id: Uuid) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.header(EVENT_ID_HEADER) == Some(event_id.to_string().as_str()))
            .collect()
    }

    /// Stops listening.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A URL where nothing listens.
pub fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9);
    format!("http://127.0.0.1:{port}/agency/events")
}
