//! `GET /documents`: the user agreement in force, its last-change date,
//! and links to the past editions.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tolom_core::i18n::Text;
use tolom_core::terms::TermsEdition;
use tolom_core::time::format_bishkek;

use crate::pages::agreement::{agreement_html, AgreementHtml};
use crate::pages::error::error_page;
use crate::pages::layout::{Layout, Page};
use crate::security::Ctx;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage<'a> {
    layout: Layout<'a>,
    current: &'a TermsEdition,
    agreement: AgreementHtml,
    /// Past editions: id and when each took effect.
    past: Vec<(&'a str, String)>,
}

impl Page for DocumentsPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// `GET /documents`.
pub(crate) async fn documents(State(state): State<AppState>, ctx: Ctx) -> Response {
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
    DocumentsPage {
        layout: Layout::new(&state, &ctx, Text::DocumentsHeading, "/documents"),
        agreement: agreement_html(current.text(ctx.lang)),
        past: editions
            .iter()
            .filter(|e| e.id != current.id && e.effective_at <= current.effective_at)
            .map(|e| (e.id.as_str(), format_bishkek(e.effective_at)))
            .collect(),
        current: &current,
    }
    .respond(StatusCode::OK)
}
