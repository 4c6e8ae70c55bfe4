//! The server-rendered pages of the payment flow. Every form is a plain
//! HTML form with a CSRF token; no page needs JavaScript.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use tolom_core::card::{CardForm, Field as CardField, ValidationErrors};
use tolom_core::errors::{ChallengeError, StartPaymentError, SubmitCardError};
use tolom_core::i18n::{text, ErrorCode, Language, Text};
use tolom_core::money::Money;
use tolom_core::payment::{Challenge, ChallengeResponse, Payment, PaymentState};
use tolom_core::time::format_bishkek;
use tolom_core::usecases::{ChargeView, StartPayment};
use uuid::Uuid;
use zeroize::Zeroize;

use crate::api::{failure_text, status_for};
use crate::html::{agreement_html, error_summary, esc, render, Field, Page, CSS};
use crate::security::{random_key, same, Ctx};
use crate::AppState;

/// Renders a page in the layout.
pub(crate) fn page(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    title: &str,
    here: &str,
    head: &str,
    body: String,
) -> Response {
    let page = Page {
        lang: ctx.lang,
        title,
        here,
        body,
        head,
    };
    (status, Html(render(&page, &state.tolom.config().operator))).into_response()
}

/// An error page for an error text, with the right status.
pub(crate) fn error_page(state: &AppState, ctx: &Ctx, error: Text, here: &str) -> Response {
    let status = status_for(error);
    let mut body = format!(
        "<div class=\"bad\" role=\"alert\"><p data-code=\"{}\">{}</p></div>",
        esc(error.code()),
        esc(&text(error, ctx.lang))
    );
    let _ = write!(
        body,
        "<p><a href=\"/\">{}</a></p>",
        esc(&text(Text::ErrorBack, ctx.lang))
    );
    let mut resp = page(
        state,
        ctx,
        status,
        &text(Text::ErrorHeading, ctx.lang),
        here,
        "",
        body,
    );
    if error == Text::RequestRateLimited {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    resp
}

pub(crate) fn money(m: Money) -> String {
    format!("{} {}", m.grouped(), m.currency())
}

fn see_other(url: &str) -> Response {
    Redirect::to(url).into_response()
}

fn csrf_ok(ctx: &Ctx, token: &str) -> bool {
    !ctx.csrf.is_empty() && same(&ctx.csrf, token)
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        esc(name),
        esc(value)
    )
}

fn parse_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

/// Where a payment in this state continues.
pub(crate) fn next_url(p: &Payment) -> String {
    match p.state() {
        PaymentState::Created => format!("/payments/{}/card", p.id()),
        PaymentState::ActionRequired => format!("/payments/{}/confirm", p.id()),
        PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded => {
            format!("/payments/{}/receipt", p.id())
        }
        _ => format!("/payments/{}", p.id()),
    }
}

fn log_internal(e: &dyn std::fmt::Display, t: Text) {
    if matches!(t, Text::InternalError | Text::ServiceUnavailable) {
        tracing::error!(error = %e, code = t.code(), "request failed");
    }
}

// -- code entry and look-up --------------------------------------------------

fn code_form(ctx: &Ctx, value: &str, error: Option<&str>) -> String {
    let lang = ctx.lang;
    let mut body = String::new();
    if let Some(err) = error {
        body.push_str(&error_summary(lang, &[("code", err)]));
    }
    let _ = write!(
        body,
        "<p>{}</p><form method=\"post\" action=\"/lookup\" novalidate>{}{}<button type=\"submit\">{}</button></form>",
        esc(&text(Text::HomeIntro, lang)),
        hidden("csrf", &ctx.csrf),
        Field {
            name: "code",
            label: &text(Text::CodeLabel, lang),
            hint: Some(&text(Text::CodeHint, lang)),
            value,
            error,
            kind: "text",
            autocomplete: "off",
            inputmode: Some("numeric"),
        }
        .html(),
        esc(&text(Text::CodeSubmit, lang)),
    );
    body
}

