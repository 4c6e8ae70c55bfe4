//! Receipts: everything a payer and an auditor need, signed so that a
//! printed receipt can be verified offline.
//!
//! What is signed is the receipt's **signed content**
//! ([`ReceiptContent`]): one canonical, versioned text
//! (`tolom-receipt/2`) of every fact the receipt states, in a
//! language-independent form — number, payment, status, code, payer,
//! service and tariff (catalogue ids), currency, amount, fee, total,
//! refunded, the times, card mask and brand, approval code, RRN, acquirer,
//! agreement edition, the operator's name and the signing key's id. The
//! same text is what the printed page, the PDF, the QR code's link and the
//! JSON carry; `docs/security.md` ("Receipts") describes it byte by byte so
//! that an agency can recompute and verify it without tolom.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::card::{CardBrand, MaskedPan};
use crate::catalogue::Catalogue;
use crate::charge::Charge;
use crate::i18n::{text, Language, LocalizedText, Text};
use crate::money::{Currency, Money};
use crate::payment::{Payment, PaymentState};
use crate::time::format_bishkek;

/// Who runs the payment site; printed on every receipt and page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// Name.
    pub name: LocalizedText,
    /// Postal address.
    pub address: LocalizedText,
    /// Support e-mail.
    pub email: String,
    /// Support telephone.
    pub phone: String,
    /// Web site.
    pub website: String,
}

impl Default for Operator {
    /// The operator of the state payment site (from its user agreement).
    fn default() -> Self {
        Operator {
            name: LocalizedText::new(
                "КР Санариптик өнүктүрүү министрлигине караштуу «Инфоком» мамлекеттик ишканасы",
                "ГП «Инфоком» при Министерстве цифрового развития КР",
                "State enterprise \"Infocom\" under the Ministry of Digital Development of the Kyrgyz Republic",
            ),
            address: LocalizedText::new(
                "Кыргыз Республикасы, 720000, Бишкек ш., Чолпон-Ата (Ч. Валиханов) көч., 2",
                "Кыргызская Республика, 720000, г. Бишкек, ул. Чолпон-Атинская (Ч. Валиханова), 2",
                "Kyrgyz Republic, 720000, Bishkek, Cholpon-Ata (Ch. Valikhanov) street 2",
            ),
            email: "support@infocom.kg".into(),
            phone: "119".into(),
            website: "https://payment.infocom.kg".into(),
        }
    }
}

/// The version line that starts every signed content of the current
/// format.
pub const CONTENT_VERSION: &str = "tolom-receipt/2";

/// The names of the signed content's fields, in their order (one line
/// each, after [`CONTENT_VERSION`]).
pub const CONTENT_FIELDS: [&str; 24] = [
    "number",
    "payment",
    "status",
    "code",
    "payer",
    "service",
    "tariff",
    "currency",
    "amount",
    "fee",
    "total",
    "refunded",
    "paid_at",
    "refunded_at",
    "card",
    "brand",
    "approval",
    "rrn",
    "acquirer",
    "terms",
    "operator.ky",
    "operator.ru",
    "operator.en",
    "key",
];

