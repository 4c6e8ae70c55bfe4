//! Receipts: everything a payer and an auditor need, signed so that a
//! printed receipt can be verified offline.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::card::{CardBrand, MaskedPan};
use crate::catalogue::Catalogue;
use crate::charge::Charge;
use crate::i18n::{text, Language, LocalizedText, Text};
use crate::money::Money;
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

/// A payment receipt.
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
    /// When paid (UTC; shown in Asia/Bishkek).
    pub paid_at: DateTime<Utc>,
    /// The user-agreement edition the payer accepted.
    pub terms_edition: String,
    /// The operator.
    pub operator: Operator,
    /// Id of the signing key.
    pub key_id: String,
    /// Ed25519 signature (base64url) over [`Receipt::signed_text`].
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
    /// key `key_id` names).
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
        let receipt = Receipt {
            number: number.clone(),
            payment_id: p.id,
            status: p.state,
            service: p.service.clone(),
            service_name,
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
            paid_at,
            terms_edition: p.terms_edition.clone(),
            operator: operator.clone(),
            key_id,
            signature: String::new(),
        };
        Ok(receipt)
    }

    /// The exact text the signature covers: the facts of the payment that a
    /// printed receipt states (not its translations, not its status, which
    /// can change with refunds).
    pub fn signed_text(&self) -> String {
        format!(
            "tolom-receipt-v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.number,
            self.payment_id,
            self.code,
            self.total.amount(),
            self.total.currency(),
            self.masked_pan.as_ref().map(|m| m.as_str()).unwrap_or(""),
            self.auth_code.as_deref().unwrap_or(""),
            self.rrn.as_deref().unwrap_or(""),
            self.paid_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.key_id,
        )
    }

    /// Sets the signature over [`Receipt::signed_text`] (base64url).
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
        line(Text::ReceiptLabelPayer, &self.payer);
        line(Text::ReceiptLabelCode, &self.code);
        line(Text::ReceiptLabelAmount, &self.amount.to_string());
        line(Text::ReceiptLabelFee, &self.fee.to_string());
        line(Text::ReceiptLabelTotal, &self.total.to_string());
        if !self.refunded.is_zero() {
            line(Text::ReceiptLabelRefunded, &self.refunded.to_string());
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