/// `GET /`: the code form.
pub(crate) async fn home(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let body = code_form(&ctx, "", None);
    page(
        &state,
        &ctx,
        StatusCode::OK,
        &text(Text::HomeHeading, ctx.lang),
        "/",
        "",
        body,
    )
}

#[derive(Deserialize, Default)]
pub(crate) struct LookupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// `POST /lookup`: looks the code up and shows the charge.
pub(crate) async fn lookup(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    form: Result<Form<LookupForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(&state, &ctx, Text::RequestInvalid, "/");
    };
    if !csrf_ok(&ctx, &form.csrf) {
        return error_page(&state, &ctx, Text::RequestCsrf, "/");
    }
    show_charge(&state, &ctx, &form.code).await
}

/// `GET /pay/{code}`: the charge (a look-up too, so rate-limited).
pub(crate) async fn charge_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(code): Path<String>,
) -> Response {
    show_charge(&state, &ctx, &code).await
}

async fn show_charge(state: &AppState, ctx: &Ctx, input: &str) -> Response {
    if state.limiter.check(ctx.ip).is_err() {
        let msg = text(Text::RequestRateLimited, ctx.lang);
        let mut resp = page(
            state,
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            &text(Text::HomeHeading, ctx.lang),
            "/",
            "",
            code_form(ctx, input, Some(&msg)),
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return resp;
    }
    match state.tolom.look_up(input).await {
        Ok(view) => {
            let here = format!("/pay/{}", view.code.as_str());
            let body = charge_html(ctx.lang, &view);
            page(
                state,
                ctx,
                StatusCode::OK,
                &text(Text::ChargeHeading, ctx.lang),
                &here,
                "",
                body,
            )
        }
        Err(e) => {
            let error = e.text();
            log_internal(&e, error);
            page(
                state,
                ctx,
                status_for(error),
                &text(Text::HomeHeading, ctx.lang),
                "/",
                "",
                code_form(ctx, input, Some(&text(error, ctx.lang))),
            )
        }
    }
}

fn charge_html(lang: Language, view: &ChargeView) -> String {
    let mut b = String::from("<dl class=\"facts\">");
    let mut row = |k: Text, v: &str| {
        let _ = write!(b, "<dt>{}</dt><dd>{}</dd>", esc(&text(k, lang)), esc(v));
    };
    row(Text::ChargeCode, &view.code.grouped());
    row(Text::ChargeService, view.service_name.get(lang));
    if let Some(tariff) = &view.tariff {
        row(Text::ChargeTariff, tariff.name.get(lang));
    }
    row(Text::ChargePayer, &view.payer);
    row(Text::ChargeAmount, &money(view.amount));
    row(Text::ChargeFee, &money(view.fee));
    let total = view.amount.checked_add(view.fee).unwrap_or(view.amount);
    row(Text::ChargeTotal, &money(total));
    row(Text::ChargeStatus, &text(view.status.text(), lang));
    row(Text::ChargeExpires, &format_bishkek(view.expires_at));
    b.push_str("</dl>");
    match view.not_payable {
        None => {
            let _ = write!(
                b,
                "<p><a class=\"button\" href=\"/pay/{}/terms\">{}</a></p>",
                esc(view.code.as_str()),
                esc(&text(Text::ChargePay, lang))
            );
        }
        Some(why) => {
            let _ = write!(
                b,
                "<div class=\"bad\" role=\"status\"><p>{}</p><p data-code=\"{}\">{}</p></div>",
                esc(&text(Text::ChargeNotPayable, lang)),
                esc(why.code()),
                esc(&text(why, lang))
            );
        }
    }
    b
}

// -- the agreement and starting a payment ----------------------------------

/// `GET /pay/{code}/terms`: the agreement in force and "I accept".
pub(crate) async fn terms_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(code): Path<String>,
) -> Response {
    terms_response(&state, &ctx, &code, None, StatusCode::OK).await
}

