//! Charges: what a payment code refers to (an "accrual").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalogue::ServiceId;
use crate::code::PaymentCode;
use crate::i18n::{ErrorCode, Text};
use crate::money::Money;

/// The state of a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    /// Waiting to be paid.
    Unpaid,
    /// Paid: exactly one succeeded, unrefunded payment exists.
    Paid,
    /// Past its expiry without payment.
    Expired,
    /// Cancelled by the issuing agency.
    Cancelled,
}

impl ChargeStatus {
    /// Stable id as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChargeStatus::Unpaid => "unpaid",
            ChargeStatus::Paid => "paid",
            ChargeStatus::Expired => "expired",
            ChargeStatus::Cancelled => "cancelled",
        }
    }

    /// The status in words, for payers (`Not paid`, `Paid`, ...).
    pub fn text(&self) -> Text {
        match self {
            ChargeStatus::Unpaid => Text::ChargeStatusUnpaid,
            ChargeStatus::Paid => Text::ChargeStatusPaid,
            ChargeStatus::Expired => Text::ChargeStatusExpired,
            ChargeStatus::Cancelled => Text::ChargeStatusCancelled,
        }
    }

    /// Parses the stored id.
    pub fn parse(s: &str) -> Option<ChargeStatus> {
        Some(match s {
            "unpaid" => ChargeStatus::Unpaid,
            "paid" => ChargeStatus::Paid,
            "expired" => ChargeStatus::Expired,
            "cancelled" => ChargeStatus::Cancelled,
            _ => return None,
        })
    }
}

/// Why a charge cannot be paid now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotPayable {
    /// Already paid.
    #[error("charge already paid")]
    AlreadyPaid,
    /// Past its expiry.
    #[error("charge expired")]
    Expired,
    /// Cancelled by the agency.
    #[error("charge cancelled")]
    Cancelled,
    /// The charge names a tariff whose fee the catalogue marks as not
    /// published (a placeholder amount): a state site takes no money for
    /// an amount it has not published.
    #[error("the fee of this charge is not published")]
    FeeUnpublished,
}

impl ErrorCode for NotPayable {
    fn text(&self) -> Text {
        match self {
            NotPayable::AlreadyPaid => Text::ChargeAlreadyPaid,
            NotPayable::Expired => Text::ChargeExpired,
            NotPayable::Cancelled => Text::ChargeCancelled,
            NotPayable::FeeUnpublished => Text::ChargeFeeUnpublished,
        }
    }
}

/// The payer a charge was issued to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    /// Full name as the agency wrote it, e.g. `Асанов Айбек Маратович`.
    pub full_name: String,
}

impl Payer {
    /// The name masked for a public look-up: surname and the first initial,
    /// `Асанов А.` / `ASANOV A.`.
    ///
    /// ```
    /// use tolom_core::charge::Payer;
    /// let p = Payer { full_name: "Асанов Айбек Маратович".into() };
    /// assert_eq!(p.masked_name(), "Асанов А.");
    /// ```
    pub fn masked_name(&self) -> String {
        let mut words = self.full_name.split_whitespace();
        match (words.next(), words.next()) {
            (Some(surname), Some(given)) => {
                let initial: String = given.chars().take(1).collect();
                format!("{surname} {initial}.")
            }
            (Some(only), None) => {
                let first: String = only.chars().take(1).collect();
                format!("{first}.")
            }
            _ => String::new(),
        }
    }
}

/// What a payment code refers to: one fee for one service and one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// Id.
    pub id: Uuid,
    /// The code the payer enters.
    pub code: PaymentCode,
    /// The service.
    pub service: ServiceId,
    /// The urgency tariff, when the catalogue explains the amount.
    pub urgency: Option<String>,
    /// The payer.
    pub payer: Payer,
    /// The amount due. Fixed when the charge is issued.
    pub amount: Money,
    /// When issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops being payable.
    pub expires_at: DateTime<Utc>,
    /// Stored status (see [`Charge::effective_status`]).
    pub status: ChargeStatus,
    /// The issuing agency's own reference, if any.
    pub agency_ref: Option<String>,
}

impl Charge {
    /// The status at `now`: an `Unpaid` charge past its expiry is `Expired`
    /// even before the expiry job has written it.
    pub fn effective_status(&self, now: DateTime<Utc>) -> ChargeStatus {
        match self.status {
            ChargeStatus::Unpaid if now >= self.expires_at => ChargeStatus::Expired,
            s => s,
        }
    }

    /// Whether it can be paid at `now`, and why not.
    pub fn ensure_payable(&self, now: DateTime<Utc>) -> Result<(), NotPayable> {
        match self.effective_status(now) {
            ChargeStatus::Unpaid => Ok(()),
            ChargeStatus::Paid => Err(NotPayable::AlreadyPaid),
            ChargeStatus::Expired => Err(NotPayable::Expired),
            ChargeStatus::Cancelled => Err(NotPayable::Cancelled),
        }
    }
}
