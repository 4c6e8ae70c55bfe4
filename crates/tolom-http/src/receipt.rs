//! Receipt pages: printable HTML with a QR code carrying the verification
//! link, JSON, PDF, and the `/verify` page.

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;
use tolom_core::errors::QueryError;
use tolom_core::i18n::{text, ErrorCode, Language, Text};
use tolom_core::receipt::Receipt;
use tolom_core::time::format_bishkek;
use uuid::Uuid;

use crate::api::{receipt_json as receipt_value, verify_url};
use crate::html::esc;
use crate::security::Ctx;
use crate::web::{error_page, money, not_found_page, page};
use crate::AppState;

/// The QR code of `text` as an inline SVG element.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            match svg.find("<svg") {
                Some(i) => svg[i..].to_string(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}

/// The facts of a receipt as `(label, value)` rows in one language; format
/// the labels with [`text`].
pub fn rows(r: &Receipt, lang: Language) -> Vec<(Text, String)> {
    let mut v = vec![
        (Text::ReceiptLabelNumber, r.number.clone()),
        (
            Text::ReceiptLabelStatus,
            text(r.status.text(), lang).into_owned(),
        ),
        (Text::ReceiptLabelPaidAt, format_bishkek(r.paid_at)),
        (
            Text::ReceiptLabelService,
            r.service_name.get(lang).to_string(),
        ),
    ];
    if let Some(tn) = &r.tariff_name {
        v.push((Text::ReceiptLabelTariff, tn.get(lang).to_string()));
    }
    v.push((Text::ReceiptLabelPayer, r.payer.clone()));
    v.push((Text::ReceiptLabelCode, r.code.clone()));
    v.push((Text::ReceiptLabelAmount, money(r.amount)));
    v.push((Text::ReceiptLabelFee, money(r.fee)));
    v.push((Text::ReceiptLabelTotal, money(r.total)));
    if !r.refunded.is_zero() {
        v.push((Text::ReceiptLabelRefunded, money(r.refunded)));
    }
    if let (Some(pan), Some(brand)) = (&r.masked_pan, &r.brand) {
        v.push((Text::ReceiptLabelCard, format!("{brand} {pan}")));
    }
    if let Some(a) = &r.auth_code {
        v.push((Text::ReceiptLabelAuthCode, a.clone()));
    }
    if let Some(x) = &r.rrn {
        v.push((Text::ReceiptLabelRrn, x.clone()));
    }
    if let Some(a) = &r.acquirer {
        v.push((Text::ReceiptLabelAcquirer, a.clone()));
    }
    v.push((Text::ReceiptLabelTerms, r.terms_edition.clone()));
    v.push((
        Text::ReceiptLabelOperator,
        r.operator.name.get(lang).to_string(),
    ));
    v.push((
        Text::ReceiptLabelAddress,
        r.operator.address.get(lang).to_string(),
    ));
    v.push((
        Text::ReceiptLabelSupport,
        format!("{}, {}", r.operator.phone, r.operator.email),
    ));
    v
}

async fn load_receipt(state: &AppState, ctx: &Ctx, id: &str) -> Result<Receipt, Response> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(not_found_page(state, ctx));
    };
    match state.tolom.receipt(id).await {
        Ok(r) => Ok(r),
        Err(QueryError::NoReceipt) => Err(Redirect::to(&format!("/payments/{id}")).into_response()),
        Err(e) => {
            if matches!(e.text(), Text::InternalError | Text::ServiceUnavailable) {
                tracing::error!(error = %e, "receipt");
            }
            Err(error_page(state, ctx, e.text(), "/"))
        }
    }
}

