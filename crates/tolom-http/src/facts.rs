//! How payments and receipts read, shared by the pages, the PDF and the
//! API: amounts with their currency, the facts of a receipt in a fixed
//! order, and a receipt's verification link and JSON.

use serde_json::Value;
use tolom_core::code::PaymentCode;
use tolom_core::i18n::{text, Language, Text};
use tolom_core::money::Money;
use tolom_core::receipt::{Receipt, CONTENT_VERSION};
use tolom_core::time::format_bishkek;

/// An amount as the payer reads it: `1 315.00 KGS`.
pub fn money(m: Money) -> String {
    format!("{} {}", m.grouped(), m.currency())
}

/// Who reads a receipt's facts ([`receipt_rows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// The payer, on the receipt page: the code grouped as the look-up
    /// shows it, the receiving agency and the purpose of payment, and no
    /// technical details (acquirer).
    Payer,
    /// Whoever checks a receipt on `/verify`: the payer's facts and the
    /// acquirer, without the operator's address and contacts (they are in
    /// the footer).
    Checker,
    /// The PDF, as it has always read: the code as signed, the acquirer.
    Pdf,
}

/// The facts of a receipt as `(label, value)` rows in one language for
/// `readers`; format the labels with [`text`].
pub fn receipt_rows(r: &Receipt, lang: Language, readers: Readers) -> Vec<(Text, String)> {
    let pdf = readers == Readers::Pdf;
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
    if !pdf {
        if let Some(a) = &r.agency {
            v.push((Text::ReceiptLabelAgency, a.get(lang).to_string()));
        }
        if let Some(p) = &r.purpose {
            v.push((Text::ReceiptLabelPurpose, p.get(lang).to_string()));
        }
    }
    v.push((Text::ReceiptLabelPayer, r.payer.clone()));
    v.push((
        Text::ReceiptLabelCode,
        if pdf {
            r.code.clone()
        } else {
            PaymentCode::from_trusted(&r.code).grouped()
        },
    ));
    v.push((Text::ReceiptLabelAmount, money(r.amount)));
    v.push((Text::ReceiptLabelFee, money(r.fee)));
    v.push((Text::ReceiptLabelTotal, money(r.total)));
    if !r.refunded.is_zero() {
        let refunded = match r.refunded_at {
            Some(at) => format!("{} ({})", money(r.refunded), format_bishkek(at)),
            None => money(r.refunded),
        };
        v.push((Text::ReceiptLabelRefunded, refunded));
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
    if readers != Readers::Payer {
        if let Some(a) = &r.acquirer {
            v.push((Text::ReceiptLabelAcquirer, a.clone()));
        }
    }
    v.push((Text::ReceiptLabelTerms, r.terms_edition.clone()));
    if readers == Readers::Checker {
        return v;
    }
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

/// The verification link of a receipt (what its QR code carries), under
/// the portal's public address: its number, key id and signature.
pub fn verify_url(public_url: &str, r: &Receipt) -> String {
    format!(
        "{public_url}/verify?n={}&k={}&s={}",
        query_value(&r.number),
        query_value(&r.key_id),
        query_value(&r.signature)
    )
}

/// Percent-encodes a query value.
pub fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A receipt as JSON: the core's receipt, its signed content (the exact
/// text the signature covers, `format` names it) and its verification link.
pub fn receipt_json(public_url: &str, r: &Receipt) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("format".into(), Value::String(CONTENT_VERSION.into()));
        map.insert("signed_content".into(), Value::String(r.signed_content()));
        map.insert(
            "verify_url".into(),
            Value::String(verify_url(public_url, r)),
        );
    }
    v
}
