//! Receipts: built and signed on demand from the stored payment, and
//! checked by key id against the key ring — never by signing again.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::charge::ChargeStatus;
use crate::code::PaymentCode;
use crate::errors::{QueryError, ReceiptProofError};
use crate::payment::RefundState;
use crate::payment::{Payment, PaymentState};
use crate::ports::{
    decode_signature, sign_receipt, ChargeStore, KeyRing, KeyRingError, NotGenuine, PaymentQuery,
    PaymentStore, ReceiptSigner, RingKey, StoreError,
};
use crate::receipt::{Receipt, ReceiptContent};

use super::ctx::Ctx;

/// What a receipt check is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptClaim {
    /// What a printed receipt and its QR code carry: the number, the key id
    /// (when printed; without it every key of the ring is tried) and the
    /// signature. The signed content is rebuilt from the payment's records
    /// (as it reads now, and as it read before each later refund).
    Reference {
        /// Receipt number.
        number: String,
        /// Key id.
        key_id: Option<String>,
        /// Signature (base64url).
        signature: String,
    },
    /// The signed content itself (from the receipt's JSON) and its
    /// signature: verified as given, then compared with the records.
    Content {
        /// The `tolom-receipt/2` text.
        content: String,
        /// Signature (base64url).
        signature: String,
    },
}

/// What a payer gives to see the receipt of a paid code again, without
/// the link they were given: something only the payer knows about the
/// payment — the e-mail address they gave, or the last four digits of the
/// card (both kept with the payment; the e-mail only until contact data is
/// anonymised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptProof {
    /// The e-mail address given when paying (compared without case).
    Email(String),
    /// The card's last four digits.
    CardLast4(String),
}

impl ReceiptProof {
    /// Reads what the payer typed: an e-mail address (it has an `@`) or
    /// four digits (blanks allowed); `None` for anything else.
    ///
    /// ```
    /// use tolom_core::usecases::ReceiptProof;
    /// assert_eq!(ReceiptProof::parse(" 11 11 "), Some(ReceiptProof::CardLast4("1111".into())));
    /// assert_eq!(ReceiptProof::parse("Aibek@Example.kg"), Some(ReceiptProof::Email("aibek@example.kg".into())));
    /// assert_eq!(ReceiptProof::parse("111"), None);
    /// ```
    pub fn parse(input: &str) -> Option<ReceiptProof> {
        let input = input.trim();
        if input.contains('@') {
            return Some(ReceiptProof::Email(input.to_lowercase()));
        }
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(ReceiptProof::CardLast4(digits))
    }

    /// Whether this proof matches payment `p`.
    fn matches(&self, p: &Payment) -> bool {
        match self {
            ReceiptProof::Email(email) => p
                .contact()
                .is_some_and(|c| c.email.as_str().trim().to_lowercase() == *email),
            ReceiptProof::CardLast4(last4) => {
                p.card().is_some_and(|c| c.masked_pan.last4() == last4)
            }
        }
    }
}

/// A genuine receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenuineReceipt {
    /// The receipt as signed (the facts the signature covers, with the
    /// signature checked).
    pub receipt: Receipt,
    /// The ring key that verified it.
    pub key: RingKey,
    /// The payment's status now, when it differs from the receipt's (a
    /// refund since).
    pub status_now: Option<PaymentState>,
}

/// The answer to a receipt check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptCheck {
    /// Genuine.
    Genuine(Box<GenuineReceipt>),
    /// Not genuine, and why.
    NotGenuine(NotGenuine),
}

impl ReceiptCheck {
    /// The receipt, when genuine.
    pub fn genuine(&self) -> Option<&GenuineReceipt> {
        match self {
            ReceiptCheck::Genuine(g) => Some(g),
            ReceiptCheck::NotGenuine(_) => None,
        }
    }
}

/// Payments by id, receipts, receipt checks. Needs the payment and charge
/// stores, the signer and the key ring.
pub(crate) struct Receipts {
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) charges: Arc<dyn ChargeStore>,
    pub(crate) signer: Arc<dyn ReceiptSigner>,
    pub(crate) ring: RwLock<Arc<KeyRing>>,
    pub(crate) ctx: Ctx,
}

impl Receipts {
    /// A payment by id.
    pub(crate) async fn payment(&self, id: Uuid) -> Result<Payment, QueryError> {
        self.payments.payment(id).await?.ok_or(QueryError::NotFound)
    }

