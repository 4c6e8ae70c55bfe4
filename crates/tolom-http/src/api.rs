//! The JSON API under `/api/v1/`.
//!
//! Errors are `{"error": {"code": "...", "message": "...", "fields": [...]}}`
//! with a stable code and a message in the request's language (`?lang=`,
//! else `Accept-Language`, else Kyrgyz). `POST` requests must be
//! `application/json` and may carry an `Idempotency-Key` header: the same
//! key with the same body returns the same answer; with another body, 409.

use std::collections::BTreeMap;
use std::future::Future;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tolom_core::card::CardForm;
use tolom_core::errors::SubmitCardError;
use tolom_core::i18n::{text, ErrorCode, Language, Text};
use tolom_core::money::Money;
use tolom_core::payment::{Challenge, ChallengeResponse, Payment};
use tolom_core::receipt::Receipt;
use tolom_core::usecases::{ChargeView, StartPayment};
use uuid::Uuid;

use crate::security::{fingerprint, random_key, Begin, Ctx};
use crate::AppState;

/// The HTTP status of an error text.
pub fn status_for(error: Text) -> StatusCode {
    match error {
        Text::CodeNotFound
        | Text::PaymentNotFound
        | Text::ReceiptNotAvailable
        | Text::RequestNotFound => StatusCode::NOT_FOUND,
        Text::TermsOutdated
        | Text::IdempotencyKeyReused
        | Text::IdempotencyInProgress
        | Text::PaymentAlreadySubmitted
        | Text::PaymentNotAwaitingChallenge
        | Text::ChargePaymentInProgress
        | Text::ChargeAlreadyPaid
        | Text::ChargeCancelled
        | Text::ChargeExpired => StatusCode::CONFLICT,
        Text::PaymentExpired => StatusCode::GONE,
        Text::RequestRateLimited => StatusCode::TOO_MANY_REQUESTS,
        Text::RequestCsrf => StatusCode::FORBIDDEN,
        Text::RequestUnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Text::RequestInvalid | Text::IdempotencyKeyInvalid => StatusCode::BAD_REQUEST,
        Text::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Text::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        // Input the payer can correct: the code, the card form, the agreement.
        e if ["code.", "card.", "contact.", "terms."]
            .iter()
            .any(|family| e.code().starts_with(family)) =>
        {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => StatusCode::BAD_REQUEST,
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

/// The routes, to nest under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/charges/{code}", get(look_up))
        .route("/payments", post(start_payment))
        .route("/payments/{id}", get(payment))
        .route("/payments/{id}/card", post(submit_card))
        .route("/payments/{id}/challenge", post(challenge))
        .route("/payments/{id}/receipt", get(receipt))
        .route("/services", get(services))
        .route("/terms", get(terms))
        .route("/receipts/verify", get(verify))
        .route("/openapi.json", get(openapi))
        .fallback(api_not_found)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(value).unwrap_or_default(),
    )
        .into_response()
}

/// The error body of an error text: its code and its message in `lang`.
pub fn error_body(error: Text, lang: Language) -> Value {
    json!({"error": {"code": error.code(), "message": text(error, lang), "fields": []}})
}

fn error(e: Text, lang: Language) -> (StatusCode, Value) {
    (status_for(e), error_body(e, lang))
}

fn log_internal(e: &dyn std::fmt::Display, t: Text) {
    if matches!(t, Text::InternalError | Text::ServiceUnavailable) {
        tracing::error!(error = %e, code = t.code(), "api request failed");
    }
}

fn amount(m: Money) -> String {
    m.amount().to_string()
}

/// A look-up as JSON.
pub fn charge_json(view: &ChargeView, lang: Language) -> Value {
    let total = view.amount.checked_add(view.fee).unwrap_or(view.amount);
    json!({
        "code": view.code.as_str(),
        "code_grouped": view.code.grouped(),
        "service": view.service,
        "service_name": view.service_name.get(lang),
        "tariff": view.tariff.as_ref().map(|t| json!({"urgency": t.urgency, "name": t.name.get(lang)})),
        "payer": view.payer,
        "amount": amount(view.amount),
        "fee": amount(view.fee),
        "total": amount(total),
        "currency": view.amount.currency().to_string(),
        "status": view.status.as_str(),
        "status_text": text(view.status.text(), lang),
        "payable": view.not_payable.is_none(),
        "not_payable": view.not_payable.map(|t| json!({"code": t.code(), "message": text(t, lang)})),
        "expires_at": view.expires_at,
    })
}

/// A payment as JSON (no contact details, no idempotency keys).
pub fn payment_json(p: &Payment, lang: Language) -> Value {
    let challenge = p.challenge().as_ref().map(|c| match c {
        Challenge::Otp { hint } => json!({"kind": "otp", "hint": hint}),
        Challenge::Redirect {
            url,
            method,
            fields,
        } => json!({"kind": "redirect", "url": url, "method": method, "fields": fields}),
    });
    let decline = p
        .decline_reason()
        .map(|r| json!({"code": r.code(), "message": r.message(lang)}));
    // The stored code as it is, with the message of its text (the generic
    // one for a code without a text).
    let failure = failure_text(p).map(|t| json!({"code": p.failure(), "message": text(t, lang)}));
    let base = format!("/api/v1/payments/{}", p.id());
    json!({
        "id": p.id(),
        "state": p.state().as_str(),
        "state_text": text(p.state().text(), lang),
        "code": p.code().as_str(),
        "service": p.service(),
        "amount": amount(p.amount()),
        "fee": amount(p.fee()),
        "total": amount(p.total()),
        "currency": p.total().currency().to_string(),
        "created_at": p.created_at(),
        "expires_at": p.expires_at(),
        "terms_edition": p.terms_edition(),
        "card": p.card().as_ref().map(|c| json!({"masked_pan": c.masked_pan.as_str(), "brand": c.brand.name()})),
        "challenge": challenge,
        "decline": decline,
        "failure": failure,
        "receipt_number": p.receipt_number(),
        "links": {
            "self": base,
            "card": format!("{base}/card"),
            "challenge": format!("{base}/challenge"),
            "receipt": format!("{base}/receipt"),
            "receipt_page": format!("/payments/{}/receipt", p.id()),
        },
    })
}

/// The verification link of a receipt.
pub fn verify_url(state: &AppState, r: &Receipt) -> String {
    format!(
        "{}/verify?n={}&s={}",
        state.config.public_url,
        crate::html::qv(&r.number),
        crate::html::qv(&r.signature)
    )
}

/// A receipt as JSON: the core's receipt plus its verification link.
pub fn receipt_json(state: &AppState, r: &Receipt) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("verify_url".into(), Value::String(verify_url(state, r)));
    }
    v
}

