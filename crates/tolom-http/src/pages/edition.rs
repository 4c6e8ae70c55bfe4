//! `GET /documents/{id}`: one edition of the user agreement.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tolom_core::i18n::Text;
use tolom_core::terms::TermsEdition;
use tolom_core::time::format_bishkek;

use crate::facts::query_value;
use crate::pages::agreement::{agreement_html, AgreementHtml};
use crate::pages::error::{error_page, not_found_page};
use crate::pages::layout::{Layout, Page};
use crate::security::Ctx;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "edition.html")]
struct EditionPage<'a> {
    layout: Layout<'a>,
    edition: &'a TermsEdition,
    effective: String,
    agreement: AgreementHtml,
}

impl Page for EditionPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// `GET /documents/{id}`.
pub(crate) async fn edition(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let editions = match state.tolom.terms_editions().await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "terms");
            return error_page(&state, &ctx, Text::ServiceUnavailable, "/documents");
        }
    };
    let Some(edition) = editions.iter().find(|e| e.id == id) else {
        return not_found_page(&state, &ctx);
    };
    EditionPage {
        layout: Layout::new(
            &state,
            &ctx,
            Text::TermsHeading,
            format!("/documents/{}", query_value(&edition.id)),
        ),
        effective: format_bishkek(edition.effective_at),
        agreement: agreement_html(edition.text(ctx.lang)),
        edition,
    }
    .respond(StatusCode::OK)
}