async fn terms_response(
    state: &AppState,
    ctx: &Ctx,
    code: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
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
    let here = format!("/pay/{}/terms", code.as_str());
    let mut b = String::new();
    if let Some(err) = error {
        b.push_str(&error_summary(lang, &[("accept", err)]));
    }
    let _ = write!(
        b,
        "<p>{intro}</p><dl class=\"facts\"><dt>{code_l}</dt><dd>{code}</dd><dt>{ed_l}</dt><dd>{ed}</dd>\
<dt>{lc_l}</dt><dd>{lc}</dd></dl>\
<div class=\"terms\" tabindex=\"0\" role=\"region\" aria-label=\"{title}\">{text}</div>\
<p><a href=\"/documents\">{all}</a></p>\
<form method=\"post\" action=\"/pay/{code_raw}/start\">{csrf}{key}{tid}\
<div class=\"check\"><input type=\"checkbox\" id=\"accept\" name=\"accept\" value=\"1\" required{desc}>\
<label for=\"accept\">{accept}</label></div>{err}<button type=\"submit\">{cont}</button></form>",
        intro = esc(&text(Text::TermsIntro, lang)),
        code_l = esc(&text(Text::ChargeCode, lang)),
        code = esc(&code.grouped()),
        ed_l = esc(&text(Text::TermsEdition, lang)),
        ed = esc(&terms.id),
        lc_l = esc(&text(Text::TermsLastChanged, lang)),
        lc = esc(&terms.last_changed.format("%Y-%m-%d").to_string()),
        title = esc(&text(Text::TermsHeading, lang)),
        text = agreement_html(terms.text(lang)),
        all = esc(&text(Text::TermsAllDocuments, lang)),
        code_raw = esc(code.as_str()),
        csrf = hidden("csrf", &ctx.csrf),
        key = hidden("key", &random_key()),
        tid = hidden("terms", &terms.id),
        desc = if error.is_some() {
            " aria-describedby=\"accept-error\" aria-invalid=\"true\""
        } else {
            ""
        },
        accept = esc(&text(Text::TermsAccept, lang)),
        err = error
            .map(|e| format!("<span class=\"error\" id=\"accept-error\">{}</span>", esc(e)))
            .unwrap_or_default(),
        cont = esc(&text(Text::TermsContinue, lang)),
    );
    page(
        state,
        ctx,
        status,
        &text(Text::TermsHeading, lang),
        &here,
        "",
        b,
    )
}

#[derive(Deserialize, Default)]
pub(crate) struct StartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    terms: String,
    #[serde(default)]
    accept: Option<String>,
}

/// `POST /pay/{code}/start`: starts the payment (the hidden key makes a
/// double submit return the same payment).
pub(crate) async fn start(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(code): Path<String>,
    form: Result<Form<StartForm>, FormRejection>,
) -> Response {
    let here = format!("/pay/{}/terms", esc(&code));
    let Ok(Form(form)) = form else {
        return error_page(&state, &ctx, Text::RequestInvalid, &here);
    };
    if !csrf_ok(&ctx, &form.csrf) {
        return error_page(&state, &ctx, Text::RequestCsrf, &here);
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
        Ok(p) => see_other(&next_url(&p)),
        Err(
            e @ (StartPaymentError::TermsNotAccepted | StartPaymentError::TermsOutdated { .. }),
        ) => {
            let msg = e.message(ctx.lang);
            terms_response(&state, &ctx, &code, Some(&msg), status_for(e.text())).await
        }
        Err(e) => {
            log_internal(&e, e.text());
            error_page(&state, &ctx, e.text(), &here)
        }
    }
}

// -- the card form -----------------------------------------------------------

