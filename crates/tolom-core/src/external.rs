//! Payments of a charge made elsewhere: in a bank's app, at a payment
//! terminal, by the national QR standard (ELQR) or at a bank's cash desk.
//!
//! tolom does not take that money; the channel reports it (the admin API,
//! or a bank statement imported with `tolom payments import-external`), and
//! tolom records it against the charge, the way a central registry of state
//! charges (Russia's GIS GMP, Italy's pagoPA) lets every channel report
//! payments so that a charge is paid once:
//!
//! - an [`ExternalState::Accepted`] payment **pays the charge** (the charge
//!   becomes `Paid` in the same transaction; the look-up says "paid via
//!   <channel>"; a card payment of the code is refused as already paid; the
//!   agency is notified with the channel);
//! - one reported for a charge that was already paid (by card, or by
//!   another channel) is kept as [`ExternalState::Duplicate`] — flagged for
//!   operators, never dropped: the money is at the other channel, which
//!   tolom cannot give back;
//! - an operator resolves a flagged one: [`ExternalState::Returned`] (the
//!   channel gave the money back to the payer), or `Accepted` once the card
//!   payment that paid the charge was refunded in full.
//!
//! A channel's payment is known by `(channel, reference)`: reporting it
//! again is idempotent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::code::PaymentCode;
use crate::i18n::Text;
use crate::money::Money;

/// How a charge was paid: by card through tolom, or through another
/// channel that reported the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentChannel {
    /// By bank card, through tolom (the default: what every payment made
    /// in tolom is).
    #[default]
    Card,
    /// In a bank's mobile app or internet bank.
    BankApp,
    /// At a payment terminal (kiosk).
    Terminal,
    /// By the national QR payment standard (ELQR).
    Elqr,
    /// At a bank's cash desk.
    BankBranch,
}

impl PaymentChannel {
    /// Every channel.
    pub const ALL: [PaymentChannel; 5] = [
        PaymentChannel::Card,
        PaymentChannel::BankApp,
        PaymentChannel::Terminal,
        PaymentChannel::Elqr,
        PaymentChannel::BankBranch,
    ];

    /// The channels that report payments to tolom (every one but
    /// [`PaymentChannel::Card`]).
    pub const EXTERNAL: [PaymentChannel; 4] = [
        PaymentChannel::BankApp,
        PaymentChannel::Terminal,
        PaymentChannel::Elqr,
        PaymentChannel::BankBranch,
    ];

    /// Stable id: `card`, `bank_app`, `terminal`, `elqr`, `bank_branch`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentChannel::Card => "card",
            PaymentChannel::BankApp => "bank_app",
            PaymentChannel::Terminal => "terminal",
            PaymentChannel::Elqr => "elqr",
            PaymentChannel::BankBranch => "bank_branch",
        }
    }

    /// Parses the stable id (case and surrounding spaces ignored).
    ///
    /// ```
    /// use tolom_core::external::PaymentChannel;
    /// assert_eq!(PaymentChannel::parse(" ELQR "), Some(PaymentChannel::Elqr));
    /// assert_eq!(PaymentChannel::parse("cash"), None);
    /// ```
    pub fn parse(s: &str) -> Option<PaymentChannel> {
        let s = s.trim().to_ascii_lowercase();
        PaymentChannel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether payments of this channel are reported to tolom (not made in
    /// it).
    pub fn is_external(&self) -> bool {
        *self != PaymentChannel::Card
    }

    /// The channel's name, for payers ("bank card", "a bank's app", ...).
    pub fn text(&self) -> Text {
        match self {
            PaymentChannel::Card => Text::ChannelCard,
            PaymentChannel::BankApp => Text::ChannelBankApp,
            PaymentChannel::Terminal => Text::ChannelTerminal,
            PaymentChannel::Elqr => Text::ChannelElqr,
            PaymentChannel::BankBranch => Text::ChannelBankBranch,
        }
    }
}

impl std::fmt::Display for PaymentChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a payment made elsewhere stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalState {
    /// It pays its charge.
    Accepted,
    /// Its charge was already paid (by card, or through another channel):
    /// the payer paid twice, and the money is at this channel. Flagged for
    /// operators (`external_duplicate`) until they resolve it.
    Duplicate,
    /// A flagged duplicate whose money the channel gave back to the payer
    /// (an operator's word).
    Returned,
}

impl ExternalState {
    /// Every state.
    pub const ALL: [ExternalState; 3] = [
        ExternalState::Accepted,
        ExternalState::Duplicate,
        ExternalState::Returned,
    ];

    /// Stable id: `accepted`, `duplicate`, `returned`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ExternalState::Accepted => "accepted",
            ExternalState::Duplicate => "duplicate",
            ExternalState::Returned => "returned",
        }
    }

    /// Parses the stable id.
    pub fn parse(s: &str) -> Option<ExternalState> {
        ExternalState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether an operator may move a payment from this state to `to`:
    /// only a flagged duplicate is resolved, to `Returned` (the channel
    /// gave the money back) or `Accepted` (it pays the charge after all).
    pub fn may_become(&self, to: ExternalState) -> bool {
        matches!(
            (self, to),
            (
                ExternalState::Duplicate,
                ExternalState::Returned | ExternalState::Accepted
            )
        )
    }
}

