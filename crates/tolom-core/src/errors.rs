//! Errors of the use cases, one enum per operation. Every variant a payer
//! can cause has a stable code ([`ErrorCode`]) with a translated message.

use uuid::Uuid;

use crate::card::ValidationErrors;
use crate::charge::NotPayable;
use crate::code::CodeError;
use crate::i18n::{ErrorCode, Text};
use crate::payment::RefundRefused;
use crate::ports::StoreError;

/// The text of a storage failure as a payer or operator sees it:
/// `request.conflict` when the record changed under the request (an
/// expected race between two requests, answered with what to do, never as
/// an outage), `service.unavailable` when trying again later may help,
/// `internal.error` otherwise.
pub fn store_text(e: &StoreError) -> Text {
    if matches!(e, StoreError::Conflict) {
        Text::RequestConflict
    } else if e.is_temporary() {
        Text::ServiceUnavailable
    } else {
        Text::InternalError
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
    fn text(&self) -> Text {
        match self {
            LookupError::Code(e) => e.text(),
            LookupError::NotFound => Text::CodeNotFound,
            LookupError::Store(e) => store_text(e),
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
    /// Another payment of the code is being processed, or another payer is
    /// filling the card form.
    #[error("payment {payment_id} of this code is in progress")]
    InProgress {
        /// The payment that holds the code.
        payment_id: Uuid,
        /// When a new start may succeed, when that is known (the end of the
        /// other payer's card-entry window).
        retry_after: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The charge's amount and the fee do not add up within the currency's
    /// range.
    #[error("amount and fee overflow")]
    AmountTooLarge,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for StartPaymentError {
    fn text(&self) -> Text {
        match self {
            StartPaymentError::Code(e) => e.text(),
            StartPaymentError::NotFound => Text::CodeNotFound,
            StartPaymentError::NotPayable(e) => e.text(),
            StartPaymentError::TermsNotAccepted => Text::TermsNotAccepted,
            StartPaymentError::TermsOutdated { .. } => Text::TermsOutdated,
            StartPaymentError::KeyInvalid => Text::IdempotencyKeyInvalid,
            StartPaymentError::KeyReused => Text::IdempotencyKeyReused,
            StartPaymentError::InProgress { .. } => Text::ChargePaymentInProgress,
            StartPaymentError::AmountTooLarge => Text::InternalError,
            StartPaymentError::Store(e) => store_text(e),
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
    fn text(&self) -> Text {
        match self {
            SubmitCardError::NotFound => Text::PaymentNotFound,
            SubmitCardError::Invalid(e) => e.text(),
            SubmitCardError::AlreadySubmitted => Text::PaymentAlreadySubmitted,
            SubmitCardError::Expired => Text::PaymentExpired,
            SubmitCardError::NotPayable(e) => e.text(),
            SubmitCardError::KeyInvalid => Text::IdempotencyKeyInvalid,
            SubmitCardError::Store(e) => store_text(e),
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
    fn text(&self) -> Text {
        match self {
            ChallengeError::NotFound => Text::PaymentNotFound,
            ChallengeError::NotAwaiting => Text::PaymentNotAwaitingChallenge,
            ChallengeError::Expired => Text::PaymentExpired,
            ChallengeError::Store(e) => store_text(e),
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
    fn text(&self) -> Text {
        match self {
            QueryError::NotFound => Text::PaymentNotFound,
            QueryError::NoReceipt => Text::ReceiptNotAvailable,
            QueryError::Store(e) => store_text(e),
        }
    }
}

/// Errors of `receipt_for_code`: the way back to the receipt of a paid
/// code.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptProofError {
    /// The text is not a payment code.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// No charge has this code.
    #[error("payment code not found")]
    NotFound,
    /// Nothing was paid for this code.
    #[error("nothing was paid for this code")]
    NotPaid,
    /// The code was paid outside tolom (a bank app, a terminal): there is
    /// no receipt of ours.
    #[error("paid elsewhere; no receipt here")]
    PaidElsewhere,
    /// The proof is neither an e-mail address nor four digits.
    #[error("the proof is neither an e-mail address nor four digits")]
    ProofInvalid,
    /// The proof does not match the payment.
    #[error("the proof does not match the payment")]
    Mismatch,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for ReceiptProofError {
    fn text(&self) -> Text {
        match self {
            ReceiptProofError::Code(e) => e.text(),
            ReceiptProofError::NotFound => Text::CodeNotFound,
            ReceiptProofError::NotPaid => Text::ReceiptNotAvailable,
            ReceiptProofError::PaidElsewhere => Text::ProofUnavailable,
            ReceiptProofError::ProofInvalid => Text::ProofRequired,
            ReceiptProofError::Mismatch => Text::ProofMismatch,
            ReceiptProofError::Store(e) => store_text(e),
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
    fn text(&self) -> Text {
        match self {
            RefundError::NotFound => Text::PaymentNotFound,
            RefundError::Refused(e) => e.text(),
            RefundError::KeyInvalid => Text::IdempotencyKeyInvalid,
            RefundError::Failed(_) => Text::RefundFailed,
            RefundError::Store(e) => store_text(e),
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
    /// The charge would name, or take its amount from, a tariff the
    /// catalogue marks `published: false`: a placeholder, not a fee.
    #[error(
        "the fee of {service} / {urgency} is not published (the catalogue marks it \
         \"published\": false): set its amount and \"published\": true in the catalogue file, \
         or issue the code with the agency's own amount and no urgency"
    )]
    TariffUnpublished {
        /// The service.
        service: String,
        /// The tariff's urgency.
        urgency: String,
    },
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
    /// The amount, or the amount with the site's fee, does not fit what
    /// tolom stores and sends to the bank (integer minor units,
    /// [`crate::money::Money::MAX_MINOR_UNITS`]).
    #[error("amount {0} is too large (at most 92233720368547758.07 with the fee)")]
    AmountTooLarge(String),
    /// The payer's name is longer than
    /// [`crate::usecases::MAX_PAYER_CHARS`].
    #[error("payer name is longer than {0} characters")]
    PayerTooLong(usize),
    /// The agency reference is empty, too long
    /// ([`crate::usecases::MAX_AGENCY_REF_CHARS`]) or has control
    /// characters.
    #[error("agency reference {0:?} is not valid: 1 to 100 characters, no control characters")]
    AgencyRefInvalid(String),
    /// The expiry is further away than
    /// [`crate::usecases::MAX_VALID_DAYS`] days.
    #[error("expiry is more than {0} days away")]
    ExpiryTooFar(u32),
    /// Another charge of the service holds this agency reference with
    /// other data: the agency gave one reference to two requests.
    #[error("agency reference {agency_ref:?} is already code {code} with another {differs}")]
    AgencyRefConflict {
        /// The reference.
        agency_ref: String,
        /// The code of the charge that holds it.
        code: String,
        /// What differs (`payer`, `amount`, ...), comma-separated.
        differs: String,
    },
    /// The code the agency chose is already another charge's.
    #[error("code {code} is already issued with another {differs}")]
    CodeTaken {
        /// The code.
        code: String,
        /// What differs (`payer`, `amount`, ...), comma-separated.
        differs: String,
    },
    /// Storage failed (including `DuplicateCode`).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for IssueError {
    fn text(&self) -> Text {
        match self {
            IssueError::Code(e) => e.text(),
            IssueError::Store(StoreError::DuplicateCode) => Text::RequestInvalid,
            IssueError::Store(e) => store_text(e),
            _ => Text::RequestInvalid,
        }
    }
}

/// Why recording a payment made elsewhere
/// ([`crate::usecases::Operator::record_external_payment`]) or resolving a
/// flagged one was refused. (A code that is not valid or not known is a
/// [`LookupError`].)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExternalError {
    /// Not a channel that reports payments (`card` is tolom's own).
    #[error("unknown payment channel {0:?} (bank_app, terminal, elqr, bank_branch)")]
    ChannelInvalid(String),
    /// The reference is empty, too long or has control characters.
    #[error("the reference is empty, longer than 100 characters or has control characters")]
    ReferenceInvalid,
    /// The amount paid is not the charge's amount.
    #[error("{paid} was paid, the charge is {due}")]
    AmountMismatch {
        /// What the charge asks.
        due: crate::money::Money,
        /// What the channel reports.
        paid: crate::money::Money,
    },
    /// The time of payment is in the future, or before the code was issued.
    #[error("paid_at {0} is not possible (in the future, or before the code was issued)")]
    PaidAtInvalid(chrono::DateTime<chrono::Utc>),
    /// The channel reported this reference before, with another charge,
    /// amount or time.
    #[error(
        "{channel} reference {reference:?} was recorded for code {code} with another {differs}"
    )]
    ReferenceConflict {
        /// The channel.
        channel: String,
        /// The reference.
        reference: String,
        /// The code it was recorded for.
        code: String,
        /// What differs (`code`, `amount`, `paid_at`), comma-separated.
        differs: String,
    },
    /// The charge cannot be paid: cancelled, or the payment was made after
    /// its expiry.
    #[error(transparent)]
    NotPayable(#[from] NotPayable),
    /// No payment made elsewhere has this id.
    #[error("no payment made elsewhere has this id")]
    NotFound,
    /// Only a flagged duplicate can be resolved.
    #[error("the payment is {0}, not a flagged duplicate")]
    NotDuplicate(crate::external::ExternalState),
    /// A flagged duplicate can pay the charge only once nothing else does.
    #[error("the charge is still paid by another payment; refund it in full first")]
    ChargeStillPaid,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for ExternalError {
    fn text(&self) -> Text {
        match self {
            ExternalError::ChannelInvalid(_) => Text::ExternalChannelInvalid,
            ExternalError::ReferenceInvalid => Text::ExternalReferenceInvalid,
            ExternalError::AmountMismatch { .. } => Text::ExternalAmountMismatch,
            ExternalError::PaidAtInvalid(_) => Text::ExternalPaidAtInvalid,
            ExternalError::ReferenceConflict { .. } => Text::ExternalReferenceConflict,
            ExternalError::NotPayable(e) => e.text(),
            ExternalError::NotFound => Text::ExternalNotFound,
            ExternalError::NotDuplicate(_) => Text::ExternalNotDuplicate,
            ExternalError::ChargeStillPaid => Text::ExternalChargeStillPaid,
            ExternalError::Store(e) => store_text(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{text, Language};

    #[test]
    fn every_error_has_a_code_and_a_message_from_its_text() {
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
            Box::new(StartPaymentError::InProgress {
                payment_id: Uuid::nil(),
                retry_after: None,
            }),
            Box::new(StartPaymentError::NotPayable(NotPayable::AlreadyPaid)),
            Box::new(StartPaymentError::NotPayable(NotPayable::Expired)),
            Box::new(StartPaymentError::NotPayable(NotPayable::Cancelled)),
            Box::new(SubmitCardError::NotFound),
            Box::new(SubmitCardError::AlreadySubmitted),
            Box::new(SubmitCardError::Expired),
            Box::new(ChallengeError::NotAwaiting),
            Box::new(ChallengeError::Expired),
            Box::new(ReceiptProofError::NotFound),
            Box::new(ReceiptProofError::NotPaid),
            Box::new(ReceiptProofError::PaidElsewhere),
            Box::new(ReceiptProofError::ProofInvalid),
            Box::new(ReceiptProofError::Mismatch),
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
            Box::new(ExternalError::ChannelInvalid("cash".into())),
            Box::new(ExternalError::ReferenceInvalid),
            Box::new(ExternalError::AmountMismatch {
                due: crate::money::Money::som(885),
                paid: crate::money::Money::som(800),
            }),
            Box::new(ExternalError::PaidAtInvalid(chrono::DateTime::UNIX_EPOCH)),
            Box::new(ExternalError::ReferenceConflict {
                channel: "elqr".into(),
                reference: "R-1".into(),
                code: "110000000017".into(),
                differs: "amount".into(),
            }),
            Box::new(ExternalError::NotPayable(NotPayable::Cancelled)),
            Box::new(ExternalError::NotFound),
            Box::new(ExternalError::NotDuplicate(
                crate::external::ExternalState::Accepted,
            )),
            Box::new(ExternalError::ChargeStillPaid),
        ];
        for e in errors {
            let t = e.text();
            assert_eq!(e.code(), t.code());
            assert_eq!(Text::from_code(e.code()), Some(t), "{}", e.code());
            assert_eq!(t.file(), "errors.ftl", "{}: an error's text", e.code());
            for lang in Language::ALL {
                assert_eq!(e.message(lang), text(t, lang));
                assert!(!e.message(lang).trim().is_empty(), "{} in {lang}", e.code());
            }
        }
    }

    /// Codes that API clients and stored payments rely on: renaming or
    /// dropping one of them breaks them, so it must be a decision.
    #[test]
    fn the_public_error_codes_stay() {
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
            "service.unavailable",
            "request.conflict",
            "internal.error",
        ] {
            let t = Text::from_code(code).unwrap_or_else(|| panic!("no text for {code}"));
            assert_eq!(t.file(), "errors.ftl", "{code}");
        }
    }
}

#[cfg(test)]
mod catalogue_coverage {
    use crate::i18n::Text;
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_none_or(|n| n != "target") {
                    rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Codes are typed ([`Text`]), but they still travel as strings: in
    /// stored failure codes, JSON answers and the tests that check them.
    /// Every string literal that looks like an error code (a known family,
    /// a dot, a snake_case name) in the crates that show texts to payers and
    /// operators must be the code of a text, so no adapter or test expects a
    /// code that has no translation. (The CLI's own refusals are English
    /// operator output, and the BPC crates' `refund.do` is an endpoint.)
    #[test]
    fn every_code_literal_is_a_text() {
        const FAMILIES: [&str; 15] = [
            "external",
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
        // Event kinds and audit actions share the dotted shape but are not
        // payer-facing texts.
        let not_a_text = |literal: &str| {
            crate::events::EventKind::parse(literal).is_some()
                || ["auth.failed", "terms.published", "payment.refunded"].contains(&literal)
        };
        const CRATES: [&str; 5] = [
            "tolom-core",
            "tolom-http",
            "tolom-admin",
            "tolom-notify-smtp",
            "tolom-testkit",
        ];
        let core = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        // The core's sources, and the other crates' when the workspace is
        // there (not in a packaged crate).
        rust_files(&core.join("src"), &mut files);
        if let Some(crates) = core.parent() {
            for name in &CRATES[1..] {
                for sub in ["src", "tests"] {
                    rust_files(&crates.join(name).join(sub), &mut files);
                }
            }
        }
        assert!(files.len() > 15, "found only {} files", files.len());
        let mut checked = 0;
        let mut unknown = Vec::new();
        for file in &files {
            let Ok(src) = std::fs::read_to_string(file) else {
                continue;
            };
            for literal in src.split('"').skip(1).step_by(2) {
                let Some((family, name)) = literal.split_once('.') else {
                    continue;
                };
                let is_code = FAMILIES.contains(&family)
                    && !not_a_text(literal)
                    && ![
                        "rs", "html", "css", "js", "json", "pdf", "ftl", "toml", "sql", "md",
                        "log", "txt", "db", "key", "png",
                    ]
                    .contains(&name)
                    && !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                if is_code {
                    checked += 1;
                    if Text::from_code(literal).is_none() {
                        unknown.push(format!("{}: {literal}", file.display()));
                    }
                }
            }
        }
        assert!(
            unknown.is_empty(),
            "codes without a text:\n{}",
            unknown.join("\n")
        );
        assert!(checked > 0, "the scan found no code literal");
    }
}
