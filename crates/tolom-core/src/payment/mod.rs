//! Payments: one attempt to pay a charge, as a state machine whose
//! transitions refuse illegal moves ([`state::TRANSITIONS`]); refunds.
//!
//! A [`Payment`]'s fields are private: it changes only through its
//! transition methods, each of which bumps the version that storage uses to
//! refuse stale updates. Storage adapters write and read it as a
//! [`PaymentRecord`] ([`Payment::record`], [`Payment::restore`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::card::{CardSummary, Contact};
use crate::catalogue::ServiceId;
use crate::code::PaymentCode;
use crate::i18n::{ErrorCode, Language, Text};
use crate::money::{Money, MoneyError};
use crate::time::to_bishkek;

mod refund;
pub mod state;

pub use refund::{Refund, RefundRefused, RefundState};
pub use state::{Action, PaymentState, Transition, TRANSITIONS};

/// Why the issuer or acquirer declined a payment. Each has a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeclineReason {
    /// Not enough money on the card.
    InsufficientFunds,
    /// The issuer says the card has expired.
    ExpiredCard,
    /// Wrong CVV/CVC.
    IncorrectCvv,
    /// Generic issuer refusal.
    DoNotHonour,
    /// The card is reported lost or stolen.
    LostOrStolen,
    /// 3-D Secure / one-time code failed.
    AuthenticationFailed,
    /// A card limit was exceeded.
    LimitExceeded,
    /// The card may not be used for this payment.
    RestrictedCard,
    /// The card number is not known to the issuer.
    InvalidCard,
    /// Any other reason.
    Other,
}

impl DeclineReason {
    /// Every reason.
    pub const ALL: [DeclineReason; 10] = [
        DeclineReason::InsufficientFunds,
        DeclineReason::ExpiredCard,
        DeclineReason::IncorrectCvv,
        DeclineReason::DoNotHonour,
        DeclineReason::LostOrStolen,
        DeclineReason::AuthenticationFailed,
        DeclineReason::LimitExceeded,
        DeclineReason::RestrictedCard,
        DeclineReason::InvalidCard,
        DeclineReason::Other,
    ];

    /// Parses the stable code (`decline.insufficient_funds`, ...).
    pub fn from_code(code: &str) -> Option<DeclineReason> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl ErrorCode for DeclineReason {
    fn text(&self) -> Text {
        match self {
            DeclineReason::InsufficientFunds => Text::DeclineInsufficientFunds,
            DeclineReason::ExpiredCard => Text::DeclineExpiredCard,
            DeclineReason::IncorrectCvv => Text::DeclineIncorrectCvv,
            DeclineReason::DoNotHonour => Text::DeclineDoNotHonour,
            DeclineReason::LostOrStolen => Text::DeclineLostOrStolen,
            DeclineReason::AuthenticationFailed => Text::DeclineAuthenticationFailed,
            DeclineReason::LimitExceeded => Text::DeclineLimitExceeded,
            DeclineReason::RestrictedCard => Text::DeclineRestrictedCard,
            DeclineReason::InvalidCard => Text::DeclineInvalidCard,
            DeclineReason::Other => Text::DeclineOther,
        }
    }
}

/// What the payer must do to confirm a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Challenge {
    /// Type a one-time code into a field the portal shows; send it back as
    /// the response field `otp`.
    Otp {
        /// A hint for the payer, e.g. "sent by SMS to +996 *** ** 56".
        hint: Option<String>,
    },
    /// Send the payer's browser to `url` (3-D Secure ACS or a hosted payment
    /// page), with `method` and form `fields`. The payer comes back to the
    /// portal, which then calls `complete_challenge`.
    Redirect {
        /// Where to go.
        url: String,
        /// `GET` or `POST`.
        method: String,
        /// Form fields to post (e.g. `PaReq`, `MD`, `TermUrl`).
        fields: BTreeMap<String, String>,
    },
}

/// What the payer (or their browser) sent back after a challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    /// Fields: `otp` for [`Challenge::Otp`]; whatever the ACS posted back for
    /// a redirect (`PaRes`, `MD`, ...), possibly none.
    pub fields: BTreeMap<String, String>,
}

impl ChallengeResponse {
    /// A one-time code response.
    pub fn otp(code: impl Into<String>) -> ChallengeResponse {
        let mut fields = BTreeMap::new();
        fields.insert("otp".to_string(), code.into());
        ChallengeResponse { fields }
    }
}

/// The acquirer's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Authorisation (approval) code.
    pub auth_code: String,
    /// Retrieval reference number.
    pub rrn: String,
}

/// A refused transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a payment that is {from}", .action.verb())]
pub struct TransitionError {
    /// The state the payment was in.
    pub from: PaymentState,
    /// What was attempted.
    pub action: Action,
}

