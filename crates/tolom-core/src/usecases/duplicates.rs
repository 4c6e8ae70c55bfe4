//! Duplicate approvals: the acquirer approved a payment whose charge
//! another payment has paid, so the payer was charged twice. The payment is
//! [`PaymentState::Duplicate`] until its money is back: the authorisation
//! is **reversed**, else the whole total is **refunded**; an attempt that
//! gets neither is retried later, with back-off ([`return_backoff`]), never
//! on every reconciliation round. Operators can give a duplicate back at
//! once ([`crate::usecases::Operator::return_duplicate`]) and see the open
//! ones in reports and metrics.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::errors::RefundError;
use crate::events::EventKind;
use crate::payment::{Payment, PaymentState, RefundState};
use crate::ports::{Acquirer, OrderStatus, PaymentStore, PaymentUpdate, StoreError};

use super::ctx::{Ctx, Notes};
use super::refunds::Refunds;

/// How long after its `attempts`-th failed attempt a duplicate's money is
/// tried again: 1 minute, 5 minutes, 30 minutes, 2 hours, 12 hours, then
/// once a day until it is back (or an operator gives it back).
pub fn return_backoff(attempts: u32) -> Duration {
    match attempts {
        0 | 1 => Duration::minutes(1),
        2 => Duration::minutes(5),
        3 => Duration::minutes(30),
        4 => Duration::hours(2),
        5 => Duration::hours(12),
        _ => Duration::days(1),
    }
}

/// What giving a duplicate back did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnOutcome {
    /// The authorisation was reversed (or the acquirer holds nothing of it
    /// any more): nothing was taken.
    Reversed,
    /// The total was refunded.
    Refunded,
    /// A refund was sent and its answer lost: reconciliation settles it
    /// from the acquirer's refunded total.
    RefundPending,
    /// Neither worked; tried again at the payment's `next_return_at`.
    Failed,
    /// The payment is not (or no longer) a duplicate awaiting its money.
    NotDue,
}

/// Gives duplicates' money back. Needs the payment store, the acquirer and
/// the refunds use case.
pub(crate) struct Duplicates {
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) acquirer: Arc<dyn Acquirer>,
    pub(crate) refunds: Arc<Refunds>,
    pub(crate) ctx: Ctx,
}

impl Duplicates {
    /// Whether a payment is a duplicate whose next attempt is due at `now`.
    pub(crate) fn is_due(payment: &Payment, now: DateTime<Utc>) -> bool {
        payment.state() == PaymentState::Duplicate
            && payment.refund_pending().is_zero()
            && payment.next_return_at().is_some_and(|at| at <= now)
    }

