//! Payments: one attempt to pay a charge, as a state machine whose
//! transitions refuse illegal moves; refunds.
//!
//! ```text
//! Created ──authorize──▶ Authorizing ──▶ Succeeded | Declined | Failed | ActionRequired | Unknown
//! ActionRequired ──resume──▶ Authorizing
//! Unknown | ActionRequired ──(reconciliation)──▶ Succeeded | Declined | Failed
//! Created | ActionRequired ──expire──▶ Expired
//! Succeeded | PartiallyRefunded ──refund──▶ PartiallyRefunded | Refunded
//! ```

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::card::{CardSummary, Contact};
use crate::catalogue::ServiceId;
use crate::code::PaymentCode;
use crate::i18n::{ErrorCode, Language, Text};
use crate::money::Money;
use crate::time::to_bishkek;

/// Where a payment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Started (terms accepted), no card yet.
    Created,
    /// Card sent to the acquirer; waiting for its answer.
    Authorizing,
    /// The issuer asks the payer to confirm (3-D Secure / one-time code).
    ActionRequired,
    /// The acquirer's answer was lost; reconciliation will settle it.
    Unknown,
    /// Paid.
    Succeeded,
    /// Declined by the issuer or acquirer.
    Declined,
    /// Failed for a technical reason; no money was taken.
    Failed,
    /// Abandoned before payment.
    Expired,
    /// Part of the amount was refunded.
    PartiallyRefunded,
    /// Everything was refunded.
    Refunded,
}

impl PaymentState {
    /// Every state.
    pub const ALL: [PaymentState; 10] = [
        PaymentState::Created,
        PaymentState::Authorizing,
        PaymentState::ActionRequired,
        PaymentState::Unknown,
        PaymentState::Succeeded,
        PaymentState::Declined,
        PaymentState::Failed,
        PaymentState::Expired,
        PaymentState::PartiallyRefunded,
        PaymentState::Refunded,
    ];

    /// States in which a payment blocks other payments of its charge: at
    /// most one payment per charge may be in one of these.
    pub const IN_FLIGHT: [PaymentState; 4] = [
        PaymentState::Created,
        PaymentState::Authorizing,
        PaymentState::ActionRequired,
        PaymentState::Unknown,
    ];

    /// Whether the payment blocks other payments of its charge.
    pub fn is_in_flight(&self) -> bool {
        Self::IN_FLIGHT.contains(self)
    }

    /// Whether money was taken and not all of it given back: at most one
    /// payment per charge may be in one of these.
    pub fn is_paid(&self) -> bool {
        matches!(
            self,
            PaymentState::Succeeded | PaymentState::PartiallyRefunded
        )
    }

    /// The state in words, for payers (`Paid`, `Declined`, ...).
    pub fn text(&self) -> Text {
        match self {
            PaymentState::Created => Text::PaymentStateCreated,
            PaymentState::Authorizing => Text::PaymentStateAuthorizing,
            PaymentState::ActionRequired => Text::PaymentStateActionRequired,
            PaymentState::Unknown => Text::PaymentStateUnknown,
            PaymentState::Succeeded => Text::PaymentStateSucceeded,
            PaymentState::Declined => Text::PaymentStateDeclined,
            PaymentState::Failed => Text::PaymentStateFailed,
            PaymentState::Expired => Text::PaymentStateExpired,
            PaymentState::PartiallyRefunded => Text::PaymentStatePartiallyRefunded,
            PaymentState::Refunded => Text::PaymentStateRefunded,
        }
    }

    /// Stable id as stored and shown in the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentState::Created => "created",
            PaymentState::Authorizing => "authorizing",
            PaymentState::ActionRequired => "action_required",
            PaymentState::Unknown => "unknown",
            PaymentState::Succeeded => "succeeded",
            PaymentState::Declined => "declined",
            PaymentState::Failed => "failed",
            PaymentState::Expired => "expired",
            PaymentState::PartiallyRefunded => "partially_refunded",
            PaymentState::Refunded => "refunded",
        }
    }

    /// Parses the stored id.
    pub fn parse(s: &str) -> Option<PaymentState> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for PaymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
