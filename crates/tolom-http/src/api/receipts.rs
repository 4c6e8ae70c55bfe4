//! Receipts: `GET /payments/{id}/receipt`, receipt checks (`GET` and
//! `POST /receipts/verify`, by key id against the key ring) and the key
//! ring itself (`GET /receipts/keys`, for agencies that verify offline).

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tolom_core::i18n::{text, ErrorCode, Language, Text};
use tolom_core::usecases::{ReceiptCheck, ReceiptClaim};

use crate::api::error::ApiError;
use crate::api::extract::PaymentId;
use crate::api::formats;
use crate::facts::receipt_json;
use crate::security::Ctx;
use crate::state::AppState;

/// `GET /payments/{id}/receipt`: the signed receipt with its signed
/// content and verification link.
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
    key_id: String,
    #[serde(default)]
    signature: String,
}

/// `GET /receipts/verify?number=&key_id=&signature=` (`key_id` optional:
/// without it every key of the ring is tried), each in its documented
/// form ([`formats`]), else `400 request.invalid`. A well-formed reference
/// that is not genuine is a `200` with `genuine: false` and the reason.
pub(crate) async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Ok(Query(q)) = query else {
        return Err(ApiError::new(Text::RequestInvalid, ctx.lang));
    };
    if !formats::receipt_number().accepts(&q.number)
        || !formats::key_id().accepts(&q.key_id)
        || !formats::signature().accepts(&q.signature)
    {
        return Err(ApiError::new(Text::RequestInvalid, ctx.lang));
    }
    let claim = ReceiptClaim::Reference {
        number: q.number,
        key_id: Some(q.key_id).filter(|k| !k.trim().is_empty()),
        signature: q.signature,
    };
    answer(&state, ctx.lang, &claim).await
}

/// The body of `POST /receipts/verify`: a receipt's signed content and
/// signature — the receipt's JSON as served has both (its other fields are
/// ignored: only what is signed counts) — or its number, key id and
/// signature. Public for `tolom-fuzz` only, through [`crate::fuzzing`].
#[derive(Deserialize)]
pub struct VerifyBody {
    /// The receipt's signed content.
    #[serde(default)]
    pub signed_content: Option<String>,
    /// The receipt number.
    #[serde(default)]
    pub number: Option<String>,
    /// The key id.
    #[serde(default)]
    pub key_id: Option<String>,
    /// The signature (base64url).
    #[serde(default)]
    pub signature: String,
}

/// `POST /receipts/verify` (`application/json`): every field given in
/// its documented form ([`formats`]), else `400 request.invalid`.
pub(crate) async fn verify_posted(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(Text::RequestUnsupportedMediaType, ctx.lang));
    }
    let b: VerifyBody = crate::api::extract::parse(&body, ctx.lang)?;
    let has = |value: &Option<String>, format: formats::Format| {
        value.as_deref().is_none_or(|v| format.accepts(v))
    };
    if !formats::signature().accepts(&b.signature)
        || !has(&b.signed_content, formats::signed_content())
        || !has(&b.number, formats::receipt_number())
        || !has(&b.key_id, formats::key_id())
    {
        return Err(ApiError::new(Text::RequestInvalid, ctx.lang));
    }
    let claim = match (b.signed_content, b.number) {
        (Some(content), _) if !content.trim().is_empty() => ReceiptClaim::Content {
            content,
            signature: b.signature,
        },
        (_, Some(number)) if !number.trim().is_empty() => ReceiptClaim::Reference {
            number,
            key_id: b.key_id.filter(|k| !k.trim().is_empty()),
            signature: b.signature,
        },
        _ => return Err(ApiError::new(Text::RequestInvalid, ctx.lang)),
    };
    answer(&state, ctx.lang, &claim).await
}

/// The answer to a check: `{genuine, message, reason, receipt, key,
/// status_now}`.
async fn answer(
    state: &AppState,
    lang: Language,
    claim: &ReceiptClaim,
) -> Result<Json<Value>, ApiError> {
    let check = state
        .tolom
        .check_receipt(claim)
        .await
        .map_err(ApiError::of(lang))?;
    Ok(Json(match check {
        ReceiptCheck::Genuine(g) => json!({
            "genuine": true,
            "message": text(Text::VerifyGenuine, lang),
            "reason": null,
            "receipt": receipt_json(&state.config.public_url, &g.receipt),
            "key": {
                "key_id": g.key.key_id(),
                "valid_from": g.key.valid_from(),
                "valid_until": g.key.valid_until(),
            },
            "status_now": g.status_now.map(|s| s.as_str()),
        }),
        ReceiptCheck::NotGenuine(why) => json!({
            "genuine": false,
            "message": text(Text::VerifyNotGenuine, lang),
            "reason": {"code": why.code(), "message": why.message(lang)},
            "receipt": null,
        }),
    }))
}

/// `GET /receipts/keys`: the public key ring (current and retired keys
/// with their validity periods), for agencies that verify offline.
pub(crate) async fn keys(State(state): State<AppState>) -> Json<Value> {
    Json(state.tolom.key_ring().to_json())
}