/// What a receipt's signature covers: every fact the receipt states, in a
/// language-independent form, and the id of the key that signs it.
///
/// [`ReceiptContent::encode`] is the one canonical text of it:
///
/// ```text
/// tolom-receipt/2
/// number=20261125-3F2A9C0D11B7E845
/// payment=6f1c2d3e-…
/// status=succeeded
/// …
/// key=Zk3pQ9xw
/// ```
///
/// one `name=value` line per field of [`CONTENT_FIELDS`], in that order,
/// separated by `\n` (no line break at the end), UTF-8; in values `\` is
/// written `\\`, a line feed `\n`, a carriage return `\r` and any other
/// control character (U+0000–U+001F, U+007F–U+009F) `\xHH` (two lowercase
/// hex digits); an absent value is empty. Amounts have exactly the
/// currency's minor digits (`885.00`), times are RFC 3339 in UTC to the
/// second (`2026-11-25T06:30:00Z`), the status, service, tariff and brand
/// are their stable ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptContent {
    /// Receipt number.
    pub number: String,
    /// The payment.
    pub payment_id: Uuid,
    /// Payment status when the receipt was produced.
    pub status: PaymentState,
    /// The payment code.
    pub code: String,
    /// The payer's full name as issued.
    pub payer: String,
    /// Service id (the catalogue's).
    pub service: String,
    /// Tariff (urgency) id, when the charge names one.
    pub tariff: Option<String>,
    /// The charge amount.
    pub amount: Money,
    /// The site's fee.
    pub fee: Money,
    /// amount + fee.
    pub total: Money,
    /// Refunded so far.
    pub refunded: Money,
    /// When paid (to the second).
    pub paid_at: DateTime<Utc>,
    /// When the last refund was settled, if any (to the second).
    pub refunded_at: Option<DateTime<Utc>>,
    /// Masked card number.
    pub masked_pan: Option<MaskedPan>,
    /// Card brand.
    pub brand: Option<CardBrand>,
    /// Authorisation (approval) code.
    pub auth_code: Option<String>,
    /// Retrieval reference number.
    pub rrn: Option<String>,
    /// The acquirer.
    pub acquirer: Option<String>,
    /// The user-agreement edition the payer accepted.
    pub terms_edition: String,
    /// The operator's name in each language.
    pub operator: LocalizedText,
    /// Id of the signing key.
    pub key_id: String,
}

/// A text that is not a signed content of the current format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {CONTENT_VERSION} signed content: {field}: {problem}")]
pub struct ContentError {
    /// The field (or `version`, `end`).
    pub field: &'static str,
    /// What is wrong.
    pub problem: &'static str,
}

fn content_error(field: &'static str, problem: &'static str) -> ContentError {
    ContentError { field, problem }
}

/// An amount with exactly its currency's minor digits: `885.00`.
fn amount_text(m: Money) -> String {
    let mut a = m.amount();
    a.rescale(u32::from(m.currency().minor_units()));
    a.to_string()
}

/// A time as RFC 3339 in UTC, to the second.
fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `t` without its fraction of a second.
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// Writes `value` escaped: `\` `\\`, LF `\n`, CR `\r`, other control
/// characters `\xHH`.
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
}

