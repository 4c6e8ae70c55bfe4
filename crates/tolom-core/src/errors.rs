//! Errors of the use cases, one enum per operation. Every variant a payer
//! can cause has a stable code ([`ErrorCode`]) with a translated message.

use uuid::Uuid;

use crate::card::ValidationErrors;
use crate::charge::NotPayable;
use crate::code::CodeError;
use crate::i18n::ErrorCode;
use crate::payment::RefundRefused;
use crate::ports::StoreError;

/// The code of a storage failure as a payer or operator sees it:
/// `service.unavailable` when trying again later may help, `internal.error`
/// otherwise.
pub fn store_code(e: &StoreError) -> &'static str {
    if e.is_temporary() {
        "service.unavailable"
    } else {
        "internal.error"
    }
}

/// Errors of `look_up`.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The text is not a payment code.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// No charge has this code.
    #[error("payment code not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for LookupError {
    fn code(&self) -> &'static str {
        match self {
            LookupError::Code(e) => e.code(),
            LookupError::NotFound => "code.not_found",
            LookupError::Store(e) => store_code(e),
        }
    }
}

/// Errors of `start_payment`.
#[derive(Debug, thiserror::Error)]
pub enum StartPaymentError {
    /// The text is not a payment code.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// No charge has this code.
    #[error("payment code not found")]
    NotFound,
    /// The charge cannot be paid.
    #[error(transparent)]
    NotPayable(#[from] NotPayable),
    /// The payer did not accept the agreement.
    #[error("user agreement not accepted")]
    TermsNotAccepted,
    /// The payer accepted an edition that is no longer in force.
    #[error("accepted edition {accepted} is not the one in force ({in_force})")]
    TermsOutdated {
        /// What the payer accepted.
        accepted: String,
        /// What is in force.
        in_force: String,
    },
    /// The idempotency key is empty, too long or has odd characters.
    #[error("invalid idempotency key")]
    KeyInvalid,
    /// The key was used to start a payment of another code.
    #[error("idempotency key reused for another code")]
    KeyReused,
    /// Another payment of the code is being processed.
    #[error("payment {0} of this code is in progress")]
    InProgress(Uuid),
    /// The charge's amount and the fee do not add up within the currency's
    /// range.
    #[error("amount and fee overflow")]
    AmountTooLarge,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for StartPaymentError {
    fn code(&self) -> &'static str {
        match self {
            StartPaymentError::Code(e) => e.code(),
            StartPaymentError::NotFound => "code.not_found",
            StartPaymentError::NotPayable(e) => e.code(),
            StartPaymentError::TermsNotAccepted => "terms.not_accepted",
            StartPaymentError::TermsOutdated { .. } => "terms.outdated",
            StartPaymentError::KeyInvalid => "idempotency.key_invalid",
            StartPaymentError::KeyReused => "idempotency.key_reused",
            StartPaymentError::InProgress(_) => "charge.payment_in_progress",
            StartPaymentError::AmountTooLarge => "internal.error",
            StartPaymentError::Store(e) => store_code(e),
        }
    }
}

/// Errors of `submit_card` (a decline is not an error: it is the payment's
/// outcome).
#[derive(Debug, thiserror::Error)]
pub enum SubmitCardError {
    /// No such payment.
    #[error("payment not found")]
    NotFound,
    /// Field errors, all of them. The payment is unchanged; fix and resend.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// Card details were already sent for this payment (with another key).
    #[error("card already submitted")]
    AlreadySubmitted,
    /// The payment session ended.
    #[error("payment session expired")]
    Expired,
    /// The charge can no longer be paid.
    #[error(transparent)]
    NotPayable(#[from] NotPayable),
    /// The idempotency key is invalid.
    #[error("invalid idempotency key")]
    KeyInvalid,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for SubmitCardError {
    fn code(&self) -> &'static str {
        match self {
            SubmitCardError::NotFound => "payment.not_found",
            SubmitCardError::Invalid(e) => e.code(),
            SubmitCardError::AlreadySubmitted => "payment.already_submitted",
            SubmitCardError::Expired => "payment.expired",
            SubmitCardError::NotPayable(e) => e.code(),
            SubmitCardError::KeyInvalid => "idempotency.key_invalid",
            SubmitCardError::Store(e) => store_code(e),
        }
    }
}

/// Errors of `complete_challenge`.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// No such payment.
    #[error("payment not found")]
    NotFound,
    /// The payment is not waiting for a challenge answer.
    #[error("payment is not awaiting a challenge")]
    NotAwaiting,
    /// The payment session ended.
    #[error("payment session expired")]
    Expired,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for ChallengeError {
    fn code(&self) -> &'static str {
        match self {
            ChallengeError::NotFound => "payment.not_found",
            ChallengeError::NotAwaiting => "payment.not_awaiting_challenge",
            ChallengeError::Expired => "payment.expired",
            ChallengeError::Store(e) => store_code(e),
        }
    }
}

/// Errors of `payment` and `receipt`.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// No such payment.
    #[error("payment not found")]
    NotFound,
    /// The payment has no receipt (not succeeded).
    #[error("no receipt for this payment")]
    NoReceipt,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for QueryError {
    fn code(&self) -> &'static str {
        match self {
            QueryError::NotFound => "payment.not_found",
            QueryError::NoReceipt => "receipt.not_available",
            QueryError::Store(e) => store_code(e),
        }
    }
}

