//! Receipts: `GET /payments/{id}/receipt` and `GET /receipts/verify`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tolom_core::i18n::{text, Text};

use crate::api::error::ApiError;
use crate::api::extract::PaymentId;
use crate::facts::receipt_json;
use crate::security::Ctx;
use crate::state::AppState;

/// `GET /payments/{id}/receipt`: the signed receipt with its verification
/// link.
pub(crate) async fn receipt(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
) -> Result<Json<Value>, ApiError> {
    let r = state
        .tolom
        .receipt(id)
        .await
        .map_err(ApiError::of(ctx.lang))?;
    Ok(Json(receipt_json(&state.config.public_url, &r)))
}

#[derive(Deserialize)]
pub(crate) struct VerifyQuery {
    #[serde(default)]
    number: String,
    #[serde(default)]
    signature: String,
}

/// `GET /receipts/verify?number=&signature=`.
pub(crate) async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Ok(Query(q)) = query else {
        return Err(ApiError::new(Text::RequestInvalid, ctx.lang));
    };
    if q.number.trim().is_empty() || q.signature.trim().is_empty() {
        return Err(ApiError::new(Text::RequestInvalid, ctx.lang));
    }
    let found = state
        .tolom
        .verify_receipt(&q.number, &q.signature)
        .await
        .map_err(ApiError::of(ctx.lang))?;
    Ok(Json(match found {
        Some(r) => json!({
            "genuine": true,
            "message": text(Text::VerifyGenuine, ctx.lang),
            "receipt": receipt_json(&state.config.public_url, &r),
        }),
        None => json!({
            "genuine": false,
            "message": text(Text::VerifyNotGenuine, ctx.lang),
            "receipt": null,
        }),
    }))
}
