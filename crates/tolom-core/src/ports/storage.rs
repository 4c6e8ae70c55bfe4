//! The storage ports: charges, payments and refunds, the transactional
//! outbox, the event log and the agreement editions. [`Store`] is all of
//! them, and the payments made elsewhere
//! ([`super::ExternalPaymentStore`]), as one object.
//!
//! Contracts are written as MUST rules; the testkit's conformance suite
//! (`tolom_testkit::conformance::storage`) checks them for any adapter.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::AuditNote;
use crate::charge::{Charge, ChargeStatus};
use crate::code::PaymentCode;
use crate::events::Event;
use crate::outbox::{OutboxMessage, OutboxStatus};
use crate::payment::{Payment, PaymentState, Refund, RefundState};
use crate::terms::TermsEdition;

use super::errors::StoreError;

/// What happens to the charge in the same transaction as a payment update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeChange {
    /// The payment succeeded: the charge becomes `Paid`. The store MUST
    /// fail with [`StoreError::Invariant`] when the charge is already `Paid`.
    MarkPaid,
    /// The payment was fully refunded: a `Paid` charge becomes `Unpaid`
    /// again (payable until its expiry).
    Reopen,
}

/// One atomic write: a payment's new state and everything that goes with
/// it.
#[derive(Debug, Clone)]
pub struct PaymentUpdate {
    /// The payment after the transition; its `version` is one more than the
    /// stored one.
    pub payment: Payment,
    /// A change of the payment's charge.
    pub charge: Option<ChargeChange>,
    /// A refund to insert or update (by id).
    pub refund: Option<Refund>,
    /// Events to append.
    pub events: Vec<Event>,
    /// Outbox messages to enqueue.
    pub outbox: Vec<OutboxMessage>,
    /// Audit notes to append (an operator's request that caused the
    /// update, e.g. `admin.refund`). A store that keeps an audit log
    /// ([`crate::ports::OpsStore`]) MUST append them in the same
    /// transaction; one without an audit log ignores them.
    pub notes: Vec<AuditNote>,
}

/// What [`PaymentStore::create_payment`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The payment was inserted.
    Created,
    /// A payment with the same start key already existed; here it is, and
    /// nothing was written.
    Existing(Box<Payment>),
}

/// Filters for listing payments.
#[derive(Debug, Clone, Default)]
pub struct PaymentQuery {
    /// Only these states (all when empty).
    pub states: Vec<PaymentState>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this charge.
    pub charge_id: Option<Uuid>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Last updated before.
    pub updated_before: Option<DateTime<Utc>>,
    /// At most this many (0 = no limit).
    pub limit: usize,
}

/// Filters for listing charges.
#[derive(Debug, Clone, Default)]
pub struct ChargeQuery {
    /// Only this status (stored status).
    pub status: Option<ChargeStatus>,
    /// Expiring before.
    pub expires_before: Option<DateTime<Utc>>,
    /// At most this many (0 = no limit).
    pub limit: usize,
}