    /// The payment whose receipt the payer of a paid code asks to see
    /// again, when `proof` matches it: the code's paid payment (or, after
    /// a refund, the last one that was paid).
    pub(crate) async fn receipt_for_code(
        &self,
        input: &str,
        proof: &str,
    ) -> Result<Uuid, ReceiptProofError> {
        let code = self.ctx.config.code_format.parse(input)?;
        let proof = ReceiptProof::parse(proof).ok_or(ReceiptProofError::ProofInvalid)?;
        let charge = self
            .charges
            .charge_by_code(&code)
            .await?
            .ok_or(ReceiptProofError::NotFound)?;
        let mut paid = self.paid_payments(charge.id).await?;
        if paid.is_empty() {
            return Err(if charge.status == ChargeStatus::Paid {
                ReceiptProofError::PaidElsewhere
            } else {
                ReceiptProofError::NotPaid
            });
        }
        paid.sort_by_key(|p| std::cmp::Reverse(p.succeeded_at()));
        paid.iter()
            .find(|p| proof.matches(p))
            .map(Payment::id)
            .ok_or(ReceiptProofError::Mismatch)
    }

    /// When the code's card payment through tolom was paid: the paid
    /// payment's time (the last one after a refund), `None` when no
    /// payment of it was paid here.
    pub(crate) async fn paid_at(
        &self,
        code: &PaymentCode,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let Some(charge) = self.charges.charge_by_code(code).await? else {
            return Ok(None);
        };
        Ok(self
            .paid_payments(charge.id)
            .await?
            .iter()
            .filter_map(Payment::succeeded_at)
            .max())
    }

    /// The payments of a charge that were paid (since refunded or not).
    async fn paid_payments(&self, charge_id: Uuid) -> Result<Vec<Payment>, StoreError> {
        self.payments
            .list_payments(&PaymentQuery {
                charge_id: Some(charge_id),
                states: vec![
                    PaymentState::Succeeded,
                    PaymentState::PartiallyRefunded,
                    PaymentState::Refunded,
                ],
                ..PaymentQuery::default()
            })
            .await
    }