async fn look_up(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(code): Path<String>,
) -> Response {
    if let Err(wait) = state.limiter.check(ctx.ip) {
        let mut resp = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            &error_body(Text::RequestRateLimited, ctx.lang),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    match state.tolom.look_up(&code).await {
        Ok(view) => json_response(StatusCode::OK, &charge_json(&view, ctx.lang)),
        Err(e) => {
            log_internal(&e, e.text());
            let (s, v) = error(e.text(), ctx.lang);
            json_response(s, &v)
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false)
}

/// Runs a `POST` under the idempotency rules. `run` gets the key to hand to
/// the core (the header's, or a fresh one).
async fn idempotent<F, Fut>(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    scope: &str,
    body: &Bytes,
    run: F,
) -> Response
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = (StatusCode, Value)>,
{
    if !is_json(headers) {
        let (s, v) = error(Text::RequestUnsupportedMediaType, ctx.lang);
        return json_response(s, &v);
    }
    let Some(key) = headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_string))
    else {
        let (s, v) = run(random_key()).await;
        return json_response(s, &v);
    };
    let Ok(key) = key else {
        let (s, v) = error(Text::IdempotencyKeyInvalid, ctx.lang);
        return json_response(s, &v);
    };
    if key.is_empty() || key.len() > 128 {
        let (s, v) = error(Text::IdempotencyKeyInvalid, ctx.lang);
        return json_response(s, &v);
    }
    let scoped = format!("{scope}\n{key}");
    let fp = fingerprint(&state.config.secret, body);
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
        Begin::Mismatch => {
            let (s, v) = error(Text::IdempotencyKeyReused, ctx.lang);
            json_response(s, &v)
        }
        Begin::InProgress => {
            let (s, v) = error(Text::IdempotencyInProgress, ctx.lang);
            json_response(s, &v)
        }
        Begin::Fresh => {
            let (status, value) = run(key).await;
            let bytes = serde_json::to_vec(&value).unwrap_or_default();
            let keep = !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS);
            state
                .idempotency
                .finish(&scoped, fp, keep.then(|| (status.as_u16(), bytes.clone())));
            (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
    }
}

