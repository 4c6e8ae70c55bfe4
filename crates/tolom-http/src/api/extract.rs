//! What every API handler repeats, as extractors: the payment id of the
//! path, and a JSON `POST` under the idempotency rules. Both reject with an
//! [`ApiError`] in the caller's language.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tolom_core::i18n::{Language, Text};
use uuid::Uuid;

use crate::api::error::ApiError;
use crate::api::formats;
use crate::security::{fingerprint, random_key, Begin, Ctx};
use crate::state::AppState;

fn lang_of(parts: &Parts) -> Language {
    parts
        .extensions
        .get::<Ctx>()
        .map(|c| c.lang)
        .unwrap_or_default()
}

/// The `{id}` of a payment route; anything but a UUID is
/// `404 payment.not_found`.
#[derive(Debug, Clone, Copy)]
pub struct PaymentId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PaymentId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<PaymentId, ApiError> {
        let lang = lang_of(parts);
        let Ok(Path(id)) = Path::<String>::from_request_parts(parts, state).await else {
            return Err(ApiError::new(Text::PaymentNotFound, lang));
        };
        Uuid::parse_str(&id)
            .map(PaymentId)
            .map_err(|_| ApiError::new(Text::PaymentNotFound, lang))
    }
}

/// A JSON `POST`: the body (`Content-Type: application/json`, else 415 —
/// a cross-site form cannot send JSON) and its optional `Idempotency-Key`
/// (1–128 of `A-Z a-z 0-9 . _ : -`, [`formats::idempotency_key`], else
/// `400 idempotency.key_invalid`).
pub struct JsonPost {
    lang: Language,
    scope: String,
    key: Option<String>,
    body: Bytes,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

impl FromRequest<AppState> for JsonPost {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<JsonPost, ApiError> {
        let (parts, body) = req.into_parts();
        let lang = lang_of(&parts);
        if !is_json(&parts.headers) {
            return Err(ApiError::new(Text::RequestUnsupportedMediaType, lang));
        }
        let key = match parts.headers.get("idempotency-key").map(|v| v.to_str()) {
            None => None,
            Some(Ok(k)) if formats::idempotency_key().accepts(k) => Some(k.to_string()),
            Some(_) => return Err(ApiError::new(Text::IdempotencyKeyInvalid, lang)),
        };
        // The route and the key: one key may be used on several routes.
        let scope = format!("{} {}", parts.method, parts.uri.path());
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| ApiError::new(Text::RequestInvalid, lang))?;
        Ok(JsonPost {
            lang,
            scope,
            key,
            body,
        })
    }
}

/// A posted body as a `T`; a body that does not parse is
/// `400 request.invalid`, never echoed (it may hold a card).
pub fn parse<T: DeserializeOwned>(body: &Bytes, lang: Language) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::new(Text::RequestInvalid, lang))
}

impl JsonPost {
    /// Answers the request under the idempotency rules: `run` gets the
    /// body and the key to hand to the core (the header's, or a fresh one).
    /// The same key with the same body gets the first answer again (marked
    /// `Idempotent-Replayed: true`); with another body, `409
    /// idempotency.key_reused`; while the first is running, `409
    /// idempotency.in_progress`. Server errors and rate limits are not
    /// remembered, so a retry runs again.
    pub async fn answer<F, Fut>(self, state: &AppState, run: F) -> Response
    where
        F: FnOnce(Bytes, String) -> Fut,
        Fut: Future<Output = Result<(StatusCode, Value), ApiError>>,
    {
        let Some(key) = self.key else {
            return respond(into_answer(run(self.body, random_key()).await));
        };
        let scoped = format!("{}\n{key}", self.scope);
        let fp = fingerprint(&state.config.secret, &self.body);
        match state.idempotency.begin(&scoped, fp) {
            Begin::Replay(status, bytes) => {
                let mut resp = (
                    StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                    [(header::CONTENT_TYPE, "application/json")],
                    bytes,
                )
                    .into_response();
                resp.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                resp
            }
            Begin::Mismatch => ApiError::new(Text::IdempotencyKeyReused, self.lang).into_response(),
            Begin::InProgress => {
                ApiError::new(Text::IdempotencyInProgress, self.lang).into_response()
            }
            Begin::Fresh(claim) => {
                // Dropped with this future (the client went away), the
                // claim releases the key: a retry runs again.
                let (status, Json(value), wait) = into_answer(run(self.body, key).await);
                let bytes = serde_json::to_vec(&value).unwrap_or_default();
                // A "try again later" answer (5xx, 429, a code held by
                // another payment) is not an outcome: the same key must run
                // again, not replay it.
                let keep = !(status.is_server_error()
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || wait.is_some());
                claim.finish(keep.then(|| (status.as_u16(), bytes.clone())));
                respond((status, Json(value), wait))
            }
        }
    }
}

/// An answer or an error as a status and a body (the form the idempotency
/// cache keeps), and how long to wait when the answer is "try again
/// later".
fn into_answer(
    result: Result<(StatusCode, Value), ApiError>,
) -> (StatusCode, Json<Value>, Option<u64>) {
    match result {
        Ok((status, value)) => (status, Json(value), None),
        Err(e) => (e.status(), Json(e.body()), e.wait()),
    }
}

/// The response of an answer, with `Retry-After` when it says to wait.
fn respond((status, Json(value), wait): (StatusCode, Json<Value>, Option<u64>)) -> Response {
    let mut resp = (status, Json(value)).into_response();
    if let Some(v) = wait.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}
