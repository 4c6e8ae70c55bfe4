//! Receipts: built and signed on demand from the stored payment, and
//! checked by number and signature.

use std::sync::Arc;

use uuid::Uuid;

use crate::errors::QueryError;
use crate::payment::Payment;
use crate::ports::{receipt_signature_ok, sign_receipt, ChargeStore, PaymentStore, ReceiptSigner};
use crate::receipt::Receipt;

use super::ctx::Ctx;

/// Payments by id, receipts, receipt checks. Needs the payment and charge
/// stores and the signer.
pub(crate) struct Receipts {
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) charges: Arc<dyn ChargeStore>,
    pub(crate) signer: Arc<dyn ReceiptSigner>,
    pub(crate) ctx: Ctx,
}

impl Receipts {
    /// A payment by id.
    pub(crate) async fn payment(&self, id: Uuid) -> Result<Payment, QueryError> {
        self.payments.payment(id).await?.ok_or(QueryError::NotFound)
    }

    /// The signed receipt of a succeeded (or since refunded) payment.
    pub(crate) async fn receipt(&self, payment_id: Uuid) -> Result<Receipt, QueryError> {
        let payment = self.payment(payment_id).await?;
        self.receipt_of(&payment).await
    }

    async fn receipt_of(&self, payment: &Payment) -> Result<Receipt, QueryError> {
        let charge = self
            .charges
            .charge(payment.charge_id())
            .await?
            .ok_or(QueryError::NotFound)?;
        let mut receipt = Receipt::build(
            payment,
            &charge,
            &self.ctx.config.catalogue,
            &self.ctx.config.operator,
            self.signer.key_id(),
        )
        .map_err(|_| QueryError::NoReceipt)?;
        sign_receipt(&mut receipt, self.signer.as_ref());
        Ok(receipt)
    }

    /// Checks a receipt number and signature (as printed or in the QR code):
    /// `Ok(Some(receipt))` when genuine, `Ok(None)` when not.
    pub(crate) async fn verify_receipt(
        &self,
        number: &str,
        signature: &str,
    ) -> Result<Option<Receipt>, QueryError> {
        let Some(payment) = self.payments.payment_by_receipt(number.trim()).await? else {
            return Ok(None);
        };
        let mut receipt = self.receipt_of(&payment).await?;
        receipt.signature = signature.trim().to_string();
        let genuine = receipt_signature_ok(&receipt, self.signer.as_ref());
        Ok(genuine.then_some(receipt))
    }
}
