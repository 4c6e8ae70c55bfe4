//! The one error type of the JSON API. Every handler answers its errors
//! with an [`ApiError`]; its body is
//! `{"error": {"code", "message", "fields"}}` with the message in the
//! caller's language, and its status is that of the error's
//! [`ErrorKind`] — the same mapping the OpenAPI document lists
//! (`api::openapi`).

use std::fmt::Display;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tolom_core::card::{FieldError, ValidationErrors};
use tolom_core::i18n::{text, ErrorCode, Language, Text};

use crate::errors::{log_if_ours, ErrorKind};

/// An API error: a [`Text`] (stable code and message) in the caller's
/// language, with every invalid field of a card form, and how long to wait
/// when rate-limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    text: Text,
    lang: Language,
    fields: Vec<FieldError>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// The error of `text`, in `lang`.
    pub fn new(text: Text, lang: Language) -> ApiError {
        ApiError {
            text,
            lang,
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// The error of a use case's error, logged when the fault is ours.
    pub fn from_error<E: ErrorCode + Display>(error: &E, lang: Language) -> ApiError {
        log_if_ours(error, error.text());
        ApiError::new(error.text(), lang)
    }

    /// [`ApiError::from_error`] as a function, for `map_err`:
    /// `state.tolom.payment(id).await.map_err(ApiError::of(lang))?`.
    pub fn of<E: ErrorCode + Display>(lang: Language) -> impl Fn(E) -> ApiError {
        move |error| ApiError::from_error(&error, lang)
    }

    /// An invalid card form: every field's error at once.
    pub fn invalid_card(errors: &ValidationErrors, lang: Language) -> ApiError {
        ApiError {
            fields: errors.0.clone(),
            ..ApiError::new(errors.text(), lang)
        }
    }

    /// Adds a `Retry-After` of `seconds`.
    pub fn retry_after(self, seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..self
        }
    }

    /// How long to wait before trying again, when the error says so.
    pub fn wait(&self) -> Option<u64> {
        self.retry_after
    }

    /// The error's text.
    pub fn text(&self) -> Text {
        self.text
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::of(self.text)
    }

    /// The HTTP status (of the error's kind).
    pub fn status(&self) -> StatusCode {
        self.kind().status()
    }

    /// The body: `{"error": {"code", "message", "fields": [{"field", "code", "message"}]}}`.
    pub fn body(&self) -> Value {
        let fields: Vec<Value> = self
            .fields
            .iter()
            .map(|f| json!({"field": f.field.name(), "code": f.code(), "message": f.message(self.lang)}))
            .collect();
        json!({"error": {
            "code": self.text.code(),
            "message": text(self.text, self.lang),
            "fields": fields,
        }})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use tolom_core::card::Field;

    use super::*;

    #[test]
    fn error_bodies_carry_the_code_and_message_of_their_text() {
        for error in Text::ALL.into_iter().filter(|t| t.file() == "errors.ftl") {
            for lang in Language::ALL {
                let e = ApiError::new(error, lang);
                let body = e.body();
                assert_eq!(body["error"]["code"], error.code());
                assert_eq!(body["error"]["message"], &*text(error, lang));
                assert_eq!(body["error"]["fields"], json!([]));
                assert_eq!(e.status(), ErrorKind::of(error).status());
            }
        }
        // The portal's own codes are texts like every other.
        for own in [
            Text::IdempotencyInProgress,
            Text::RequestNotFound,
            Text::RequestUnsupportedMediaType,
        ] {
            let body = ApiError::new(own, Language::Ru).body();
            let message = body["error"]["message"].as_str().unwrap_or("");
            assert!(message.chars().any(|c| ('а'..='я').contains(&c)), "{own:?}");
        }
    }

    #[test]
    fn a_card_form_error_lists_every_field() {
        let errors = ValidationErrors(vec![
            FieldError {
                field: Field::Pan,
                text: Text::CardPanLuhn,
            },
            FieldError {
                field: Field::Email,
                text: Text::ContactEmailInvalid,
            },
        ]);
        let e = ApiError::invalid_card(&errors, Language::En);
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = e.body();
        assert_eq!(body["error"]["code"], "card.pan_luhn");
        assert_eq!(body["error"]["fields"][1]["field"], "email");
        assert_eq!(body["error"]["fields"][1]["code"], "contact.email_invalid");
        assert_eq!(
            body["error"]["fields"][1]["message"],
            &*text(Text::ContactEmailInvalid, Language::En)
        );
    }

    #[test]
    fn a_rate_limited_answer_says_when_to_retry() {
        let resp = ApiError::new(Text::RequestRateLimited, Language::Ky)
            .retry_after(42)
            .into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            resp.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("42")
        );
    }
}
