//! One answer for every error: `{"error": {"code", "message", "detail"?}}`
//! with the status the error's kind calls for.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tolom_core::errors::{ExternalError, IssueError, LookupError, QueryError, RefundError};
use tolom_core::i18n::{text, ErrorCode, Language, Text};
use tolom_core::ports::StoreError;
use tolom_core::usecases::OperatorError;

/// An error answer in the caller's language.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    text: Text,
    detail: Option<String>,
    lang: Language,
}

impl ApiError {
    /// An answer with this status and text (its code and message).
    pub fn new(status: StatusCode, text: Text, lang: Language) -> ApiError {
        ApiError {
            status,
            text,
            detail: None,
            lang,
        }
    }

    /// Adds a detail for operators.
    pub fn detail(mut self, d: impl Into<String>) -> ApiError {
        self.detail = Some(d.into());
        self
    }

    /// A request the caller got wrong (`422 request.invalid`).
    pub fn invalid(lang: Language, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Text::RequestInvalid, lang).detail(detail)
    }

    /// The answer to an operator use case's error.
    pub fn from_operator(e: OperatorError, lang: Language) -> ApiError {
        let code = e.text();
        let status = match &e {
            OperatorError::Unauthenticated => StatusCode::UNAUTHORIZED,
            OperatorError::Forbidden { .. } => StatusCode::FORBIDDEN,
            OperatorError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            OperatorError::Issue(IssueError::Store(StoreError::DuplicateCode)) => {
                return ApiError::new(StatusCode::CONFLICT, code, lang)
                    .detail("a charge with this code already exists")
            }
            OperatorError::Issue(IssueError::Store(s))
            | OperatorError::Lookup(LookupError::Store(
                s @ (StoreError::Unavailable(_) | StoreError::Broken(_)),
            ))
            | OperatorError::Query(QueryError::Store(s))
            | OperatorError::Refund(RefundError::Store(s))
            | OperatorError::External(ExternalError::Store(s))
            | OperatorError::Store(s) => store_status(s),
            // The charge or the payment is not in a state that allows it:
            // paid, cancelled, expired; a reference reported with other
            // data; a resolution of what is not flagged.
            OperatorError::External(
                ExternalError::ReferenceConflict { .. }
                | ExternalError::NotPayable(_)
                | ExternalError::NotDuplicate(_)
                | ExternalError::ChargeStillPaid,
            ) => StatusCode::CONFLICT,
            OperatorError::External(ExternalError::NotFound) => StatusCode::NOT_FOUND,
            OperatorError::Lookup(LookupError::Store(_)) => {
                return ApiError::new(StatusCode::CONFLICT, Text::RequestInvalid, lang)
                    .detail("the charge is not in a state that allows this")
            }
            OperatorError::Lookup(LookupError::NotFound)
            | OperatorError::Query(QueryError::NotFound)
            | OperatorError::Refund(RefundError::NotFound)
            | OperatorError::TokenNotFound(_)
            | OperatorError::NotDead(_) => StatusCode::NOT_FOUND,
            OperatorError::Refund(RefundError::Failed(_)) => StatusCode::BAD_GATEWAY,
            OperatorError::TokenExists(_) | OperatorError::EditionExists(_) => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let answer = ApiError::new(status, code, lang);
        if status.is_client_error() && status != StatusCode::NOT_FOUND {
            answer.detail(e.to_string())
        } else {
            answer
        }
    }
}

fn store_status(e: &StoreError) -> StatusCode {
    if e.is_temporary() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": {
            "code": self.text.code(),
            "message": text(self.text, self.lang),
        }});
        if let Some(d) = self.detail {
            body["error"]["detail"] = json!(d);
        }
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"tolom-admin\""),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use tolom_core::access::Permission;

    async fn body(e: ApiError) -> (StatusCode, HeaderMap, serde_json::Value) {
        let res = e.into_response();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.expect("body");
        let json = serde_json::from_slice(&bytes).expect("json");
        (parts.status, parts.headers, json)
    }

    #[tokio::test]
    async fn errors_carry_the_code_and_the_message_of_their_text() {
        for lang in Language::ALL {
            let (status, headers, json) = body(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Text::AuthUnauthenticated,
                lang,
            ))
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert!(headers.contains_key(header::WWW_AUTHENTICATE));
            assert_eq!(json["error"]["code"], "auth.unauthenticated");
            assert_eq!(
                json["error"]["message"],
                text(Text::AuthUnauthenticated, lang).as_ref()
            );
        }
        let (_, _, json) = body(ApiError::from_operator(
            OperatorError::Refund(RefundError::Refused(
                tolom_core::payment::RefundRefused::ExceedsPaid,
            )),
            Language::Ru,
        ))
        .await;
        assert_eq!(json["error"]["code"], "refund.exceeds_paid");
        assert_eq!(
            json["error"]["message"],
            "Сумма возврата превышает оплаченную сумму."
        );
        assert!(json["error"]["detail"].is_string());
    }

    #[test]
    fn operator_errors_get_the_status_of_their_kind() {
        let lang = Language::En;
        let cases = [
            (
                OperatorError::Unauthenticated,
                StatusCode::UNAUTHORIZED,
                Text::AuthUnauthenticated,
            ),
            (
                OperatorError::Forbidden {
                    actor: "token:a".into(),
                    permission: Permission::Refund,
                },
                StatusCode::FORBIDDEN,
                Text::AuthForbidden,
            ),
            (
                OperatorError::Store(StoreError::Unavailable("down".into())),
                StatusCode::SERVICE_UNAVAILABLE,
                Text::ServiceUnavailable,
            ),
            (
                OperatorError::Store(StoreError::Broken("disk full".into())),
                StatusCode::INTERNAL_SERVER_ERROR,
                Text::InternalError,
            ),
            (
                OperatorError::Issue(IssueError::Store(StoreError::DuplicateCode)),
                StatusCode::CONFLICT,
                Text::RequestInvalid,
            ),
            (
                OperatorError::Query(QueryError::NotFound),
                StatusCode::NOT_FOUND,
                Text::PaymentNotFound,
            ),
            (
                OperatorError::Refund(RefundError::Failed("refused".into())),
                StatusCode::BAD_GATEWAY,
                Text::RefundFailed,
            ),
            (
                OperatorError::TokenExists("ops-1".into()),
                StatusCode::CONFLICT,
                Text::TokenExists,
            ),
            (
                OperatorError::External(ExternalError::AmountMismatch {
                    due: tolom_core::money::Money::som(885),
                    paid: tolom_core::money::Money::som(1),
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
                Text::ExternalAmountMismatch,
            ),
            (
                OperatorError::External(ExternalError::ReferenceConflict {
                    channel: "elqr".into(),
                    reference: "R".into(),
                    code: "c".into(),
                    differs: "amount".into(),
                }),
                StatusCode::CONFLICT,
                Text::ExternalReferenceConflict,
            ),
            (
                OperatorError::External(ExternalError::NotPayable(
                    tolom_core::charge::NotPayable::Cancelled,
                )),
                StatusCode::CONFLICT,
                Text::ChargeCancelled,
            ),
            (
                OperatorError::External(ExternalError::NotFound),
                StatusCode::NOT_FOUND,
                Text::ExternalNotFound,
            ),
            (
                OperatorError::External(ExternalError::ChargeStillPaid),
                StatusCode::CONFLICT,
                Text::ExternalChargeStillPaid,
            ),
        ];
        for (e, status, text) in cases {
            let what = e.to_string();
            let answer = ApiError::from_operator(e, lang);
            assert_eq!((answer.status, answer.text), (status, text), "{what}");
        }
    }
}
