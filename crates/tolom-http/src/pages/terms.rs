//! The user agreement before paying: `GET /pay/{code}/terms` shows the
//! edition in force and "I accept"; `POST /pay/{code}/start` starts the
//! payment (its hidden key makes a double submit return the same payment)
//! or shows the page again with the error next to the checkbox.

use std::borrow::Cow;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tolom_core::charge::NotPayable;
use tolom_core::code::PaymentCode;
use tolom_core::errors::StartPaymentError;
use tolom_core::i18n::{text_with, ErrorCode, FluentArgs, Text};
use tolom_core::terms::TermsEdition;
use tolom_core::time::to_bishkek;
use tolom_core::usecases::StartPayment;

use crate::errors::status_of;
use crate::pages::agreement::{agreement_html, AgreementHtml};
use crate::pages::error::{
    error_page, error_page_with, failure_page, not_found_page, rate_limited_page,
};
use crate::pages::extract::CsrfForm;
use crate::pages::flow::{continue_at, to_code_page};
use crate::pages::layout::{Layout, Page, Problem};
use crate::security::{random_key, started_here, started_proof, Ctx, STARTED_COOKIE};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "terms.html")]
struct TermsPage<'a> {
    layout: Layout<'a>,
    csrf: &'a str,
    /// A fresh idempotency key for the start.
    key: String,
    code: PaymentCode,
    terms: &'a TermsEdition,
    agreement: AgreementHtml,
    error: Option<Cow<'static, str>>,
    problems: Vec<Problem>,
}

impl Page for TermsPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// `GET /pay/{code}/terms`.
pub(crate) async fn terms(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Response {
    show(&state, &ctx, &code, None).await
}

/// The page, with the error of a refused start.
async fn show(state: &AppState, ctx: &Ctx, code: &str, error: Option<Text>) -> Response {
    let Ok(code) = state.tolom.config().code_format.parse(code) else {
        return not_found_page(state, ctx);
    };
    let terms = match state.tolom.terms_in_force().await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "terms");
            return error_page(state, ctx, Text::ServiceUnavailable, "/");
        }
    };
    let layout = Layout::new(
        state,
        ctx,
        Text::TermsHeading,
        format!("/pay/{}/terms", code.as_str()),
    );
    let message = error.map(|e| layout.t(e));
    TermsPage {
        csrf: &ctx.csrf,
        key: random_key(),
        code,
        terms: &terms,
        agreement: agreement_html(terms.text(ctx.lang)),
        problems: message
            .iter()
            .map(|m| Problem {
                field: "accept",
                message: m.clone(),
            })
            .collect(),
        error: message,
        layout,
    }
    .respond(error.map_or(StatusCode::OK, status_of))
}

/// The agreement form's fields.
#[derive(Deserialize)]
pub(crate) struct StartForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    terms: String,
    #[serde(default)]
    accept: Option<String>,
}

/// `POST /pay/{code}/start`, rate-limited per client together with the
/// look-ups (`429 request.rate_limited` with `Retry-After`). A payment in
/// progress for the code is the payer's own when this browser started it
/// (the `tolom_started` cookie): they are sent on to it. Otherwise the code
/// is held by another payment and the page says when to try again.
pub(crate) async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm<StartForm>,
) -> Response {
    let here = match state.tolom.config().code_format.parse(&code) {
        Ok(code) => format!("/pay/{}/terms", code.as_str()),
        Err(_) => "/".to_string(),
    };
    // A start tells whether the code exists (and holds it): limited with
    // the look-ups, per client.
    if let Err(wait) = state.limiter.check(ctx.ip) {
        return rate_limited_page(&state, &ctx, wait, &here);
    }
    let accepted = form
        .accept
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(|_| form.terms.as_str());
    let result = state
        .tolom
        .start_payment(StartPayment {
            code: &code,
            accepted_terms: accepted,
            idempotency_key: &form.key,
            language: ctx.lang,
        })
        .await;
    match result {
        Ok(p) => {
            let mut resp = continue_at(&p);
            let proof = started_proof(&state.config.secret, &ctx.csrf, &p.id().to_string());
            let secure = if state.config.secure_cookies {
                "; Secure"
            } else {
                ""
            };
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{STARTED_COOKIE}={proof}; Path=/; HttpOnly; SameSite=Lax{secure}"
            )) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(
            e @ (StartPaymentError::TermsNotAccepted | StartPaymentError::TermsOutdated { .. }),
        ) => show(&state, &ctx, &code, Some(e.text())).await,
        // Paid meanwhile (another tab, another payer): the code's page says
        // so, and offers the receipt.
        Err(StartPaymentError::NotPayable(NotPayable::AlreadyPaid)) => {
            match state.tolom.config().code_format.parse(&code) {
                Ok(c) => to_code_page(&c),
                Err(_) => not_found_page(&state, &ctx),
            }
        }
        Err(StartPaymentError::InProgress {
            payment_id,
            retry_after,
        }) => {
            if started_here(
                &headers,
                &state.config.secret,
                &ctx.csrf,
                &payment_id.to_string(),
            ) {
                if let Ok(p) = state.tolom.payment(payment_id).await {
                    return continue_at(&p);
                }
            }
            let detail = retry_after.map(|at| {
                let mut args = FluentArgs::new();
                args.set("time", to_bishkek(at).format("%H:%M").to_string());
                text_with(Text::ChargeTryAgainAfter, ctx.lang, &args).into_owned()
            });
            error_page_with(&state, &ctx, Text::ChargePaymentInProgress, detail, &here)
        }
        Err(e) => failure_page(&state, &ctx, &e, &here),
    }
}
