//! Background settling: reconciliation with the acquirer (unknown
//! outcomes, stuck authorisations, abandoned challenges, late approvals,
//! lost refund answers) and expiry of abandoned payments and old charges.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use crate::charge::ChargeStatus;
use crate::events::EventKind;
use crate::i18n::Text;
use crate::payment::{PaymentState, Refund, RefundState};
use crate::ports::{
    Acquirer, ChargeQuery, ChargeStore, OrderStatus, PaymentQuery, PaymentStore, StoreError,
};

use super::ctx::{Ctx, Notes};
use super::duplicates::Duplicates;
use super::refunds::Refunds;
use super::settle::{Settlement, Settler};

/// Result of [`crate::Tolom::reconcile`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Payments asked about.
    pub checked: usize,
    /// Settled as succeeded.
    pub succeeded: usize,
    /// Settled as declined.
    pub declined: usize,
    /// Settled as failed (never reached the acquirer, reversed).
    pub failed: usize,
    /// Expired (abandoned challenge, nothing charged).
    pub expired: usize,
    /// Still unsettled (acquirer unreachable or still pending).
    pub unsettled: usize,
    /// Pending refunds settled.
    pub refunds_settled: usize,
    /// Late approvals recovered on payments already closed as failed or
    /// expired.
    pub recovered: usize,
    /// Approvals of payments whose charge another payment had paid
    /// (charged twice), recorded this round.
    pub duplicates: usize,
    /// Duplicates whose money was given back this round (reversed or
    /// refunded).
    pub duplicates_returned: usize,
    /// Duplicates still awaiting their money after this round (the next
    /// attempt is scheduled with back-off, or a refund's answer is
    /// awaited).
    pub duplicates_open: usize,
    /// Items that could not be handled this round (storage errors); they
    /// are tried again next round.
    pub errors: usize,
}

/// Result of [`crate::Tolom::expire_stale`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExpireReport {
    /// Payments expired.
    pub payments_expired: usize,
    /// Abandoned challenges settled from the acquirer's status instead.
    pub payments_settled: usize,
    /// Charges marked expired.
    pub charges_expired: usize,
    /// Items that could not be handled this round; tried again next round.
    pub errors: usize,
}

/// Reconciles and expires. Needs the payment and charge stores, the
/// acquirer, the settler and the refunds use case.
pub(crate) struct Reconciler {
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) charges: Arc<dyn ChargeStore>,
    pub(crate) acquirer: Arc<dyn Acquirer>,
    pub(crate) settler: Arc<Settler>,
    pub(crate) refunds: Arc<Refunds>,
    pub(crate) duplicates: Arc<Duplicates>,
    pub(crate) ctx: Ctx,
}

