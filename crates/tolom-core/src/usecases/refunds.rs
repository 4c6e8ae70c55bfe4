//! Refunds: money given back, reserved first, then sent to the acquirer.

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use crate::charge::ChargeStatus;
use crate::errors::RefundError;
use crate::events::EventKind;
use crate::money::Money;
use crate::outbox::AgencyEventKind;
use crate::payment::{Payment, PaymentState, Refund, RefundState};
use crate::ports::{
    Acquirer, AcquirerErrorKind, ChargeChange, ChargeStore, InvariantKind, PaymentStore,
    RefundOutcome, StoreError,
};

use super::ctx::{update, valid_key, Ctx, Notes};
use super::notices;

/// Refunds payments. Needs the payment and charge stores and the acquirer.
pub(crate) struct Refunds {
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) charges: Arc<dyn ChargeStore>,
    pub(crate) acquirer: Arc<dyn Acquirer>,
    pub(crate) ctx: Ctx,
}

impl Refunds {
    /// Refunds `amount` (everything left when `None`) of a payment. The same
    /// idempotency key returns the same refund without a second call to the
    /// acquirer. Refunds never exceed what was paid.
    pub(crate) async fn refund(
        &self,
        payment_id: Uuid,
        amount: Option<Money>,
        reason: &str,
        idempotency_key: &str,
        actor: &str,
    ) -> Result<Refund, RefundError> {
        self.refund_noted(
            payment_id,
            amount,
            reason,
            idempotency_key,
            actor,
            &Notes::none(),
        )
        .await
    }

    /// [`Refunds::refund`], with `notes` written into the audit log in the
    /// transaction that reserves the refund (an operator's request).
    pub(crate) async fn refund_noted(
        &self,
        payment_id: Uuid,
        amount: Option<Money>,
        reason: &str,
        idempotency_key: &str,
        actor: &str,
        notes: &Notes,
    ) -> Result<Refund, RefundError> {
        if !valid_key(idempotency_key) {
            return Err(RefundError::KeyInvalid);
        }
        if let Some(existing) = self
            .payments
            .refund_by_key(payment_id, idempotency_key)
            .await?
        {
            return Ok(existing);
        }
        let now = self.ctx.now();
        let mut attempts = 0;
        let (mut payment, refund) = loop {
            attempts += 1;
            if attempts > 8 {
                return Err(RefundError::Store(StoreError::Conflict));
            }
            let mut payment = self
                .payments
                .payment(payment_id)
                .await?
                .ok_or(RefundError::NotFound)?;
            let amount = amount.unwrap_or_else(|| payment.refundable());
            payment.reserve_refund(amount, now)?;
            let refund = Refund {
                id: self.ctx.new_id(),
                payment_id,
                amount,
                reason: reason.to_string(),
                state: RefundState::Pending,
                idempotency_key: idempotency_key.to_string(),
                created_at: now,
                updated_at: now,
                failure: None,
            };
            let mut update = update(
                payment.clone(),
                vec![self.ctx.event_by(
                    actor,
                    payment.charge_id(),
                    Some(payment.id()),
                    EventKind::RefundRequested,
                    json!({"refund_id": refund.id, "amount": amount, "reason": reason}),
                    now,
                )],
            );
            update.refund = Some(refund.clone());
            update.notes = notes.pending().to_vec();
            match self.payments.update_payment(&update).await {
                Ok(()) => {
                    notes.mark_written();
                    break (payment, refund);
                }
                Err(StoreError::Conflict) => {
                    if let Some(existing) = self
                        .payments
                        .refund_by_key(payment_id, idempotency_key)
                        .await?
                    {
                        return Ok(existing);
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let result = self
            .acquirer
            .refund(
                &payment.order_number(),
                &refund.id.simple().to_string(),
                refund.amount,
            )
            .await;
        match result {
            Ok(RefundOutcome::Refunded) => {
                Ok(self.finish_refund(&mut payment, refund, true, None).await?)
            }
            Ok(RefundOutcome::Refused(why)) => {
                self.finish_refund(&mut payment, refund, false, Some(why.clone()))
                    .await?;
                Err(RefundError::Failed(why))
            }
            Err(e) if e.kind == AcquirerErrorKind::Unknown => Ok(refund),
            Err(e) => {
                self.finish_refund(&mut payment, refund, false, Some(e.message.clone()))
                    .await?;
                Err(RefundError::Failed(e.message))
            }
        }
    }

    /// Settles a pending refund (succeeded or failed), retrying on
    /// concurrent changes of the payment.
    pub(crate) async fn finish_refund(
        &self,
        payment: &mut Payment,
        mut refund: Refund,
        succeeded: bool,
        failure: Option<String>,
    ) -> Result<Refund, StoreError> {
        for _ in 0..8 {
            let now = self.ctx.now();
            let mut next = payment.clone();
            let applied = if succeeded {
                next.complete_refund(refund.amount, now)
            } else {
                next.release_refund(refund.amount, now)
            };
            if let Err(refused) = applied {
                return Err(StoreError::invariant(
                    InvariantKind::RefundsExceedTotal,
                    format!("refund {} does not fit the payment: {refused}", refund.id),
                ));
            }
            refund.state = if succeeded {
                RefundState::Succeeded
            } else {
                RefundState::Failed
            };
            refund.updated_at = now;
            refund.failure = failure.clone();
            let kind = if succeeded {
                EventKind::RefundSucceeded
            } else {
                EventKind::RefundFailed
            };
            let mut update = update(
                next.clone(),
                vec![self.ctx.event(
                    next.charge_id(),
                    Some(next.id()),
                    kind,
                    json!({"refund_id": refund.id, "amount": refund.amount}),
                    now,
                )],
            );
            update.refund = Some(refund.clone());
            // A duplicate given back is no news for the agency: its charge
            // stays paid by the other payment.
            if succeeded && next.state() != PaymentState::Returned {
                let charge = self
                    .charges
                    .charge(next.charge_id())
                    .await?
                    .ok_or(StoreError::ChargeNotFound)?;
                if self.ctx.config.agency_notices {
                    update.outbox.push(notices::agency_notice(
                        &self.ctx,
                        &next,
                        &charge,
                        AgencyEventKind::PaymentRefunded,
                        now,
                    ));
                }
                if next.state() == PaymentState::Refunded && charge.status == ChargeStatus::Paid {
                    update.charge = Some(ChargeChange::Reopen);
                }
            }
            match self.payments.update_payment(&update).await {
                Ok(()) => {
                    *payment = next;
                    return Ok(refund);
                }
                Err(StoreError::Conflict) => {
                    // Someone else may have settled this very refund.
                    let stored = self.payments.refunds_of(payment.id()).await?;
                    if let Some(done) = stored
                        .into_iter()
                        .find(|r| r.id == refund.id && r.state != RefundState::Pending)
                    {
                        return Ok(done);
                    }
                    *payment = self
                        .payments
                        .payment(payment.id())
                        .await?
                        .ok_or(StoreError::NotFound)?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }
}