/// Every stored field of a payment, as plain data: what storage adapters
/// write, and read back into a [`Payment`] with [`Payment::restore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// Id; its simple form is the order number at the acquirer.
    pub id: Uuid,
    /// The charge being paid.
    pub charge_id: Uuid,
    /// The charge's code.
    pub code: PaymentCode,
    /// The service.
    pub service: ServiceId,
    /// The charge amount. Fixed at creation.
    pub amount: Money,
    /// The site's fee on top. Fixed at creation.
    pub fee: Money,
    /// amount + fee. Fixed at creation.
    pub total: Money,
    /// State.
    pub state: PaymentState,
    /// Optimistic-concurrency version; starts at 1.
    pub version: u64,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
    /// When the payment session ends if not completed.
    pub expires_at: DateTime<Utc>,
    /// The user-agreement edition the payer accepted.
    pub terms_edition: String,
    /// The payer's language.
    pub language: Language,
    /// Idempotency key of the start request.
    pub start_key: String,
    /// Idempotency key of the card submission.
    pub submit_key: Option<String>,
    /// Masked card, brand and holder.
    pub card: Option<CardSummary>,
    /// Payer contacts.
    pub contact: Option<Contact>,
    /// Acquirer name.
    pub acquirer: Option<String>,
    /// The acquirer's own order id.
    pub acquirer_ref: Option<String>,
    /// Approval, once succeeded.
    pub approval: Option<Approval>,
    /// Why declined.
    pub decline_reason: Option<DeclineReason>,
    /// Stable code of a technical failure.
    pub failure: Option<String>,
    /// The pending challenge.
    pub challenge: Option<Challenge>,
    /// Refunded so far.
    pub refunded: Money,
    /// Refunds requested and not yet settled.
    pub refund_pending: Money,
    /// When it succeeded.
    pub succeeded_at: Option<DateTime<Utc>>,
    /// Receipt number, once succeeded.
    pub receipt_number: Option<String>,
    /// Failed attempts to give a duplicate's money back.
    #[serde(default)]
    pub return_attempts: u32,
    /// When a duplicate's money is next tried to be given back (only in
    /// [`PaymentState::Duplicate`]).
    #[serde(default)]
    pub next_return_at: Option<DateTime<Utc>>,
}

/// A stored record that is not a payment tolom could have written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment {id} is not valid: {problem}")]
pub struct InvalidPayment {
    /// The record's id.
    pub id: Uuid,
    /// What is wrong.
    pub problem: &'static str,
}

/// One attempt to pay a charge.
///
/// Read it through its accessors; change it only through the transition
/// methods, which follow [`TRANSITIONS`] and bump [`Payment::version`] so
/// that storage can refuse stale updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PaymentRecord", into = "PaymentRecord")]
pub struct Payment {
    r: PaymentRecord,
}

impl From<Payment> for PaymentRecord {
    fn from(p: Payment) -> PaymentRecord {
        p.r
    }
}

impl TryFrom<PaymentRecord> for Payment {
    type Error = InvalidPayment;
    fn try_from(r: PaymentRecord) -> Result<Payment, InvalidPayment> {
        Payment::restore(r)
    }
}

/// What a new payment is made from.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Id.
    pub id: Uuid,
    /// Charge id.
    pub charge_id: Uuid,
    /// Code.
    pub code: PaymentCode,
    /// Service.
    pub service: ServiceId,
    /// Amount.
    pub amount: Money,
    /// Fee.
    pub fee: Money,
    /// Accepted terms edition.
    pub terms_edition: String,
    /// Language.
    pub language: Language,
    /// Start idempotency key.
    pub start_key: String,
    /// Now.
    pub now: DateTime<Utc>,
    /// Session end.
    pub expires_at: DateTime<Utc>,
}

impl Payment {
    /// A new payment in `Created`. Fails when amount + fee overflows.
    pub fn create(new: NewPayment) -> Result<Payment, MoneyError> {
        let total = new.amount.checked_add(new.fee)?;
        let zero = Money::zero(new.amount.currency());
        Ok(Payment {
            r: PaymentRecord {
                id: new.id,
                charge_id: new.charge_id,
                code: new.code,
                service: new.service,
                amount: new.amount,
                fee: new.fee,
                total,
                state: PaymentState::Created,
                version: 1,
                created_at: new.now,
                updated_at: new.now,
                expires_at: new.expires_at,
                terms_edition: new.terms_edition,
                language: new.language,
                start_key: new.start_key,
                submit_key: None,
                card: None,
                contact: None,
                acquirer: None,
                acquirer_ref: None,
                approval: None,
                decline_reason: None,
                failure: None,
                challenge: None,
                refunded: zero,
                refund_pending: zero,
                succeeded_at: None,
                receipt_number: None,
                return_attempts: 0,
                next_return_at: None,
            },
        })
    }

