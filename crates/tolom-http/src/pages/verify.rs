//! `GET /verify`: says plainly whether a receipt is genuine, checked by
//! key id against the key ring. Asked with what a receipt's QR code
//! carries (`?n=<number>&k=<key id>&s=<signature>`), or with the receipt's
//! signed content and its signature (`?c=<content>&s=<signature>`, from
//! the receipt's JSON: a forged name or amount there is caught). A form
//! checks one by hand. A genuine receipt is shown with its facts and the
//! technical details the payer's receipt page leaves out: key, signature,
//! the signed content itself and the link to its JSON.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tolom_core::i18n::{text, text_with, ErrorCode, FluentArgs, Text};
use tolom_core::receipt::CONTENT_VERSION;
use tolom_core::usecases::{ReceiptCheck, ReceiptClaim};

use crate::facts::{query_value, receipt_rows, Readers};
use crate::pages::layout::{Layout, Page};
use crate::security::Ctx;
use crate::state::AppState;

/// The technical details of a genuine receipt, for agencies and anyone
/// who checks it by hand.
struct Details {
    /// The signature (base64url).
    signature: String,
    /// The exact text the signature covers.
    signed_content: String,
    /// Its format (`tolom-receipt/2`).
    format: &'static str,
    /// The receipt as JSON.
    json_href: String,
}

/// The answer to a check.
enum Outcome {
    /// Nothing asked yet.
    NotAsked,
    /// Genuine: the facts as signed, the key that verified them, and what
    /// has changed since (a refund); the technical details the payer's
    /// receipt page leaves out (signature, signed content, the JSON).
    Genuine {
        rows: Vec<(Text, String)>,
        key_id: String,
        changed: Option<String>,
        details: Box<Details>,
    },
    /// Not genuine, and why.
    NotGenuine(String),
    /// The check could not be made now.
    Unavailable,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage<'a> {
    layout: Layout<'a>,
    outcome: Outcome,
    number: &'a str,
    key: &'a str,
    signature: &'a str,
    content: &'a str,
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
    /// Key id.
    #[serde(default)]
    k: String,
    /// Signature.
    #[serde(default)]
    s: String,
    /// Signed content (instead of the number).
    #[serde(default)]
    c: String,
}

/// `GET /verify`.
pub(crate) async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let asked = [&q.n, &q.k, &q.s, &q.c]
        .iter()
        .any(|v| !v.trim().is_empty());
    let claim = if q.c.trim().is_empty() {
        ReceiptClaim::Reference {
            number: q.n.clone(),
            key_id: Some(q.k.clone()).filter(|k| !k.trim().is_empty()),
            signature: q.s.clone(),
        }
    } else {
        ReceiptClaim::Content {
            content: q.c.clone(),
            signature: q.s.clone(),
        }
    };
    let outcome = if !asked {
        Outcome::NotAsked
    } else {
        match state.tolom.check_receipt(&claim).await {
            Ok(ReceiptCheck::Genuine(g)) => Outcome::Genuine {
                rows: receipt_rows(&g.receipt, ctx.lang, Readers::Checker),
                details: Box::new(Details {
                    signature: if g.receipt.signature.is_empty() {
                        q.s.trim().to_string()
                    } else {
                        g.receipt.signature.clone()
                    },
                    signed_content: g.receipt.signed_content(),
                    format: CONTENT_VERSION,
                    json_href: format!("/payments/{}/receipt.json", g.receipt.payment_id),
                }),
                key_id: g.key.key_id().to_string(),
                changed: g.status_now.map(|now| {
                    let mut args = FluentArgs::new();
                    args.set("status", text(now.text(), ctx.lang).into_owned());
                    text_with(Text::VerifyChanged, ctx.lang, &args).into_owned()
                }),
            },
            Ok(ReceiptCheck::NotGenuine(why)) => {
                Outcome::NotGenuine(why.message(ctx.lang).into_owned())
            }
            Err(e) => {
                tracing::error!(error = %e, "verify");
                Outcome::Unavailable
            }
        }
    };
    let here = if asked {
        let mut u = format!(
            "/verify?n={}&k={}&s={}",
            query_value(&q.n),
            query_value(&q.k),
            query_value(&q.s)
        );
        if !q.c.is_empty() {
            u.push_str(&format!("&c={}", query_value(&q.c)));
        }
        u
    } else {
        "/verify".to_string()
    };
    let status = match outcome {
        Outcome::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    VerifyPage {
        layout: Layout::new(&state, &ctx, Text::VerifyHeading, here),
        outcome,
        number: &q.n,
        key: &q.k,
        signature: &q.s,
        content: &q.c,
    }
    .respond(status)
}
