//! The acquirer port: the bank gateway that takes card payments.

use async_trait::async_trait;

use crate::card::{CardDetails, Contact};
use crate::i18n::Language;
use crate::money::Money;
use crate::payment::{Approval, Challenge, ChallengeResponse, DeclineReason};

use super::errors::AcquirerError;
#[cfg(doc)]
use super::errors::AcquirerErrorKind;

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
    /// Paid, then refunded at the acquirer (BPC `orderStatus` 4, in full or
    /// in part) — by tolom or by the bank's back office. It is **not** an
    /// approval to record: a payment tolom closed is never recovered as
    /// paid from this, and a payment in flight is closed
    /// (`payment.refunded_at_acquirer`); refunds compare `refunded`.
    Refunded {
        /// The approval the money was taken with.
        approval: Approval,
        /// Refunded so far (at most the order's amount).
        refunded: Money,
    },
    /// The amount is held on the card but not taken (BPC `orderStatus` 1,
    /// two-stage orders): **not** paid. tolom makes one-stage purchases, so
    /// an order held this way is not settled from it; it is released
    /// ([`Acquirer::reverse`]) when its payment is closed.
    PreAuthorized {
        /// The authorisation that holds the amount.
        approval: Approval,
    },
}

/// What a refund call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Money returned.
    Refunded,
    /// The acquirer refused (with its reason, for operators).
    Refused(String),
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
/// - [`Acquirer::status`] MUST report an order refunded in full or in part
///   as [`OrderStatus::Refunded`] (never `Approved`), and an amount held
///   but not taken as [`OrderStatus::PreAuthorized`] (never `Approved`):
///   only `Approved` makes a payment paid;
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

    /// Cancels an authorisation (of the same day, on most gateways): the
    /// money is never taken. MUST answer `Ok` when the order is reversed
    /// (now or before); MUST fail with [`AcquirerErrorKind::Rejected`] when
    /// the acquirer refuses (too late in the day, refunded, not paid) —
    /// then a refund gives the money back instead.
    async fn reverse(&self, order_number: &str) -> Result<(), AcquirerError>;

    /// Closes an order that was **not paid** — registered, or waiting for
    /// the payer at a challenge or on a hosted page — so that it can no
    /// longer be paid.
    ///
    /// MUST answer `Ok` once the order cannot be paid any more: closed now,
    /// closed before, declined, or never received. MUST fail with
    /// [`AcquirerErrorKind::Rejected`] when the order was paid meanwhile
    /// ([`Acquirer::status`] then says so) or when the acquirer does not
    /// close unpaid orders; `NotSent`/`Unknown` as for any call.
    async fn cancel(&self, order_number: &str) -> Result<(), AcquirerError>;
}