    /// The key ring receipts are checked against.
    pub(crate) fn ring(&self) -> Arc<KeyRing> {
        self.ring
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Replaces the key ring (the signer's key is added when missing).
    pub(crate) fn set_ring(&self, ring: KeyRing) -> Result<(), KeyRingError> {
        let ring = Arc::new(ring.with_current(self.signer.as_ref())?);
        match self.ring.write() {
            Ok(mut r) => *r = ring,
            Err(e) => *e.into_inner() = ring,
        }
        Ok(())
    }

    /// The signed receipt of a succeeded (or since refunded) payment, as it
    /// reads now.
    pub(crate) async fn receipt(&self, payment_id: Uuid) -> Result<Receipt, QueryError> {
        let payment = self.payment(payment_id).await?;
        let mut versions = self.versions(&payment).await?;
        let mut receipt = versions.swap_remove(0);
        receipt.key_id = self.signer.key_id();
        sign_receipt(&mut receipt, self.signer.as_ref());
        Ok(receipt)
    }

    /// The receipt of `payment` as it reads now (first), then as it read
    /// before each later refund, newest first; not signed, key id empty.
    async fn versions(&self, payment: &Payment) -> Result<Vec<Receipt>, QueryError> {
        let charge = self
            .charges
            .charge(payment.charge_id())
            .await?
            .ok_or(QueryError::NotFound)?;
        let mut now = Receipt::build(
            payment,
            &charge,
            &self.ctx.config.catalogue,
            &self.ctx.config.operator,
            String::new(),
        )
        .map_err(|_| QueryError::NoReceipt)?;
        let mut refunds: Vec<(DateTime<Utc>, crate::money::Money)> = self
            .payments
            .refunds_of(payment.id())
            .await?
            .into_iter()
            .filter(|r| r.state == RefundState::Succeeded)
            .map(|r| (r.updated_at, r.amount))
            .collect();
        refunds.sort_by_key(|(at, _)| *at);
        if !now.refunded.is_zero() {
            let at = refunds.last().map(|(at, _)| *at);
            now = now.with_refunds(now.status, now.refunded, at);
        }
        // Before each refund: what the receipt said then.
        let mut versions = vec![now.clone()];
        let mut refunded = crate::money::Money::zero(now.total.currency());
        let mut earlier = vec![now.with_refunds(PaymentState::Succeeded, refunded, None)];
        for (at, amount) in refunds.iter().take(refunds.len().saturating_sub(1)) {
            let Ok(sum) = refunded.checked_add(*amount) else {
                break;
            };
            refunded = sum;
            let status = if refunded == now.total {
                PaymentState::Refunded
            } else {
                PaymentState::PartiallyRefunded
            };
            earlier.push(now.with_refunds(status, refunded, Some(*at)));
        }
        for v in earlier.into_iter().rev() {
            if !versions.iter().any(|x| x.content() == v.content()) {
                versions.push(v);
            }
        }
        Ok(versions)
    }

    /// Checks a receipt against the key ring and the records.
    pub(crate) async fn check(&self, claim: &ReceiptClaim) -> Result<ReceiptCheck, QueryError> {
        match claim {
            ReceiptClaim::Reference {
                number,
                key_id,
                signature,
            } => {
                self.check_reference(number, key_id.as_deref(), signature)
                    .await
            }
            ReceiptClaim::Content { content, signature } => {
                self.check_content(content, signature).await
            }
        }
    }

    async fn check_reference(
        &self,
        number: &str,
        key_id: Option<&str>,
        signature: &str,
    ) -> Result<ReceiptCheck, QueryError> {
        let not = |n: NotGenuine| Ok(ReceiptCheck::NotGenuine(n));
        let sig = match decode_signature(signature) {
            Ok(s) => s,
            Err(n) => return not(n),
        };
        let ring = self.ring();
        let keys: Vec<&RingKey> = match key_id.map(str::trim).filter(|k| !k.is_empty()) {
            Some(id) => match ring.key(id) {
                Some(k) => vec![k],
                None => return not(NotGenuine::UnknownKey(id.to_string())),
            },
            None => ring.keys().iter().collect(),
        };
        let Some(payment) = self.payments.payment_by_receipt(number.trim()).await? else {
            return not(NotGenuine::NotFound);
        };
        let versions = match self.versions(&payment).await {
            Ok(v) => v,
            Err(QueryError::NoReceipt) => return not(NotGenuine::NotFound),
            Err(e) => return Err(e),
        };
        let status_now = versions[0].status;
        let mut failure = NotGenuine::BadSignature;
        for key in &keys {
            for v in &versions {
                let mut r = v.clone();
                r.key_id = key.key_id().to_string();
                let content = r.content();
                match ring.verify(
                    content.encode().as_bytes(),
                    key.key_id(),
                    &sig,
                    content.as_of(),
                ) {
                    Ok(k) => {
                        r.signature = signature.trim().to_string();
                        return Ok(genuine(r, k, status_now));
                    }
                    Err(e @ NotGenuine::KeyRetired { .. }) => failure = e,
                    Err(_) => {}
                }
            }
        }
        not(failure)
    }

    async fn check_content(
        &self,
        content: &str,
        signature: &str,
    ) -> Result<ReceiptCheck, QueryError> {
        // A form's text area sends CR LF line breaks; nothing signed holds a
        // raw CR (it is escaped), so they are only the browser's.
        let text = content.trim().replace("\r\n", "\n");
        let ring = self.ring();
        let (facts, key) = match ring.verify_content(&text, signature) {
            Ok((facts, key)) => (facts, key.clone()),
            Err(n) => return Ok(ReceiptCheck::NotGenuine(n)),
        };
        let Some(payment) = self.payments.payment_by_receipt(&facts.number).await? else {
            return Ok(ReceiptCheck::NotGenuine(NotGenuine::NotInRecords));
        };
        let versions = match self.versions(&payment).await {
            Ok(v) => v,
            Err(QueryError::NoReceipt) => {
                return Ok(ReceiptCheck::NotGenuine(NotGenuine::NotInRecords))
            }
            Err(e) => return Err(e),
        };
        let status_now = versions[0].status;
        // The payment's facts must be the recorded ones; the operator's name
        // comes from the configuration of the day, the key from the ring.
        let matches = versions.iter().any(|v| {
            let mut c: ReceiptContent = v.content();
            c.operator = facts.operator.clone();
            c.key_id = facts.key_id.clone();
            c == facts
        });
        if !matches {
            return Ok(ReceiptCheck::NotGenuine(NotGenuine::NotInRecords));
        }
        let receipt = Receipt::from_content(
            &facts,
            &self.ctx.config.catalogue,
            &self.ctx.config.operator,
            signature,
        );
        Ok(genuine(receipt, &key, status_now))
    }
}

fn genuine(receipt: Receipt, key: &RingKey, status_now: PaymentState) -> ReceiptCheck {
    let status_now = (status_now != receipt.status).then_some(status_now);
    ReceiptCheck::Genuine(Box::new(GenuineReceipt {
        receipt,
        key: key.clone(),
        status_now,
    }))
}