/// `GET /payments/{id}/receipt`: printable HTML.
pub async fn receipt_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let r = match load_receipt(&state, &ctx, &id).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let lang = ctx.lang;
    let url = verify_url(&state, &r);
    let mut b = format!(
        "<div class=\"ok\" role=\"status\"><p><strong>{}</strong></p></div><dl class=\"facts\" id=\"receipt\">",
        esc(&text(r.status.text(), lang))
    );
    for (k, v) in rows(&r, lang) {
        let _ = write!(b, "<dt>{}</dt><dd>{}</dd>", esc(&text(k, lang)), esc(&v));
    }
    let _ = write!(
        b,
        "<dt>{}</dt><dd class=\"sig\">{} ({})</dd></dl>",
        esc(&text(Text::ReceiptLabelSignature, lang)),
        esc(&r.signature),
        esc(&r.key_id)
    );
    let _ = write!(
        b,
        "<figure class=\"qr\" role=\"img\" aria-label=\"{}\">{}<figcaption>{}: <a href=\"{}\" class=\"sig\">{}</a></figcaption></figure>",
        esc(&text(Text::ReceiptQr, lang)),
        qr_svg(&url),
        esc(&text(Text::ReceiptVerify, lang)),
        esc(&url),
        esc(&url),
    );
    let _ = write!(
        b,
        "<p class=\"noprint\"><a class=\"button\" href=\"/payments/{id}/receipt.pdf?lang={tag}\">{pdf}</a> \
<a href=\"/payments/{id}/receipt.json\">{json}</a></p><p class=\"noprint hint\">{print}</p>",
        id = r.payment_id,
        tag = lang.tag(),
        pdf = esc(&text(Text::ReceiptPdf, lang)),
        json = esc(&text(Text::ReceiptJson, lang)),
        print = esc(&text(Text::ReceiptPrint, lang)),
    );
    page(
        &state,
        &ctx,
        StatusCode::OK,
        &text(Text::ReceiptHeading, lang),
        &format!("/payments/{}/receipt", r.payment_id),
        "",
        b,
    )
}

/// `GET /payments/{id}/receipt.json`.
pub async fn receipt_json(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let r = match load_receipt(&state, &ctx, &id).await {
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
        serde_json::to_vec_pretty(&receipt_value(&state, &r)).unwrap_or_default(),
    )
        .into_response()
}

/// `GET /payments/{id}/receipt.pdf`.
pub async fn receipt_pdf(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let r = match load_receipt(&state, &ctx, &id).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let url = verify_url(&state, &r);
    let bytes = crate::pdf::receipt_pdf(&r, ctx.lang, &url);
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"receipt-{}.pdf\"", r.number),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The query of `/verify`.
#[derive(Deserialize, Default)]
pub struct VerifyQuery {
    /// Receipt number.
    #[serde(default)]
    pub n: String,
    /// Signature.
    #[serde(default)]
    pub s: String,
}

/// `GET /verify?n=&s=`: says plainly whether a receipt is genuine.
pub async fn verify_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<VerifyQuery>,
) -> Response {
    let lang = ctx.lang;
    let mut b = String::new();
    let mut status = StatusCode::OK;
    if !q.n.trim().is_empty() || !q.s.trim().is_empty() {
        match state.tolom.verify_receipt(&q.n, &q.s).await {
            Ok(Some(r)) => {
                let _ = write!(
                    b,
                    "<div class=\"ok\" role=\"status\" data-genuine=\"true\"><p><strong>{}</strong></p><dl class=\"facts\">",
                    esc(&text(Text::VerifyGenuine, lang))
                );
                for (k, v) in rows(&r, lang).into_iter().take(11) {
                    let _ = write!(b, "<dt>{}</dt><dd>{}</dd>", esc(&text(k, lang)), esc(&v));
                }
                b.push_str("</dl></div>");
            }
            Ok(None) => {
                let _ = write!(
                    b,
                    "<div class=\"bad\" role=\"alert\" data-genuine=\"false\"><p><strong>{}</strong></p></div>",
                    esc(&text(Text::VerifyNotGenuine, lang))
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "verify");
                status = StatusCode::SERVICE_UNAVAILABLE;
                let _ = write!(
                    b,
                    "<div class=\"bad\" role=\"alert\"><p>{}</p></div>",
                    esc(&text(Text::ServiceUnavailable, lang))
                );
            }
        }
    }
    let _ = write!(
        b,
        "<p>{}</p><form method=\"get\" action=\"/verify\"><label for=\"n\">{}</label><input type=\"text\" id=\"n\" name=\"n\" value=\"{}\" required>\
<label for=\"s\">{}</label><input type=\"text\" id=\"s\" name=\"s\" value=\"{}\" required><button type=\"submit\">{}</button></form>",
        esc(&text(Text::VerifyIntro, lang)),
        esc(&text(Text::VerifyNumber, lang)),
        esc(&q.n),
        esc(&text(Text::VerifySignature, lang)),
        esc(&q.s),
        esc(&text(Text::VerifySubmit, lang)),
    );
    let here = if q.n.is_empty() && q.s.is_empty() {
        "/verify".to_string()
    } else {
        format!(
            "/verify?n={}&s={}",
            crate::html::qv(&q.n),
            crate::html::qv(&q.s)
        )
    };
    page(
        &state,
        &ctx,
        status,
        &text(Text::VerifyHeading, lang),
        &here,
        "",
        b,
    )
}
