//! Receipts: everything a payer and an auditor need, signed so that a
//! printed receipt can be verified offline.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
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

/// Signs and verifies receipts.
///
/// Implementations MUST be deterministic for a key (Ed25519 is) and MUST
/// NOT expose the private key through `Debug`.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait ReceiptSigner: Send + Sync {
    /// A short id of the key, printed on the receipt for key rotation.
    fn key_id(&self) -> String;
    /// Signs `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    /// Checks a signature.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
}

/// Ed25519 receipt signatures.
pub struct Ed25519Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Signer(key_id={})", self.key_id())
    }
}

impl Ed25519Signer {
    /// A signer from a 32-byte secret seed (keep it secret).
    pub fn from_seed(seed: [u8; 32]) -> Ed25519Signer {
        Ed25519Signer {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The public key, base64url, for offline verifiers.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())
    }

    /// Verifies with only a public key (base64url), as an offline verifier
    /// would.
    pub fn verify_with_public_key(public_key: &str, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(public_key) else {
            return false;
        };
        let Ok(arr) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            return false;
        };
        let Ok(vk) = VerifyingKey::from_bytes(&arr) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        vk.verify(message, &sig).is_ok()
    }
}

impl ReceiptSigner for Ed25519Signer {
    fn key_id(&self) -> String {
        let pk = self.public_key();
        pk[..8.min(pk.len())].to_string()
    }
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature)
            .map(|s| self.key.verifying_key().verify(message, &s).is_ok())
            .unwrap_or(false)
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
    /// Builds and signs the receipt of a succeeded (possibly since refunded)
    /// payment.
    pub fn build(
        payment: &Payment,
        charge: &Charge,
        catalogue: &Catalogue,
        operator: &Operator,
        signer: &dyn ReceiptSigner,
    ) -> Result<Receipt, NotPaid> {
        let (Some(number), Some(paid_at)) = (&payment.receipt_number, payment.succeeded_at) else {
            return Err(NotPaid);
        };
        let service_name = catalogue
            .service(&payment.service)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| {
                LocalizedText::new(&payment.service, &payment.service, &payment.service)
            });
        let tariff_name = charge
            .urgency
            .as_deref()
            .and_then(|u| catalogue.tariff(&payment.service, u))
            .map(|t| t.name.clone());
        let mut receipt = Receipt {
            number: number.clone(),
            payment_id: payment.id,
            status: payment.state,
            service: payment.service.clone(),
            service_name,
            tariff_name,
            payer: charge.payer.full_name.clone(),
            code: payment.code.to_string(),
            amount: payment.amount,
            fee: payment.fee,
            total: payment.total,
            refunded: payment.refunded,
            masked_pan: payment.card.as_ref().map(|c| c.masked_pan.clone()),
            brand: payment.card.as_ref().map(|c| c.brand),
            auth_code: payment.approval.as_ref().map(|a| a.auth_code.clone()),
            rrn: payment.approval.as_ref().map(|a| a.rrn.clone()),
            acquirer: payment.acquirer.clone(),
            paid_at,
            terms_edition: payment.terms_edition.clone(),
            operator: operator.clone(),
            key_id: signer.key_id(),
            signature: String::new(),
        };
        receipt.signature = URL_SAFE_NO_PAD.encode(signer.sign(receipt.signed_text().as_bytes()));
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

    /// Whether the signature is genuine for this receipt.
    pub fn verify(&self, signer: &dyn ReceiptSigner) -> bool {
        URL_SAFE_NO_PAD
            .decode(&self.signature)
            .map(|sig| signer.verify(self.signed_text().as_bytes(), &sig))
            .unwrap_or(false)
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
