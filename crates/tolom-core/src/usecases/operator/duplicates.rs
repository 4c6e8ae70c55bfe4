//! Duplicate approvals for operators: the open ones (what reports and
//! metrics show) and giving one back now.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::access::{Permission, Principal};
use crate::errors::QueryError;
use crate::events::EventKind;
use crate::money::Money;
use crate::payment::{Payment, PaymentState};
use crate::ports::PaymentQuery;
use crate::usecases::ctx::Notes;
use crate::usecases::duplicates::ReturnOutcome;

use super::{Operator, OperatorError};

/// A duplicate approval awaiting its money back (reverse, else refund).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenDuplicate {
    /// The duplicate payment.
    pub payment_id: Uuid,
    /// Its order number at the acquirer.
    pub order_number: String,
    /// The code it paid (again).
    pub code: String,
    /// The service.
    pub service: String,
    /// What the card was charged a second time.
    pub total: Money,
    /// When the duplicate approval was recorded.
    pub approved_at: Option<DateTime<Utc>>,
    /// Failed attempts to give it back so far.
    pub attempts: u32,
    /// When the next attempt is due (`None` while a refund's answer is
    /// awaited).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// A refund sent whose answer is awaited.
    pub refund_pending: Money,
    /// Why the last attempt failed, if one did.
    pub last_error: Option<String>,
}

/// What [`Operator::return_duplicate`] did.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateReturn {
    /// Reversed, refunded, pending or failed.
    pub outcome: ReturnOutcome,
    /// The payment after the attempt.
    pub payment: Payment,
}

impl Operator {
    /// The duplicate approvals whose money is not back yet, oldest first.
    pub async fn open_duplicates(
        &self,
        who: &Principal,
    ) -> Result<Vec<OpenDuplicate>, OperatorError> {
        self.allow(who, Permission::ReadPayments).await?;
        let open = self
            .payments
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Duplicate],
                ..PaymentQuery::default()
            })
            .await?;
        let mut out = Vec::with_capacity(open.len());
        for p in open {
            let last_error = self
                .events
                .events_of(p.id())
                .await?
                .into_iter()
                .rev()
                .find(|e| e.kind == EventKind::PaymentDuplicateUnresolved)
                .map(|e| {
                    format!(
                        "reverse: {}; refund: {}",
                        e.data["reverse"].as_str().unwrap_or("-"),
                        e.data["refund"].as_str().unwrap_or("-")
                    )
                });
            out.push(OpenDuplicate {
                payment_id: p.id(),
                order_number: p.order_number(),
                code: p.code().to_string(),
                service: p.service().to_string(),
                total: p.total(),
                approved_at: p.succeeded_at(),
                attempts: p.return_attempts(),
                next_attempt_at: p
                    .refund_pending()
                    .is_zero()
                    .then(|| p.next_return_at())
                    .flatten(),
                refund_pending: p.refund_pending(),
                last_error,
            });
        }
        Ok(out)
    }

    /// Gives a duplicate approval's money back now, whatever its back-off
    /// says: reverse, else refund the total (the operator's path; the same
    /// attempt reconciliation makes when one is due). Its events name
    /// `who`. Refused for a payment that is not a duplicate awaiting its
    /// money.
    pub async fn return_duplicate(
        &self,
        who: &Principal,
        payment_id: Uuid,
    ) -> Result<DuplicateReturn, OperatorError> {
        self.return_duplicate_noted(who, payment_id, &Notes::none())
            .await
    }

    pub(super) async fn return_duplicate_noted(
        &self,
        who: &Principal,
        payment_id: Uuid,
        notes: &Notes,
    ) -> Result<DuplicateReturn, OperatorError> {
        self.allow(who, Permission::Refund).await?;
        let payment = self
            .payments
            .payment(payment_id)
            .await?
            .ok_or(OperatorError::Query(QueryError::NotFound))?;
        if payment.state() != PaymentState::Duplicate {
            return Err(OperatorError::Invalid(format!(
                "payment {payment_id} is {}, not a duplicate awaiting its money",
                payment.state()
            )));
        }
        if !payment.refund_pending().is_zero() {
            return Err(OperatorError::Invalid(format!(
                "a refund of payment {payment_id} was sent and its answer is awaited; \
                 reconciliation settles it"
            )));
        }
        let (outcome, payment) = self
            .duplicates
            .give_back(payment, &who.actor(), notes)
            .await?;
        Ok(DuplicateReturn { outcome, payment })
    }
}