impl Reconciler {
    /// Settles payments whose outcome is unknown, that are stuck in
    /// `Authorizing`, or whose challenge was abandoned, by asking the
    /// acquirer; and settles refunds whose outcome was lost.
    pub(crate) async fn reconcile(&self) -> Result<ReconcileReport, StoreError> {
        let now = self.ctx.now();
        let mut report = ReconcileReport::default();
        let mut candidates = self
            .payments
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Unknown],
                ..PaymentQuery::default()
            })
            .await?;
        candidates.extend(
            self.payments
                .list_payments(&PaymentQuery {
                    states: vec![PaymentState::Authorizing],
                    updated_before: Some(now - self.ctx.config.authorizing_stale_after),
                    ..PaymentQuery::default()
                })
                .await?,
        );
        candidates.extend(
            self.payments
                .list_payments(&PaymentQuery {
                    states: vec![PaymentState::ActionRequired],
                    ..PaymentQuery::default()
                })
                .await?
                .into_iter()
                .filter(|p| now >= p.expires_at()),
        );
        // Payments closed as failed or expired recently after they reached
        // the acquirer: an approval that arrived late is recovered. Those
        // closed while their order stayed open at the acquirer (it would
        // not cancel it) are watched longer.
        let late = self.ctx.config.late_approval_window;
        let watch = self.ctx.config.open_order_watch.max(late);
        let left_open = Text::PaymentOrderLeftOpen.code();
        let closed = self
            .payments
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Failed, PaymentState::Expired],
                created_from: Some(now - watch),
                ..PaymentQuery::default()
            })
            .await?;
        let watched = closed.into_iter().filter(|p| {
            p.acquirer().is_some()
                && (now - p.created_at() < late || p.failure() == Some(left_open))
        });
        for payment in watched {
            let Ok(OrderStatus::Approved { approval, .. }) =
                self.acquirer.status(&payment.order_number()).await
            else {
                continue;
            };
            let Some(charge) = self.charges.charge(payment.charge_id()).await? else {
                continue;
            };
            match self.settler.keep_approval(payment, &charge, approval).await {
                Ok(p) if p.state().is_paid() => report.recovered += 1,
                Ok(p) if matches!(p.state(), PaymentState::Duplicate | PaymentState::Returned) => {
                    report.duplicates += 1;
                    if p.state() == PaymentState::Returned {
                        report.duplicates_returned += 1;
                    }
                }
                Ok(_) => {}
                Err(_) => report.errors += 1,
            }
        }
        // Duplicates whose money is not back yet: one attempt each when it
        // is due (back-off), none on the other rounds — no acquirer call
        // for a duplicate between its attempts.
        for payment in self
            .payments
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Duplicate],
                ..PaymentQuery::default()
            })
            .await?
        {
            if !Duplicates::is_due(&payment, now) {
                report.duplicates_open += 1;
                continue;
            }
            match self
                .duplicates
                .give_back(payment, crate::audit::SYSTEM_ACTOR, &Notes::none())
                .await
            {
                Ok((_, p)) if p.state() == PaymentState::Returned => {
                    report.duplicates_returned += 1
                }
                Ok(_) => report.duplicates_open += 1,
                Err(_) => {
                    report.duplicates_open += 1;
                    report.errors += 1;
                }
            }
        }
        for payment in candidates {
            report.checked += 1;
            let Ok(settled) = self.settler.settle_from_acquirer(payment, now, true).await else {
                report.errors += 1;
                continue;
            };
            match settled.state() {
                PaymentState::Succeeded
                | PaymentState::PartiallyRefunded
                | PaymentState::Refunded => report.succeeded += 1,
                PaymentState::Declined => report.declined += 1,
                PaymentState::Failed => report.failed += 1,
                PaymentState::Expired => report.expired += 1,
                // Approved, but the charge was paid meanwhile (by another
                // card payment, or one made elsewhere): a duplicate.
                PaymentState::Returned => {
                    report.duplicates += 1;
                    report.duplicates_returned += 1;
                }
                PaymentState::Duplicate => {
                    report.duplicates += 1;
                    report.duplicates_open += 1;
                }
                _ => report.unsettled += 1,
            }
        }
        for refund in self
            .payments
            .refunds_in_state(RefundState::Pending, 0)
            .await?
        {
            if now - refund.created_at < self.ctx.config.authorizing_stale_after {
                continue;
            }
            match self.reconcile_refund(refund).await {
                Ok(true) => report.refunds_settled += 1,
                Ok(false) => {}
                Err(_) => report.errors += 1,
            }
        }
        Ok(report)
    }

    async fn reconcile_refund(&self, refund: Refund) -> Result<bool, StoreError> {
        let Some(mut payment) = self.payments.payment(refund.payment_id).await? else {
            return Ok(false);
        };
        let Ok(status) = self.acquirer.status(&payment.order_number()).await else {
            return Ok(false);
        };
        let acquirer_refunded = match status {
            OrderStatus::Approved { refunded, .. } | OrderStatus::Refunded { refunded, .. } => {
                refunded
            }
            _ => return Ok(false),
        };
        let went_through = payment
            .refunded()
            .checked_add(refund.amount)
            .map(|expected| acquirer_refunded >= expected)
            .unwrap_or(false);
        self.refunds
            .finish_refund(
                &mut payment,
                refund,
                went_through,
                (!went_through).then(|| "not refunded at the acquirer".to_string()),
            )
            .await?;
        Ok(true)
    }

    /// Expires abandoned payments (started but never sent to the acquirer),
    /// settles abandoned challenges from the acquirer's status (a payer who
    /// left during 3-D Secure may still have paid), and marks charges past
    /// their expiry.
    pub(crate) async fn expire_stale(&self) -> Result<ExpireReport, StoreError> {
        let now = self.ctx.now();
        let mut report = ExpireReport::default();
        let stale = self
            .payments
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Created, PaymentState::ActionRequired],
                ..PaymentQuery::default()
            })
            .await?;
        for payment in stale.into_iter().filter(|p| now >= p.expires_at()) {
            let result = if payment.state() == PaymentState::Created {
                match self.charges.charge(payment.charge_id()).await {
                    Ok(Some(charge)) => {
                        self.settler
                            .settle(payment, &charge, Settlement::Expire, now)
                            .await
                    }
                    Ok(None) => Err(StoreError::ChargeNotFound),
                    Err(e) => Err(e),
                }
            } else {
                self.settler.settle_from_acquirer(payment, now, true).await
            };
            let Ok(settled) = result else {
                report.errors += 1;
                continue;
            };
            match settled.state() {
                PaymentState::Expired => report.payments_expired += 1,
                s if !s.is_in_flight() => report.payments_settled += 1,
                _ => {}
            }
        }
        let charges = self
            .charges
            .list_charges(&ChargeQuery {
                status: Some(ChargeStatus::Unpaid),
                expires_before: Some(now),
                limit: 0,
            })
            .await?;
        for charge in charges {
            let in_flight = self
                .payments
                .list_payments(&PaymentQuery {
                    charge_id: Some(charge.id),
                    states: PaymentState::IN_FLIGHT.to_vec(),
                    ..PaymentQuery::default()
                })
                .await?;
            if !in_flight.is_empty() {
                continue;
            }
            let ev = self
                .ctx
                .event(charge.id, None, EventKind::ChargeExpired, json!({}), now);
            match self
                .charges
                .set_charge_status(
                    charge.id,
                    ChargeStatus::Unpaid,
                    ChargeStatus::Expired,
                    &ev,
                    &[],
                )
                .await
            {
                Ok(()) => report.charges_expired += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }
}