/// Errors of `refund`.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    /// No such payment.
    #[error("payment not found")]
    NotFound,
    /// Refused by the rules (state, amount).
    #[error(transparent)]
    Refused(#[from] RefundRefused),
    /// The idempotency key is invalid.
    #[error("invalid idempotency key")]
    KeyInvalid,
    /// The acquirer refused or could not be reached; the reservation was
    /// released and nothing was refunded.
    #[error("acquirer refused the refund: {0}")]
    Failed(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for RefundError {
    fn code(&self) -> &'static str {
        match self {
            RefundError::NotFound => "payment.not_found",
            RefundError::Refused(e) => e.code(),
            RefundError::KeyInvalid => "idempotency.key_invalid",
            RefundError::Failed(_) => "refund.failed",
            RefundError::Store(e) => store_code(e),
        }
    }
}

/// Errors of issuing and cancelling charges.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The service is not in the catalogue.
    #[error("unknown service {0}")]
    UnknownService(String),
    /// The urgency is not a tariff of the service.
    #[error("unknown tariff {0}")]
    UnknownTariff(String),
    /// The code's prefix is not the service's family, or the code is invalid.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// The payer's name is empty.
    #[error("payer name is empty")]
    PayerMissing,
    /// Expiry not after issue.
    #[error("expiry must be in the future")]
    BadExpiry,
    /// Amount invalid.
    #[error("invalid amount")]
    BadAmount,
    /// Storage failed (including `DuplicateCode`).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for IssueError {
    fn code(&self) -> &'static str {
        match self {
            IssueError::Code(e) => e.code(),
            IssueError::Store(StoreError::DuplicateCode) => "request.invalid",
            IssueError::Store(e) => store_code(e),
            _ => "request.invalid",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::lookup;

    #[test]
    fn every_error_code_is_translated() {
        let errors: Vec<Box<dyn ErrorCode>> = vec![
            Box::new(LookupError::NotFound),
            Box::new(LookupError::Store(StoreError::Unavailable("x".into()))),
            Box::new(LookupError::Store(StoreError::NotFound)),
            Box::new(StartPaymentError::TermsNotAccepted),
            Box::new(StartPaymentError::TermsOutdated {
                accepted: "a".into(),
                in_force: "b".into(),
            }),
            Box::new(StartPaymentError::KeyInvalid),
            Box::new(StartPaymentError::KeyReused),
            Box::new(StartPaymentError::InProgress(Uuid::nil())),
            Box::new(StartPaymentError::NotPayable(NotPayable::AlreadyPaid)),
            Box::new(StartPaymentError::NotPayable(NotPayable::Expired)),
            Box::new(StartPaymentError::NotPayable(NotPayable::Cancelled)),
            Box::new(SubmitCardError::NotFound),
            Box::new(SubmitCardError::AlreadySubmitted),
            Box::new(SubmitCardError::Expired),
            Box::new(ChallengeError::NotAwaiting),
            Box::new(ChallengeError::Expired),
            Box::new(QueryError::NoReceipt),
            Box::new(RefundError::Failed("x".into())),
            Box::new(RefundError::Refused(RefundRefused::ExceedsPaid)),
            Box::new(RefundError::Refused(RefundRefused::AmountInvalid)),
            Box::new(RefundError::Refused(RefundRefused::NotRefundable(
                crate::payment::PaymentState::Created,
            ))),
            Box::new(IssueError::PayerMissing),
            Box::new(CodeError::Empty),
            Box::new(CodeError::InvalidCharacters),
            Box::new(CodeError::Length {
                got: 1,
                expected: 2,
            }),
            Box::new(CodeError::Prefix),
            Box::new(CodeError::CheckDigit),
        ];
        for e in errors {
            assert!(
                lookup(e.code()).is_some(),
                "no translation for {}",
                e.code()
            );
        }
        for code in [
            "card.holder_required",
            "card.holder_latin",
            "card.pan_required",
            "card.pan_digits",
            "card.pan_length",
            "card.pan_luhn",
            "card.brand_unknown",
            "card.expiry_invalid",
            "card.expired",
            "card.cvv_required",
            "card.cvv_length",
            "contact.phone_required",
            "contact.phone_invalid",
            "contact.email_required",
            "contact.email_invalid",
            "payment.acquirer_unavailable",
            "payment.outcome_unknown",
            "payment.challenge_failed",
        ] {
            assert!(lookup(code).is_some(), "no translation for {code}");
        }
    }
}

#[cfg(test)]
mod catalogue_coverage {
    use crate::i18n::lookup;

    /// Every string literal in the core that looks like an error code (a
    /// known family, a dot, a name) has a translation: a new code added
    /// anywhere without its three texts fails here.
    #[test]
    fn every_code_literal_in_the_core_is_translated() {
        const FAMILIES: [&str; 14] = [
            "code",
            "charge",
            "terms",
            "idempotency",
            "payment",
            "decline",
            "card",
            "contact",
            "refund",
            "receipt",
            "request",
            "auth",
            "service",
            "internal",
        ];
        let sources = [
            include_str!("card.rs"),
            include_str!("charge.rs"),
            include_str!("code.rs"),
            include_str!("errors.rs"),
            include_str!("payment/mod.rs"),
            include_str!("usecases/paying.rs"),
            include_str!("usecases/settle.rs"),
            include_str!("usecases/refunds.rs"),
            include_str!("usecases/operator/mod.rs"),
            include_str!("ports/errors.rs"),
        ];
        // Event kinds share the dotted shape but are not payer-facing errors.
        const EVENT_KINDS: [&str; 13] = [
            "auth.failed",
            "terms.published",
            "payment.late_approval",
            "payment.duplicate_reversed",
            "payment.duplicate_unresolved",
            "charge.issued",
            "payment.created",
            "payment.authorizing",
            "payment.challenge_answered",
            "payment.succeeded",
            "payment.refunded",
            "refund.requested",
            "refund.succeeded",
        ];
        let mut checked = 0;
        for src in sources {
            for literal in src.split('"').skip(1).step_by(2) {
                let Some((family, name)) = literal.split_once('.') else {
                    continue;
                };
                let is_code = FAMILIES.contains(&family)
                    && !EVENT_KINDS.contains(&literal)
                    && name != "rs"
                    && !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                if is_code {
                    checked += 1;
                    assert!(
                        lookup(literal).is_some(),
                        "{literal} has no translation in i18n::MESSAGES"
                    );
                }
            }
        }
        assert!(checked > 40, "the scan found only {checked} codes");
    }
}
