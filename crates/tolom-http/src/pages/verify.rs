//! `GET /verify?n=&s=`: says plainly whether a receipt is genuine (the
//! address a receipt's QR code carries), with a form to check one by hand.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tolom_core::i18n::Text;

use crate::facts::{query_value, receipt_rows};
use crate::pages::layout::{Layout, Page};
use crate::security::Ctx;
use crate::state::AppState;

/// The facts shown for a genuine receipt: from its number to the card
/// (not the operator's details, which are in the footer).
const FACTS_SHOWN: usize = 11;

/// The answer to a check.
enum Outcome {
    /// Nothing asked yet.
    NotAsked,
    /// Genuine, with the receipt's facts.
    Genuine(Vec<(Text, String)>),
    /// No receipt with this number and signature.
    NotGenuine,
    /// The check could not be made now.
    Unavailable,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage<'a> {
    layout: Layout<'a>,
    outcome: Outcome,
    number: &'a str,
    signature: &'a str,
}

impl Page for VerifyPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// The query of `/verify`.
#[derive(Deserialize, Default)]
pub(crate) struct VerifyQuery {
    /// Receipt number.
    #[serde(default)]
    n: String,
    /// Signature.
    #[serde(default)]
    s: String,
}

/// `GET /verify`.
pub(crate) async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let asked = !q.n.trim().is_empty() || !q.s.trim().is_empty();
    let outcome = if !asked {
        Outcome::NotAsked
    } else {
        match state.tolom.verify_receipt(&q.n, &q.s).await {
            Ok(Some(r)) => Outcome::Genuine(
                receipt_rows(&r, ctx.lang)
                    .into_iter()
                    .take(FACTS_SHOWN)
                    .collect(),
            ),
            Ok(None) => Outcome::NotGenuine,
            Err(e) => {
                tracing::error!(error = %e, "verify");
                Outcome::Unavailable
            }
        }
    };
    let here = if q.n.is_empty() && q.s.is_empty() {
        "/verify".to_string()
    } else {
        format!("/verify?n={}&s={}", query_value(&q.n), query_value(&q.s))
    };
    let status = match outcome {
        Outcome::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    VerifyPage {
        layout: Layout::new(&state, &ctx, Text::VerifyHeading, here),
        outcome,
        number: &q.n,
        signature: &q.s,
    }
    .respond(status)
}