#[error("cannot {action} a payment that is {from}")]
pub struct TransitionError {
    /// The state the payment was in.
    pub from: PaymentState,
    /// What was attempted.
    pub action: &'static str,
}

/// Why a refund cannot be reserved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefused {
    /// The payment is not in a refundable state.
    #[error("payment is {0}; it cannot be refunded")]
    NotRefundable(PaymentState),
    /// Zero, or in another currency.
    #[error("invalid refund amount")]
    AmountInvalid,
    /// More than is left to refund.
    #[error("refund exceeds what was paid")]
    ExceedsPaid,
}

impl ErrorCode for RefundRefused {
    fn text(&self) -> Text {
        match self {
            RefundRefused::NotRefundable(_) => Text::RefundNotRefundable,
            RefundRefused::AmountInvalid => Text::RefundAmountInvalid,
            RefundRefused::ExceedsPaid => Text::RefundExceedsPaid,
        }
    }
}

/// One attempt to pay a charge.
///
/// Fields are public for reading and for storage adapters; change state only
/// through the transition methods, which bump [`Payment::version`] so that
/// storage can refuse stale updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
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
    /// Stable code of a technical failure (a [`Text`] code; stored as
    /// text, so read it back with [`Text::from_code`]).
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
    /// A new payment in `Created`.
    pub fn create(new: NewPayment) -> Result<Payment, crate::money::MoneyError> {
        let total = new.amount.checked_add(new.fee)?;
        let zero = Money::zero(new.amount.currency());
        Ok(Payment {
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
        })
    }

    /// The order number at the acquirer: the id without dashes (32 chars).
    pub fn order_number(&self) -> String {
        self.id.simple().to_string()
    }

    /// What is left to refund (total − refunded − pending refunds).
    pub fn refundable(&self) -> Money {
        self.total
            .checked_sub(self.refunded)
            .and_then(|m| m.checked_sub(self.refund_pending))
            .unwrap_or_else(|_| Money::zero(self.total.currency()))
    }

    fn go(
        &mut self,
        allowed: &[PaymentState],
        to: PaymentState,
        action: &'static str,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        if !allowed.contains(&self.state) {
            return Err(TransitionError {
                from: self.state,
                action,
            });
        }
        self.state = to;
        self.bump(now);
        Ok(())
    }

    fn bump(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        if now > self.updated_at {
            self.updated_at = now;
        }
    }

    /// `Created → Authorizing`: the card (or a hosted-page redirect) goes to
    /// the acquirer.
    pub fn authorize(
        &mut self,
        submit_key: String,
        card: Option<CardSummary>,
        contact: Option<Contact>,
        acquirer: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(
            &[PaymentState::Created],
            PaymentState::Authorizing,
            "authorize",
            now,
        )?;
        self.submit_key = Some(submit_key);
        self.card = card;
        self.contact = contact;
        self.acquirer = Some(acquirer.to_string());
        Ok(())
    }

    /// `ActionRequired → Authorizing`: the payer answered the challenge.
    pub fn resume(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.go(
            &[PaymentState::ActionRequired],
            PaymentState::Authorizing,
            "resume",
            now,
        )?;
        self.challenge = None;
        Ok(())
    }

    /// `Authorizing → ActionRequired`.
    pub fn require_action(
        &mut self,
        challenge: Challenge,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(
            &[PaymentState::Authorizing],
            PaymentState::ActionRequired,
            "require action on",
            now,
        )?;
        self.challenge = Some(challenge);
        Ok(())
    }

    /// `Authorizing → Unknown`: the acquirer's answer was lost.
    pub fn mark_unknown(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.go(
            &[PaymentState::Authorizing],
            PaymentState::Unknown,
            "mark unknown",
            now,
        )
    }

    const SETTLEABLE: [PaymentState; 3] = [
        PaymentState::Authorizing,
        PaymentState::Unknown,
        PaymentState::ActionRequired,
    ];

    /// `Authorizing | Unknown | ActionRequired → Succeeded`. Assigns the
    /// receipt number.
    pub fn succeed(
        &mut self,
        approval: Approval,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(&Self::SETTLEABLE, PaymentState::Succeeded, "approve", now)?;
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
        self.go(
            &[PaymentState::Failed, PaymentState::Expired],
            PaymentState::Succeeded,
            "recover the approval of",
            now,
        )?;
        self.failure = None;
        self.approved(approval, now);
        Ok(())
    }

    fn approved(&mut self, approval: Approval, now: DateTime<Utc>) {
        self.approval = Some(approval);
        self.challenge = None;
        self.succeeded_at = Some(now);
        self.receipt_number = Some(receipt_number(self.id, now));
    }

    /// `Authorizing | Unknown | ActionRequired → Declined`.
    pub fn decline(
        &mut self,
        reason: DeclineReason,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.go(&Self::SETTLEABLE, PaymentState::Declined, "decline", now)?;
        self.decline_reason = Some(reason);
        self.challenge = None;
        Ok(())
    }

    /// `Authorizing | Unknown | ActionRequired → Failed` (no money taken);
    /// `reason`'s stable code is kept in [`Payment::failure`].
    pub fn fail(&mut self, reason: Text, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.go(&Self::SETTLEABLE, PaymentState::Failed, "fail", now)?;
        self.failure = Some(reason.code().to_string());
        self.challenge = None;
        Ok(())
    }

    /// `Created | ActionRequired → Expired`.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.go(
            &[PaymentState::Created, PaymentState::ActionRequired],
            PaymentState::Expired,
            "expire",
            now,
        )?;
        self.challenge = None;
        Ok(())
    }

    /// Reserves `amount` for a refund (state unchanged), refusing anything
    /// above what is left.
    pub fn reserve_refund(
        &mut self,
        amount: Money,
        now: DateTime<Utc>,
    ) -> Result<(), RefundRefused> {
        if !self.state.is_paid() {
            return Err(RefundRefused::NotRefundable(self.state));
        }
        if amount.is_zero() || amount.currency() != self.total.currency() {
            return Err(RefundRefused::AmountInvalid);
        }
        if amount > self.refundable() {
            return Err(RefundRefused::ExceedsPaid);
        }
        self.refund_pending = self
            .refund_pending
            .checked_add(amount)
            .map_err(|_| RefundRefused::AmountInvalid)?;
        self.bump(now);
        Ok(())
    }

    /// A reserved refund went through: `Succeeded | PartiallyRefunded →
    /// PartiallyRefunded | Refunded`.
    pub fn complete_refund(
        &mut self,
        amount: Money,
        now: DateTime<Utc>,
    ) -> Result<(), RefundRefused> {
        if !self.state.is_paid() {
            return Err(RefundRefused::NotRefundable(self.state));
        }
        let pending = self
            .refund_pending
            .checked_sub(amount)
            .map_err(|_| RefundRefused::ExceedsPaid)?;
        let refunded = self
            .refunded
            .checked_add(amount)
            .map_err(|_| RefundRefused::AmountInvalid)?;
        if refunded > self.total {
            return Err(RefundRefused::ExceedsPaid);
        }
        self.refund_pending = pending;
        self.refunded = refunded;
        self.state = if refunded == self.total {
            PaymentState::Refunded
        } else {
            PaymentState::PartiallyRefunded
        };
        self.bump(now);
        Ok(())
    }

    /// A reserved refund did not happen: the reservation is released.
    pub fn release_refund(
        &mut self,
        amount: Money,
        now: DateTime<Utc>,
    ) -> Result<(), RefundRefused> {
        self.refund_pending = self
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
    let hex = crate::ops::hex_lower(&digest[..8]).to_ascii_uppercase();
    format!(
        "{:04}{:02}{:02}-{hex}",
        local.year(),
        local.month(),
        local.day()
    )
}