/// The value an escaped text stands for; `None` for a bad escape.
fn unescape(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            'x' => {
                let hex: String = [chars.next()?, chars.next()?].iter().collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

impl ReceiptContent {
    /// The fields as `(name, value)` in the order of [`CONTENT_FIELDS`],
    /// values not yet escaped.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let values = [
            self.number.clone(),
            self.payment_id.to_string(),
            self.status.as_str().to_string(),
            self.code.clone(),
            self.payer.clone(),
            self.service.clone(),
            opt(&self.tariff),
            self.total.currency().code().to_string(),
            amount_text(self.amount),
            amount_text(self.fee),
            amount_text(self.total),
            amount_text(self.refunded),
            time_text(self.paid_at),
            self.refunded_at.map(time_text).unwrap_or_default(),
            self.masked_pan
                .as_ref()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            self.brand.map(|b| b.id().to_string()).unwrap_or_default(),
            opt(&self.auth_code),
            opt(&self.rrn),
            opt(&self.acquirer),
            self.terms_edition.clone(),
            self.operator.ky.clone(),
            self.operator.ru.clone(),
            self.operator.en.clone(),
            self.key_id.clone(),
        ];
        CONTENT_FIELDS.into_iter().zip(values).collect()
    }

    /// The canonical text: what is signed, byte for byte (UTF-8).
    pub fn encode(&self) -> String {
        let mut out = String::from(CONTENT_VERSION);
        for (name, value) in self.fields() {
            out.push('\n');
            out.push_str(name);
            out.push('=');
            escape_into(&mut out, &value);
        }
        out
    }

    /// The moment the facts are of: the last refund, else the payment. A
    /// key retired before it cannot have signed them.
    pub fn as_of(&self) -> DateTime<Utc> {
        self.refunded_at.unwrap_or(self.paid_at)
    }

    /// Reads a canonical text back. Only the exact text
    /// [`ReceiptContent::encode`] writes is accepted: another order,
    /// spelling, escape or number format is an error.
    pub fn parse(text: &str) -> Result<ReceiptContent, ContentError> {
        let mut lines = text.split('\n');
        if lines.next() != Some(CONTENT_VERSION) {
            return Err(content_error(
                "version",
                "the first line is not tolom-receipt/2",
            ));
        }
        let mut v: Vec<String> = Vec::with_capacity(CONTENT_FIELDS.len());
        for name in CONTENT_FIELDS {
            let line = lines.next().ok_or(content_error(name, "missing"))?;
            let raw = line
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .ok_or(content_error(name, "expected here"))?;
            v.push(unescape(raw).ok_or(content_error(name, "bad escape"))?);
        }
        if lines.next().is_some() {
            return Err(content_error("end", "more lines than fields"));
        }
        let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
        let currency = Currency::from_code(&v[7]).ok_or(content_error("currency", "unknown"))?;
        let money = |s: &str, field| {
            Money::parse(s, currency).map_err(|_| content_error(field, "not an amount"))
        };
        let time = |s: &str, field| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| content_error(field, "not an RFC 3339 time"))
        };
        let content = ReceiptContent {
            number: v[0].clone(),
            payment_id: Uuid::parse_str(&v[1])
                .map_err(|_| content_error("payment", "not a UUID"))?,
            status: PaymentState::parse(&v[2]).ok_or(content_error("status", "unknown"))?,
            code: v[3].clone(),
            payer: v[4].clone(),
            service: v[5].clone(),
            tariff: opt(&v[6]),
            amount: money(&v[8], "amount")?,
            fee: money(&v[9], "fee")?,
            total: money(&v[10], "total")?,
            refunded: money(&v[11], "refunded")?,
            paid_at: time(&v[12], "paid_at")?,
            refunded_at: match v[13].as_str() {
                "" => None,
                s => Some(time(s, "refunded_at")?),
            },
            masked_pan: match v[14].as_str() {
                "" => None,
                s => Some(MaskedPan::from_stored(s).ok_or(content_error("card", "not masked"))?),
            },
            brand: match v[15].as_str() {
                "" => None,
                s => Some(CardBrand::from_id(s).ok_or(content_error("brand", "unknown"))?),
            },
            auth_code: opt(&v[16]),
            rrn: opt(&v[17]),
            acquirer: opt(&v[18]),
            terms_edition: v[19].clone(),
            operator: LocalizedText::new(v[20].clone(), v[21].clone(), v[22].clone()),
            key_id: v[23].clone(),
        };
        if content.encode() != text {
            return Err(content_error("end", "not in canonical form"));
        }
        Ok(content)
    }
}

/// A payment receipt: its signed facts ([`Receipt::content`]) and how they
/// read (service and tariff names from the catalogue, the operator's
/// address and support contacts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Receipt number.
    pub number: String,
    /// The payment.
    pub payment_id: Uuid,
    /// Payment status at the time the receipt was produced.
    pub status: PaymentState,
    /// Service id.
    pub service: String,
    /// Service name in each language.
    pub service_name: LocalizedText,
    /// The agency that provides the service and receives the fee, from
    /// the catalogue (not signed: the signed service id names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<LocalizedText>,
    /// The purpose of payment, from the catalogue (not signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<LocalizedText>,
    /// Tariff (urgency) id, when the charge names one.
    #[serde(default)]
    pub tariff: Option<String>,
    /// Urgency (tariff) name, when known.
    pub tariff_name: Option<LocalizedText>,
    /// The payer's full name as issued.
    pub payer: String,
    /// The payment code.
    pub code: String,
    /// The charge amount.
    pub amount: Money,
    /// The site's fee.
    pub fee: Money,
    /// amount + fee.
    pub total: Money,
    /// Refunded so far.
    pub refunded: Money,
    /// Masked card number.
    pub masked_pan: Option<MaskedPan>,
    /// Brand.
    pub brand: Option<CardBrand>,
    /// Authorisation code.
    pub auth_code: Option<String>,
    /// Retrieval reference number.
    pub rrn: Option<String>,
    /// The acquirer.
    pub acquirer: Option<String>,
    /// When paid (UTC, to the second; shown in Asia/Bishkek).
    pub paid_at: DateTime<Utc>,
    /// When the last refund was settled, if any (UTC, to the second).
    #[serde(default)]
    pub refunded_at: Option<DateTime<Utc>>,
    /// The user-agreement edition the payer accepted.
    pub terms_edition: String,
    /// The operator (its name is signed; address and contacts are not).
    pub operator: Operator,
    /// Id of the signing key.
    pub key_id: String,
    /// Ed25519 signature (base64url) over [`Receipt::signed_content`].
    pub signature: String,
}

