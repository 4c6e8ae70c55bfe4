//! The look-up: `POST /lookup` from the code form checks that the text is a
//! payment code (format, prefix, check digit — no storage read) and answers
//! `303 See Other` to `GET /pay/{code}`, the look-up result: what the code
//! is for, the payer's masked name, the amount and the status, at an
//! address the payer can reload, bookmark or share without a "resubmit the
//! form?" question. `GET /pay/{code}` is the look-up, so it is what is
//! rate-limited per client; a code that cannot be looked up shows the code
//! form again with the error.
//!
//! A **paid** code's page says so, and when (the paid payment's time, in
//! Bishkek time), and offers its receipt again after a light proof
//! (`POST /pay/{code}/receipt`: the e-mail address given when paying, or
//! the card's last four digits; limited with the look-ups). A code paid
//! elsewhere (a bank's app, a terminal, ELQR) says "paid on <date> via
//! <channel>" instead; its receipt is the channel's.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tolom_core::charge::ChargeStatus;
use tolom_core::errors::ReceiptProofError;
use tolom_core::i18n::{text, text_with, ErrorCode, FluentArgs, Text};
use tolom_core::time::format_bishkek;
use tolom_core::usecases::ChargeView;

use crate::errors::{log_if_ours, status_of};
use crate::facts::money;
use crate::pages::error::not_found_page;
use crate::pages::extract::CsrfForm;
use crate::pages::home::HomePage;
use crate::pages::layout::{Field, Layout, Page, Problem};
use crate::security::Ctx;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "charge.html")]
struct ChargePage<'a> {
    layout: Layout<'a>,
    view: &'a ChargeView,
    amount: String,
    fee: String,
    total: String,
    expires: String,
    /// A paid code: when, and the way back to its receipt.
    paid: Option<Paid<'a>>,
    /// The receipt form's error, for the summary.
    problems: Vec<Problem>,
}

/// What the page of a paid code adds: when it was paid, and the form that
/// opens its receipt again after a light proof.
struct Paid<'a> {
    /// When it was paid (Bishkek time), when paid by card here.
    at: Option<String>,
    /// "Paid on <date> via <channel>", when a payment made elsewhere (a
    /// bank's app, a terminal, ELQR) pays it, and the channel's id. Its
    /// receipt is the channel's: no receipt form then.
    via: Option<(String, &'static str)>,
    csrf: &'a str,
    /// The e-mail address or the card's last four digits.
    proof: Field<'a>,
}

impl Page for ChargePage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// The code form's fields. Public for `tolom-fuzz` only, through
/// [`crate::fuzzing`].
#[derive(Deserialize)]
pub struct LookupForm {
    /// The payment code as typed.
    #[serde(default)]
    pub code: String,
}

/// `POST /lookup`: `303` to `/pay/{code}` for a well-formed code (its
/// canonical digits), else the code form again with the error.
pub(crate) async fn lookup(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<LookupForm>,
) -> Response {
    match state.tolom.config().code_format.parse(&form.code) {
        Ok(code) => Redirect::to(&format!("/pay/{}", code.as_str())).into_response(),
        Err(e) => {
            let error = e.text();
            HomePage::new(&state, &ctx, &form.code, Some(error)).respond(status_of(error))
        }
    }
}

