//! The card form: `GET /payments/{id}/card` and `POST` of the card. Field
//! errors come back all at once, next to their fields and in a summary;
//! the card number and CVV are never sent back to the browser, and the
//! posted ones are wiped from memory when the request is done. With a bank
//! acquirer the page also offers the bank's own payment page instead
//! (`POST /payments/{id}/hosted`).

use std::borrow::Cow;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use tolom_core::card::{BrandTable, CardForm, Field as CardField, ValidationErrors, CVV_DIGITS};
use tolom_core::charge::NotPayable;
use tolom_core::errors::SubmitCardError;
use tolom_core::i18n::{text, text_with, ErrorCode, FluentArgs, Language, Text};
use tolom_core::payment::{Payment, PaymentState};
use tolom_core::time::to_bishkek;
use uuid::Uuid;
use zeroize::Zeroize;

use crate::pages::error::failure_page;
use crate::pages::extract::{CsrfForm, PaymentId};
use crate::pages::flow::{code_paid, continue_at, load, to_code_page};
use crate::pages::layout::{Field, Layout, Page, PaymentFacts, Problem};
use crate::pages::status;
use crate::security::{random_key, Ctx};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "card.html")]
struct CardPage<'a> {
    layout: Layout<'a>,
    id: Uuid,
    facts: PaymentFacts,
    csrf: &'a str,
    /// A fresh idempotency key for the submission.
    key: String,
    holder: Field<'a>,
    pan: Field<'a>,
    expiry: Field<'a>,
    cvv: Field<'a>,
    phone: Field<'a>,
    email: Field<'a>,
    problems: Vec<Problem>,
    /// The idempotency key of "pay on the bank's page", when it is offered.
    hosted_key: Option<String>,
}

impl Page for CardPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// The posted card form. PAN and CVV are wiped on drop and never echoed.
/// Public for `tolom-fuzz` only, through [`crate::fuzzing`].
#[derive(Deserialize, Default)]
pub struct CardPost {
    /// The idempotency key of the submission.
    #[serde(default)]
    pub key: String,
    /// Cardholder name.
    #[serde(default)]
    pub holder: String,
    /// Card number.
    #[serde(default)]
    pub pan: String,
    /// Expiry.
    #[serde(default)]
    pub expiry: String,
    /// CVV.
    #[serde(default)]
    pub cvv: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
}

impl Drop for CardPost {
    fn drop(&mut self) {
        self.pan.zeroize();
        self.cvv.zeroize();
    }
}

/// The hints of the card number, expiry and CVV fields, written from the
/// rules the validator applies: the card number's lengths and the CVV's
/// from the accepted brands ([`BrandTable`]), the expiry's format from the
/// same Fluent term as its error, with an example that is always in the
/// future.
pub(crate) struct CardHints {
    /// `12–19 digits`.
    pub pan: Cow<'static, str>,
    /// `MM/YY, e.g. 12/30`.
    pub expiry: Cow<'static, str>,
    /// `The 3 digits on the back of the card`.
    pub cvv: Cow<'static, str>,
    /// The most digits a CVV has (the field's `maxlength`).
    pub cvv_max: usize,
}

impl CardHints {
    /// The hints for `brands` in `lang`, with the expiry example a few
    /// years after `now`.
    pub(crate) fn new(brands: &BrandTable, lang: Language, now: DateTime<Utc>) -> CardHints {
        let span = |(min, max): (usize, usize)| {
            if min == max {
                min.to_string()
            } else {
                format!("{min}–{max}")
            }
        };
        // An empty table takes no card at all; the hint then names the usual 16.
        let pan = brands.pan_lengths().unwrap_or((16, 16));
        let cvv = brands.cvv_lengths().unwrap_or((CVV_DIGITS, CVV_DIGITS));
        let mut args = FluentArgs::new();
        args.set("digits", span((usize::from(pan.0), usize::from(pan.1))));
        let pan_hint = text_with(Text::CardPanHint, lang, &args);
        let mut args = FluentArgs::new();
        args.set("digits", span(cvv));
        let cvv_hint = text_with(Text::CardCvvHint, lang, &args);
        let mut args = FluentArgs::new();
        let year = to_bishkek(now).year() + EXAMPLE_YEARS_AHEAD;
        args.set("example", format!("12/{:02}", year.rem_euclid(100)));
        CardHints {
            pan: pan_hint,
            expiry: text_with(Text::CardExpiryHint, lang, &args),
            cvv: cvv_hint,
            cvv_max: cvv.1,
        }
    }
}

/// How far ahead the expiry example is: a card issued today expires a few
/// years on.
const EXAMPLE_YEARS_AHEAD: i32 = 4;

