//! The look-up: `POST /lookup` from the code form checks that the text is a
//! payment code (format, prefix, check digit — no storage read) and answers
//! `303 See Other` to `GET /pay/{code}`, the look-up result: what the code
//! is for, the payer's masked name, the amount and the status, at an
//! address the payer can reload, bookmark or share without a "resubmit the
//! form?" question. `GET /pay/{code}` is the look-up, so it is what is
//! rate-limited per client; a code that cannot be looked up shows the code
//! form again with the error.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tolom_core::i18n::{ErrorCode, Text};
use tolom_core::time::format_bishkek;
use tolom_core::usecases::ChargeView;

use crate::errors::{log_if_ours, status_of};
use crate::facts::money;
use crate::pages::extract::CsrfForm;
use crate::pages::home::HomePage;
use crate::pages::layout::{Layout, Page};
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
    show(&state, &ctx, &code).await
}

async fn show(state: &AppState, ctx: &Ctx, input: &str) -> Response {
    if let Err(wait) = state.limiter.check(ctx.ip) {
        let mut resp = HomePage::new(state, ctx, input, Some(Text::RequestRateLimited))
            .respond(StatusCode::TOO_MANY_REQUESTS);
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    match state.tolom.look_up(input).await {
        Ok(view) => {
            let total = view.amount.checked_add(view.fee).unwrap_or(view.amount);
            ChargePage {
                layout: Layout::new(
                    state,
                    ctx,
                    Text::ChargeHeading,
                    format!("/pay/{}", view.code.as_str()),
                ),
                amount: money(view.amount),
                fee: money(view.fee),
                total: money(total),
                expires: format_bishkek(view.expires_at),
                view: &view,
            }
            .respond(StatusCode::OK)
        }
        Err(e) => {
            log_if_ours(&e, e.text());
            HomePage::new(state, ctx, input, Some(e.text())).respond(status_of(e.text()))
        }
    }
}