async fn load(state: &AppState, ctx: &Ctx, id: &str) -> Result<Payment, Response> {
    let Some(id) = parse_id(id) else {
        return Err(not_found_page(state, ctx));
    };
    match state.tolom.payment(id).await {
        Ok(p) => Ok(p),
        Err(e) => {
            log_internal(&e, e.text());
            Err(error_page(state, ctx, e.text(), "/"))
        }
    }
}

fn summary_html(lang: Language, p: &Payment) -> String {
    format!(
        "<dl class=\"facts\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl>",
        esc(&text(Text::ChargeCode, lang)),
        esc(&p.code().grouped()),
        esc(&text(Text::ChargeAmount, lang)),
        esc(&money(p.amount())),
        esc(&text(Text::ChargeFee, lang)),
        esc(&money(p.fee())),
        esc(&text(Text::ChargeTotal, lang)),
        esc(&money(p.total())),
    )
}

#[derive(Default)]
struct CardValues<'a> {
    holder: &'a str,
    expiry: &'a str,
    phone: &'a str,
    email: &'a str,
}

fn card_form_html(
    ctx: &Ctx,
    p: &Payment,
    values: &CardValues<'_>,
    errors: Option<&ValidationErrors>,
) -> String {
    let lang = ctx.lang;
    let err = |f: CardField| {
        errors
            .and_then(|e| e.for_field(f))
            .map(|fe| fe.message(lang))
    };
    let mut b = String::new();
    if let Some(errors) = errors {
        let messages: Vec<(&str, Cow<'static, str>)> = errors
            .0
            .iter()
            .map(|fe| (fe.field.name(), fe.message(lang)))
            .collect();
        let list: Vec<(&str, &str)> = messages.iter().map(|(f, m)| (*f, m.as_ref())).collect();
        b.push_str(&error_summary(lang, &list));
    }
    b.push_str(&summary_html(lang, p));
    let _ = write!(
        b,
        "<p>{}</p><form method=\"post\" action=\"/payments/{}/card\" autocomplete=\"on\" novalidate>{}{}",
        esc(&text(Text::CardIntro, lang)),
        p.id(),
        hidden("csrf", &ctx.csrf),
        hidden("key", &random_key()),
    );
    let fields = [
        (
            CardField::Holder,
            Text::CardHolder,
            Text::CardHolderHint,
            values.holder,
            "text",
            "cc-name",
            None,
        ),
        (
            CardField::Pan,
            Text::CardPan,
            Text::CardPanHint,
            "",
            "text",
            "cc-number",
            Some("numeric"),
        ),
        (
            CardField::Expiry,
            Text::CardExpiry,
            Text::CardExpiryHint,
            values.expiry,
            "text",
            "cc-exp",
            Some("numeric"),
        ),
        (
            CardField::Cvv,
            Text::CardCvv,
            Text::CardCvvHint,
            "",
            "password",
            "cc-csc",
            Some("numeric"),
        ),
        (
            CardField::Phone,
            Text::CardPhone,
            Text::CardPhoneHint,
            values.phone,
            "tel",
            "tel",
            Some("tel"),
        ),
        (
            CardField::Email,
            Text::CardEmail,
            Text::CardEmailHint,
            values.email,
            "email",
            "email",
            Some("email"),
        ),
    ];
    for (field, label, hint, value, kind, ac, im) in fields {
        b.push_str(
            &Field {
                name: field.name(),
                label: &text(label, lang),
                hint: Some(&text(hint, lang)),
                value,
                error: err(field).as_deref(),
                kind,
                autocomplete: ac,
                inputmode: im,
            }
            .html(),
        );
    }
    let _ = write!(
        b,
        "<button type=\"submit\">{} {}</button><p class=\"hint\">{}</p></form>",
        esc(&text(Text::CardSubmit, lang)),
        esc(&money(p.total())),
        esc(&text(Text::CardSecurity, lang)),
    );
    b
}

/// `GET /payments/{id}/card`.
pub(crate) async fn card_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let p = match load(&state, &ctx, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.state() != PaymentState::Created {
        return see_other(&next_url(&p));
    }
    let body = card_form_html(&ctx, &p, &CardValues::default(), None);
    page(
        &state,
        &ctx,
        StatusCode::OK,
        &text(Text::CardHeading, ctx.lang),
        &format!("/payments/{}/card", p.id()),
        "",
        body,
    )
}

/// The posted card form. PAN and CVV are wiped on drop and never echoed.
#[derive(Deserialize, Default)]
pub(crate) struct CardPost {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    holder: String,
    #[serde(default)]
    pan: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    cvv: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

impl Drop for CardPost {
    fn drop(&mut self) {
        self.pan.zeroize();
        self.cvv.zeroize();
    }
}

/// `POST /payments/{id}/card`.
pub(crate) async fn card_submit(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    form: Result<Form<CardPost>, FormRejection>,
) -> Response {
    let here = format!("/payments/{}/card", esc(&id));
    let Ok(Form(mut post)) = form else {
        return error_page(&state, &ctx, Text::RequestInvalid, &here);
    };
    if !csrf_ok(&ctx, &post.csrf) {
        return error_page(&state, &ctx, Text::RequestCsrf, &here);
    }
    let p = match load(&state, &ctx, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let card = CardForm {
        holder: post.holder.clone(),
        pan: std::mem::take(&mut post.pan),
        expiry: post.expiry.clone(),
        cvv: std::mem::take(&mut post.cvv),
        phone: post.phone.clone(),
        email: post.email.clone(),
    };
    let result = state.tolom.submit_card(p.id(), &card, &post.key).await;
    drop(card);
    match result {
        Ok(p) => see_other(&next_url(&p)),
        Err(SubmitCardError::Invalid(errors)) => {
            let values = CardValues {
                holder: &post.holder,
                expiry: &post.expiry,
                phone: &post.phone,
                email: &post.email,
            };
            let body = card_form_html(&ctx, &p, &values, Some(&errors));
            page(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &text(Text::CardHeading, ctx.lang),
                &here,
                "",
                body,
            )
        }
        Err(SubmitCardError::AlreadySubmitted) => match state.tolom.payment(p.id()).await {
            Ok(now) => see_other(&next_url(&now)),
            Err(e) => error_page(&state, &ctx, e.text(), &here),
        },
        Err(e) => {
            log_internal(&e, e.text());
            error_page(&state, &ctx, e.text(), &here)
        }
    }
}

// -- the one-time code / 3-D Secure step ---------------------------------------

fn confirm_html(ctx: &Ctx, p: &Payment, error: Option<&str>) -> (String, Option<String>) {
    let lang = ctx.lang;
    let mut b = String::new();
    match &p.challenge() {
        Some(Challenge::Redirect {
            url,
            method,
            fields,
        }) => {
            let method = if method.eq_ignore_ascii_case("get") {
                "get"
            } else {
                "post"
            };
            let _ = write!(
                b,
                "{}<p>{}</p><form method=\"{}\" action=\"{}\">",
                summary_html(lang, p),
                esc(&text(Text::RedirectIntro, lang)),
                method,
                esc(url)
            );
            for (k, v) in fields {
                b.push_str(&hidden(k, v));
            }
            let _ = write!(
                b,
                "<button type=\"submit\">{}</button></form>",
                esc(&text(Text::RedirectSubmit, lang))
            );
            let origin = url::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .map(|u| u.origin().ascii_serialization());
            (b, origin)
        }
        _ => {
            if let Some(e) = error {
                b.push_str(&error_summary(lang, &[("otp", e)]));
            }
            b.push_str(&summary_html(lang, p));
            let hint = match &p.challenge() {
                Some(Challenge::Otp { hint: Some(h) }) if lang == Language::En => h.clone(),
                _ => text(Text::ConfirmIntro, lang).to_string(),
            };
            let _ = write!(
                b,
                "<p>{}</p><form method=\"post\" action=\"/payments/{}/confirm\" novalidate>{}{}<button type=\"submit\">{}</button></form>",
                esc(&text(Text::ConfirmIntro, lang)),
                p.id(),
                hidden("csrf", &ctx.csrf),
                Field {
                    name: "otp",
                    label: &text(Text::ConfirmOtp, lang),
                    hint: Some(&hint),
                    value: "",
                    error,
                    kind: "text",
                    autocomplete: "one-time-code",
                    inputmode: Some("numeric"),
                }
                .html(),
                esc(&text(Text::ConfirmSubmit, lang)),
            );
            (b, None)
        }
    }
}

fn confirm_response(
    state: &AppState,
    ctx: &Ctx,
    p: &Payment,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (body, origin) = confirm_html(ctx, p, error);
    let title = if origin.is_some() {
        text(Text::RedirectHeading, ctx.lang)
    } else {
        text(Text::ConfirmHeading, ctx.lang)
    };
    let mut resp = page(
        state,
        ctx,
        status,
        &title,
        &format!("/payments/{}/confirm", p.id()),
        "",
        body,
    );
    if let Some(origin) = origin {
        let csp = crate::security::CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {origin}"),
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            resp.headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    resp
}

/// `GET /payments/{id}/confirm`.
pub(crate) async fn confirm_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let p = match load(&state, &ctx, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.state() != PaymentState::ActionRequired {
        return see_other(&next_url(&p));
    }
    confirm_response(&state, &ctx, &p, None, StatusCode::OK)
}

#[derive(Deserialize, Default)]
pub(crate) struct OtpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    otp: String,
}

/// `POST /payments/{id}/confirm`.
pub(crate) async fn confirm_submit(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    form: Result<Form<OtpForm>, FormRejection>,
) -> Response {
    let here = format!("/payments/{}/confirm", esc(&id));
    let Ok(Form(form)) = form else {
        return error_page(&state, &ctx, Text::RequestInvalid, &here);
    };
    if !csrf_ok(&ctx, &form.csrf) {
        return error_page(&state, &ctx, Text::RequestCsrf, &here);
    }
    let p = match load(&state, &ctx, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if form.otp.trim().is_empty() && p.state() == PaymentState::ActionRequired {
        let msg = text(Text::RequestInvalid, ctx.lang);
        return confirm_response(
            &state,
            &ctx,
            &p,
            Some(&msg),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    continue_challenge(
        &state,
        &ctx,
        p.id(),
        ChallengeResponse::otp(form.otp.trim()),
        &here,
    )
    .await
}

async fn continue_challenge(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    response: ChallengeResponse,
    here: &str,
) -> Response {
    match state.tolom.complete_challenge(id, &response).await {
        Ok(p) => see_other(&next_url(&p)),
        Err(ChallengeError::NotAwaiting) => match state.tolom.payment(id).await {
            Ok(p) => see_other(&next_url(&p)),
            Err(e) => error_page(state, ctx, e.text(), here),
        },
        Err(e) => {
            log_internal(&e, e.text());
            error_page(state, ctx, e.text(), here)
        }
    }
}

fn challenge_fields(fields: BTreeMap<String, String>) -> ChallengeResponse {
    ChallengeResponse {
        fields: fields
            .into_iter()
            .filter(|(k, _)| k != "lang" && k != "csrf")
            .collect(),
    }
}

/// `GET /payments/{id}/return`: the payer's browser back from the bank's
/// page. No CSRF token: the bank's page sends it, and the acquirer checks
/// what it carries.
pub(crate) async fn challenge_return(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(fields): Query<BTreeMap<String, String>>,
) -> Response {
    let Some(uuid) = parse_id(&id) else {
        return not_found_page(&state, &ctx);
    };
    let here = format!("/payments/{uuid}");
    continue_challenge(&state, &ctx, uuid, challenge_fields(fields), &here).await
}

/// `POST /payments/{id}/return` (3-D Secure ACS posting back).
pub(crate) async fn challenge_return_post(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let Some(uuid) = parse_id(&id) else {
        return not_found_page(&state, &ctx);
    };
    let here = format!("/payments/{uuid}");
    let fields = form.map(|Form(f)| f).unwrap_or_default();
    continue_challenge(&state, &ctx, uuid, challenge_fields(fields), &here).await
}

// -- status --------------------------------------------------------------------

/// `GET /payments/{id}`: where the payment stands, in words.
pub(crate) async fn status_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let lang = ctx.lang;
    let p = match load(&state, &ctx, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut b = String::new();
    let ok = p.state().is_paid();
    let in_flight = matches!(p.state(), PaymentState::Authorizing | PaymentState::Unknown);
    let _ = write!(
        b,
        "<div class=\"{}\" role=\"status\"><p><strong>{}:</strong> <span data-state=\"{}\">{}</span></p>",
        if ok { "ok" } else if in_flight { "" } else { "bad" },
        esc(&text(Text::ChargeStatus, lang)),
        p.state().as_str(),
        esc(&text(p.state().text(), lang)),
    );
    // A decline's reason, else a failure's (the stored code as it is, with
    // its text, or the generic one for a code without a text).
    let reason = p
        .decline_reason()
        .map(|r| (r.code(), r.text()))
        .or_else(|| failure_text(&p).map(|t| (p.failure().unwrap_or_default(), t)));
    if let Some((code, why)) = reason {
        let _ = write!(
            b,
            "<p><strong>{}:</strong> <span data-code=\"{}\">{}</span></p>",
            esc(&text(Text::StatusReason, lang)),
            esc(code),
            esc(&text(why, lang))
        );
    }
    if p.state() == PaymentState::Unknown {
        let _ = write!(
            b,
            "<p>{}</p>",
            esc(&text(Text::PaymentOutcomeUnknown, lang))
        );
    }
    if in_flight {
        let _ = write!(b, "<p>{}</p>", esc(&text(Text::StatusProcessing, lang)));
    }
    b.push_str("</div>");
    b.push_str(&summary_html(lang, &p));
    match p.state() {
        s if s.is_paid() => {
            let _ = write!(
                b,
                "<p><a class=\"button\" href=\"/payments/{}/receipt\">{}</a></p>",
                p.id(),
                esc(&text(Text::StatusReceipt, lang))
            );
        }
        PaymentState::Created | PaymentState::ActionRequired => {
            let _ = write!(
                b,
                "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                next_url(&p),
                esc(&text(Text::TermsContinue, lang))
            );
        }
        PaymentState::Declined | PaymentState::Failed | PaymentState::Expired => {
            let _ = write!(
                b,
                "<p><a class=\"button\" href=\"/pay/{}/terms\">{}</a></p>",
                esc(p.code().as_str()),
                esc(&text(Text::StatusTryAgain, lang))
            );
        }
        _ => {}
    }
    let head = if in_flight {
        "<meta http-equiv=\"refresh\" content=\"5\">"
    } else {
        ""
    };
    page(
        &state,
        &ctx,
        StatusCode::OK,
        &text(Text::StatusHeading, lang),
        &format!("/payments/{}", p.id()),
        head,
        b,
    )
}

// -- documents -------------------------------------------------------------------

/// `GET /documents`: the agreement in force, its last-change date, and the
/// past editions.
pub(crate) async fn documents(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let lang = ctx.lang;
    let (current, editions) = match (
        state.tolom.terms_in_force().await,
        state.tolom.terms_editions().await,
    ) {
        (Ok(c), Ok(e)) => (c, e),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "terms");
            return error_page(&state, &ctx, Text::ServiceUnavailable, "/documents");
        }
    };
    let mut b = format!(
        "<section aria-labelledby=\"in-force\"><h2 id=\"in-force\">{}: {}</h2><p><strong>{}:</strong> {}</p>\
<p><strong>{}:</strong> {}</p><div class=\"terms\" tabindex=\"0\" role=\"region\" aria-label=\"{}\">{}</div></section>",
        esc(&text(Text::DocumentsInForce, lang)),
        esc(&text(Text::TermsHeading, lang)),
        esc(&text(Text::TermsLastChanged, lang)),
        esc(&current.last_changed.format("%Y-%m-%d").to_string()),
        esc(&text(Text::DocumentsEdition, lang)),
        esc(&current.id),
        esc(&text(Text::TermsHeading, lang)),
        agreement_html(current.text(lang)),
    );
    let past: Vec<_> = editions
        .iter()
        .filter(|e| e.id != current.id && e.effective_at <= current.effective_at)
        .collect();
    let _ = write!(
        b,
        "<section aria-labelledby=\"past\"><h2 id=\"past\">{}</h2><ul>",
        esc(&text(Text::DocumentsPast, lang))
    );
    for e in &past {
        let _ = write!(
            b,
            "<li><a href=\"/documents/{}\">{} {}</a> — {} {}</li>",
            esc(&qv_path(&e.id)),
            esc(&text(Text::DocumentsEdition, lang)),
            esc(&e.id),
            esc(&text(Text::DocumentsEffective, lang)),
            esc(&format_bishkek(e.effective_at)),
        );
    }
    if past.is_empty() {
        b.push_str("<li>—</li>");
    }
    b.push_str("</ul></section>");
    page(
        &state,
        &ctx,
        StatusCode::OK,
        &text(Text::DocumentsHeading, lang),
        "/documents",
        "",
        b,
    )
}

fn qv_path(s: &str) -> String {
    crate::html::qv(s)
}

/// `GET /documents/{id}`: one edition.
pub(crate) async fn document_edition(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let lang = ctx.lang;
    let editions = match state.tolom.terms_editions().await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "terms");
            return error_page(&state, &ctx, Text::ServiceUnavailable, "/documents");
        }
    };
    let Some(e) = editions.iter().find(|e| e.id == id) else {
        return not_found_page(&state, &ctx);
    };
    let b = format!(
        "<p><strong>{}:</strong> {}</p><p><strong>{}:</strong> {}</p><p><strong>{}:</strong> {}</p>{}<p><a href=\"/documents\">{}</a></p>",
        esc(&text(Text::DocumentsEdition, lang)),
        esc(&e.id),
        esc(&text(Text::DocumentsEffective, lang)),
        esc(&format_bishkek(e.effective_at)),
        esc(&text(Text::TermsLastChanged, lang)),
        esc(&e.last_changed.format("%Y-%m-%d").to_string()),
        agreement_html(e.text(lang)),
        esc(&text(Text::TermsAllDocuments, lang)),
    );
    page(
        &state,
        &ctx,
        StatusCode::OK,
        &text(Text::TermsHeading, lang),
        &format!("/documents/{}", qv_path(&e.id)),
        "",
        b,
    )
}

// -- odds and ends -----------------------------------------------------------------

/// `GET /static/portal.css`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// `GET /healthz`.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) fn not_found_page(state: &AppState, ctx: &Ctx) -> Response {
    let body = format!(
        "<p>{}</p><p><a href=\"/\">{}</a></p>",
        esc(&text(Text::ErrorNotFound, ctx.lang)),
        esc(&text(Text::ErrorBack, ctx.lang))
    );
    page(
        state,
        ctx,
        StatusCode::NOT_FOUND,
        &text(Text::ErrorHeading, ctx.lang),
        "/",
        "",
        body,
    )
}

/// Anything else: 404.
pub(crate) async fn not_found(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    not_found_page(&state, &ctx)
}
