//! The receipt of a paid payment: the printable page
//! (`GET /payments/{id}/receipt`) with what the payer needs — the status in
//! its colour, the receiving agency and the purpose of payment, the code
//! grouped as the look-up shows it, the amounts, the card — and the QR code
//! of its verification link (number, key id, signature). The technical
//! details (signature, key, signed content, the JSON, the acquirer) are on
//! the verification page that link opens (`/verify`). The same receipt,
//! with its signed content, as a PDF and as JSON. A payment without a
//! receipt (not paid) sends the payer to its status.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tolom_core::errors::QueryError;
use tolom_core::i18n::Text;
use tolom_core::payment::PaymentState;
use tolom_core::receipt::Receipt;
use uuid::Uuid;

use crate::facts::{receipt_json, receipt_rows, verify_url, Readers};
use crate::pages::error::failure_page;
use crate::pages::extract::PaymentId;
use crate::pages::layout::{Layout, Page};
use crate::security::Ctx;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    layout: Layout<'a>,
    receipt: &'a Receipt,
    /// The status box's class ([`tone`]).
    tone: &'static str,
    rows: Vec<(Text, String)>,
    verify_url: String,
    /// The QR code of `verify_url`, as SVG markup from the `qrcode` crate.
    qr_svg: String,
}

/// The colour of a payment's state, as the class of its status box: `ok`
/// (green) paid, `back` (amber) money given back in part or in full,
/// (also a payment taken twice, whose money is being or was returned),
/// `bad` (red) failed, declined or expired, `wait` (blue)
/// still open or with the bank.
pub(crate) fn tone(state: PaymentState) -> &'static str {
    match state {
        PaymentState::Succeeded => "ok",
        PaymentState::PartiallyRefunded
        | PaymentState::Refunded
        | PaymentState::Duplicate
        | PaymentState::Returned => "back",
        PaymentState::Declined | PaymentState::Failed | PaymentState::Expired => "bad",
        _ => "wait",
    }
}

impl Page for ReceiptPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// The QR code of `text` as an inline SVG element (empty if it does not
/// fit in a QR code).
fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            // Without the XML declaration: the element goes inside HTML.
            match svg.find("<svg") {
                Some(i) => svg[i..].to_string(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}

async fn load(state: &AppState, ctx: &Ctx, id: Uuid) -> Result<Receipt, Response> {
    match state.tolom.receipt(id).await {
        Ok(r) => Ok(r),
        Err(QueryError::NoReceipt) => Err(Redirect::to(&format!("/payments/{id}")).into_response()),
        Err(e) => Err(failure_page(state, ctx, &e, "/")),
    }
}

/// `GET /payments/{id}/receipt`: printable HTML.
pub(crate) async fn receipt(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
) -> Response {
    let r = match load(&state, &ctx, id).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let url = verify_url(&state.config.public_url, &r);
    ReceiptPage {
        layout: Layout::new(
            &state,
            &ctx,
            Text::ReceiptHeading,
            format!("/payments/{id}/receipt"),
        ),
        tone: tone(r.status),
        rows: receipt_rows(&r, ctx.lang, Readers::Payer),
        qr_svg: qr_svg(&url),
        verify_url: url,
        receipt: &r,
    }
    .respond(StatusCode::OK)
}

/// `GET /payments/{id}/receipt.json`.
pub(crate) async fn json(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
) -> Response {
    let r = match load(&state, &ctx, id).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"receipt-{}.json\"", r.number),
            ),
        ],
        serde_json::to_vec_pretty(&receipt_json(&state.config.public_url, &r)).unwrap_or_default(),
    )
        .into_response()
}

/// `GET /payments/{id}/receipt.pdf`: one A4 page in the payer's language.
pub(crate) async fn pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    PaymentId(id): PaymentId,
) -> Response {
    let r = match load(&state, &ctx, id).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let url = verify_url(&state.config.public_url, &r);
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"receipt-{}.pdf\"", r.number),
            ),
        ],
        crate::pdf::receipt_pdf(&r, ctx.lang, &url),
    )
        .into_response()
}
