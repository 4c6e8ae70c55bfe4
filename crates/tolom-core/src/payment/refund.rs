//! Refunds: money given back for a payment, fully or in part.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::i18n::{ErrorCode, Text};
use crate::money::Money;

use super::PaymentState;

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