    /// A payment from its stored record, checking what every payment tolom
    /// writes satisfies: money in one currency, total = amount + fee,
    /// refunds within the total, and the facts of a success present in the
    /// states that follow one.
    pub fn restore(r: PaymentRecord) -> Result<Payment, InvalidPayment> {
        let bad = |problem| Err(InvalidPayment { id: r.id, problem });
        let currency = r.total.currency();
        if [r.amount, r.fee, r.refunded, r.refund_pending]
            .iter()
            .any(|m| m.currency() != currency)
        {
            return bad("amounts in different currencies");
        }
        if r.amount.checked_add(r.fee).ok() != Some(r.total) {
            return bad("total is not amount + fee");
        }
        if r.version == 0 {
            return bad("version 0");
        }
        match r.refunded.checked_add(r.refund_pending) {
            Ok(sum) if sum <= r.total => {}
            _ => return bad("refunds exceed the total"),
        }
        let paid_state = matches!(
            r.state,
            PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded
        );
        if paid_state
            && (r.approval.is_none() || r.succeeded_at.is_none() || r.receipt_number.is_none())
        {
            return bad("a paid state without its approval, time or receipt number");
        }
        let duplicate = matches!(r.state, PaymentState::Duplicate | PaymentState::Returned);
        if duplicate
            && (r.approval.is_none() || r.succeeded_at.is_none() || r.receipt_number.is_some())
        {
            return bad("a duplicate without its approval and time, or with a receipt number");
        }
        if !paid_state && !duplicate && !r.refunded.is_zero() {
            return bad("refunded without having been paid");
        }
        if (r.state == PaymentState::Duplicate) != r.next_return_at.is_some() {
            return bad("a return scheduled outside the duplicate state, or none in it");
        }
        match r.state {
            PaymentState::Refunded if r.refunded != r.total => {
                return bad("refunded but not in full")
            }
            PaymentState::PartiallyRefunded if r.refunded.is_zero() || r.refunded >= r.total => {
                return bad("partially refunded without a partial refund")
            }
            PaymentState::Succeeded if !r.refunded.is_zero() => {
                return bad("succeeded with a refund recorded")
            }
            PaymentState::Duplicate if !r.refunded.is_zero() => {
                return bad("a duplicate with a refund recorded")
            }
            PaymentState::Returned
                if !(r.refunded.is_zero() || r.refunded == r.total)
                    || !r.refund_pending.is_zero() =>
            {
                return bad("a returned duplicate neither reversed nor refunded in full")
            }
            _ => {}
        }
        Ok(Payment { r })
    }

    /// A payment from a record **without any check**. Only for conformance
    /// suites that prove a store refuses what the type never produces
    /// (refunds above the total, ...); never use it elsewhere.
    #[doc(hidden)]
    pub fn restore_unchecked(r: PaymentRecord) -> Payment {
        Payment { r }
    }

    /// Every field, as stored.
    pub fn record(&self) -> &PaymentRecord {
        &self.r
    }

    /// Every field, as stored, by value.
    pub fn into_record(self) -> PaymentRecord {
        self.r
    }

