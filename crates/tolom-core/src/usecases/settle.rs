//! Settling a payment from the acquirer's word: applying an answer, asking
//! for the status, recording late approvals and reversing duplicates. The
//! paying, challenge and reconciliation use cases share it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::charge::Charge;
use crate::events::EventKind;
use crate::external::ExternalState;
use crate::i18n::Text;
use crate::payment::{Approval, Payment, PaymentState};
use crate::ports::{
    Acquirer, AcquirerError, AcquirerErrorKind, AcquirerOutcome, ChargeChange, ChargeStore,
    ExternalPaymentStore, ExternalQuery, OrderStatus, PaymentQuery, PaymentStore, PaymentUpdate,
    StoreError,
};

use super::ctx::{Ctx, Notes};
use super::duplicates::Duplicates;
use super::notices;

/// How a payment is to end (or move on).
pub(crate) enum Settlement {
    Outcome(AcquirerOutcome),
    Unknown,
    Fail(Text),
    /// The purchase was refused before it reached the acquirer.
    NotSent,
    Expire,
}

/// How a payment ends when the acquirer says nothing was charged: an
/// abandoned challenge expires, anything else failed.
fn closed(payment: &Payment) -> Settlement {
    if payment.state() == PaymentState::ActionRequired {
        Settlement::Expire
    } else {
        Settlement::Fail(Text::PaymentAcquirerUnavailable)
    }
}

/// Settles payments. Needs the payment and charge stores, the payments made
/// elsewhere (what else may have paid a charge), the acquirer and the
/// duplicates use case.
pub(crate) struct Settler {
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) charges: Arc<dyn ChargeStore>,
    pub(crate) external: Arc<dyn ExternalPaymentStore>,
    pub(crate) acquirer: Arc<dyn Acquirer>,
    pub(crate) duplicates: Arc<Duplicates>,
    pub(crate) ctx: Ctx,
}

impl Settler {
    /// Whether a payment whose order is open and unpaid at the acquirer
    /// should be closed now: a payment that never showed its payer a
    /// challenge (`Authorizing`, `Unknown`) once it has been stuck for
    /// `authorizing_stale_after` — the card was never processed, so nothing
    /// is coming; one waiting for its payer (`ActionRequired`) once its
    /// session, with the challenge window, is over.
    fn unpaid_order_is_due(&self, payment: &Payment, now: DateTime<Utc>) -> bool {
        match payment.state() {
            PaymentState::Authorizing | PaymentState::Unknown => {
                now - payment.updated_at() >= self.ctx.config.authorizing_stale_after
            }
            PaymentState::ActionRequired => now >= payment.expires_at(),
            _ => false,
        }
    }

    /// Applies the acquirer's answer (or error) to a payment that is
    /// `Authorizing`, and stores it. On a concurrent change, returns the
    /// stored payment.
    pub(crate) async fn apply_result(
        &self,
        payment: Payment,
        charge: &Charge,
        result: Result<AcquirerOutcome, AcquirerError>,
        order_exists: bool,
    ) -> Result<Payment, StoreError> {
        let now = self.ctx.now();
        let outcome = match result {
            Ok(o) => Settlement::Outcome(o),
            // After a challenge the order exists at the acquirer and the payer
            // may already have paid there: whatever went wrong with our call,
            // only the acquirer's status can settle it.
            Err(_) if order_exists => Settlement::Unknown,
            Err(e) => match e.kind {
                AcquirerErrorKind::Unknown => Settlement::Unknown,
                AcquirerErrorKind::NotSent => Settlement::NotSent,
                AcquirerErrorKind::Rejected => Settlement::Fail(Text::ServiceUnavailable),
            },
        };
        self.settle(payment, charge, outcome, now).await
    }

