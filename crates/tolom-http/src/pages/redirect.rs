//! The way to the bank's own page (3-D Secure ACS or a hosted payment page)
//! and back: the page whose form carries the bank's fields to the bank —
//! it submits itself, and without JavaScript the payer presses its button
//! — and `GET`/`POST /payments/{id}/return`, where the bank sends the payer
//! back.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Form;
use tolom_core::i18n::Text;
use tolom_core::payment::{ChallengeResponse, Payment};

use crate::pages::error::error_page;
use crate::pages::extract::PaymentId;
use crate::pages::flow::complete_challenge;
use crate::pages::layout::{Layout, Page, PaymentFacts};
use crate::security::{csp_with_form_action, origin_of, Ctx};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "redirect.html")]
struct RedirectPage<'a> {
    layout: Layout<'a>,
    facts: PaymentFacts,
    /// `get` or `post`.
    method: &'static str,
    /// The bank's page.
    action: String,
    /// The fields the form carries there.
    fields: Vec<(&'a str, &'a str)>,
}

impl Page for RedirectPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// The page that sends the payer of `p` to `url` with `fields`. Its
/// Content-Security-Policy lets the form go to the configured bank origins
/// (`PortalConfig::bank_origins`) and nowhere else; a challenge that points
/// to another origin is not followed: the payer sees an error page, and the
/// operator a warning naming the origin to configure.
pub(crate) fn to_bank(
    state: &AppState,
    ctx: &Ctx,
    p: &Payment,
    url: &str,
    method: &str,
    fields: &BTreeMap<String, String>,
) -> Response {
    let allowed = origin_of(url).filter(|o| state.config.bank_origins.iter().any(|b| b == o));
    if allowed.is_none() {
        tracing::warn!(
            payment = %p.id(),
            origin = origin_of(url).as_deref().unwrap_or("(not http)"),
            allowed = ?state.config.bank_origins,
            "the acquirer sent the payer to an origin that is not configured (acquirer.redirect_origins)"
        );
        return error_page(
            state,
            ctx,
            Text::ServiceUnavailable,
            &format!("/payments/{}", p.id()),
        );
    }
    let get = method.eq_ignore_ascii_case("get");
    let parsed = url::Url::parse(url).ok();
    let (action, query) = match &parsed {
        Some(u) if get => form_get(u),
        _ => (url.to_string(), Vec::new()),
    };
    let mut resp = RedirectPage {
        layout: Layout::new(
            state,
            ctx,
            Text::RedirectHeading,
            format!("/payments/{}/confirm", p.id()),
        ),
        facts: PaymentFacts::of(p),
        method: if get { "get" } else { "post" },
        action,
        fields: query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .collect(),
    }
    .respond(StatusCode::OK);
    if let Ok(csp) = HeaderValue::from_str(&csp_with_form_action(&state.config.bank_origins)) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    resp
}

/// A `GET` form replaces the query of its action with its fields (HTML's
/// form submission), so the query of a bank's page (the hosted page's
/// `pay.html?mdOrder=…`) travels as fields: the action without its query
/// and fragment, and the query's pairs in order.
fn form_get(url: &url::Url) -> (String, Vec<(String, String)>) {
    let mut action = url.clone();
    action.set_query(None);
    action.set_fragment(None);
    (action.to_string(), url.query_pairs().into_owned().collect())
}

/// What the bank sent back, without our own parameters.
fn bank_fields(fields: BTreeMap<String, String>) -> ChallengeResponse {
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
pub(crate) async fn back(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
    Query(fields): Query<BTreeMap<String, String>>,
) -> Response {
    complete_challenge(&state, &ctx, id, bank_fields(fields)).await
}

/// `POST /payments/{id}/return` (a 3-D Secure ACS posting back).
pub(crate) async fn back_posted(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let fields = form.map(|Form(f)| f).unwrap_or_default();
    complete_challenge(&state, &ctx, id, bank_fields(fields)).await
}
