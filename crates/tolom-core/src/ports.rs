//! Ports: the traits adapters implement, each with its contract.
//!
//! Contracts are written as MUST rules; the testkit's conformance suites
//! (`tolom_testkit::conformance`) check them for any adapter.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::card::Email;
use crate::card::{CardDetails, Contact};
use crate::charge::{Charge, ChargeStatus};
use crate::code::PaymentCode;
use crate::i18n::Language;
use crate::money::Money;
use crate::outbox::AgencyEvent;
use crate::outbox::{Channel, Event, OutboxMessage, OutboxStatus};
use crate::payment::{
    Approval, Challenge, ChallengeResponse, DeclineReason, Payment, PaymentState, Refund,
    RefundState,
};
use crate::receipt::Receipt;
use crate::terms::TermsEdition;

// ---------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------

/// Errors of the storage ports. Adapters translate native errors (SQLite
/// 2067, PostgreSQL 23505, lost connections, ...) into these kinds; nothing
/// of a database driver crosses into the core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A charge with this code already exists.
    #[error("a charge with this code already exists")]
    DuplicateCode,
    /// Another payment of the charge is in flight.
    #[error("payment {payment_id} of this charge is in flight")]
    InFlight {
        /// The payment in flight.
        payment_id: Uuid,
    },
    /// The charge is not `Unpaid`.
    #[error("charge is {0:?}")]
    ChargeNotPayable(ChargeStatus),
    /// The charge does not exist.
    #[error("charge not found")]
    ChargeNotFound,
    /// The record to update does not exist.
    #[error("not found")]
    NotFound,
    /// Optimistic concurrency: the record changed since it was read.
    #[error("conflict: the record changed since it was read")]
    Conflict,
    /// The database refused the write because it would break an invariant
    /// (a second paid payment, refunds above the amount, ...).
    #[error("invariant violated: {0}")]
    Invariant(String),
    /// The database is unreachable, busy or aborted the transaction; nothing
    /// was written. Retrying may help.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Conflict)
    }
}

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
    /// Inserts a charge and its event.
    ///
    /// MUST fail with [`StoreError::DuplicateCode`] when a charge with the
    /// same code exists, writing nothing.
    async fn insert_charge(&self, charge: &Charge, event: &Event) -> Result<(), StoreError>;

    /// The charge with this code. MUST return `Ok(None)` when there is none.
    async fn charge_by_code(&self, code: &PaymentCode) -> Result<Option<Charge>, StoreError>;

    /// The charge with this id.
    async fn charge(&self, id: Uuid) -> Result<Option<Charge>, StoreError>;

    /// Sets a charge's status if it is currently `from`, appending `event`
    /// in the same transaction.
    ///
    /// MUST fail with [`StoreError::Conflict`] (writing nothing) when the
    /// current status is not `from`, and with [`StoreError::ChargeNotFound`]
    /// when there is no such charge. MUST refuse to leave `Paid` while a
    /// paid payment of the charge exists, and to set `Paid` at all (only a
    /// payment update with [`ChargeChange::MarkPaid`] does that), with
    /// [`StoreError::Invariant`].
    async fn set_charge_status(
        &self,
        id: Uuid,
        from: ChargeStatus,
        to: ChargeStatus,
        event: &Event,
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
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
        worker: &str,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Marks a message delivered. MUST be idempotent.
    async fn outbox_delivered(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError>;

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

    /// Puts a dead message back to `Pending`, due at `now`. MUST fail with
    /// [`StoreError::NotFound`] when there is no dead message with this id.
    async fn outbox_retry(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError>;
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
    /// Publishes an edition. MUST fail with [`StoreError::Invariant`] when
    /// an edition with the same id exists (editions are never rewritten).
    async fn publish_terms(&self, edition: &TermsEdition) -> Result<(), StoreError>;

    /// Every edition, oldest first.
    async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError>;
}

/// Everything tolom stores, as one object.
pub trait Store: ChargeStore + PaymentStore + OutboxStore + EventLog + TermsStore {}

impl<T: ChargeStore + PaymentStore + OutboxStore + EventLog + TermsStore> Store for T {}

// ---------------------------------------------------------------------------
// Acquirer
// ---------------------------------------------------------------------------

/// How the payer pays at the acquirer.
#[derive(Debug)]
pub enum Instrument<'a> {
    /// Card data typed into our form, sent server to server.
    Card {
        /// The card (secret).
        card: &'a CardDetails,
        /// The payer's contacts.
        contact: &'a Contact,
    },
    /// The acquirer's hosted payment page: no card data passes through
    /// tolom; the outcome is a [`Challenge::Redirect`].
    HostedPage,
}

/// A purchase (one-stage payment).
#[derive(Debug)]
pub struct PurchaseRequest<'a> {
    /// Our order number: the idempotency key at the acquirer. A retry with
    /// the same order number MUST NOT charge twice.
    pub order_number: &'a str,
    /// Amount (converted to minor units by the adapter).
    pub amount: Money,
    /// What is paid for.
    pub description: &'a str,
    /// Payer's language.
    pub language: Language,
    /// Card or hosted page.
    pub instrument: Instrument<'a>,
    /// Where the payer's browser returns after a redirect challenge.
    pub return_url: Option<&'a str>,
}

/// The acquirer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcquirerOutcome {
    /// Approved.
    Approved(Approval),
    /// Declined.
    Declined(DeclineReason),
    /// The payer must confirm.
    ActionRequired(Challenge),
    /// Accepted, no final answer yet.
    Pending,
}