    /// Id; its simple form is the order number at the acquirer.
    pub fn id(&self) -> Uuid {
        self.r.id
    }
    /// The charge being paid.
    pub fn charge_id(&self) -> Uuid {
        self.r.charge_id
    }
    /// The charge's code.
    pub fn code(&self) -> &PaymentCode {
        &self.r.code
    }
    /// The service.
    pub fn service(&self) -> &ServiceId {
        &self.r.service
    }
    /// The charge amount (fixed at creation).
    pub fn amount(&self) -> Money {
        self.r.amount
    }
    /// The site's fee on top (fixed at creation).
    pub fn fee(&self) -> Money {
        self.r.fee
    }
    /// amount + fee (fixed at creation).
    pub fn total(&self) -> Money {
        self.r.total
    }
    /// State.
    pub fn state(&self) -> PaymentState {
        self.r.state
    }
    /// Optimistic-concurrency version; starts at 1, one more per change.
    pub fn version(&self) -> u64 {
        self.r.version
    }
    /// When created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.r.created_at
    }
    /// When last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.r.updated_at
    }
    /// When the payment session ends if not completed.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.r.expires_at
    }
    /// The user-agreement edition the payer accepted.
    pub fn terms_edition(&self) -> &str {
        &self.r.terms_edition
    }
    /// The payer's language.
    pub fn language(&self) -> Language {
        self.r.language
    }
    /// Idempotency key of the start request.
    pub fn start_key(&self) -> &str {
        &self.r.start_key
    }
    /// Idempotency key of the card submission.
    pub fn submit_key(&self) -> Option<&str> {
        self.r.submit_key.as_deref()
    }
    /// Masked card, brand and holder.
    pub fn card(&self) -> Option<&CardSummary> {
        self.r.card.as_ref()
    }
    /// Payer contacts.
    pub fn contact(&self) -> Option<&Contact> {
        self.r.contact.as_ref()
    }
    /// The acquirer that was asked, once the payment reached it (`None`
    /// also when a purchase was refused before it was sent).
    pub fn acquirer(&self) -> Option<&str> {
        self.r.acquirer.as_deref()
    }
    /// The acquirer's own order id.
    pub fn acquirer_ref(&self) -> Option<&str> {
        self.r.acquirer_ref.as_deref()
    }
    /// Approval, once succeeded.
    pub fn approval(&self) -> Option<&Approval> {
        self.r.approval.as_ref()
    }
    /// Why declined.
    pub fn decline_reason(&self) -> Option<DeclineReason> {
        self.r.decline_reason
    }
    /// Stable code of a technical failure (a [`Text`] code, stored as
    /// text; read it back with [`Text::from_code`]).
    pub fn failure(&self) -> Option<&str> {
        self.r.failure.as_deref()
    }
    /// The pending challenge.
    pub fn challenge(&self) -> Option<&Challenge> {
        self.r.challenge.as_ref()
    }
    /// Refunded so far.
    pub fn refunded(&self) -> Money {
        self.r.refunded
    }
    /// Refunds requested and not yet settled.
    pub fn refund_pending(&self) -> Money {
        self.r.refund_pending
    }
    /// When it succeeded.
    pub fn succeeded_at(&self) -> Option<DateTime<Utc>> {
        self.r.succeeded_at
    }
    /// Receipt number, once succeeded.
    pub fn receipt_number(&self) -> Option<&str> {
        self.r.receipt_number.as_deref()
    }
    /// Failed attempts to give a duplicate's money back.
    pub fn return_attempts(&self) -> u32 {
        self.r.return_attempts
    }
    /// When a duplicate's money is next tried to be given back.
    pub fn next_return_at(&self) -> Option<DateTime<Utc>> {
        self.r.next_return_at
    }

    /// The order number at the acquirer: the id without dashes (32 chars).
    pub fn order_number(&self) -> String {
        self.r.id.simple().to_string()
    }

    /// What is left to refund (total − refunded − pending refunds).
    pub fn refundable(&self) -> Money {
        self.r
            .total
            .checked_sub(self.r.refunded)
            .and_then(|m| m.checked_sub(self.r.refund_pending))
            .unwrap_or_else(|_| Money::zero(self.r.total.currency()))
    }

    /// Moves by `action` following [`TRANSITIONS`], or refuses (changing
    /// nothing).
    fn go(&mut self, action: Action, now: DateTime<Utc>) -> Result<(), TransitionError> {
        let to = state::next_state(self.r.state, action).ok_or(TransitionError {
            from: self.r.state,
            action,
        })?;
        self.r.state = to;
        self.bump(now);
        Ok(())
    }

    fn bump(&mut self, now: DateTime<Utc>) {
        self.r.version += 1;
        if now > self.r.updated_at {
            self.r.updated_at = now;
        }
    }

    /// `Created → Authorizing`: the card (or a hosted-page redirect) goes to
    /// the acquirer. The session end moves out to at least
    /// `challenge_until`, so that the payer has time for a challenge.
    pub fn authorize(
        &mut self,
        submit_key: String,
        card: Option<CardSummary>,
        contact: Option<Contact>,
        acquirer: &str,
        challenge_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(Action::Authorize, now)?;
        self.r.submit_key = Some(submit_key);
        self.r.card = card;
        self.r.contact = contact;
        self.r.acquirer = Some(acquirer.to_string());
        self.r.expires_at = self.r.expires_at.max(challenge_until);
        Ok(())
    }

    /// `ActionRequired → Authorizing`: the payer answered the challenge.
    pub fn resume(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.go(Action::Resume, now)?;
        self.r.challenge = None;
        Ok(())
    }

    /// `Authorizing → ActionRequired`.
    pub fn require_action(
        &mut self,
        challenge: Challenge,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(Action::RequireAction, now)?;
        self.r.challenge = Some(challenge);
        Ok(())
    }

    /// `Authorizing → Unknown`: the acquirer's answer was lost.
    pub fn mark_unknown(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.go(Action::MarkUnknown, now)
    }

    /// `Authorizing | Unknown | ActionRequired → Succeeded`. Assigns the
    /// receipt number.
    pub fn succeed(
        &mut self,
        approval: Approval,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(Action::Approve, now)?;
        self.approved(approval, now);
        Ok(())
    }

    /// `Failed | Expired → Succeeded`: the acquirer approved a payment that
    /// tolom had already closed (an approval that arrived late, e.g. a payer
    /// who finished 3-D Secure after the session ended). Money was taken,
    /// so the success is recorded rather than lost.
    pub fn recover_approval(
        &mut self,
        approval: Approval,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(Action::RecoverApproval, now)?;
        self.r.failure = None;
        self.approved(approval, now);
        Ok(())
    }

    fn approved(&mut self, approval: Approval, now: DateTime<Utc>) {
        self.r.approval = Some(approval);
        self.r.challenge = None;
        self.r.succeeded_at = Some(now);
        self.r.receipt_number = Some(receipt_number(self.r.id, now));
    }

    /// `Authorizing | ActionRequired | Unknown | Failed | Expired →
    /// Duplicate`: the acquirer approved this payment, but another payment
    /// has paid its charge. The approval and its time are kept (no receipt
    /// number: the receipt is the other payment's), and giving the money
    /// back is due at once.
    pub fn record_duplicate(
        &mut self,
        approval: Approval,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(Action::RecordDuplicate, now)?;
        self.r.approval = Some(approval);
        self.r.challenge = None;
        self.r.failure = None;
        self.r.succeeded_at = Some(now);
        self.r.return_attempts = 0;
        self.r.next_return_at = Some(now);
        Ok(())
    }

    /// A duplicate's money could not be given back now: one more failed
    /// attempt, the next one at `next` (state unchanged).
    pub fn schedule_return(
        &mut self,
        next: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        if self.r.state != PaymentState::Duplicate {
            return Err(TransitionError {
                from: self.r.state,
                action: Action::ReturnDuplicate,
            });
        }
        self.r.return_attempts = self.r.return_attempts.saturating_add(1);
        self.r.next_return_at = Some(next);
        self.bump(now);
        Ok(())
    }

    /// `Duplicate → Returned`: the duplicate's authorisation was reversed
    /// at the acquirer (or it holds nothing of it any more).
    pub fn return_duplicate(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.go(Action::ReturnDuplicate, now)?;
        self.r.next_return_at = None;
        Ok(())
    }

    /// `Authorizing | Unknown | ActionRequired → Declined`.
    pub fn decline(
        &mut self,
        reason: DeclineReason,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(Action::Decline, now)?;
        self.r.decline_reason = Some(reason);
        self.r.challenge = None;
        Ok(())
    }

    /// `Authorizing | Unknown | ActionRequired → Failed` (no money taken);
    /// `reason`'s stable code is kept in [`Payment::failure`].
    pub fn fail(&mut self, reason: Text, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.go(Action::Fail, now)?;
        self.r.failure = Some(reason.code().to_string());
        self.r.challenge = None;
        Ok(())
    }

    /// `Authorizing → Failed` for a purchase that certainly never reached
    /// the acquirer: the acquirer is forgotten, so that the late-approval
    /// sweep never asks about it.
    pub fn fail_not_sent(
        &mut self,
        reason: Text,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.fail(reason, now)?;
        self.r.acquirer = None;
        Ok(())
    }

    /// `Created | ActionRequired → Expired`.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.go(Action::Expire, now)?;
        self.r.challenge = None;
        Ok(())
    }

    /// Reserves `amount` for a refund (state unchanged), refusing anything
    /// above what is left. A duplicate is refunded whole, in one refund.
    pub fn reserve_refund(
        &mut self,
        amount: Money,
        now: DateTime<Utc>,
    ) -> Result<(), RefundRefused> {
        let duplicate = self.r.state == PaymentState::Duplicate;
        if !self.r.state.is_paid() && !duplicate {
            return Err(RefundRefused::NotRefundable(self.r.state));
        }
        if amount.is_zero() || amount.currency() != self.r.total.currency() {
            return Err(RefundRefused::AmountInvalid);
        }
        if duplicate && (amount != self.r.total || !self.r.refund_pending.is_zero()) {
            return Err(RefundRefused::AmountInvalid);
        }
        if amount > self.refundable() {
            return Err(RefundRefused::ExceedsPaid);
        }
        self.r.refund_pending = self
            .r
            .refund_pending
            .checked_add(amount)
            .map_err(|_| RefundRefused::AmountInvalid)?;
        self.bump(now);
        Ok(())
    }

    /// A reserved refund went through: `Succeeded | PartiallyRefunded →
    /// PartiallyRefunded | Refunded`, `Duplicate → Returned`.
    pub fn complete_refund(
        &mut self,
        amount: Money,
        now: DateTime<Utc>,
    ) -> Result<(), RefundRefused> {
        if !self.r.state.is_paid() && self.r.state != PaymentState::Duplicate {
            return Err(RefundRefused::NotRefundable(self.r.state));
        }
        let pending = self
            .r
            .refund_pending
            .checked_sub(amount)
            .map_err(|_| RefundRefused::ExceedsPaid)?;
        let refunded = self
            .r
            .refunded
            .checked_add(amount)
            .map_err(|_| RefundRefused::AmountInvalid)?;
        if refunded > self.r.total {
            return Err(RefundRefused::ExceedsPaid);
        }
        let action = if refunded == self.r.total {
            Action::RefundAll
        } else {
            Action::RefundPart
        };
        self.go(action, now)
            .map_err(|e| RefundRefused::NotRefundable(e.from))?;
        self.r.refund_pending = pending;
        self.r.refunded = refunded;
        if self.r.state == PaymentState::Returned {
            self.r.next_return_at = None;
        }
        Ok(())
    }

    /// A reserved refund did not happen: the reservation is released.
    pub fn release_refund(
        &mut self,
        amount: Money,
        now: DateTime<Utc>,
    ) -> Result<(), RefundRefused> {
        self.r.refund_pending = self
            .r
            .refund_pending
            .checked_sub(amount)
            .map_err(|_| RefundRefused::AmountInvalid)?;
        self.bump(now);
        Ok(())
    }
}

