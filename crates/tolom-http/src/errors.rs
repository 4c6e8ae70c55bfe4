//! What an error means over HTTP, for the pages and the API alike: every
//! error is a [`Text`] (a stable code and a message in each language), its
//! [`ErrorKind`] follows from the code, and the HTTP status follows from
//! the kind. The API's error bodies (`api::error::ApiError`), the
//! OpenAPI document's error list and the pages' error statuses all go
//! through [`ErrorKind::of`].

use std::fmt::Display;

use axum::http::StatusCode;
use tolom_core::i18n::Text;
use tolom_core::payment::Payment;

/// What kind of error a text is, as far as HTTP is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The code, payment, receipt or page does not exist (404).
    NotFound,
    /// The request clashes with the state of things: already paid, terms
    /// changed, another payment in flight, an idempotency key reused (409).
    Conflict,
    /// The payment session is over (410).
    Gone,
    /// Input the payer can correct: the code, the card form, the agreement
    /// (422).
    Invalid,
    /// A request no form of ours sends (400).
    BadRequest,
    /// The CSRF token is missing or wrong (403).
    Forbidden,
    /// Too many look-ups (429).
    RateLimited,
    /// An API body that is not JSON (415).
    UnsupportedMediaType,
    /// A dependency (storage, the bank) is down; retrying later may help
    /// (503).
    Unavailable,
    /// A bug or an unexpected failure on our side (500).
    Internal,
}

impl ErrorKind {
    /// The kind of an error text.
    pub fn of(error: Text) -> ErrorKind {
        match error {
            Text::CodeNotFound
            | Text::PaymentNotFound
            | Text::ReceiptNotAvailable
            | Text::RequestNotFound => ErrorKind::NotFound,
            Text::TermsOutdated
            | Text::IdempotencyKeyReused
            | Text::IdempotencyInProgress
            | Text::PaymentAlreadySubmitted
            | Text::PaymentNotAwaitingChallenge
            | Text::ChargePaymentInProgress
            | Text::ChargeAlreadyPaid
            | Text::ChargeCancelled
            | Text::ChargeFeeUnpublished
            | Text::ChargeExpired
            | Text::RequestConflict => ErrorKind::Conflict,
            Text::PaymentExpired => ErrorKind::Gone,
            Text::RequestRateLimited => ErrorKind::RateLimited,
            Text::RequestCsrf => ErrorKind::Forbidden,
            Text::RequestUnsupportedMediaType => ErrorKind::UnsupportedMediaType,
            Text::RequestInvalid | Text::IdempotencyKeyInvalid => ErrorKind::BadRequest,
            Text::ServiceUnavailable => ErrorKind::Unavailable,
            Text::InternalError => ErrorKind::Internal,
            // Input the payer can correct: the code, the card form, the agreement.
            e if ["code.", "card.", "contact.", "terms."]
                .iter()
                .any(|family| e.code().starts_with(family)) =>
            {
                ErrorKind::Invalid
            }
            _ => ErrorKind::BadRequest,
        }
    }

    /// The HTTP status of this kind.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the fault is ours (or a dependency's), so worth a log line:
    /// what the payer did wrong is not logged.
    pub fn is_ours(self) -> bool {
        matches!(self, ErrorKind::Internal | ErrorKind::Unavailable)
    }
}

/// The HTTP status of an error text.
pub fn status_of(error: Text) -> StatusCode {
    ErrorKind::of(error).status()
}

/// Logs an error whose fault is ours (see [`ErrorKind::is_ours`]); the
/// error's `Display` never carries card data (the core's errors do not).
pub fn log_if_ours(error: &dyn Display, text: Text) {
    if ErrorKind::of(text).is_ours() {
        tracing::error!(error = %error, code = text.code(), "request failed");
    } else if text == Text::RequestConflict {
        // Two requests changed one record at once and the core's bounded
        // retries ran out: expected under load, worth a look when frequent.
        tracing::warn!(error = %error, code = text.code(), "request lost a race");
    }
}

/// The text of a stored failure code, for showing it. The code comes from
/// storage as a string, so it may be one this version no longer (or not
/// yet) has a text for: that is logged and shown as the generic
/// [`Text::PaymentFailureUnknown`] rather than hidden or left raw.
pub fn failure_text(p: &Payment) -> Option<Text> {
    let code = p.failure()?;
    Some(Text::from_code(code).unwrap_or_else(|| {
        tracing::warn!(payment = %p.id(), failure = code, "a failure code without a text");
        Text::PaymentFailureUnknown
    }))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use tolom_core::code::PaymentCode;
    use tolom_core::i18n::Language;
    use tolom_core::money::Money;
    use tolom_core::payment::NewPayment;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn statuses_follow_the_kind_of_the_error() {
        for (error, status) in [
            (Text::CodeCheckDigit, StatusCode::UNPROCESSABLE_ENTITY),
            (Text::CardPanLuhn, StatusCode::UNPROCESSABLE_ENTITY),
            (Text::ContactEmailInvalid, StatusCode::UNPROCESSABLE_ENTITY),
            (Text::TermsNotAccepted, StatusCode::UNPROCESSABLE_ENTITY),
            (Text::TermsOutdated, StatusCode::CONFLICT),
            (Text::CodeNotFound, StatusCode::NOT_FOUND),
            (Text::PaymentExpired, StatusCode::GONE),
            (Text::RequestRateLimited, StatusCode::TOO_MANY_REQUESTS),
            (Text::RequestCsrf, StatusCode::FORBIDDEN),
            (Text::ServiceUnavailable, StatusCode::SERVICE_UNAVAILABLE),
            // A race between two requests is answered, not an outage.
            (
                tolom_core::errors::store_text(&tolom_core::ports::StoreError::Conflict),
                StatusCode::CONFLICT,
            ),
            (Text::InternalError, StatusCode::INTERNAL_SERVER_ERROR),
            (Text::DeclineOther, StatusCode::BAD_REQUEST),
        ] {
            assert_eq!(status_of(error), status, "{error:?}");
        }
        assert!(ErrorKind::of(Text::InternalError).is_ours());
        assert!(!ErrorKind::of(Text::CardPanLuhn).is_ours());
    }

    #[test]
    fn stored_failure_codes_without_a_text_get_the_generic_one() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut p = Payment::create(NewPayment {
            id: Uuid::from_u128(1),
            charge_id: Uuid::from_u128(2),
            code: PaymentCode::from_trusted("110000000010"),
            service: "passport-2020".into(),
            amount: Money::som(885),
            fee: Money::som(0),
            terms_edition: "2024-01-01".into(),
            language: Language::En,
            start_key: "k".into(),
            now,
            expires_at: now + chrono::Duration::minutes(30),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(failure_text(&p), None);
        p.authorize("s".into(), None, None, "sandbox", now, now)
            .and_then(|()| p.fail(Text::PaymentAcquirerUnavailable, now))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(failure_text(&p), Some(Text::PaymentAcquirerUnavailable));
        // Written by another version, or by hand.
        let mut record = p.into_record();
        record.failure = Some("acquirer.gone_away".into());
        let p = Payment::restore(record).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(failure_text(&p), Some(Text::PaymentFailureUnknown));
    }
}