/// An order's state at the acquirer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStatus {
    /// The acquirer has no such order: nothing was charged.
    NotFound,
    /// Registered, not paid (yet): the payer may still be on a page.
    Pending,
    /// Paid; `refunded` so far.
    Approved {
        /// The approval.
        approval: Approval,
        /// Refunded so far.
        refunded: Money,
    },
    /// Declined.
    Declined(DeclineReason),
    /// The authorisation was reversed: nothing was charged.
    Reversed,
}

/// What a refund call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Money returned.
    Refunded,
    /// The acquirer refused (with its reason, for operators).
    Refused(String),
}

/// Whether an acquirer call may have had an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquirerErrorKind {
    /// Known not to have reached the acquirer (connection refused, DNS,
    /// invalid request caught locally): safe to retry.
    NotSent,
    /// Sent, but the answer was lost (timeout after sending, dropped
    /// connection, unreadable answer): the outcome is unknown; ask
    /// [`Acquirer::status`].
    Unknown,
    /// The acquirer answered with a request-level error (bad credentials,
    /// bad parameters): nothing was processed, and retrying will not help.
    Rejected,
}

/// An acquirer call went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("acquirer error ({kind:?}): {message}")]
pub struct AcquirerError {
    /// Whether it may have had an effect.
    pub kind: AcquirerErrorKind,
    /// Details for operators (never card data or credentials).
    pub message: String,
}

impl AcquirerError {
    /// A `NotSent` error.
    pub fn not_sent(message: impl Into<String>) -> Self {
        AcquirerError {
            kind: AcquirerErrorKind::NotSent,
            message: message.into(),
        }
    }
    /// An `Unknown` error.
    pub fn unknown(message: impl Into<String>) -> Self {
        AcquirerError {
            kind: AcquirerErrorKind::Unknown,
            message: message.into(),
        }
    }
    /// A `Rejected` error.
    pub fn rejected(message: impl Into<String>) -> Self {
        AcquirerError {
            kind: AcquirerErrorKind::Rejected,
            message: message.into(),
        }
    }
}

/// A card acquirer (bank gateway).
///
/// Contract:
/// - every money-moving call carries our order number; `purchase` called
///   again with an order number already used MUST NOT charge again — it
///   MUST answer with the order's current outcome;
/// - an error of kind [`AcquirerErrorKind::Unknown`] MUST be returned
///   whenever the call may have been processed without the answer reaching
///   us; `NotSent` and `Rejected` only when it certainly was not processed;
/// - [`Acquirer::status`] MUST report `NotFound` for an order it never
///   received and the approval for one it approved;
/// - a call on a reversed order (there is no "reversed" outcome) MUST fail
///   with [`AcquirerErrorKind::Rejected`]; [`Acquirer::status`] reports it
///   as [`OrderStatus::Reversed`];
/// - no card data or credential appears in errors, logs or `Debug`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Acquirer: Send + Sync {
    /// A short name, recorded on payments and receipts.
    fn name(&self) -> &str;

    /// Pays an order.
    async fn purchase<'a>(
        &self,
        request: PurchaseRequest<'a>,
    ) -> Result<AcquirerOutcome, AcquirerError>;

    /// Continues after a challenge with what the payer sent back.
    async fn complete_challenge(
        &self,
        order_number: &str,
        response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError>;

    /// The order's state, by our order number.
    async fn status(&self, order_number: &str) -> Result<OrderStatus, AcquirerError>;

    /// Refunds part or all of a paid order. `refund_id` identifies the
    /// refund for the acquirer's records.
    async fn refund(
        &self,
        order_number: &str,
        refund_id: &str,
        amount: Money,
    ) -> Result<RefundOutcome, AcquirerError>;

    /// Cancels an authorisation of the same day.
    async fn reverse(&self, order_number: &str) -> Result<(), AcquirerError>;
}

// ---------------------------------------------------------------------------
// Notifier
// ---------------------------------------------------------------------------

/// A message ready to deliver.
#[derive(Debug, Clone)]
pub enum Notification {
    /// A receipt by e-mail.
    ReceiptEmail {
        /// Recipient.
        to: Email,
        /// Language.
        language: Language,
        /// The receipt.
        receipt: Box<Receipt>,
    },
    /// A notice to the issuing agency.
    Agency(AgencyEvent),
}

impl Notification {
    /// The channel that delivers it.
    pub fn channel(&self) -> Channel {
        match self {
            Notification::ReceiptEmail { .. } => Channel::Email,
            Notification::Agency(_) => Channel::Webhook,
        }
    }
}

/// Delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delivery failed ({}): {message}", if *.transient { "transient" } else { "permanent" })]
pub struct NotifyError {
    /// Whether a later retry may succeed (SMTP 4xx, HTTP 5xx, timeouts).
    pub transient: bool,
    /// Details for operators.
    pub message: String,
}

/// Delivers notifications of one channel.
///
/// Contract: `deliver` returns `Ok` only once the receiver has accepted the
/// message; it MAY be called again for the same `message_id` (at-least-once
/// delivery) and receivers deduplicate by it; errors say whether a retry may
/// help.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// The channel served.
    fn channel(&self) -> Channel;

    /// Delivers one message.
    async fn deliver(
        &self,
        message_id: Uuid,
        notification: &Notification,
    ) -> Result<(), NotifyError>;
}

// ---------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------

/// Makes ids. Implementations MUST never repeat an id.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A new id.
    fn new_id(&self) -> Uuid;
}

/// Random (v4) ids.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn new_id(&self) -> Uuid {
        Uuid::new_v4()
    }
}