/// A receipt could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment has not succeeded; no receipt")]
pub struct NotPaid;

impl Receipt {
    /// Builds the receipt of a succeeded (possibly since refunded) payment,
    /// not yet signed: its signature is empty until
    /// [`Receipt::set_signature`] (the receipts use case signs it with the
    /// key `key_id` names). `refunded_at` is left empty: the receipts use
    /// case sets it from the payment's refunds.
    pub fn build(
        payment: &Payment,
        charge: &Charge,
        catalogue: &Catalogue,
        operator: &Operator,
        key_id: String,
    ) -> Result<Receipt, NotPaid> {
        let p = payment.record();
        let (Some(number), Some(paid_at)) = (&p.receipt_number, p.succeeded_at) else {
            return Err(NotPaid);
        };
        let service_name = catalogue
            .service(&p.service)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| LocalizedText::new(&p.service, &p.service, &p.service));
        let tariff_name = charge
            .urgency
            .as_deref()
            .and_then(|u| catalogue.tariff(&p.service, u))
            .map(|t| t.name.clone());
        let service = catalogue.service(&p.service);
        let receipt = Receipt {
            number: number.clone(),
            payment_id: p.id,
            status: p.state,
            service: p.service.clone(),
            service_name,
            agency: service.and_then(|s| s.agency.clone()),
            purpose: service.and_then(|s| s.purpose.clone()),
            tariff: charge.urgency.clone(),
            tariff_name,
            payer: charge.payer.full_name.clone(),
            code: p.code.to_string(),
            amount: p.amount,
            fee: p.fee,
            total: p.total,
            refunded: p.refunded,
            masked_pan: p.card.as_ref().map(|c| c.masked_pan.clone()),
            brand: p.card.as_ref().map(|c| c.brand),
            auth_code: p.approval.as_ref().map(|a| a.auth_code.clone()),
            rrn: p.approval.as_ref().map(|a| a.rrn.clone()),
            acquirer: p.acquirer.clone(),
            paid_at: whole_seconds(paid_at),
            refunded_at: None,
            terms_edition: p.terms_edition.clone(),
            operator: operator.clone(),
            key_id,
            signature: String::new(),
        };
        Ok(receipt)
    }

    /// The receipt as it read at an earlier point of its payment (before
    /// a later refund): another status, refunded amount and refund time;
    /// not signed.
    pub fn with_refunds(
        &self,
        status: PaymentState,
        refunded: Money,
        refunded_at: Option<DateTime<Utc>>,
    ) -> Receipt {
        Receipt {
            status,
            refunded,
            refunded_at: refunded_at.map(whole_seconds),
            signature: String::new(),
            ..self.clone()
        }
    }

    /// The receipt whose signed facts are `content`, with its names from
    /// `catalogue` and the address and contacts of `operator` (the
    /// operator's name is the content's).
    pub fn from_content(
        content: &ReceiptContent,
        catalogue: &Catalogue,
        operator: &Operator,
        signature: &str,
    ) -> Receipt {
        let c = content.clone();
        let service_name = catalogue
            .service(&c.service)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| LocalizedText::new(&c.service, &c.service, &c.service));
        let tariff_name = c
            .tariff
            .as_deref()
            .and_then(|u| catalogue.tariff(&c.service, u))
            .map(|t| t.name.clone());
        let service = catalogue.service(&c.service);
        Receipt {
            agency: service.and_then(|s| s.agency.clone()),
            purpose: service.and_then(|s| s.purpose.clone()),
            number: c.number,
            payment_id: c.payment_id,
            status: c.status,
            service: c.service,
            service_name,
            tariff: c.tariff,
            tariff_name,
            payer: c.payer,
            code: c.code,
            amount: c.amount,
            fee: c.fee,
            total: c.total,
            refunded: c.refunded,
            masked_pan: c.masked_pan,
            brand: c.brand,
            auth_code: c.auth_code,
            rrn: c.rrn,
            acquirer: c.acquirer,
            paid_at: c.paid_at,
            refunded_at: c.refunded_at,
            terms_edition: c.terms_edition,
            operator: Operator {
                name: c.operator,
                ..operator.clone()
            },
            key_id: c.key_id,
            signature: signature.trim().to_string(),
        }
    }

    /// The facts the signature covers, from this receipt's fields.
    pub fn content(&self) -> ReceiptContent {
        ReceiptContent {
            number: self.number.clone(),
            payment_id: self.payment_id,
            status: self.status,
            code: self.code.clone(),
            payer: self.payer.clone(),
            service: self.service.clone(),
            tariff: self.tariff.clone(),
            amount: self.amount,
            fee: self.fee,
            total: self.total,
            refunded: self.refunded,
            paid_at: self.paid_at,
            refunded_at: self.refunded_at,
            masked_pan: self.masked_pan.clone(),
            brand: self.brand,
            auth_code: self.auth_code.clone(),
            rrn: self.rrn.clone(),
            acquirer: self.acquirer.clone(),
            terms_edition: self.terms_edition.clone(),
            operator: self.operator.name.clone(),
            key_id: self.key_id.clone(),
        }
    }

    /// The exact text the signature covers (UTF-8): the canonical
    /// [`ReceiptContent::encode`] of [`Receipt::content`], recomputed from
    /// the fields every time.
    pub fn signed_content(&self) -> String {
        self.content().encode()
    }

    /// Sets the signature over [`Receipt::signed_content`] (base64url).
    pub fn set_signature(&mut self, signature: &[u8]) {
        self.signature = URL_SAFE_NO_PAD.encode(signature);
    }

    /// The signature's bytes, when it is well-formed base64url.
    pub fn signature_bytes(&self) -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(self.signature.trim()).ok()
    }

    /// The receipt as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The refunded amount as printed: with the time of the last refund
    /// when known.
    pub fn refunded_text(&self) -> String {
        match self.refunded_at {
            Some(at) => format!("{} ({})", self.refunded, format_bishkek(at)),
            None => self.refunded.to_string(),
        }
    }

    /// The receipt as plain text in one language (times in Asia/Bishkek).
    pub fn to_text(&self, lang: Language) -> String {
        let mut out = String::new();
        let mut line = |k: Text, v: &str| {
            out.push_str(&format!("{:<22} {}\n", format!("{}:", text(k, lang)), v));
        };
        line(Text::ReceiptLabelNumber, &self.number);
        line(Text::ReceiptLabelStatus, &text(self.status.text(), lang));
        line(Text::ReceiptLabelPaidAt, &format_bishkek(self.paid_at));
        line(Text::ReceiptLabelService, self.service_name.get(lang));
        if let Some(t) = &self.tariff_name {
            line(Text::ReceiptLabelTariff, t.get(lang));
        }
        if let Some(a) = &self.agency {
            line(Text::ReceiptLabelAgency, a.get(lang));
        }
        if let Some(p) = &self.purpose {
            line(Text::ReceiptLabelPurpose, p.get(lang));
        }
        line(Text::ReceiptLabelPayer, &self.payer);
        line(Text::ReceiptLabelCode, &self.code);
        line(Text::ReceiptLabelAmount, &self.amount.to_string());
        line(Text::ReceiptLabelFee, &self.fee.to_string());
        line(Text::ReceiptLabelTotal, &self.total.to_string());
        if !self.refunded.is_zero() {
            line(Text::ReceiptLabelRefunded, &self.refunded_text());
        }
        if let (Some(pan), Some(brand)) = (&self.masked_pan, &self.brand) {
            line(Text::ReceiptLabelCard, &format!("{brand} {pan}"));
        }
        if let Some(a) = &self.auth_code {
            line(Text::ReceiptLabelAuthCode, a);
        }
        if let Some(r) = &self.rrn {
            line(Text::ReceiptLabelRrn, r);
        }
        if let Some(a) = &self.acquirer {
            line(Text::ReceiptLabelAcquirer, a);
        }
        line(Text::ReceiptLabelTerms, &self.terms_edition);
        line(Text::ReceiptLabelOperator, self.operator.name.get(lang));
        line(Text::ReceiptLabelAddress, self.operator.address.get(lang));
        line(
            Text::ReceiptLabelSupport,
            &format!("{}, {}", self.operator.phone, self.operator.email),
        );
        line(
            Text::ReceiptLabelSignature,
            &format!("{} ({})", self.signature, self.key_id),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A receipt with every field set (the example of `docs/security.md`).
    pub(crate) fn sample() -> Receipt {
        Receipt {
            number: "20261125-3F2A9C0D11B7E845".into(),
            payment_id: Uuid::parse_str("6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f").unwrap(),
            status: PaymentState::PartiallyRefunded,
            service: "passport-2020".into(),
            service_name: LocalizedText::new("Паспорт", "Паспорт", "Passport"),
            agency: None,
            purpose: None,
            tariff: Some("standard".into()),
            tariff_name: None,
            payer: "Сыдыкова Айгүл Бакытовна".into(),
            code: "110000012345".into(),
            amount: Money::som(885),
            fee: Money::from_minor_units(1_770, Currency::KGS),
            total: Money::from_minor_units(90_270, Currency::KGS),
            refunded: Money::som(100),
            masked_pan: MaskedPan::from_stored("4111********1111"),
            brand: Some(CardBrand::Visa),
            auth_code: Some("123456".into()),
            rrn: Some("532912345678".into()),
            acquirer: Some("bpc".into()),
            paid_at: Utc.with_ymd_and_hms(2026, 11, 25, 6, 30, 0).unwrap(),
            refunded_at: Some(Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 5).unwrap()),
            terms_edition: "2026-01".into(),
            operator: Operator::default(),
            key_id: "Zk3pQ9xw".into(),
            signature: String::new(),
        }
    }

    #[test]
    fn the_signed_content_is_the_documented_text() {
        let expected = "tolom-receipt/2
number=20261125-3F2A9C0D11B7E845
payment=6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f
status=partially_refunded
code=110000012345
payer=Сыдыкова Айгүл Бакытовна
service=passport-2020
tariff=standard
currency=KGS
amount=885.00
fee=17.70
total=902.70
refunded=100.00
paid_at=2026-11-25T06:30:00Z
refunded_at=2026-11-26T09:00:05Z
card=4111********1111
brand=visa
approval=123456
rrn=532912345678
acquirer=bpc
terms=2026-01
operator.ky=КР Санариптик өнүктүрүү министрлигине караштуу «Инфоком» мамлекеттик ишканасы
operator.ru=ГП «Инфоком» при Министерстве цифрового развития КР
operator.en=State enterprise \"Infocom\" under the Ministry of Digital Development of the Kyrgyz Republic
key=Zk3pQ9xw";
        assert_eq!(sample().signed_content(), expected);
        assert_eq!(
            ReceiptContent::parse(expected).unwrap(),
            sample().content(),
            "reads back"
        );
    }

    #[test]
    fn every_fact_the_receipt_states_is_in_the_signed_content() {
        let base = sample().signed_content();
        let mut changed: Vec<(&str, Receipt)> = Vec::new();
        let mut r = sample();
        r.payer = "Асанов Айбек Маратович".into();
        changed.push(("payer", r));
        let mut r = sample();
        r.code = "110000054321".into();
        changed.push(("code", r));
        let mut r = sample();
        r.service = "id-card-2017".into();
        changed.push(("service", r));
        let mut r = sample();
        r.tariff = Some("urgent".into());
        changed.push(("tariff", r));
        let mut r = sample();
        r.amount = Money::som(884);
        changed.push(("amount", r));
        let mut r = sample();
        r.fee = Money::som(18);
        changed.push(("fee", r));
        let mut r = sample();
        r.total = Money::som(903);
        changed.push(("total", r));
        let mut r = sample();
        r.refunded = Money::som(0);
        changed.push(("refunded", r));
        let mut r = sample();
        r.status = PaymentState::Succeeded;
        changed.push(("status", r));
        let mut r = sample();
        r.paid_at += chrono::Duration::seconds(1);
        changed.push(("paid_at", r));
        let mut r = sample();
        r.refunded_at = None;
        changed.push(("refunded_at", r));
        let mut r = sample();
        r.masked_pan = MaskedPan::from_stored("5555********4444");
        changed.push(("card", r));
        let mut r = sample();
        r.brand = Some(CardBrand::Mastercard);
        changed.push(("brand", r));
        let mut r = sample();
        r.auth_code = Some("654321".into());
        changed.push(("approval", r));
        let mut r = sample();
        r.rrn = None;
        changed.push(("rrn", r));
        let mut r = sample();
        r.acquirer = Some("sandbox".into());
        changed.push(("acquirer", r));
        let mut r = sample();
        r.terms_edition = "2025-06".into();
        changed.push(("terms", r));
        let mut r = sample();
        r.operator.name.ru = "ООО «Рога и копыта»".into();
        changed.push(("operator", r));
        let mut r = sample();
        r.number = "20261125-0000000000000000".into();
        changed.push(("number", r));
        let mut r = sample();
        r.payment_id = Uuid::nil();
        changed.push(("payment", r));
        let mut r = sample();
        r.key_id = "AAAAAAAA".into();
        changed.push(("key", r));
        for (what, r) in changed {
            assert_ne!(r.signed_content(), base, "{what} is not signed");
        }
        // Presentation is not signed: names and the operator's contacts.
        let mut r = sample();
        r.service_name = LocalizedText::new("x", "y", "z");
        r.operator.phone = "+996 312 000 000".into();
        assert_eq!(r.signed_content(), base);
    }

    #[test]
    fn values_are_escaped_so_no_field_can_forge_another() {
        let mut r = sample();
        r.payer = "Ivan\ncode=999999999999\\x\r\u{7}".into();
        let text = r.signed_content();
        assert!(
            text.contains("payer=Ivan\\ncode=999999999999\\\\x\\r\\x07\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), CONTENT_FIELDS.len() + 1);
        assert_eq!(ReceiptContent::parse(&text).unwrap().payer, r.payer);
    }

    #[test]
    fn only_the_canonical_text_parses() {
        let good = sample().signed_content();
        assert!(ReceiptContent::parse(&good).is_ok());
        for bad in [
            good.replace("tolom-receipt/2", "tolom-receipt/3"),
            good.replace("amount=885.00", "amount=885"),
            good.replace("amount=885.00", "amount=885.000"),
            good.replace("\npayer=", "\npayer ="),
            good.replace("status=partially_refunded", "status=paid"),
            good.replace(
                "paid_at=2026-11-25T06:30:00Z",
                "paid_at=2026-11-25T12:30:00+06:00",
            ),
            format!("{good}\n"),
            format!("{good}\nextra=1"),
            good.replace("\n", "\r\n"),
            good.replace("payer=Сыдыкова", "payer=\\qСыдыкова"),
            good.replace("card=4111********1111", "card=4111111111111111"),
            String::new(),
        ] {
            assert!(ReceiptContent::parse(&bad).is_err(), "accepted: {bad}");
        }
    }

    #[test]
    fn a_receipt_from_its_content_states_the_same_facts() {
        let r = sample();
        let back = Receipt::from_content(
            &r.content(),
            &Catalogue::kyrgyz_default(),
            &Operator::default(),
            "sig",
        );
        assert_eq!(back.signed_content(), r.signed_content());
        assert_eq!(back.signature, "sig");
    }
}
