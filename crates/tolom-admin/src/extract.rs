//! The JSON body and the query string of admin requests, refused with the
//! API's own error shape (a stable code) instead of axum's plain-text
//! rejections: a value that does not fit its field (a `valid_days` of
//! 10^12, a `limit` above `usize`) is `422 request.invalid`, a body that is
//! not JSON `415 request.unsupported_media_type`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use tolom_core::i18n::Text;

use crate::auth::language;
use crate::error::ApiError;

/// A JSON body (`Content-Type: application/json`).
#[derive(Debug)]
pub(crate) struct Body<T>(pub(crate) T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let lang = language(req.headers());
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Text::RequestUnsupportedMediaType,
                lang,
            )),
            Err(e) => Err(ApiError::invalid(lang, e.body_text())),
        }
    }
}

/// A query string.
#[derive(Debug)]
pub(crate) struct Params<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lang = language(&parts.headers);
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e: QueryRejection| ApiError::invalid(lang, e.body_text()))
    }
}
