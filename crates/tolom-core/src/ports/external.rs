//! The port of payments made elsewhere ([`crate::external`]): a charge paid
//! in a bank's app, at a terminal or by ELQR, reported to tolom.
//!
//! Part of [`crate::ports::Store`]: every store keeps them, because a
//! payment made elsewhere changes its charge (`Paid`) in the same
//! transaction, and the charge rules that the store enforces (a charge is
//! `Paid` exactly when something pays it) span both.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::AuditNote;
use crate::events::Event;
use crate::external::{ExternalPayment, ExternalState, PaymentChannel};
use crate::outbox::OutboxMessage;

use super::errors::StoreError;

/// One atomic write of a payment made elsewhere: the payment (new, or in
/// its new state), and what goes with it.
#[derive(Debug, Clone)]
pub struct ExternalWrite {
    /// The payment as it is to be stored.
    pub payment: ExternalPayment,
    /// Events to append.
    pub events: Vec<Event>,
    /// Outbox messages to enqueue (the agency notice of an accepted
    /// payment).
    pub outbox: Vec<OutboxMessage>,
    /// Audit notes to append (the operator's request). A store that keeps
    /// an audit log ([`crate::ports::OpsStore`]) MUST append them in the
    /// same transaction.
    pub notes: Vec<AuditNote>,
}

/// What [`ExternalPaymentStore::record_external_payment`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The payment was stored.
    Recorded,
    /// A payment with the same channel and reference was stored before;
    /// here it is, and nothing was written.
    Existing(Box<ExternalPayment>),
}

/// Filters for listing payments made elsewhere.
#[derive(Debug, Clone, Default)]
pub struct ExternalQuery {
    /// Only these states (all when empty).
    pub states: Vec<ExternalState>,
    /// Only payments of this charge.
    pub charge_id: Option<Uuid>,
    /// Only this service.
    pub service: Option<String>,
    /// Paid at the channel at or after.
    pub paid_from: Option<DateTime<Utc>>,
    /// Paid at the channel before.
    pub paid_to: Option<DateTime<Utc>>,
    /// At most this many (0 = no limit).
    pub limit: usize,
}

/// Payments made elsewhere.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ExternalPaymentStore: Send + Sync {
    /// Stores a payment made elsewhere with its events, outbox messages and
    /// notes, in one transaction.
    ///
    /// Atomically, in this order:
    /// - if a payment with the same `(channel, reference)` exists, MUST
    ///   return [`RecordOutcome::Existing`] with it and write nothing;
    /// - if the charge does not exist, MUST fail with
    ///   [`StoreError::ChargeNotFound`];
    /// - an [`ExternalState::Accepted`] payment pays its charge: the charge
    ///   MUST become `Paid` in the same transaction, and the store MUST
    ///   fail with [`StoreError::Conflict`], writing nothing, when the
    ///   charge's stored status is neither `Unpaid` nor `Expired` (paid
    ///   meanwhile, or cancelled: the caller reads it again and decides);
    /// - an [`ExternalState::Duplicate`] payment leaves the charge as it
    ///   is, and the store MUST fail with [`StoreError::Conflict`], writing
    ///   nothing, when the charge's stored status is not `Paid`;
    /// - a payment is never recorded `Returned` (only resolved to it):
    ///   [`StoreError::Invariant`].
    ///
    /// Under any concurrency a charge is paid by at most one thing: one
    /// succeeded, unrefunded card payment or one accepted payment made
    /// elsewhere (a second MUST fail with [`StoreError::Invariant`] of kind
    /// [`crate::ports::InvariantKind::SecondPaidPayment`] or
    /// [`crate::ports::InvariantKind::ChargeAlreadyPaid`] when the status
    /// check above cannot see it).
    async fn record_external_payment(
        &self,
        write: &ExternalWrite,
    ) -> Result<RecordOutcome, StoreError>;

    /// Moves a stored payment from `from` to the state of `write.payment`
    /// (an operator's resolution of a flagged duplicate), with its
    /// `resolved_at` and `resolution`, events, outbox messages and notes,
    /// in one transaction.
    ///
    /// MUST fail with [`StoreError::NotFound`] when there is no such
    /// payment, with [`StoreError::Conflict`] (writing nothing) when its
    /// stored state is not `from`, and with [`StoreError::Invariant`] of
    /// kind [`crate::ports::InvariantKind::ImmutableField`] when anything
    /// but the state, `resolved_at` and `resolution` would change. To
    /// `Accepted`, the charge MUST become `Paid` in the same transaction,
    /// and the store MUST fail with [`StoreError::Conflict`] when its stored
    /// status is neither `Unpaid` nor `Expired`.
    async fn update_external_payment(
        &self,
        from: ExternalState,
        write: &ExternalWrite,
    ) -> Result<(), StoreError>;

    /// The payment with this id. MUST return `Ok(None)` when there is none.
    async fn external_payment(&self, id: Uuid) -> Result<Option<ExternalPayment>, StoreError>;

    /// The payment a channel reported with this reference (the exact
    /// text). MUST return `Ok(None)` when there is none.
    async fn external_payment_by_reference(
        &self,
        channel: PaymentChannel,
        reference: &str,
    ) -> Result<Option<ExternalPayment>, StoreError>;

    /// Payments matching the query, in the order they were recorded
    /// (`recorded_at`, then id).
    async fn list_external_payments(
        &self,
        query: &ExternalQuery,
    ) -> Result<Vec<ExternalPayment>, StoreError>;
}