/// The receipt number of a payment that succeeded at `now`: the Bishkek
/// date and 16 hex digits of a SHA-256 of the payment id (64 bits, so
/// numbers do not collide even when ids share a prefix).
pub fn receipt_number(id: Uuid, now: DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    let local = to_bishkek(now);
    let digest = Sha256::digest(id.as_bytes());
    let hex = crate::hex::lower(&digest[..8]).to_ascii_uppercase();
    format!(
        "{:04}{:02}{:02}-{hex}",
        local.year(),
        local.month(),
        local.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn payment() -> Payment {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        Payment::create(NewPayment {
            id: Uuid::from_u128(7),
            charge_id: Uuid::from_u128(1),
            code: PaymentCode::from_trusted("110000000017"),
            service: "passport-2020".into(),
            amount: Money::som(885),
            fee: Money::zero(crate::money::Currency::KGS),
            terms_edition: "2024-01-01".into(),
            language: Language::Ky,
            start_key: "k".into(),
            now,
            expires_at: now + chrono::Duration::minutes(30),
        })
        .unwrap()
    }

    fn approval() -> Approval {
        Approval {
            auth_code: "123456".into(),
            rrn: "1".into(),
        }
    }

    /// A payment in `state`, reached through transitions only.
    fn in_state(state: PaymentState) -> Payment {
        use PaymentState as S;
        let mut p = payment();
        let now = p.created_at();
        let authorize = |p: &mut Payment| {
            p.authorize("s".into(), None, None, "sandbox", now, now)
                .unwrap()
        };
        match state {
            S::Created => {}
            S::Authorizing => authorize(&mut p),
            S::ActionRequired => {
                authorize(&mut p);
                p.require_action(Challenge::Otp { hint: None }, now)
                    .unwrap();
            }
            S::Unknown => {
                authorize(&mut p);
                p.mark_unknown(now).unwrap();
            }
            S::Succeeded => {
                authorize(&mut p);
                p.succeed(approval(), now).unwrap();
            }
            S::Declined => {
                authorize(&mut p);
                p.decline(DeclineReason::Other, now).unwrap();
            }
            S::Failed => {
                authorize(&mut p);
                p.fail(Text::ServiceUnavailable, now).unwrap();
            }
            S::Expired => p.expire(now).unwrap(),
            S::PartiallyRefunded => {
                authorize(&mut p);
                p.succeed(approval(), now).unwrap();
                p.reserve_refund(Money::som(1), now).unwrap();
                p.complete_refund(Money::som(1), now).unwrap();
            }
            S::Refunded => {
                authorize(&mut p);
                p.succeed(approval(), now).unwrap();
                p.reserve_refund(Money::som(885), now).unwrap();
                p.complete_refund(Money::som(885), now).unwrap();
            }
            S::Duplicate => {
                authorize(&mut p);
                p.fail(Text::ServiceUnavailable, now).unwrap();
                p.record_duplicate(approval(), now).unwrap();
            }
            S::Returned => {
                authorize(&mut p);
                p.record_duplicate(approval(), now).unwrap();
                p.return_duplicate(now).unwrap();
            }
        }
        assert_eq!(p.state(), state);
        p
    }

    /// Applies `action` the way the use cases do; `Ok(())` when it moved.
    fn apply(p: &mut Payment, action: Action) -> Result<(), String> {
        let now = p.created_at();
        match action {
            Action::Authorize => p
                .authorize("s2".into(), None, None, "sandbox", now, now)
                .map_err(|e| e.to_string()),
            Action::RequireAction => p
                .require_action(Challenge::Otp { hint: None }, now)
                .map_err(|e| e.to_string()),
            Action::Resume => p.resume(now).map_err(|e| e.to_string()),
            Action::MarkUnknown => p.mark_unknown(now).map_err(|e| e.to_string()),
            Action::Approve => p.succeed(approval(), now).map_err(|e| e.to_string()),
            Action::RecoverApproval => p
                .recover_approval(approval(), now)
                .map_err(|e| e.to_string()),
            Action::Decline => p
                .decline(DeclineReason::Other, now)
                .map_err(|e| e.to_string()),
            Action::Fail => p
                .fail(Text::ServiceUnavailable, now)
                .map_err(|e| e.to_string()),
            Action::Expire => p.expire(now).map_err(|e| e.to_string()),
            Action::RecordDuplicate => p
                .record_duplicate(approval(), now)
                .map_err(|e| e.to_string()),
            Action::ReturnDuplicate => p.return_duplicate(now).map_err(|e| e.to_string()),
            Action::RefundPart | Action::RefundAll => {
                let amount = if action == Action::RefundAll {
                    p.refundable()
                } else {
                    Money::som(1)
                };
                let mut next = p.clone();
                next.reserve_refund(amount, now)
                    .and_then(|()| next.complete_refund(amount, now))
                    .map_err(|e| e.to_string())?;
                *p = next;
                Ok(())
            }
        }
    }

    #[test]
    fn every_state_and_action_follows_the_transition_table() {
        let mut allowed = 0;
        for from in PaymentState::ALL {
            for action in Action::ALL {
                let mut p = in_state(from);
                let before = p.clone();
                let result = apply(&mut p, action);
                match state::next_state(from, action) {
                    Some(to) => {
                        allowed += 1;
                        assert_eq!(result, Ok(()), "{from} --{action:?}--> {to}");
                        assert_eq!(p.state(), to, "{from} --{action:?}");
                        assert!(p.version() > before.version());
                        assert!(Payment::restore(p.record().clone()).is_ok());
                    }
                    None => {
                        assert!(result.is_err(), "{from} --{action:?}--> must be refused");
                        assert_eq!(p, before, "a refused move changes nothing");
                    }
                }
            }
        }
        assert_eq!(allowed, TRANSITIONS.len(), "no duplicate entries");
    }

    #[test]
    fn the_state_diagram_in_the_docs_is_the_table() {
        let doc = include_str!("../../../../docs/architecture.md");
        let diagram = state::state_diagram();
        assert!(
            doc.contains(&diagram),
            "docs/architecture.md must hold the diagram generated from TRANSITIONS:\n```mermaid\n{diagram}```"
        );
    }

    #[test]
    fn happy_path_and_versions() {
        let mut p = payment();
        let now = p.created_at();
        assert_eq!(p.version(), 1);
        let later = now + chrono::Duration::hours(1);
        p.authorize("s".into(), None, None, "sandbox", later, now)
            .unwrap();
        assert_eq!(
            p.expires_at(),
            later,
            "the challenge window extends the session"
        );
        p.require_action(Challenge::Otp { hint: None }, now)
            .unwrap();
        p.resume(now).unwrap();
        p.succeed(approval(), now).unwrap();
        assert_eq!(p.state(), PaymentState::Succeeded);
        assert_eq!(p.version(), 5);
        let number = p.receipt_number().unwrap().to_string();
        assert!(
            number.starts_with("20261125-") && number.len() == 25,
            "{number}"
        );
        assert_eq!(number, receipt_number(p.id(), now));
        assert_ne!(
            receipt_number(Uuid::from_u128(8), now),
            number,
            "ids sharing a prefix get different numbers"
        );
    }

    #[test]
    fn illegal_moves_are_refused_and_change_nothing() {
        let mut p = payment();
        let now = p.created_at();
        let before = p.clone();
        assert!(p.succeed(approval(), now).is_err());
        assert!(p.resume(now).is_err());
        assert!(p.mark_unknown(now).is_err());
        assert!(p.decline(DeclineReason::Other, now).is_err());
        assert_eq!(
            p.reserve_refund(Money::som(1), now),
            Err(RefundRefused::NotRefundable(PaymentState::Created))
        );
        assert_eq!(p, before);
        p.expire(now).unwrap();
        let err = p
            .authorize("s".into(), None, None, "x", now, now)
            .unwrap_err();
        assert_eq!(err.from, PaymentState::Expired);
        assert_eq!(
            err.to_string(),
            "cannot authorize a payment that is expired"
        );
    }

    #[test]
    fn a_purchase_never_sent_forgets_the_acquirer() {
        let mut p = in_state(PaymentState::Authorizing);
        assert_eq!(p.acquirer(), Some("sandbox"));
        p.fail_not_sent(Text::PaymentAcquirerUnavailable, p.created_at())
            .unwrap();
        assert_eq!(p.state(), PaymentState::Failed);
        assert_eq!(p.acquirer(), None);
    }

    #[test]
    fn refunds_never_exceed_what_was_paid() {
        let mut p = in_state(PaymentState::Succeeded);
        let now = p.created_at();
        assert_eq!(
            p.reserve_refund(Money::som(886), now),
            Err(RefundRefused::ExceedsPaid)
        );
        assert_eq!(
            p.reserve_refund(Money::som(0), now),
            Err(RefundRefused::AmountInvalid)
        );
        p.reserve_refund(Money::som(500), now).unwrap();
        assert_eq!(
            p.reserve_refund(Money::som(386), now),
            Err(RefundRefused::ExceedsPaid)
        );
        p.complete_refund(Money::som(500), now).unwrap();
        assert_eq!(p.state(), PaymentState::PartiallyRefunded);
        p.reserve_refund(Money::som(385), now).unwrap();
        p.release_refund(Money::som(385), now).unwrap();
        p.reserve_refund(Money::som(385), now).unwrap();
        p.complete_refund(Money::som(385), now).unwrap();
        assert_eq!(p.state(), PaymentState::Refunded);
        assert!(p.refundable().is_zero());
        assert!(p.reserve_refund(Money::som(1), now).is_err());
    }

    #[test]
    fn a_duplicate_is_given_back_whole_and_never_gets_a_receipt() {
        let mut p = in_state(PaymentState::Failed);
        let now = p.created_at();
        p.record_duplicate(approval(), now).unwrap();
        assert_eq!(p.state(), PaymentState::Duplicate);
        assert!(!p.state().is_paid() && !p.state().is_in_flight());
        assert_eq!(
            p.receipt_number(),
            None,
            "the receipt is the other payment's"
        );
        assert_eq!(p.failure(), None);
        assert_eq!(p.next_return_at(), Some(now), "due at once");
        // A failed attempt: counted, the next one later.
        let later = now + chrono::Duration::minutes(1);
        p.schedule_return(later, now).unwrap();
        assert_eq!((p.return_attempts(), p.next_return_at()), (1, Some(later)));
        // Refunded whole, in one refund.
        assert_eq!(
            p.reserve_refund(Money::som(100), now),
            Err(RefundRefused::AmountInvalid)
        );
        p.reserve_refund(Money::som(885), now).unwrap();
        assert_eq!(
            p.reserve_refund(Money::som(885), now),
            Err(RefundRefused::AmountInvalid),
            "one refund at a time"
        );
        assert!(Payment::restore(p.record().clone()).is_ok());
        p.complete_refund(Money::som(885), now).unwrap();
        assert_eq!(p.state(), PaymentState::Returned);
        assert_eq!(p.refunded(), Money::som(885));
        assert_eq!(p.next_return_at(), None);
        assert!(Payment::restore(p.record().clone()).is_ok());
        assert!(p.schedule_return(later, now).is_err());
        // A success cannot become a duplicate.
        let mut paid = in_state(PaymentState::Succeeded);
        assert!(paid.record_duplicate(approval(), now).is_err());
        // Records tolom never writes.
        let dup = in_state(PaymentState::Duplicate).into_record();
        let mut r = dup.clone();
        r.receipt_number = Some("X".into());
        assert!(Payment::restore(r).is_err(), "a duplicate has no receipt");
        let mut r = dup.clone();
        r.next_return_at = None;
        assert!(Payment::restore(r).is_err(), "a duplicate awaits a return");
        let mut r = in_state(PaymentState::Returned).into_record();
        r.refunded = Money::som(1);
        assert!(
            Payment::restore(r).is_err(),
            "returned whole or not refunded"
        );
    }

    #[test]
    fn restore_refuses_records_tolom_never_writes() {
        let good = in_state(PaymentState::Succeeded).into_record();
        assert!(Payment::restore(good.clone()).is_ok());
        let mut r = good.clone();
        r.amount = Money::som(1);
        assert!(Payment::restore(r).is_err(), "total is amount + fee");
        let mut r = good.clone();
        r.refunded = Money::som(886);
        assert!(Payment::restore(r).is_err(), "refunds within the total");
        let mut r = good.clone();
        r.approval = None;
        assert!(Payment::restore(r).is_err(), "a success has its approval");
        let mut r = good.clone();
        r.version = 0;
        assert!(Payment::restore(r).is_err());
        let json = serde_json::to_string(&in_state(PaymentState::Refunded)).unwrap();
        let back: Payment = serde_json::from_str(&json).unwrap();
        assert_eq!(back.state(), PaymentState::Refunded);
        let mut r = good;
        r.refunded = Money::som(886);
        let forged = serde_json::to_string(&r).unwrap();
        assert!(serde_json::from_str::<Payment>(&forged).is_err());
    }

    #[test]
    fn every_decline_reason_has_a_translated_code() {
        for r in DeclineReason::ALL {
            assert_eq!(Text::from_code(r.code()), Some(r.text()), "{}", r.code());
            assert_eq!(DeclineReason::from_code(r.code()), Some(r));
        }
        let mut words = std::collections::HashSet::new();
        for s in PaymentState::ALL {
            assert_eq!(PaymentState::parse(s.as_str()), Some(s));
            assert!(words.insert(s.text()), "{s} shares its text");
        }
    }
}
