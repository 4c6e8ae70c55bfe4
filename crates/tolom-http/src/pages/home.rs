//! `GET /`: the payment-code form (also shown again, with the error next to
//! the field, when a look-up fails).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tolom_core::i18n::{text, Text};

use crate::pages::layout::{Field, Layout, Page, Problem};
use crate::security::Ctx;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage<'a> {
    layout: Layout<'a>,
    csrf: &'a str,
    code: Field<'a>,
    problems: Vec<Problem>,
}

impl Page for HomePage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

impl<'a> HomePage<'a> {
    /// The code form with what the payer typed and what is wrong with it.
    pub(crate) fn new(
        state: &'a AppState,
        ctx: &'a Ctx,
        value: &'a str,
        error: Option<Text>,
    ) -> HomePage<'a> {
        let lang = ctx.lang;
        let code = Field::new(lang, "code", Text::CodeLabel)
            .hint(Some(text(Text::CodeHint, lang)))
            .value(value)
            .error(error.map(|e| text(e, lang)));
        HomePage {
            layout: Layout::new(state, ctx, Text::HomeHeading, "/"),
            csrf: &ctx.csrf,
            problems: Problem::of(&[&code]),
            code,
        }
    }
}

/// `GET /`.
pub(crate) async fn home(State(state): State<AppState>, ctx: Ctx) -> Response {
    HomePage::new(&state, &ctx, "", None).respond(StatusCode::OK)
}