    pub(crate) async fn settle(
        &self,
        payment: Payment,
        charge: &Charge,
        settlement: Settlement,
        now: DateTime<Utc>,
    ) -> Result<Payment, StoreError> {
        let id = payment.id();
        let before = payment.state();
        let late_approval = match &settlement {
            Settlement::Outcome(AcquirerOutcome::Approved(a)) => Some(a.clone()),
            _ => None,
        };
        let mut next = payment;
        let mut charge_change = None;
        let mut outbox = Vec::new();
        let moved = match settlement {
            Settlement::Outcome(AcquirerOutcome::Approved(approval)) => {
                let ok = next.succeed(approval, now).is_ok();
                if ok {
                    charge_change = Some(ChargeChange::MarkPaid);
                    outbox = notices::success_messages(&self.ctx, &next, charge, now);
                }
                ok
            }
            Settlement::Outcome(AcquirerOutcome::Declined(reason)) => {
                next.decline(reason, now).is_ok()
            }
            Settlement::Outcome(AcquirerOutcome::ActionRequired(challenge)) => {
                next.require_action(challenge, now).is_ok()
            }
            Settlement::Outcome(AcquirerOutcome::Pending) | Settlement::Unknown => {
                next.mark_unknown(now).is_ok()
            }
            Settlement::Fail(code) => next.fail(code, now).is_ok(),
            Settlement::NotSent => {
                // The purchase certainly never reached the acquirer: record
                // that, so that the late-approval sweep never asks about it.
                next.fail_not_sent(Text::PaymentAcquirerUnavailable, now)
                    .is_ok()
            }
            Settlement::Expire => next.expire(now).is_ok(),
        };
        if !moved {
            // The transition does not apply to the payment as it is (e.g. it
            // was settled meanwhile): report it unchanged.
            return Ok(next);
        }
        let Some(kind) = EventKind::settled_in(next.state()) else {
            return Ok(next);
        };
        let event = self.ctx.event(
            next.charge_id(),
            Some(next.id()),
            kind,
            json!({
                "from": before.as_str(),
                "decline_reason": next.decline_reason().map(|r| crate::i18n::ErrorCode::code(&r)),
                "failure": next.failure(),
                "receipt_number": next.receipt_number(),
            }),
            now,
        );
        let update = PaymentUpdate {
            payment: next,
            charge: charge_change,
            refund: None,
            events: vec![event],
            outbox,
            notes: Vec::new(),
        };
        match self.payments.update_payment(&update).await {
            Ok(()) => Ok(update.payment),
            Err(StoreError::Conflict) => {
                let current = self
                    .payments
                    .payment(id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                match late_approval {
                    // Never drop an approval because the payment changed
                    // meanwhile (e.g. reconciliation closed it).
                    Some(approval) => self.keep_approval(current, charge, approval).await,
                    None => Ok(current),
                }
            }
            Err(e @ StoreError::Invariant { .. }) => match late_approval {
                // A rare path, boxed: its future would otherwise make
                // every settling's future (moved on each call) far larger.
                Some(approval) => Box::pin(self.duplicate_approval(id, approval, e)).await,
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Records an approval on a payment that moved on since it was read:
    /// applied normally while it can still be settled, recovered if it was
    /// closed as failed or expired.
    pub(crate) async fn keep_approval(
        &self,
        current: Payment,
        charge: &Charge,
        approval: Approval,
    ) -> Result<Payment, StoreError> {
        let now = self.ctx.now();
        if matches!(
            current.state(),
            PaymentState::Authorizing | PaymentState::Unknown | PaymentState::ActionRequired
        ) {
            return Box::pin(self.settle(
                current,
                charge,
                Settlement::Outcome(AcquirerOutcome::Approved(approval)),
                now,
            ))
            .await;
        }
        if !matches!(
            current.state(),
            PaymentState::Failed | PaymentState::Expired
        ) {
            return Ok(current);
        }
        let mut next = current.clone();
        if next.recover_approval(approval, now).is_err() {
            return Ok(current);
        }
        let event = self.ctx.event(
            next.charge_id(),
            Some(next.id()),
            EventKind::PaymentLateApproval,
            json!({"from": current.state().as_str(), "receipt_number": next.receipt_number()}),
            now,
        );
        let update = PaymentUpdate {
            outbox: notices::success_messages(&self.ctx, &next, charge, now),
            payment: next,
            charge: Some(ChargeChange::MarkPaid),
            refund: None,
            events: vec![event],
            notes: Vec::new(),
        };
        match self.payments.update_payment(&update).await {
            Ok(()) => Ok(update.payment),
            Err(e @ StoreError::Invariant { .. }) => {
                let approval = update
                    .payment
                    .approval()
                    .cloned()
                    .ok_or_else(|| e.clone())?;
                Box::pin(self.duplicate_approval(current.id(), approval, e)).await
            }
            Err(e) => Err(e),
        }
    }

    /// The acquirer approved a payment whose charge another payment has
    /// already paid (the store refused a second paid payment): charged
    /// twice. The other payment is a card payment, or one made elsewhere
    /// (a bank's app, a terminal, ELQR) and recorded while this one was in
    /// flight. The payment becomes `Duplicate` (with the approval, event
    /// `payment.duplicate` naming what paid the charge and its channel),
    /// and the money is given back at once — reversed, else refunded; when
    /// neither works the next attempt is scheduled with back-off
    /// ([`super::duplicates`]).
    async fn duplicate_approval(
        &self,
        payment_id: Uuid,
        approval: Approval,
        refused: StoreError,
    ) -> Result<Payment, StoreError> {
        let mut current = self
            .payments
            .payment(payment_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        // Only a second payment of an already paid charge is a duplicate;
        // any other refusal of the write is reported as it is (the approval
        // stays to be recorded by reconciliation).
        let paid_by = self
            .payments
            .list_payments(&PaymentQuery {
                charge_id: Some(current.charge_id()),
                states: vec![PaymentState::Succeeded, PaymentState::PartiallyRefunded],
                ..PaymentQuery::default()
            })
            .await?
            .into_iter()
            .find(|p| p.id() != payment_id)
            .map(|p| (p.id(), crate::external::PaymentChannel::Card));
        let paid_by = match paid_by {
            Some(p) => Some(p),
            None => self
                .external
                .list_external_payments(&ExternalQuery {
                    states: vec![ExternalState::Accepted],
                    charge_id: Some(current.charge_id()),
                    limit: 1,
                    ..ExternalQuery::default()
                })
                .await?
                .first()
                .map(|e| (e.id, e.channel)),
        };
        let Some((paid_by, paid_via)) = paid_by else {
            return Err(refused);
        };
        let mut recorded = None;
        for _ in 0..4 {
            let now = self.ctx.now();
            let mut next = current.clone();
            if next.record_duplicate(approval.clone(), now).is_err() {
                // Recorded meanwhile (or moved on): as it is.
                break;
            }
            let event = self.ctx.event(
                next.charge_id(),
                Some(next.id()),
                EventKind::PaymentDuplicate,
                json!({
                    "from": current.state().as_str(),
                    "paid_by": paid_by,
                    "paid_via": paid_via,
                    "total": next.total(),
                }),
                now,
            );
            let update = super::ctx::update(next, vec![event]);
            match self.payments.update_payment(&update).await {
                Ok(()) => {
                    recorded = Some(update.payment);
                    break;
                }
                Err(StoreError::Conflict) => {
                    current = self
                        .payments
                        .payment(payment_id)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                }
                Err(e) => return Err(e),
            }
        }
        let Some(duplicate) = recorded else {
            return Ok(current);
        };
        let (_, after) = self
            .duplicates
            .give_back(duplicate, crate::audit::SYSTEM_ACTOR, &Notes::none())
            .await?;
        Ok(after)
    }

    /// Asks the acquirer about one payment and settles it. With
    /// `may_expire`, a payment past its session end that the acquirer has
    /// not charged is expired (or failed, if it reached `Unknown`).
    pub(crate) async fn settle_from_acquirer(
        &self,
        payment: Payment,
        now: DateTime<Utc>,
        may_expire: bool,
    ) -> Result<Payment, StoreError> {
        let Ok(status) = self.acquirer.status(&payment.order_number()).await else {
            return Ok(payment);
        };
        let charge = self
            .charges
            .charge(payment.charge_id())
            .await?
            .ok_or(StoreError::ChargeNotFound)?;
        let settlement = match status {
            OrderStatus::Approved { approval, .. } => {
                Settlement::Outcome(AcquirerOutcome::Approved(approval))
            }
            OrderStatus::Declined(reason) => Settlement::Outcome(AcquirerOutcome::Declined(reason)),
            OrderStatus::Reversed => closed(&payment),
            // Taken and given back at the bank (its back office): not paid,
            // and never announced as paid.
            OrderStatus::Refunded { .. } => Settlement::Fail(Text::PaymentRefundedAtAcquirer),
            // Held, not taken (a two-stage order; tolom buys in one stage):
            // not paid. Once the payer's time is over the hold is released.
            OrderStatus::PreAuthorized { .. } => {
                if !(may_expire && self.unpaid_order_is_due(&payment, now)) {
                    return Ok(payment);
                }
                match self.acquirer.reverse(&payment.order_number()).await {
                    Ok(()) => Settlement::Fail(Text::PaymentHeldAtAcquirer),
                    Err(_) => return Ok(payment),
                }
            }
            // A request may still be on its way to the acquirer: "no such
            // order" is final only once the payment has waited a while.
            OrderStatus::NotFound
                if now - payment.updated_at() < self.ctx.config.authorizing_stale_after =>
            {
                return Ok(payment);
            }
            OrderStatus::NotFound => closed(&payment),
            OrderStatus::Pending => {
                if !(may_expire && self.unpaid_order_is_due(&payment, now)) {
                    return Ok(payment);
                }
                // The acquirer says the order was not paid and the payer's
                // time is over: close it there, so that nothing can be paid
                // on it any more, and then here, which frees the code.
                match self.acquirer.cancel(&payment.order_number()).await {
                    Ok(()) => closed(&payment),
                    Err(refused) => match self.acquirer.status(&payment.order_number()).await {
                        Ok(OrderStatus::Approved { approval, .. }) => {
                            Settlement::Outcome(AcquirerOutcome::Approved(approval))
                        }
                        Ok(OrderStatus::Declined(reason)) => {
                            Settlement::Outcome(AcquirerOutcome::Declined(reason))
                        }
                        Ok(OrderStatus::Reversed | OrderStatus::NotFound) => closed(&payment),
                        Ok(OrderStatus::Refunded { .. }) => {
                            Settlement::Fail(Text::PaymentRefundedAtAcquirer)
                        }
                        Ok(OrderStatus::PreAuthorized { .. }) => {
                            match self.acquirer.reverse(&payment.order_number()).await {
                                Ok(()) => Settlement::Fail(Text::PaymentHeldAtAcquirer),
                                Err(_) => return Ok(payment),
                            }
                        }
                        // The acquirer will not close an unpaid order: the
                        // payment closes anyway (its word is "not paid"),
                        // and the order is watched for a late approval.
                        Ok(OrderStatus::Pending) if refused.kind == AcquirerErrorKind::Rejected => {
                            Settlement::Fail(Text::PaymentOrderLeftOpen)
                        }
                        Ok(OrderStatus::Pending) | Err(_) => return Ok(payment),
                    },
                }
            }
        };
        self.settle(payment, &charge, settlement, now).await
    }
}
