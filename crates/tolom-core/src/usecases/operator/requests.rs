//! An operator's request recorded **with** the action it asks for.
//!
//! The admin API records every request as `admin.<action>` in the audit
//! log. For an action that changes something, that entry is written by the
//! action itself, in the same transaction as its first change
//! ([`Operator::recording`]): a committed refund always has its
//! `admin.refund` entry, and an entry never stands for a change that did
//! not happen — even when the connection drops between the commit and the
//! answer. What changes nothing (a refusal, a read, a replayed request) is
//! recorded by the caller afterwards, with the answer's status.

use serde_json::Value;
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::AuditNote;
use crate::charge::Charge;
use crate::money::Money;
use crate::payment::Refund;
use crate::usecases::charges::{IssueCharge, Issued};
use crate::usecases::ctx::Notes;
use crate::usecases::reconcile::ReconcileReport;

use super::duplicates::DuplicateReturn;
use super::external::{ExternalRecorded, ExternalReport};
use super::{Operator, OperatorError};
use crate::external::{ExternalPayment, ExternalState};

/// An operator's request as the audit log records it: `action` (e.g.
/// `admin.refund`) on `subject`, with details (method, path, role; never a
/// secret).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// What was asked, e.g. `admin.refund`.
    pub action: String,
    /// The object (a payment id, a code, ...).
    pub subject: String,
    /// Details.
    pub data: Value,
}

/// The operator's changing actions, each recording its [`RequestRecord`]
/// in its own first write. Get it from [`Operator::recording`].
pub struct Recorded<'a> {
    operator: &'a Operator,
    who: &'a Principal,
    notes: Notes,
}

impl std::fmt::Debug for Recorded<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorded")
            .field("who", &self.who)
            .field("written", &self.notes.written())
            .finish_non_exhaustive()
    }
}

impl Operator {
    /// `who`'s actions with `request` recorded in the transaction of the
    /// change each makes.
    pub fn recording<'a>(&'a self, who: &'a Principal, request: RequestRecord) -> Recorded<'a> {
        let note = AuditNote::new(
            self.ctx.now(),
            who.actor(),
            &request.action,
            &request.subject,
            request.data,
        );
        Recorded {
            operator: self,
            who,
            notes: Notes::of(vec![note]),
        }
    }
}

impl Recorded<'_> {
    /// Whether the request's entry was written with a change. When it was
    /// not (the action was refused, failed before changing anything, or
    /// replayed an earlier request), the caller records the request itself.
    pub fn written(&self) -> bool {
        self.notes.written()
    }

    /// [`Operator::issue_once`], recorded with the new charge.
    pub async fn issue(&self, req: IssueCharge) -> Result<Issued, OperatorError> {
        self.operator.issue_noted(self.who, req, &self.notes).await
    }

    /// [`Operator::cancel`], recorded with the cancellation.
    pub async fn cancel(&self, code: &str) -> Result<Charge, OperatorError> {
        self.operator
            .cancel_noted(self.who, code, &self.notes)
            .await
    }

    /// [`Operator::refund`], recorded with the refund's reservation.
    pub async fn refund(
        &self,
        payment_id: Uuid,
        amount: Option<Money>,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<Refund, OperatorError> {
        self.operator
            .refund_noted(
                self.who,
                payment_id,
                amount,
                reason,
                idempotency_key,
                &self.notes,
            )
            .await
    }

    /// [`Operator::return_duplicate`], recorded with the attempt's first
    /// write.
    pub async fn return_duplicate(
        &self,
        payment_id: Uuid,
    ) -> Result<DuplicateReturn, OperatorError> {
        self.operator
            .return_duplicate_noted(self.who, payment_id, &self.notes)
            .await
    }

    /// [`Operator::record_external_payment`], recorded with the payment.
    pub async fn record_external_payment(
        &self,
        report: ExternalReport,
    ) -> Result<ExternalRecorded, OperatorError> {
        self.operator
            .record_external_noted(self.who, report, &self.notes)
            .await
    }

    /// [`Operator::resolve_external`], recorded with the resolution.
    pub async fn resolve_external(
        &self,
        id: Uuid,
        to: ExternalState,
        note: &str,
    ) -> Result<ExternalPayment, OperatorError> {
        self.operator
            .resolve_external_noted(self.who, id, to, note, &self.notes)
            .await
    }

    /// [`Operator::reconcile`]. A round is many transactions, each settling
    /// one payment as `system`: the request is recorded on its own before
    /// the round starts (after the permission check), so that no change of
    /// the round is without it.
    pub async fn reconcile(&self) -> Result<ReconcileReport, OperatorError> {
        self.operator
            .allow(self.who, crate::access::Permission::Reconcile)
            .await?;
        for note in self.notes.pending() {
            self.operator.ops.append_audit(note).await?;
        }
        self.notes.mark_written();
        self.operator.reconcile(self.who).await
    }
}
