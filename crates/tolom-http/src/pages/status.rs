//! `GET /payments/{id}`: where a payment stands, in words, why it failed
//! if it did, and what the payer can do next. A payment still with the
//! bank reloads itself every few seconds.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tolom_core::i18n::{ErrorCode, Text};
use tolom_core::payment::{Payment, PaymentState};

use crate::errors::failure_text;
use crate::pages::extract::PaymentId;
use crate::pages::flow::{code_paid, load, next_url};
use crate::pages::layout::{Layout, Page, PaymentFacts};
use crate::pages::receipt;
use crate::security::Ctx;
use crate::state::AppState;

/// Seconds between reloads while the bank decides.
const REFRESH_SECONDS: u32 = 5;

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    layout: Layout<'a>,
    state: PaymentState,
    /// The box's class: the state's colour ([`receipt::tone`]).
    tone: &'static str,
    /// A decline's or failure's stable code and text.
    reason: Option<(&'a str, Text)>,
    unknown: bool,
    in_flight: bool,
    facts: PaymentFacts,
    /// Why the payer is here rather than where they came from (a step of
    /// the flow reached again once the payment moved on, e.g. "already
    /// paid" on the card form's address after Back).
    notice: Option<Text>,
    /// The next step's address and label.
    next: Option<(String, Text)>,
}

impl Page for StatusPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// `GET /payments/{id}`.
pub(crate) async fn status(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
) -> Response {
    match load(&state, &ctx, id).await {
        Ok(p) => page(&state, &ctx, &p, None).await,
        Err(page) => page,
    }
}

/// The status page of `p`, with a `notice` above it. A payment that did
/// not go through (declined, failed, expired) whose code was paid
/// meanwhile — by another tab or another payment — says "already paid"
/// and leads to the code's page and its receipt, not to "try again".
pub(crate) async fn page(
    state: &AppState,
    ctx: &Ctx,
    p: &Payment,
    notice: Option<Text>,
) -> Response {
    let s = p.state();
    let in_flight = matches!(s, PaymentState::Authorizing | PaymentState::Unknown);
    let paid_meanwhile = matches!(
        s,
        PaymentState::Declined | PaymentState::Failed | PaymentState::Expired
    ) && code_paid(state, p.code()).await;
    let notice = if paid_meanwhile {
        Some(Text::ChargeAlreadyPaid)
    } else {
        notice
    };
    // A decline's reason, else a failure's (the stored code as it is, with
    // its text, or the generic one for a code without a text).
    let reason = p
        .decline_reason()
        .map(|r| (r.code(), r.text()))
        .or_else(|| failure_text(p).map(|t| (p.failure().unwrap_or_default(), t)));
    let next = match s {
        _ if paid_meanwhile => Some((
            format!("/pay/{}", p.code().as_str()),
            Text::ReceiptAgainSubmit,
        )),
        s if s.is_paid() => Some((format!("/payments/{}/receipt", p.id()), Text::StatusReceipt)),
        PaymentState::Created | PaymentState::ActionRequired => {
            Some((next_url(p), Text::TermsContinue))
        }
        PaymentState::Declined | PaymentState::Failed | PaymentState::Expired => Some((
            format!("/pay/{}/terms", p.code().as_str()),
            Text::StatusTryAgain,
        )),
        _ => None,
    };
    let mut layout = Layout::new(
        state,
        ctx,
        Text::StatusHeading,
        format!("/payments/{}", p.id()),
    );
    if in_flight {
        layout.refresh = Some(REFRESH_SECONDS);
    }
    StatusPage {
        layout,
        state: s,
        tone: receipt::tone(s),
        reason,
        unknown: s == PaymentState::Unknown,
        in_flight,
        facts: PaymentFacts::of(p),
        notice,
        next,
    }
    .respond(StatusCode::OK)
}
