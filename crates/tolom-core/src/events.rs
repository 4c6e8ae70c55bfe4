//! Events: the append-only record of what happened to charges, payments
//! and refunds, written in the same transaction as the change they record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::payment::PaymentState;

macro_rules! event_kinds {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal ),* $(,)?) => {
        /// What an event records. Stored and shown as its stable name
        /// ([`EventKind::as_str`]), e.g. `payment.succeeded`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventKind {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl EventKind {
            /// Every kind.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),*];

            /// The stable name.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( EventKind::$variant => $name, )*
                }
            }
        }
    };
}

event_kinds! {
    /// A charge was issued (a code given out).
    ChargeIssued => "charge.issued",
    /// A charge was cancelled by the agency.
    ChargeCancelled => "charge.cancelled",
    /// A charge passed its expiry unpaid.
    ChargeExpired => "charge.expired",
    /// A payment made elsewhere (a bank's app, a terminal, ELQR) was
    /// recorded and pays the charge (or a flagged one was accepted by an
    /// operator); the event's payment id is the external payment's.
    ChargePaidExternally => "charge.paid_externally",
    /// A payment made elsewhere was reported for a charge already paid: kept,
    /// flagged for operators (`external_duplicate`).
    ChargeExternalDuplicate => "charge.external_duplicate",
    /// An operator recorded that the channel gave a flagged payment's money
    /// back to the payer.
    ChargeExternalReturned => "charge.external_returned",
    /// A payment was started (the payer accepted the agreement).
    PaymentCreated => "payment.created",
    /// The card (or a hosted-page request) went to the acquirer.
    PaymentAuthorizing => "payment.authorizing",
    /// The issuer asked the payer to confirm (3-D Secure, one-time code).
    PaymentActionRequired => "payment.action_required",
    /// The payer answered the challenge.
    PaymentChallengeAnswered => "payment.challenge_answered",
    /// The acquirer's answer was lost.
    PaymentUnknown => "payment.unknown",
    /// The payment succeeded.
    PaymentSucceeded => "payment.succeeded",
    /// The issuer or acquirer declined.
    PaymentDeclined => "payment.declined",
    /// The payment failed for a technical reason (no money taken).
    PaymentFailed => "payment.failed",
    /// The payment was abandoned or superseded.
    PaymentExpired => "payment.expired",
    /// An approval arrived after the payment was closed and was recorded.
    PaymentLateApproval => "payment.late_approval",
    /// The acquirer approved a payment whose charge another payment has
    /// paid: charged twice; the money is to be given back.
    PaymentDuplicate => "payment.duplicate",
    /// A duplicate's authorisation was reversed at the acquirer (or the
    /// acquirer holds nothing of it any more): its money is back.
    PaymentDuplicateReversed => "payment.duplicate_reversed",
    /// An attempt to give a duplicate's money back failed (reversal and
    /// refund refused, or the acquirer unreachable); the data says why and
    /// when the next attempt is.
    PaymentDuplicateUnresolved => "payment.duplicate_unresolved",
    /// A refund was requested (and reserved).
    RefundRequested => "refund.requested",
    /// A refund went through.
    RefundSucceeded => "refund.succeeded",
    /// A refund was refused; its reservation was released.
    RefundFailed => "refund.failed",
}

impl EventKind {
    /// Parses the stable name.
    pub fn parse(name: &str) -> Option<EventKind> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// The event of a payment settling in `state`, when settling can end
    /// there.
    pub fn settled_in(state: PaymentState) -> Option<EventKind> {
        Some(match state {
            PaymentState::Authorizing => EventKind::PaymentAuthorizing,
            PaymentState::ActionRequired => EventKind::PaymentActionRequired,
            PaymentState::Unknown => EventKind::PaymentUnknown,
            PaymentState::Succeeded => EventKind::PaymentSucceeded,
            PaymentState::Declined => EventKind::PaymentDeclined,
            PaymentState::Failed => EventKind::PaymentFailed,
            PaymentState::Expired => EventKind::PaymentExpired,
            PaymentState::Duplicate => EventKind::PaymentDuplicate,
            PaymentState::Created
            | PaymentState::PartiallyRefunded
            | PaymentState::Refunded
            | PaymentState::Returned => return None,
        })
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An append-only record of something that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// The charge concerned.
    pub charge_id: Uuid,
    /// The payment concerned, if any.
    pub payment_id: Option<Uuid>,
    /// What happened.
    pub kind: EventKind,
    /// Who did it: `system` for payers and background work, or the
    /// operator ([`crate::access::Principal::actor`]).
    pub actor: String,
    /// Details (never card data).
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name_and_serde() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
            let json = serde_json::to_string(k).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(EventKind::parse("no such kind"), None);
        for s in PaymentState::ALL {
            if let Some(k) = EventKind::settled_in(s) {
                assert_eq!(k.as_str(), format!("payment.{}", s.as_str()));
            }
        }
    }
}
