//! The error page (an error the payer cannot fix on the page they came
//! from, with the status of its kind) and the "page not found" page.

use std::fmt::Display;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use tolom_core::i18n::{ErrorCode, Text};

use crate::errors::{log_if_ours, status_of};
use crate::pages::layout::{Layout, Page};
use crate::security::Ctx;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout<'a>,
    /// The stable code (`data-code`).
    code: &'static str,
    /// What the payer reads.
    message: Text,
    /// A second sentence (when to try again).
    detail: Option<String>,
}

impl Page for ErrorPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// The page of `error`, with its status; `here` is the page to show again
/// in another language.
pub(crate) fn error_page(state: &AppState, ctx: &Ctx, error: Text, here: &str) -> Response {
    error_page_with(state, ctx, error, None, here)
}

/// [`error_page`] with a second sentence (e.g. when to try again).
pub(crate) fn error_page_with(
    state: &AppState,
    ctx: &Ctx,
    error: Text,
    detail: Option<String>,
    here: &str,
) -> Response {
    let page = ErrorPage {
        layout: Layout::error(state, ctx, error, here),
        code: error.code(),
        message: error,
        detail,
    };
    let mut resp = page.respond(status_of(error));
    if error == Text::RequestRateLimited {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    resp
}

/// "Too many attempts" (429) with `Retry-After: wait` seconds: the rate
/// limit of everything that tells whether a code exists.
pub(crate) fn rate_limited_page(state: &AppState, ctx: &Ctx, wait: u64, here: &str) -> Response {
    let mut resp = error_page(state, ctx, Text::RequestRateLimited, here);
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The page of a use case's error, logged when the fault is ours.
pub(crate) fn failure_page<E: ErrorCode + Display>(
    state: &AppState,
    ctx: &Ctx,
    error: &E,
    here: &str,
) -> Response {
    log_if_ours(error, error.text());
    error_page(state, ctx, error.text(), here)
}

/// "Page not found" (404).
pub(crate) fn not_found_page(state: &AppState, ctx: &Ctx) -> Response {
    ErrorPage {
        layout: Layout::error(state, ctx, Text::ErrorNotFound, "/"),
        code: Text::RequestNotFound.code(),
        message: Text::ErrorNotFound,
        detail: None,
    }
    .respond(StatusCode::NOT_FOUND)
}

/// Any other address: 404.
pub(crate) async fn not_found(State(state): State<AppState>, ctx: Ctx) -> Response {
    not_found_page(&state, &ctx)
}
