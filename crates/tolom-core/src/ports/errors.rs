//! The errors of the ports: what adapters translate their native errors
//! into. Nothing of a database driver, an HTTP client or an SMTP library
//! crosses into the core.

use uuid::Uuid;

use crate::charge::ChargeStatus;

/// Which rule a refused write would have broken. Callers match on the kind;
/// the detail in [`StoreError::Invariant`] is for operators only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvariantKind {
    /// A second succeeded, unrefunded payment of one charge.
    SecondPaidPayment,
    /// A second payment of one charge in flight.
    SecondInFlight,
    /// Refunds (done and pending) above what was paid, or below zero.
    RefundsExceedTotal,
    /// A field fixed at creation (amount, fee, total, currency, charge,
    /// code) would change.
    ImmutableField,
    /// `MarkPaid` on a charge that is already `Paid`.
    ChargeAlreadyPaid,
    /// A charge would enter `Paid` without a paid payment, or leave it while
    /// one exists.
    PaidWithoutPayment,
    /// An append-only record (event, audit entry, edition) or a record that
    /// is never deleted (charge, payment, refund) would be rewritten.
    AppendOnly,
    /// An agreement edition id was used before.
    DuplicateEdition,
    /// An admin token name is taken.
    DuplicateToken,
    /// Another charge of the service holds this agency reference.
    DuplicateAgencyRef,
    /// A full card number would be stored.
    UnmaskedCard,
    /// Any other constraint of the schema (the detail names it).
    Constraint,
}

impl InvariantKind {
    /// A stable name, for logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            InvariantKind::SecondPaidPayment => "second_paid_payment",
            InvariantKind::SecondInFlight => "second_in_flight",
            InvariantKind::RefundsExceedTotal => "refunds_exceed_total",
            InvariantKind::ImmutableField => "immutable_field",
            InvariantKind::ChargeAlreadyPaid => "charge_already_paid",
            InvariantKind::PaidWithoutPayment => "paid_without_payment",
            InvariantKind::AppendOnly => "append_only",
            InvariantKind::DuplicateEdition => "duplicate_edition",
            InvariantKind::DuplicateToken => "duplicate_token",
            InvariantKind::DuplicateAgencyRef => "duplicate_agency_ref",
            InvariantKind::UnmaskedCard => "unmasked_card",
            InvariantKind::Constraint => "constraint",
        }
    }
}

impl std::fmt::Display for InvariantKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors of the storage ports. Adapters translate native errors (SQLite
/// 2067, PostgreSQL 23505, lost connections, a full disk, ...) into these
/// kinds, by the driver's error kind and the constraint's name — never by
/// the text of a message.
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
    /// Re-reading and retrying may succeed.
    #[error("conflict: the record changed since it was read")]
    Conflict,
    /// The store refused the write because it would break an invariant.
    /// Nothing was written; retrying the same write will not help.
    #[error("invariant {kind} violated: {detail}")]
    Invariant {
        /// Which rule.
        kind: InvariantKind,
        /// Details for operators (a constraint name, a trigger's message).
        detail: String,
    },
    /// The database is unreachable, busy, timed out or aborted the
    /// transaction (deadlock, serialization failure); nothing was written
    /// and retrying may help.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The storage cannot serve the request and retrying will not help until
    /// an operator acts: a corrupt database or row, a full disk, a read-only
    /// file system, missing permissions, a schema tolom does not know.
    #[error("storage failed: {0}")]
    Broken(String),
}

impl StoreError {
    /// An invariant violation of `kind`.
    pub fn invariant(kind: InvariantKind, detail: impl Into<String>) -> StoreError {
        StoreError::Invariant {
            kind,
            detail: detail.into(),
        }
    }

    /// The kind of invariant violated, if this is one.
    pub fn invariant_kind(&self) -> Option<InvariantKind> {
        match self {
            StoreError::Invariant { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether the same call may succeed later without anyone's action: the
    /// store was unavailable, or the record changed under the caller
    /// (re-read and retry). Every other kind is permanent for this call.
    pub fn is_temporary(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Conflict)
    }
}

/// Whether an acquirer call may have had an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquirerErrorKind {
    /// Known not to have reached the acquirer (connection refused, DNS,
    /// invalid request caught locally): safe to retry.
    NotSent,
    /// Sent, but the answer was lost (timeout after sending, dropped
    /// connection, unreadable answer): the outcome is unknown; ask
    /// [`crate::ports::Acquirer::status`].
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

    /// Whether the same call may succeed later: it certainly did not reach
    /// the acquirer.
    pub fn is_temporary(&self) -> bool {
        self.kind == AcquirerErrorKind::NotSent
    }
}

/// Delivery of a notification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delivery failed ({}): {message}", if *.transient { "temporary" } else { "permanent" })]
pub struct NotifyError {
    /// Whether a later retry may succeed (SMTP 4xx, HTTP 5xx, timeouts).
    pub transient: bool,
    /// Details for operators.
    pub message: String,
}

impl NotifyError {
    /// A failure a later attempt may get past.
    pub fn temporary(message: impl Into<String>) -> Self {
        NotifyError {
            transient: true,
            message: message.into(),
        }
    }

    /// A failure no retry will get past (the receiver refused the message).
    pub fn permanent(message: impl Into<String>) -> Self {
        NotifyError {
            transient: false,
            message: message.into(),
        }
    }

    /// Whether a later retry may succeed.
    pub fn is_temporary(&self) -> bool {
        self.transient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unavailable_and_conflict_are_temporary() {
        assert!(StoreError::Unavailable("busy".into()).is_temporary());
        assert!(StoreError::Conflict.is_temporary());
        for permanent in [
            StoreError::Broken("disk full".into()),
            StoreError::invariant(InvariantKind::SecondPaidPayment, "x"),
            StoreError::NotFound,
            StoreError::DuplicateCode,
        ] {
            assert!(!permanent.is_temporary(), "{permanent}");
        }
        assert_eq!(
            StoreError::invariant(InvariantKind::RefundsExceedTotal, "x").invariant_kind(),
            Some(InvariantKind::RefundsExceedTotal)
        );
    }
}
