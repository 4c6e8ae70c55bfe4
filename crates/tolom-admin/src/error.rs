//! One answer for every error: `{"error": {"code", "message", "detail"?}}`
//! with the status the error's kind calls for.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tolom_core::errors::{IssueError, LookupError, QueryError, RefundError};
use tolom_core::i18n::{ErrorCode, Language};
use tolom_core::ports::StoreError;
use tolom_core::usecases::OperatorError;

/// An error answer in the caller's language.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: Option<String>,
    lang: Language,
}

impl ApiError {
    /// An answer with this status and stable code.
    pub fn new(status: StatusCode, code: &'static str, lang: Language) -> ApiError {
        ApiError {
            status,
            code,
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
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid", lang).detail(detail)
    }

    /// The answer to an operator use case's error.
    pub fn from_operator(e: OperatorError, lang: Language) -> ApiError {
        let code = e.code();
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
            | OperatorError::Store(s) => store_status(s),
            OperatorError::Lookup(LookupError::Store(_)) => {
                return ApiError::new(StatusCode::CONFLICT, "request.invalid", lang)
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
            "code": self.code,
            "message": tolom_core::i18n::message(self.code, self.lang),
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