impl std::fmt::Display for ExternalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest reference a channel may give a payment, in characters.
pub const MAX_REFERENCE_CHARS: usize = 100;

/// The longest note an operator may give a resolution, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// A channel's reference of a payment, checked: 1 to
/// [`MAX_REFERENCE_CHARS`] characters after trimming, no control
/// characters. Returns the trimmed reference.
///
/// ```
/// use tolom_core::external::reference;
/// assert_eq!(reference("  KICB-2026-000123 ").as_deref(), Some("KICB-2026-000123"));
/// assert_eq!(reference(" "), None);
/// assert_eq!(reference("a\nb"), None);
/// ```
pub fn reference(text: &str) -> Option<String> {
    let r = text.trim();
    (!r.is_empty() && r.chars().count() <= MAX_REFERENCE_CHARS && !r.chars().any(char::is_control))
        .then(|| r.to_string())
}

/// A payment of a charge made through another channel and reported to
/// tolom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalPayment {
    /// Id.
    pub id: Uuid,
    /// The charge paid.
    pub charge_id: Uuid,
    /// Its code.
    pub code: PaymentCode,
    /// Its service.
    pub service: String,
    /// The channel the payer paid through (never
    /// [`PaymentChannel::Card`]).
    pub channel: PaymentChannel,
    /// The channel's own reference of the payment (a transaction id);
    /// `(channel, reference)` names one payment.
    pub reference: String,
    /// What was paid (the charge's amount).
    pub amount: Money,
    /// When the payer paid at the channel.
    pub paid_at: DateTime<Utc>,
    /// When tolom recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Who reported it (`token:<name>`, `cli:<user>`).
    pub recorded_by: String,
    /// Where it stands.
    pub state: ExternalState,
    /// When an operator resolved it (a flagged duplicate returned or
    /// accepted).
    pub resolved_at: Option<DateTime<Utc>>,
    /// The operator's note on the resolution.
    pub resolution: Option<String>,
}

impl ExternalPayment {
    /// Whether a report of a payment of `charge_id` of `amount` made at
    /// `paid_at` is this payment reported again (what a channel sends when
    /// it retries): the same charge, amount and time of payment.
    pub fn same_report(&self, charge_id: Uuid, amount: Money, paid_at: DateTime<Utc>) -> bool {
        self.charge_id == charge_id && self.amount == amount && self.paid_at == paid_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_and_states_round_trip() {
        for c in PaymentChannel::ALL {
            assert_eq!(PaymentChannel::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_string(&c).ok(),
                Some(format!("\"{}\"", c.as_str()))
            );
            assert_eq!(c.is_external(), PaymentChannel::EXTERNAL.contains(&c));
        }
        assert_eq!(PaymentChannel::default(), PaymentChannel::Card);
        for s in ExternalState::ALL {
            assert_eq!(ExternalState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ExternalState::parse("flagged"), None);
    }

    #[test]
    fn only_a_flagged_duplicate_is_resolved() {
        use ExternalState::*;
        for from in ExternalState::ALL {
            for to in ExternalState::ALL {
                assert_eq!(
                    from.may_become(to),
                    from == Duplicate && to != Duplicate,
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn references_are_bounded() {
        assert!(reference(&"x".repeat(MAX_REFERENCE_CHARS)).is_some());
        assert!(reference(&"x".repeat(MAX_REFERENCE_CHARS + 1)).is_none());
        assert!(reference("tab\there").is_none());
        assert_eq!(reference("ЭЛКЮАР-1").as_deref(), Some("ЭЛКЮАР-1"));
    }
}
