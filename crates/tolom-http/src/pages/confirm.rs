//! The one-time code: `GET /payments/{id}/confirm` asks for it (or, when
//! the bank wants its own page, sends the payer there), `POST` sends it.

use std::borrow::Cow;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tolom_core::i18n::{Language, Text};
use tolom_core::payment::{Challenge, ChallengeResponse, Payment, PaymentState};
use uuid::Uuid;

use crate::pages::extract::{CsrfForm, PaymentId};
use crate::pages::flow::{challenge_failed, complete_challenge, continue_at, load};
use crate::pages::layout::{Field, Layout, Page, PaymentFacts, Problem};
use crate::pages::{redirect, status};
use crate::security::Ctx;
use crate::state::AppState;

/// The most characters of the one-time code field (banks send 4 to 8
/// digits).
const OTP_MAX_CHARS: usize = 12;

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    layout: Layout<'a>,
    id: Uuid,
    facts: PaymentFacts,
    csrf: &'a str,
    otp: Field<'a>,
    problems: Vec<Problem>,
}

impl Page for ConfirmPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// The page of payment `p` awaiting a challenge: the code form, with
/// `error`, or the way to the bank's page.
fn show(state: &AppState, ctx: &Ctx, p: &Payment, error: Option<Text>) -> Response {
    if let Some(Challenge::Redirect {
        url,
        method,
        fields,
    }) = p.challenge()
    {
        return redirect::to_bank(state, ctx, p, url, method, fields);
    }
    let layout = Layout::new(
        state,
        ctx,
        Text::ConfirmHeading,
        format!("/payments/{}/confirm", p.id()),
    );
    // The bank's hint ("sent by SMS to +996 *** ** 56") is in English only.
    let hint = match p.challenge() {
        Some(Challenge::Otp { hint: Some(h) }) if ctx.lang == Language::En => {
            Some(Cow::Owned(h.clone()))
        }
        _ => None,
    };
    let otp = Field::new(ctx.lang, "otp", Text::ConfirmOtp)
        .hint(hint)
        .error(error.map(|e| layout.t(e)))
        .short(OTP_MAX_CHARS);
    ConfirmPage {
        id: p.id(),
        facts: PaymentFacts::of(p),
        csrf: &ctx.csrf,
        problems: Problem::of(&[&otp]),
        otp,
        layout,
    }
    .respond(if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    })
}

/// `GET /payments/{id}/confirm`: "already paid" with the receipt link for a
/// paid payment (the address reached again with Back); any other payment
/// not awaiting a challenge goes where it continues.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
) -> Response {
    let p = match load(&state, &ctx, id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    if p.state().is_paid() {
        return status::page(&state, &ctx, &p, Some(Text::ChargeAlreadyPaid)).await;
    }
    if p.state() != PaymentState::ActionRequired {
        return continue_at(&p);
    }
    show(&state, &ctx, &p, None)
}

/// The code form's fields.
#[derive(Deserialize)]
pub(crate) struct OtpForm {
    #[serde(default)]
    otp: String,
}

/// `POST /payments/{id}/confirm`: an empty code is asked for again, never
/// sent to the bank. A code the bank did not accept, when the bank asks for
/// the code again (its attempts are not used up), is the same page with
/// "the code was not accepted" (422): the payer types it again without
/// typing the card again. When the bank's attempts are used up it declines
/// the payment, and the payer sees its status.
pub(crate) async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
    CsrfForm(form): CsrfForm<OtpForm>,
) -> Response {
    let otp = form.otp.trim();
    let p = match load(&state, &ctx, id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let asked_otp = p.state() == PaymentState::ActionRequired
        && matches!(p.challenge(), Some(Challenge::Otp { .. }));
    if otp.is_empty() && asked_otp {
        return show(&state, &ctx, &p, Some(Text::PaymentOtpRequired));
    }
    if !asked_otp {
        return complete_challenge(&state, &ctx, id, ChallengeResponse::otp(otp)).await;
    }
    match state
        .tolom
        .complete_challenge(id, &ChallengeResponse::otp(otp))
        .await
    {
        // Asked again for the code: the one sent was not accepted.
        Ok(after)
            if after.state() == PaymentState::ActionRequired
                && matches!(after.challenge(), Some(Challenge::Otp { .. })) =>
        {
            show(&state, &ctx, &after, Some(Text::PaymentOtpWrong))
        }
        Ok(after) => continue_at(&after),
        Err(e) => challenge_failed(&state, &ctx, id, e).await,
    }
}