#[derive(Deserialize)]
struct StartBody {
    code: String,
    #[serde(default)]
    accepted_terms: Option<String>,
    #[serde(default)]
    language: Option<Language>,
}

async fn start_payment(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let st = state.clone();
    let lang = ctx.lang;
    let owned = body.clone();
    idempotent(
        &state,
        &ctx,
        &headers,
        "POST /payments",
        &body,
        |key| async move {
            let Ok(req) = serde_json::from_slice::<StartBody>(&owned) else {
                return error(Text::RequestInvalid, lang);
            };
            let result = st
                .tolom
                .start_payment(StartPayment {
                    code: &req.code,
                    accepted_terms: req.accepted_terms.as_deref(),
                    idempotency_key: &key,
                    language: req.language.unwrap_or(lang),
                })
                .await;
            match result {
                Ok(p) => (StatusCode::CREATED, payment_json(&p, lang)),
                Err(e) => {
                    log_internal(&e, e.text());
                    error(e.text(), lang)
                }
            }
        },
    )
    .await
}

fn parse_uuid(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

async fn payment(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = parse_uuid(&id) else {
        let (s, v) = error(Text::PaymentNotFound, ctx.lang);
        return json_response(s, &v);
    };
    match state.tolom.payment(id).await {
        Ok(p) => json_response(StatusCode::OK, &payment_json(&p, ctx.lang)),
        Err(e) => {
            log_internal(&e, e.text());
            let (s, v) = error(e.text(), ctx.lang);
            json_response(s, &v)
        }
    }
}

async fn submit_card(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = ctx.lang;
    let Some(id) = parse_uuid(&id) else {
        let (s, v) = error(Text::PaymentNotFound, lang);
        return json_response(s, &v);
    };
    let st = state.clone();
    let scope = format!("POST /payments/{id}/card");
    let owned = body.clone();
    idempotent(&state, &ctx, &headers, &scope, &body, |key| async move {
        // Never echo the body: a parse error says only "invalid request".
        let Ok(form) = serde_json::from_slice::<CardForm>(&owned) else {
            return error(Text::RequestInvalid, lang);
        };
        match st.tolom.submit_card(id, &form, &key).await {
            Ok(p) => (StatusCode::OK, payment_json(&p, lang)),
            Err(SubmitCardError::Invalid(errors)) => {
                let fields: Vec<Value> = errors
                    .0
                    .iter()
                    .map(|fe| {
                        json!({"field": fe.field.name(), "code": fe.code(), "message": fe.message(lang)})
                    })
                    .collect();
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"error": {"code": errors.code(), "message": errors.message(lang), "fields": fields}}),
                )
            }
            Err(e) => {
                log_internal(&e, e.text());
                error(e.text(), lang)
            }
        }
    })
    .await
}