/// The state of a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// Reserved; the acquirer's answer is awaited (or was lost).
    Pending,
    /// Money returned.
    Succeeded,
    /// Refused; the reservation was released.
    Failed,
}

impl RefundState {
    /// Stable id.
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundState::Pending => "pending",
            RefundState::Succeeded => "succeeded",
            RefundState::Failed => "failed",
        }
    }

    /// Parses the stable id.
    pub fn parse(s: &str) -> Option<RefundState> {
        Some(match s {
            "pending" => RefundState::Pending,
            "succeeded" => RefundState::Succeeded,
            "failed" => RefundState::Failed,
            _ => return None,
        })
    }
}

/// Money given back for a payment, fully or in part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// Id.
    pub id: Uuid,
    /// The payment.
    pub payment_id: Uuid,
    /// Amount.
    pub amount: Money,
    /// Why (operator's words).
    pub reason: String,
    /// State.
    pub state: RefundState,
    /// Idempotency key of the request.
    pub idempotency_key: String,
    /// When requested.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
    /// Why it failed, if it did.
    pub failure: Option<String>,
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

    #[test]
    fn happy_path_and_versions() {
        let mut p = payment();
        let now = p.created_at;
        assert_eq!(p.version, 1);
        p.authorize("s".into(), None, None, "sandbox", now).unwrap();
        p.require_action(Challenge::Otp { hint: None }, now)
            .unwrap();
        p.resume(now).unwrap();
        p.succeed(
            Approval {
                auth_code: "123456".into(),
                rrn: "1".into(),
            },
            now,
        )
        .unwrap();
        assert_eq!(p.state, PaymentState::Succeeded);
        assert_eq!(p.version, 5);
        let number = p.receipt_number.clone().unwrap();
        assert!(
            number.starts_with("20261125-") && number.len() == 25,
            "{number}"
        );
        assert_eq!(number, receipt_number(p.id, now));
        assert_ne!(
            receipt_number(Uuid::from_u128(8), now),
            number,
            "ids sharing a prefix get different numbers"
        );
    }

    #[test]
    fn illegal_moves_are_refused_and_change_nothing() {
        let mut p = payment();
        let now = p.created_at;
        let before = p.clone();
        assert!(p
            .succeed(
                Approval {
                    auth_code: "1".into(),
                    rrn: "1".into()
                },
                now
            )
            .is_err());
        assert!(p.resume(now).is_err());
        assert!(p.mark_unknown(now).is_err());
        assert!(p.decline(DeclineReason::Other, now).is_err());
        assert_eq!(
            p.reserve_refund(Money::som(1), now),
            Err(RefundRefused::NotRefundable(PaymentState::Created))
        );
        assert_eq!(p, before);
        p.expire(now).unwrap();
        let err = p.authorize("s".into(), None, None, "x", now).unwrap_err();
        assert_eq!(err.from, PaymentState::Expired);
    }

    #[test]
    fn refunds_never_exceed_what_was_paid() {
        let mut p = payment();
        let now = p.created_at;
        p.authorize("s".into(), None, None, "sandbox", now).unwrap();
        p.succeed(
            Approval {
                auth_code: "1".into(),
                rrn: "1".into(),
            },
            now,
        )
        .unwrap();
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
        assert_eq!(p.state, PaymentState::PartiallyRefunded);
        p.reserve_refund(Money::som(385), now).unwrap();
        p.release_refund(Money::som(385), now).unwrap();
        p.reserve_refund(Money::som(385), now).unwrap();
        p.complete_refund(Money::som(385), now).unwrap();
        assert_eq!(p.state, PaymentState::Refunded);
        assert!(p.refundable().is_zero());
        assert!(p.reserve_refund(Money::som(1), now).is_err());
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