    /// One attempt to give a duplicate's money back: reverse, else refund
    /// the total; on failure the next attempt is scheduled (event
    /// `payment.duplicate_unresolved`). `actor` and `notes` name who asked
    /// (an operator, or `system` for reconciliation) in the writes of the
    /// attempt. Returns the payment as stored after it.
    pub(crate) async fn give_back(
        &self,
        payment: Payment,
        actor: &str,
        notes: &Notes,
    ) -> Result<(ReturnOutcome, Payment), StoreError> {
        if payment.state() != PaymentState::Duplicate || !payment.refund_pending().is_zero() {
            return Ok((ReturnOutcome::NotDue, payment));
        }
        let order = payment.order_number();
        let reversal = self.acquirer.reverse(&order).await;
        let reverse_error = match reversal {
            Ok(()) => {
                let p = self
                    .returned(payment, actor, notes, json!({"by": "reversal"}))
                    .await?;
                return Ok((ReturnOutcome::Reversed, p));
            }
            Err(e) => e.message,
        };
        let key = format!(
            "duplicate-{}-{}",
            payment.id().simple(),
            payment.return_attempts()
        );
        let refund = self
            .refunds
            .refund_noted(
                payment.id(),
                Some(payment.total()),
                "duplicate approval: the charge was paid by another payment",
                &key,
                actor,
                notes,
            )
            .await;
        let refund_error = match refund {
            Ok(r) if r.state == RefundState::Succeeded => {
                let p = self.reread(payment).await?;
                return Ok((ReturnOutcome::Refunded, p));
            }
            Ok(_) => {
                let p = self.reread(payment).await?;
                return Ok((ReturnOutcome::RefundPending, p));
            }
            Err(RefundError::Store(e)) => return Err(e),
            Err(e) => e.to_string(),
        };
        // Neither went through. Perhaps the acquirer holds nothing any
        // more (reversed or refunded at the bank): then the money is back.
        let payment = self.reread(payment).await?;
        match self.acquirer.status(&order).await {
            Ok(OrderStatus::Reversed | OrderStatus::NotFound | OrderStatus::Declined(_)) => {
                let p = self
                    .returned(payment, actor, notes, json!({"by": "acquirer_status"}))
                    .await?;
                return Ok((ReturnOutcome::Reversed, p));
            }
            Ok(OrderStatus::Refunded { refunded, .. }) if refunded >= payment.total() => {
                let p = self
                    .returned(payment, actor, notes, json!({"by": "refunded_at_acquirer"}))
                    .await?;
                return Ok((ReturnOutcome::Reversed, p));
            }
            _ => {}
        }
        let p = self
            .failed_attempt(payment, actor, notes, &reverse_error, &refund_error)
            .await?;
        Ok((ReturnOutcome::Failed, p))
    }

    async fn reread(&self, payment: Payment) -> Result<Payment, StoreError> {
        Ok(self
            .payments
            .payment(payment.id())
            .await?
            .unwrap_or(payment))
    }

    /// `Duplicate → Returned` with its event, retried on a concurrent change.
    async fn returned(
        &self,
        mut payment: Payment,
        actor: &str,
        notes: &Notes,
        data: serde_json::Value,
    ) -> Result<Payment, StoreError> {
        for _ in 0..4 {
            let now = self.ctx.now();
            let mut next = payment.clone();
            if next.return_duplicate(now).is_err() {
                return Ok(payment);
            }
            let event = self.ctx.event_by(
                actor,
                next.charge_id(),
                Some(next.id()),
                EventKind::PaymentDuplicateReversed,
                data.clone(),
                now,
            );
            match self
                .write(super::ctx::update(next, vec![event]), notes)
                .await?
            {
                Some(stored) => return Ok(stored),
                None => payment = self.reread(payment).await?,
            }
        }
        Err(StoreError::Conflict)
    }

    /// Stores `update` with the request's pending notes; `None` when
    /// another write came first (the caller reads the payment again).
    async fn write(
        &self,
        mut update: PaymentUpdate,
        notes: &Notes,
    ) -> Result<Option<Payment>, StoreError> {
        update.notes = notes.pending().to_vec();
        match self.payments.update_payment(&update).await {
            Ok(()) => {
                notes.mark_written();
                Ok(Some(update.payment))
            }
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records a failed attempt and when the next one is.
    async fn failed_attempt(
        &self,
        mut payment: Payment,
        actor: &str,
        notes: &Notes,
        reverse_error: &str,
        refund_error: &str,
    ) -> Result<Payment, StoreError> {
        for _ in 0..4 {
            let now = self.ctx.now();
            let mut next = payment.clone();
            let attempts = next.return_attempts().saturating_add(1);
            let at = now + return_backoff(attempts);
            if next.schedule_return(at, now).is_err() {
                return Ok(payment);
            }
            let event = self.ctx.event_by(
                actor,
                next.charge_id(),
                Some(next.id()),
                EventKind::PaymentDuplicateUnresolved,
                json!({
                    "attempt": attempts,
                    "reverse": reverse_error,
                    "refund": refund_error,
                    "next_attempt_at": at,
                }),
                now,
            );
            match self
                .write(super::ctx::update(next, vec![event]), notes)
                .await?
            {
                Some(stored) => return Ok(stored),
                None => payment = self.reread(payment).await?,
            }
        }
        Err(StoreError::Conflict)
    }
}