/// `GET /pay/{code}` (a look-up too, so rate-limited).
pub(crate) async fn charge(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Response {
    if let Err(wait) = state.limiter.check(ctx.ip) {
        return limited(&state, &ctx, &code, wait);
    }
    show(&state, &ctx, &code, "", None).await
}

/// "Too many attempts" on the code form, with `Retry-After`.
fn limited(state: &AppState, ctx: &Ctx, input: &str, wait: u64) -> Response {
    let mut resp = HomePage::new(state, ctx, input, Some(Text::RequestRateLimited))
        .respond(StatusCode::TOO_MANY_REQUESTS);
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The look-up of `input`: the code's page, or the code form with the
/// error. A paid code's page has the receipt form, with what was typed in
/// it (`proof`) and its error.
async fn show(
    state: &AppState,
    ctx: &Ctx,
    input: &str,
    proof: &str,
    proof_error: Option<Text>,
) -> Response {
    let view = match state.tolom.look_up(input).await {
        Ok(view) => view,
        Err(e) => {
            log_if_ours(&e, e.text());
            return HomePage::new(state, ctx, input, Some(e.text())).respond(status_of(e.text()));
        }
    };
    let total = view.amount.checked_add(view.fee).unwrap_or(view.amount);
    let paid = if view.status == ChargeStatus::Paid {
        let at = match state.tolom.paid_at(&view.code).await {
            Ok(at) => at.map(format_bishkek),
            Err(e) => {
                tracing::warn!(error = %e, "paid_at");
                None
            }
        };
        let field = Field::new(ctx.lang, "proof", Text::ReceiptAgainProof)
            .hint(Some(text(Text::ReceiptAgainHint, ctx.lang)))
            .value(proof)
            .error(proof_error.map(|e| text(e, ctx.lang)));
        let via = view.paid_via.filter(|v| v.channel.is_external()).map(|v| {
            let mut args = FluentArgs::new();
            args.set("channel", text(v.channel.text(), ctx.lang));
            args.set("date", format_bishkek(v.paid_at));
            (
                text_with(Text::ChargePaidVia, ctx.lang, &args).into_owned(),
                v.channel.as_str(),
            )
        });
        Some(Paid {
            at,
            via,
            csrf: &ctx.csrf,
            proof: field,
        })
    } else {
        None
    };
    let heading = if paid.is_some() {
        Text::ChargePaidHeading
    } else {
        Text::ChargeHeading
    };
    let status = match proof_error {
        Some(Text::ProofUnavailable) => StatusCode::CONFLICT,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    ChargePage {
        layout: Layout::new(state, ctx, heading, format!("/pay/{}", view.code.as_str())),
        amount: money(view.amount),
        fee: money(view.fee),
        total: money(total),
        expires: format_bishkek(view.expires_at),
        problems: paid
            .as_ref()
            .map_or_else(Vec::new, |p| Problem::of(&[&p.proof])),
        paid,
        view: &view,
    }
    .respond(status)
}

/// The receipt form of a paid code's page.
#[derive(Deserialize)]
pub(crate) struct ProofForm {
    #[serde(default)]
    proof: String,
}

/// `POST /pay/{code}/receipt`: the receipt of a paid code again, after a
/// light proof — the e-mail address given when paying, or the card's last
/// four digits. A match is `303` to the receipt; a wrong or malformed proof
/// is the page again with the error (422), and every try takes from the
/// look-up limit (it tells whether a code was paid), so proofs cannot be
/// guessed at speed.
pub(crate) async fn receipt(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm<ProofForm>,
) -> Response {
    if let Err(wait) = state.limiter.check(ctx.ip) {
        return limited(&state, &ctx, &code, wait);
    }
    match state.tolom.receipt_for_code(&code, &form.proof).await {
        Ok(id) => Redirect::to(&format!("/payments/{id}/receipt")).into_response(),
        Err(
            e @ (ReceiptProofError::ProofInvalid
            | ReceiptProofError::Mismatch
            | ReceiptProofError::PaidElsewhere),
        ) => show(&state, &ctx, &code, &form.proof, Some(e.text())).await,
        // Not paid (any more): the code's page says where it stands.
        Err(ReceiptProofError::NotPaid) => match state.tolom.config().code_format.parse(&code) {
            Ok(c) => Redirect::to(&format!("/pay/{}", c.as_str())).into_response(),
            Err(_) => not_found_page(&state, &ctx),
        },
        Err(e) => {
            log_if_ours(&e, e.text());
            HomePage::new(&state, &ctx, &code, Some(e.text())).respond(status_of(e.text()))
        }
    }
}
