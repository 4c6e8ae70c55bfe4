//! `/payments`: start a payment, read it, send the card, answer the
//! challenge.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tolom_core::card::CardForm;
use tolom_core::errors::StartPaymentError;
use tolom_core::errors::SubmitCardError;
use tolom_core::i18n::{text, ErrorCode, Language, Text};
use tolom_core::payment::{Challenge, ChallengeResponse, Payment};
use tolom_core::usecases::StartPayment;

use crate::api::error::ApiError;
use crate::api::extract::{parse, JsonPost, PaymentId};
use crate::api::formats;
use crate::errors::failure_text;
use crate::security::Ctx;
use crate::state::AppState;

/// A payment as JSON (no contact details, no idempotency keys).
pub fn payment_json(p: &Payment, lang: Language) -> Value {
    let challenge = p.challenge().map(|c| match c {
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
    let amount = |m: tolom_core::money::Money| m.amount().to_string();
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
        "card": p.card().map(|c| json!({"masked_pan": c.masked_pan.as_str(), "brand": c.brand.name()})),
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

/// The body of `POST /payments` (public for `tolom-fuzz` only, through
/// [`crate::fuzzing`]).
#[derive(Deserialize)]
pub struct StartBody {
    /// The payment code as typed.
    pub code: String,
    /// The agreement edition the payer accepted.
    #[serde(default)]
    pub accepted_terms: Option<String>,
    /// The payer's language.
    #[serde(default)]
    pub language: Option<Language>,
}

/// `POST /payments`, rate-limited per client together with the look-ups
/// (a start tells whether the code exists): `429 request.rate_limited`
/// with `Retry-After`, never remembered under the idempotency key.
pub(crate) async fn start_payment(
    State(state): State<AppState>,
    ctx: Ctx,
    post: JsonPost,
) -> Response {
    let lang = ctx.lang;
    let ip = ctx.ip;
    let st = state.clone();
    post.answer(&state, |body, key| async move {
        if let Err(wait) = st.limiter.check(ip) {
            return Err(ApiError::new(Text::RequestRateLimited, lang).retry_after(wait));
        }
        let req: StartBody = parse(&body, lang)?;
        formats::check_code(&st.tolom.config().code_format, &req.code)
            .map_err(|text| ApiError::new(text, lang))?;
        let p = st
            .tolom
            .start_payment(StartPayment {
                code: &req.code,
                accepted_terms: req.accepted_terms.as_deref(),
                idempotency_key: &key,
                language: req.language.unwrap_or(lang),
            })
            .await
            .map_err(|e| {
                // Another payment holds the code: 409 with when to try
                // again (the end of its card-entry window, else shortly).
                let wait = match &e {
                    StartPaymentError::InProgress { retry_after, .. } => Some(
                        retry_after
                            .map(|at| (at - st.tolom.clock().now()).num_seconds().max(1))
                            .unwrap_or(30),
                    ),
                    _ => None,
                };
                let error = ApiError::from_error(&e, lang);
                match wait.and_then(|s| u64::try_from(s).ok()) {
                    Some(seconds) => error.retry_after(seconds),
                    None => error,
                }
            })?;
        Ok((StatusCode::CREATED, payment_json(&p, lang)))
    })
    .await
}

/// `GET /payments/{id}`.
pub(crate) async fn payment(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
) -> Result<Json<Value>, ApiError> {
    let p = state
        .tolom
        .payment(id)
        .await
        .map_err(ApiError::of(ctx.lang))?;
    Ok(Json(payment_json(&p, ctx.lang)))
}

/// `POST /payments/{id}/card`: every field error at once (a field not in
/// its documented form, [`formats::card_field`], or refused by the core);
/// a decline is a 200 with the state `declined`.
pub(crate) async fn submit_card(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
    post: JsonPost,
) -> Response {
    let lang = ctx.lang;
    let st = state.clone();
    post.answer(&state, |body, key| async move {
        let form: CardForm = parse(&body, lang)?;
        // Every field in its documented form first; the core's own errors
        // of the other fields come with them, all at once.
        let misformed = formats::card_errors(&form, || {
            let tolom = &st.tolom;
            form.validate(tolom.clock().now(), &tolom.config().brands)
                .err()
        });
        if let Some(errors) = misformed {
            return Err(ApiError::invalid_card(&errors, lang));
        }
        match st.tolom.submit_card(id, &form, &key).await {
            Ok(p) => Ok((StatusCode::OK, payment_json(&p, lang))),
            Err(SubmitCardError::Invalid(errors)) => Err(ApiError::invalid_card(&errors, lang)),
            Err(e) => Err(ApiError::from_error(&e, lang)),
        }
    })
    .await
}

/// The body of `POST /payments/{id}/challenge` (public for `tolom-fuzz`
/// only, through [`crate::fuzzing`]).
#[derive(Deserialize)]
pub struct ChallengeBody {
    /// The one-time code.
    #[serde(default)]
    pub otp: Option<String>,
    /// The fields the bank posted back.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// `POST /payments/{id}/challenge`: the one-time code, or the fields the
/// bank posted back.
pub(crate) async fn challenge(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
    post: JsonPost,
) -> Response {
    let lang = ctx.lang;
    let st = state.clone();
    post.answer(&state, |body, _key| async move {
        let req: ChallengeBody = parse(&body, lang)?;
        let mut response = ChallengeResponse { fields: req.fields };
        if let Some(otp) = req.otp {
            response.fields.insert("otp".into(), otp.trim().to_string());
        }
        let p = st
            .tolom
            .complete_challenge(id, &response)
            .await
            .map_err(ApiError::of(lang))?;
        Ok((StatusCode::OK, payment_json(&p, lang)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use tolom_core::code::PaymentCode;
    use tolom_core::i18n::Text;
    use tolom_core::money::Money;
    use tolom_core::payment::NewPayment;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_stored_failure_code_without_a_text_is_shown_with_the_generic_message() {
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
        p.authorize("s".into(), None, None, "sandbox", now, now)
            .and_then(|()| p.fail(Text::PaymentAcquirerUnavailable, now))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut record = p.into_record();
        record.failure = Some("acquirer.gone_away".into());
        let p = Payment::restore(record).unwrap_or_else(|e| panic!("{e}"));
        let json = payment_json(&p, Language::En);
        assert_eq!(json["failure"]["code"], "acquirer.gone_away");
        assert_eq!(
            json["failure"]["message"],
            "The payment could not be completed."
        );
        assert_eq!(json["card"], Value::Null);
    }
}
