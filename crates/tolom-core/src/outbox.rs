//! Outbox messages: receipt e-mails and agency notices, written in the same
//! transaction as the state change they announce and delivered at least
//! once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::card::Email;
use crate::external::PaymentChannel;
use crate::i18n::Language;
use crate::money::Money;

/// What a notice to the issuing agency announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgencyEventKind {
    /// The fee was paid.
    #[serde(rename = "payment.succeeded")]
    PaymentSucceeded,
    /// Money was given back, in part or in full.
    #[serde(rename = "payment.refunded")]
    PaymentRefunded,
}

impl AgencyEventKind {
    /// Stable name, e.g. `payment.succeeded`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AgencyEventKind::PaymentSucceeded => "payment.succeeded",
            AgencyEventKind::PaymentRefunded => "payment.refunded",
        }
    }
}

/// A notice to the agency that issued the code. Its `event_id` is stable
/// across redeliveries so that receivers can deduplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyEvent {
    /// Stable event id.
    pub event_id: Uuid,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: AgencyEventKind,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The payment code.
    pub code: String,
    /// The agency's own reference of the charge.
    pub agency_ref: Option<String>,
    /// The service.
    pub service: String,
    /// The payment (a card payment's id, or the id tolom gave a payment
    /// made elsewhere).
    pub payment_id: Uuid,
    /// The receipt number: tolom's receipt of a card payment, or the
    /// channel's reference of a payment made elsewhere (its receipt is the
    /// channel's).
    pub receipt_number: Option<String>,
    /// The amount paid for the charge.
    pub amount: Money,
    /// Refunded so far.
    pub refunded: Money,
    /// How the fee was paid: `card` (through tolom), or the channel that
    /// reported the payment (`bank_app`, `terminal`, `elqr`,
    /// `bank_branch`). Notices written before channels existed read as
    /// `card`.
    #[serde(default)]
    pub channel: PaymentChannel,
}

/// What an outbox message asks to be delivered.
///
/// Serialized adjacently tagged, `{"kind": "agency_notice", "data": {…}}`, so
/// that the agency event's own `type` field does not clash with the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum OutboxPayload {
    /// E-mail the receipt of a payment; the receipt is built at delivery.
    ReceiptEmail {
        /// The payment.
        payment_id: Uuid,
        /// Recipient.
        to: Email,
        /// Language of the e-mail.
        language: Language,
    },
    /// Notify the issuing agency.
    AgencyNotice(AgencyEvent),
}

/// Which kind of notifier delivers a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// E-mail.
    Email,
    /// Webhook to the agency.
    Webhook,
}

impl OutboxPayload {
    /// The channel that delivers it.
    pub fn channel(&self) -> Channel {
        match self {
            OutboxPayload::ReceiptEmail { .. } => Channel::Email,
            OutboxPayload::AgencyNotice(_) => Channel::Webhook,
        }
    }
}

/// Delivery state of an outbox message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Delivered.
    Delivered,
    /// Gave up after too many failures; visible to operators, who can retry.
    Dead,
}

impl OutboxStatus {
    /// Stable id.
    pub fn as_str(&self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Dead => "dead",
        }
    }

    /// Parses the stable id.
    pub fn parse(s: &str) -> Option<OutboxStatus> {
        Some(match s {
            "pending" => OutboxStatus::Pending,
            "delivered" => OutboxStatus::Delivered,
            "dead" => OutboxStatus::Dead,
            _ => return None,
        })
    }
}

/// A message to deliver at least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Id (also the idempotency key for the receiver).
    pub id: Uuid,
    /// When written.
    pub created_at: DateTime<Utc>,
    /// What to deliver.
    pub payload: OutboxPayload,
    /// Delivery state.
    pub status: OutboxStatus,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not to be tried before this.
    pub next_attempt_at: DateTime<Utc>,
    /// Held by a worker until this instant.
    pub lease_until: Option<DateTime<Utc>>,
    /// Last failure, for operators. Retention replaces it with
    /// [`ERROR_REMOVED`] once the message's payment is anonymised (a
    /// bounce text carries the recipient's address).
    pub last_error: Option<String>,
    /// When delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What an outbox message's `last_error` becomes when retention
/// anonymises its payment: the failure texts of mail servers and agencies
/// quote addresses and names ("550 5.1.1 <aibek@example.kg>: no such
/// user"), so they go with the payment's other personal data.
pub const ERROR_REMOVED: &str = "(removed by retention)";

impl OutboxMessage {
    /// A new pending message, due now.
    pub fn new(id: Uuid, payload: OutboxPayload, now: DateTime<Utc>) -> OutboxMessage {
        OutboxMessage {
            id,
            created_at: now,
            payload,
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease_until: None,
            last_error: None,
            delivered_at: None,
        }
    }
}

/// When to try again after the n-th failure (1-based), or `None` to give
/// up: about 1 min, 5 min, 1 h, 1 day, 2 days — the schedule peers use.
pub fn retry_delay(failures: u32) -> Option<chrono::Duration> {
    use chrono::Duration;
    match failures {
        0 | 1 => Some(Duration::minutes(1)),
        2 => Some(Duration::minutes(5)),
        3 => Some(Duration::hours(1)),
        4 => Some(Duration::days(1)),
        5 => Some(Duration::days(2)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;

    #[test]
    fn payloads_round_trip_through_json() {
        let now = chrono::Utc::now();
        let notice = OutboxPayload::AgencyNotice(AgencyEvent {
            event_id: Uuid::from_u128(1),
            kind: AgencyEventKind::PaymentSucceeded,
            occurred_at: now,
            code: "110000000017".into(),
            agency_ref: None,
            service: "passport-2020".into(),
            payment_id: Uuid::from_u128(2),
            receipt_number: Some("20261125-0000000002".into()),
            amount: Money::som(885),
            refunded: Money::som(0),
            channel: PaymentChannel::Card,
        });
        let external = OutboxPayload::AgencyNotice(AgencyEvent {
            event_id: Uuid::from_u128(3),
            kind: AgencyEventKind::PaymentSucceeded,
            occurred_at: now,
            code: "110000000017".into(),
            agency_ref: Some("AG-1".into()),
            service: "passport-2020".into(),
            payment_id: Uuid::from_u128(4),
            receipt_number: Some("ELQR-1".into()),
            amount: Money::som(885),
            refunded: Money::som(0),
            channel: PaymentChannel::Elqr,
        });
        let mail = OutboxPayload::ReceiptEmail {
            payment_id: Uuid::from_u128(2),
            to: Email::from_stored("a@example.kg"),
            language: Language::Ru,
        };
        // A notice stored before channels existed reads as a card payment.
        let mut old = serde_json::to_value(&notice).unwrap_or_default();
        if let Some(data) = old["data"].as_object_mut() {
            data.remove("channel");
        }
        assert_eq!(
            serde_json::from_value::<OutboxPayload>(old).ok(),
            Some(notice.clone())
        );
        let json = serde_json::to_value(&external).unwrap_or_default();
        assert_eq!(json["data"]["channel"], "elqr");
        assert_eq!(json["data"]["receipt_number"], "ELQR-1");
        for p in [notice, external, mail] {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(
                serde_json::from_str::<OutboxPayload>(&json).unwrap(),
                p,
                "{json}"
            );
        }
    }

    #[test]
    fn back_off_schedule() {
        let minutes: Vec<i64> = (1..=6)
            .map(|n| retry_delay(n).map(|d| d.num_minutes()).unwrap_or(-1))
            .collect();
        assert_eq!(minutes, [1, 5, 60, 1440, 2880, -1]);
    }
}