/// The form of payment `p`: empty, or with what the payer typed (never the
/// card number or CVV) and every field's error.
fn page<'a>(
    state: &'a AppState,
    ctx: &'a Ctx,
    p: &Payment,
    post: Option<&'a CardPost>,
    errors: Option<&ValidationErrors>,
) -> CardPage<'a> {
    let lang = ctx.lang;
    let hints = CardHints::new(
        &state.tolom.config().brands,
        lang,
        state.tolom.clock().now(),
    );
    let field = |field: CardField, label: Text, hint: Cow<'static, str>, value: &'a str| {
        let error = errors
            .and_then(|e| e.for_field(field))
            .map(|e| e.message(lang));
        Field::new(lang, field.name(), label)
            .hint(Some(hint))
            .value(value)
            .error(error)
    };
    let typed = |f: fn(&CardPost) -> &str| post.map_or("", f);
    // The card number and CVV are never filled back in.
    let holder = field(
        CardField::Holder,
        Text::CardHolder,
        text(Text::CardHolderHint, lang),
        typed(|p| &p.holder),
    );
    let pan = field(CardField::Pan, Text::CardPan, hints.pan, "");
    let expiry = field(
        CardField::Expiry,
        Text::CardExpiry,
        hints.expiry,
        typed(|p| &p.expiry),
    )
    .short(EXPIRY_MAX_CHARS);
    let cvv = field(CardField::Cvv, Text::CardCvv, hints.cvv, "").short(hints.cvv_max);
    let phone = field(
        CardField::Phone,
        Text::CardPhone,
        text(Text::CardPhoneHint, lang),
        typed(|p| &p.phone),
    );
    let email = field(
        CardField::Email,
        Text::CardEmail,
        text(Text::CardEmailHint, lang),
        typed(|p| &p.email),
    );
    CardPage {
        layout: Layout::new(
            state,
            ctx,
            Text::CardHeading,
            format!("/payments/{}/card", p.id()),
        ),
        id: p.id(),
        facts: PaymentFacts::of(p),
        csrf: &ctx.csrf,
        key: random_key(),
        hosted_key: offers_hosted(state).then(random_key),
        problems: Problem::of(&[&holder, &pan, &expiry, &cvv, &phone, &email]),
        holder,
        pan,
        expiry,
        cvv,
        phone,
        email,
    }
}

/// The most characters of the expiry field: `MM/YYYY` with spaces
/// around the slash.
const EXPIRY_MAX_CHARS: usize = 9;

/// Whether the payer may choose the acquirer's hosted payment page: only
/// when the portal may send payers to the bank's pages at all (a bank
/// acquirer, whose origins are [`crate::PortalConfig::bank_origins`]); the
/// sandbox of the demo has no page of its own.
fn offers_hosted(state: &AppState) -> bool {
    !state.config.bank_origins.is_empty()
}

/// `GET /payments/{id}/card`: the form of a payment waiting for its card;
/// "already paid" with the receipt link for a paid one (the address
/// reached again with Back); any other payment goes where it continues.
pub(crate) async fn card(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
) -> Response {
    let p = match load(&state, &ctx, id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    if p.state().is_paid() {
        // The card form's address reached again after paying (Back, a
        // bookmark): "already paid", with the way to the receipt.
        return status::page(&state, &ctx, &p, Some(Text::ChargeAlreadyPaid)).await;
    }
    if p.state() != PaymentState::Created {
        return continue_at(&p);
    }
    page(&state, &ctx, &p, None, None).respond(StatusCode::OK)
}

/// `POST /payments/{id}/card`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
    CsrfForm(mut post): CsrfForm<CardPost>,
) -> Response {
    let p = match load(&state, &ctx, id).await {
        Ok(p) => p,
        Err(page) => return page,
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
        Ok(p) => continue_at(&p),
        Err(SubmitCardError::Invalid(errors)) => page(&state, &ctx, &p, Some(&post), Some(&errors))
            .respond(StatusCode::UNPROCESSABLE_ENTITY),
        Err(SubmitCardError::AlreadySubmitted) => match state.tolom.payment(p.id()).await {
            Ok(now) => continue_at(&now),
            Err(e) => failure_page(&state, &ctx, &e, &format!("/payments/{id}")),
        },
        // The session ended, or the code was paid meanwhile — by another
        // tab or another payment: when it is paid, "already paid" with the
        // way to the receipt, not "start again".
        Err(
            e @ (SubmitCardError::Expired | SubmitCardError::NotPayable(NotPayable::AlreadyPaid)),
        ) => {
            if code_paid(&state, p.code()).await {
                to_code_page(p.code())
            } else {
                failure_page(&state, &ctx, &e, &format!("/payments/{id}/card"))
            }
        }
        Err(e) => failure_page(&state, &ctx, &e, &format!("/payments/{id}/card")),
    }
}

/// The "pay on the bank's page" form.
#[derive(Deserialize, Default)]
pub(crate) struct HostedPost {
    #[serde(default)]
    key: String,
}

/// `POST /payments/{id}/hosted`: the payer types the card on the
/// acquirer's hosted page instead of this form. The payment goes to the
/// bank's page like a 3-D Secure challenge (`/confirm` sends the payer
/// there) and settles when the bank sends the payer back. Where it is not
/// offered, the payer stays on the card form.
pub(crate) async fn hosted(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
    CsrfForm(post): CsrfForm<HostedPost>,
) -> Response {
    let p = match load(&state, &ctx, id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    if !offers_hosted(&state) {
        return continue_at(&p);
    }
    match state.tolom.submit_hosted(p.id(), &post.key).await {
        Ok(p) => continue_at(&p),
        Err(SubmitCardError::AlreadySubmitted) => match state.tolom.payment(p.id()).await {
            Ok(now) => continue_at(&now),
            Err(e) => failure_page(&state, &ctx, &e, &format!("/payments/{id}")),
        },
        Err(e) => failure_page(&state, &ctx, &e, &format!("/payments/{id}/card")),
    }
}