/// Charges (what codes refer to).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ChargeStore: Send + Sync {
    /// Inserts a charge and its event (and `notes`, in the audit log of a
    /// store that keeps one, in the same transaction).
    ///
    /// MUST fail with [`StoreError::DuplicateCode`] when a charge with the
    /// same code exists, and with [`StoreError::Invariant`] of kind
    /// [`crate::ports::InvariantKind::DuplicateAgencyRef`] when the charge
    /// has an agency reference that another charge of the same service
    /// holds ([`ChargeStore::charge_by_agency_ref`]), writing nothing.
    async fn insert_charge(
        &self,
        charge: &Charge,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError>;

    /// The charge with this code. MUST return `Ok(None)` when there is none.
    async fn charge_by_code(&self, code: &PaymentCode) -> Result<Option<Charge>, StoreError>;

    /// The charge of `service` that holds the agency reference
    /// `agency_ref` (the exact text). MUST return `Ok(None)` when there is
    /// none. A reference is held by the charge inserted with it; charges
    /// stored before references were unique may share one, and then only
    /// the first of them holds it.
    async fn charge_by_agency_ref(
        &self,
        service: &str,
        agency_ref: &str,
    ) -> Result<Option<Charge>, StoreError>;

    /// The charge with this id.
    async fn charge(&self, id: Uuid) -> Result<Option<Charge>, StoreError>;

    /// Sets a charge's status if it is currently `from`, appending `event`
    /// (and `notes`, in the audit log of a store that keeps one) in the
    /// same transaction.
    ///
    /// MUST fail with [`StoreError::Conflict`] (writing nothing) when the
    /// current status is not `from`, and with [`StoreError::ChargeNotFound`]
    /// when there is no such charge. MUST refuse to leave `Paid` while a
    /// paid payment of the charge exists (or an accepted payment made
    /// elsewhere, [`super::ExternalPaymentStore`]), and to set `Paid` at all
    /// (only a payment update with [`ChargeChange::MarkPaid`] or an accepted
    /// payment made elsewhere does that), with [`StoreError::Invariant`].
    async fn set_charge_status(
        &self,
        id: Uuid,
        from: ChargeStatus,
        to: ChargeStatus,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError>;

    /// Charges matching the query, oldest expiry first.
    async fn list_charges(&self, query: &ChargeQuery) -> Result<Vec<Charge>, StoreError>;
}

/// Payments and refunds.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Inserts a new payment (state `Created`, version 1) with its events.
    ///
    /// Atomically, in this order:
    /// - if a payment with the same `start_key` exists, MUST return
    ///   [`CreateOutcome::Existing`] with it and write nothing;
    /// - if the charge does not exist, MUST fail with
    ///   [`StoreError::ChargeNotFound`];
    /// - if the charge's stored status is not `Unpaid`, MUST fail with
    ///   [`StoreError::ChargeNotPayable`];
    /// - if another payment of the charge is in flight
    ///   ([`PaymentState::IN_FLIGHT`]), MUST fail with
    ///   [`StoreError::InFlight`] naming it.
    ///
    /// Under any concurrency at most one payment per charge is in flight.
    ///
    /// **Durability.** A store MAY commit this write without waiting for the
    /// disk (SQLite `synchronous=NORMAL` for the transaction, PostgreSQL
    /// `synchronous_commit = off`), provided it becomes durable no later
    /// than the next durable commit of the same store (both write one log in
    /// order). A payment that is lost in a power cut before its card was
    /// sent holds no money: the payer starts again. Every other write of a
    /// payment ([`PaymentStore::update_payment`]) MUST be durable when the
    /// call returns: `Authorizing` is on disk before the card goes to the
    /// acquirer, and the result before the payer sees it.
    async fn create_payment(
        &self,
        payment: &Payment,
        events: &[Event],
    ) -> Result<CreateOutcome, StoreError>;

    /// The payment with this id.
    async fn payment(&self, id: Uuid) -> Result<Option<Payment>, StoreError>;

    /// The payment with this receipt number.
    async fn payment_by_receipt(&self, number: &str) -> Result<Option<Payment>, StoreError>;

    /// Applies an update in one transaction: the payment, the charge
    /// change, the refund, the events and the outbox messages all become
    /// visible together, or none does.
    ///
    /// MUST fail with [`StoreError::Conflict`] when the stored version is
    /// not `update.payment.version - 1` (a stale update), with
    /// [`StoreError::NotFound`] when the payment does not exist, and with
    /// [`StoreError::Invariant`] when the result would have two paid
    /// payments for one charge, or refunds above the payment's total. MUST
    /// NOT change `amount`, `fee`, `total`, `charge_id` or `code` of a
    /// stored payment ([`StoreError::Invariant`]).
    async fn update_payment(&self, update: &PaymentUpdate) -> Result<(), StoreError>;

    /// Payments matching the query, oldest first.
    async fn list_payments(&self, query: &PaymentQuery) -> Result<Vec<Payment>, StoreError>;

    /// The refund of a payment with this idempotency key.
    async fn refund_by_key(
        &self,
        payment_id: Uuid,
        key: &str,
    ) -> Result<Option<Refund>, StoreError>;

    /// The refunds of a payment, oldest first.
    async fn refunds_of(&self, payment_id: Uuid) -> Result<Vec<Refund>, StoreError>;

    /// Refunds in a state, oldest first, at most `limit` (0 = no limit).
    async fn refunds_in_state(
        &self,
        state: RefundState,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError>;
}

/// The transactional outbox.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` pending messages due at `now` and not leased,
    /// leasing them to `worker` until `lease_until`.
    ///
    /// MUST NOT return a message to two claims while its lease is valid
    /// (several workers, several processes), and MUST return a message
    /// again once its lease has run out without a delivered/failed report.
    /// A store MAY commit the lease without waiting for the disk (see
    /// [`PaymentStore::create_payment`]): a lease lost in a power cut only
    /// makes a message claimable again, which at-least-once delivery allows.
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
        worker: &str,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Marks a message delivered. MUST be idempotent.
    async fn outbox_delivered(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Marks several messages delivered in one transaction: one durable
    /// commit for a whole dispatch round instead of one per message. MUST be
    /// idempotent, like [`OutboxStore::outbox_delivered`], and all-or-nothing.
    /// The default marks them one by one; stores override it.
    async fn outbox_delivered_many(
        &self,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for id in ids {
            self.outbox_delivered(*id, now).await?;
        }
        Ok(())
    }

    /// Records a failed attempt: `attempts + 1`, `last_error`, and either
    /// `Pending` due at `retry_at`, or `Dead` when `retry_at` is `None`.
    /// MUST release the lease.
    async fn outbox_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Messages, newest first, optionally in one status (0 = no limit).
    async fn outbox_list(
        &self,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Puts a dead message back to `Pending`, due at `now` (an operator's
    /// action). MUST fail with [`StoreError::NotFound`] when there is no dead
    /// message with this id. A store that keeps an audit log
    /// ([`crate::ports::OpsStore`]) MUST append `note` to it in the same
    /// transaction.
    async fn outbox_retry(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<(), StoreError>;
}

/// The append-only event log.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends an event on its own (events of state changes are written by
    /// the other ports in the same transaction).
    async fn append_event(&self, event: &Event) -> Result<(), StoreError>;

    /// Events of a charge or a payment (matching `charge_id` or
    /// `payment_id`), in the order written.
    async fn events_of(&self, id: Uuid) -> Result<Vec<Event>, StoreError>;
}

/// User-agreement editions.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TermsStore: Send + Sync {
    /// Publishes an edition. MUST fail with [`StoreError::Invariant`] of kind
    /// [`crate::ports::InvariantKind::DuplicateEdition`] when an edition with
    /// the same id exists (editions are never rewritten). A store that keeps
    /// an audit log ([`crate::ports::OpsStore`]) MUST append `note` to it in
    /// the same transaction.
    async fn publish_terms(
        &self,
        edition: &TermsEdition,
        note: &AuditNote,
    ) -> Result<(), StoreError>;

    /// Every edition, oldest first.
    async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError>;
}

/// Everything tolom stores, as one object.
pub trait Store:
    ChargeStore + PaymentStore + OutboxStore + EventLog + TermsStore + super::ExternalPaymentStore
{
}

impl<
        T: ChargeStore
            + PaymentStore
            + OutboxStore
            + EventLog
            + TermsStore
            + super::ExternalPaymentStore,
    > Store for T
{
}