#[derive(Deserialize)]
struct ChallengeBody {
    #[serde(default)]
    otp: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

async fn challenge(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = ctx.lang;
    let Some(id) = parse_uuid(&id) else {
        let (s, v) = error(Text::PaymentNotFound, lang);
        return json_response(s, &v);
    };
    let st = state.clone();
    let scope = format!("POST /payments/{id}/challenge");
    let owned = body.clone();
    idempotent(&state, &ctx, &headers, &scope, &body, |_key| async move {
        let Ok(req) = serde_json::from_slice::<ChallengeBody>(&owned) else {
            return error(Text::RequestInvalid, lang);
        };
        let mut response = ChallengeResponse { fields: req.fields };
        if let Some(otp) = req.otp {
            response.fields.insert("otp".into(), otp.trim().to_string());
        }
        match st.tolom.complete_challenge(id, &response).await {
            Ok(p) => (StatusCode::OK, payment_json(&p, lang)),
            Err(e) => {
                log_internal(&e, e.text());
                error(e.text(), lang)
            }
        }
    })
    .await
}

async fn receipt(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = parse_uuid(&id) else {
        let (s, v) = error(Text::PaymentNotFound, ctx.lang);
        return json_response(s, &v);
    };
    match state.tolom.receipt(id).await {
        Ok(r) => json_response(StatusCode::OK, &receipt_json(&state, &r)),
        Err(e) => {
            log_internal(&e, e.text());
            let (s, v) = error(e.text(), ctx.lang);
            json_response(s, &v)
        }
    }
}

async fn services(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    let catalogue = &state.tolom.config().catalogue;
    let list: Vec<Value> = catalogue
        .services()
        .iter()
        .map(|s| {
            let tariffs: Vec<Value> = catalogue
                .tariffs_of(&s.id)
                .filter(|t| t.published)
                .map(|t| {
                    json!({
                        "urgency": t.urgency,
                        "name": t.name.get(ctx.lang),
                        "total": t.total().map(amount).ok(),
                        "components": t.components.iter().map(|c| json!({"label": c.label.get(ctx.lang), "amount": c.amount.to_string()})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({"id": s.id, "name": s.name.get(ctx.lang), "names": s.name, "tariffs": tariffs})
        })
        .collect();
    json_response(StatusCode::OK, &json!({"services": list}))
}

async fn terms(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    match (
        state.tolom.terms_in_force().await,
        state.tolom.terms_editions().await,
    ) {
        (Ok(current), Ok(editions)) => {
            let list: Vec<Value> = editions
                .iter()
                .map(|e| json!({"id": e.id, "effective_at": e.effective_at, "last_changed": e.last_changed, "in_force": e.id == current.id}))
                .collect();
            json_response(
                StatusCode::OK,
                &json!({
                    "in_force": {
                        "id": current.id,
                        "effective_at": current.effective_at,
                        "last_changed": current.last_changed,
                        "language": ctx.lang,
                        "text": current.text(ctx.lang),
                    },
                    "editions": list,
                }),
            )
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "terms");
            let (s, v) = error(Text::ServiceUnavailable, ctx.lang);
            json_response(s, &v)
        }
    }
}

#[derive(Deserialize)]
struct VerifyQuery {
    #[serde(default)]
    number: String,
    #[serde(default)]
    signature: String,
}

async fn verify(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<VerifyQuery>,
) -> Response {
    if q.number.trim().is_empty() || q.signature.trim().is_empty() {
        let (s, v) = error(Text::RequestInvalid, ctx.lang);
        return json_response(s, &v);
    }
    match state.tolom.verify_receipt(&q.number, &q.signature).await {
        Ok(Some(r)) => json_response(
            StatusCode::OK,
            &json!({"genuine": true, "message": text(Text::VerifyGenuine, ctx.lang), "receipt": receipt_json(&state, &r)}),
        ),
        Ok(None) => json_response(
            StatusCode::OK,
            &json!({"genuine": false, "message": text(Text::VerifyNotGenuine, ctx.lang), "receipt": null}),
        ),
        Err(e) => {
            log_internal(&e, e.text());
            let (s, v) = error(e.text(), ctx.lang);
            json_response(s, &v)
        }
    }
}

async fn openapi() -> Response {
    json_response(StatusCode::OK, &crate::openapi::document())
}

async fn api_not_found(Extension(ctx): Extension<Ctx>) -> Response {
    let (s, v) = error(Text::RequestNotFound, ctx.lang);
    json_response(s, &v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use tolom_core::code::PaymentCode;
    use tolom_core::payment::NewPayment;

    #[test]
    fn error_bodies_carry_the_code_and_message_of_their_text() {
        for error in Text::ALL.into_iter().filter(|t| t.file() == "errors.ftl") {
            for lang in Language::ALL {
                let body = error_body(error, lang);
                assert_eq!(body["error"]["code"], error.code());
                assert_eq!(body["error"]["message"], &*text(error, lang));
            }
        }
        // The portal's own codes are texts like every other.
        for own in [
            Text::IdempotencyInProgress,
            Text::RequestNotFound,
            Text::RequestUnsupportedMediaType,
        ] {
            let body = error_body(own, Language::Ru);
            let message = body["error"]["message"].as_str().unwrap_or("");
            assert!(message.chars().any(|c| ('а'..='я').contains(&c)), "{own:?}");
        }
    }

    #[test]
    fn statuses_follow_the_error() {
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
            (Text::InternalError, StatusCode::INTERNAL_SERVER_ERROR),
            (Text::DeclineOther, StatusCode::BAD_REQUEST),
        ] {
            assert_eq!(status_for(error), status, "{error:?}");
        }
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
        p.failure = Some("payment.acquirer_unavailable".into());
        assert_eq!(failure_text(&p), Some(Text::PaymentAcquirerUnavailable));
        // Written by another version, or by hand.
        p.failure = Some("acquirer.gone_away".into());
        assert_eq!(failure_text(&p), Some(Text::PaymentFailureUnknown));
        let json = payment_json(&p, Language::En);
        assert_eq!(json["failure"]["code"], "acquirer.gone_away");
        assert_eq!(
            json["failure"]["message"],
            "The payment could not be completed."
        );
    }
}
