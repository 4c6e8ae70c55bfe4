//! `GET /charges/{code}`: look a payment code up (rate-limited per client).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use tolom_core::i18n::{text, text_with, FluentArgs, Language, Text};
use tolom_core::time::format_bishkek;
use tolom_core::usecases::ChargeView;

use crate::api::error::ApiError;
use crate::api::formats;
use crate::security::Ctx;
use crate::state::AppState;

/// A look-up as JSON: the masked payer, the amount, the status, and how a
/// paid charge was paid (`paid_via`: `card`, or the channel that reported
/// a payment made elsewhere, with the time and the sentence to show).
pub fn charge_json(view: &ChargeView, lang: Language) -> Value {
    let total = view.amount.checked_add(view.fee).unwrap_or(view.amount);
    json!({
        "code": view.code.as_str(),
        "code_grouped": view.code.grouped(),
        "service": view.service,
        "service_name": view.service_name.get(lang),
        "tariff": view.tariff.as_ref().map(|t| json!({"urgency": t.urgency, "name": t.name.get(lang)})),
        "payer": view.payer,
        "amount": view.amount.amount().to_string(),
        "fee": view.fee.amount().to_string(),
        "total": total.amount().to_string(),
        "currency": view.amount.currency().to_string(),
        "status": view.status.as_str(),
        "status_text": text(view.status.text(), lang),
        "payable": view.not_payable.is_none(),
        "not_payable": view.not_payable.map(|t| json!({"code": t.code(), "message": text(t, lang)})),
        "expires_at": view.expires_at,
        "paid_via": view.paid_via.map(|v| {
            let mut args = FluentArgs::new();
            args.set("channel", text(v.channel.text(), lang));
            args.set("date", format_bishkek(v.paid_at));
            json!({
                "channel": v.channel.as_str(),
                "channel_name": text(v.channel.text(), lang),
                "paid_at": v.paid_at,
                "text": text_with(Text::ChargePaidVia, lang, &args),
            })
        }),
    })
}

/// `GET /charges/{code}`: the code in its documented form
/// ([`formats::code`]), else `422 code.*`.
pub(crate) async fn look_up(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if let Err(wait) = state.limiter.check(ctx.ip) {
        return Err(ApiError::new(Text::RequestRateLimited, ctx.lang).retry_after(wait));
    }
    formats::check_code(&state.tolom.config().code_format, &code)
        .map_err(|text| ApiError::new(text, ctx.lang))?;
    let view = state
        .tolom
        .look_up(&code)
        .await
        .map_err(ApiError::of(ctx.lang))?;
    Ok(Json(charge_json(&view, ctx.lang)))
}
