//! Test cards of the emulator, the action codes it answers with, and small
//! card helpers (Luhn check, BPC-style masking).
//!
//! Every number here is 16 digits and Luhn-valid. Any future expiry date is
//! accepted; a past one (`YYYY`/`MM` before the current month) declines with
//! [`action_codes::EXPIRED_CARD`] whatever the card. Any 3- or 4-digit CVC is
//! accepted. Any *other* Luhn-valid number of 13–19 digits is approved
//! without 3-D Secure.

use std::fmt::Write as _;

/// The issuer / processing action codes (`actionCode`) the emulator uses.
///
/// These follow the ISO 8583:1993 action codes where one exists, and the
/// negative gateway-side codes of BPC-style gateways otherwise. They are the
/// emulator's documented choice; a bank's own table may differ.
pub mod action_codes {
    /// Approved.
    pub const APPROVED: i32 = 0;
    /// The order has no finished payment attempt yet (status 0 or 5).
    pub const NO_PAYMENT_ATTEMPT: i32 = -100;
    /// Do not honour (generic issuer decline).
    pub const DO_NOT_HONOUR: i32 = 100;
    /// Expired card (also used for any expiry date in the past).
    pub const EXPIRED_CARD: i32 = 101;
    /// Insufficient funds.
    pub const INSUFFICIENT_FUNDS: i32 = 116;
    /// Card security code (CVC2/CVV2) check failed.
    pub const INVALID_CVC: i32 = 129;
    /// Lost card (pick up).
    pub const LOST_CARD: i32 = 208;
    /// Stolen card (pick up).
    pub const STOLEN_CARD: i32 = 209;
    /// 3-D Secure authentication failed (wrong one-time code or cancelled).
    pub const THREE_DS_FAILED: i32 = -2006;
    /// The payment session timed out (`sessionTimeoutSecs` elapsed while the
    /// order was in status 0 or 5).
    pub const SESSION_TIMEOUT: i32 = -2007;
    /// The merchant closed the unpaid order (`decline.do`).
    pub const DECLINED_BY_MERCHANT: i32 = -2012;
}

/// The human-readable `actionCodeDescription` for an action code.
pub fn action_code_description(code: i32) -> &'static str {
    match code {
        action_codes::APPROVED => "Request processed successfully",
        action_codes::NO_PAYMENT_ATTEMPT => "No payment attempts",
        action_codes::DO_NOT_HONOUR => "Do not honour",
        action_codes::EXPIRED_CARD => "Expired card",
        action_codes::INSUFFICIENT_FUNDS => "Insufficient funds",
        action_codes::INVALID_CVC => "Invalid card security code (CVC2/CVV2)",
        action_codes::LOST_CARD => "Lost card, pick up",
        action_codes::STOLEN_CARD => "Stolen card, pick up",
        action_codes::THREE_DS_FAILED => "3-D Secure authentication failed",
        action_codes::SESSION_TIMEOUT => "Payment session timed out",
        action_codes::DECLINED_BY_MERCHANT => "Order declined by the merchant",
        _ => "Unknown action code",
    }
}

/// What the emulator does when a card is used to pay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "behaviour")]
pub enum CardBehaviour {
    /// Approved at once, no 3-D Secure.
    Approve,
    /// 3-D Secure challenge; approved when the ACS page gets the configured
    /// one-time code, declined with [`action_codes::THREE_DS_FAILED`]
    /// otherwise.
    ThreeDsChallenge,
    /// Declined with this action code (order status 6).
    Decline {
        /// The action code of the decline.
        action_code: i32,
    },
    /// Approved and recorded, then the connection is closed without an
    /// answer (the outcome is unknown to the client).
    ApproveThenDrop,
    /// Approved after the configured slow-card delay.
    SlowApprove,
}

/// One row of the test-card table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TestCard {
    /// The card number (16 digits, Luhn-valid).
    pub pan: &'static str,
    /// Payment system: `Visa`, `Mastercard` or `Elcart`.
    pub brand: &'static str,
    /// What the emulator does with it.
    #[serde(flatten)]
    pub behaviour: CardBehaviour,
    /// One-line description for tables.
    pub description: &'static str,
}

impl TestCard {
    /// The action code the card ends with when the payment completes
    /// normally (for a 3-D Secure card: with the right one-time code).
    pub fn action_code(&self) -> i32 {
        match self.behaviour {
            CardBehaviour::Decline { action_code } => action_code,
            _ => action_codes::APPROVED,
        }
    }
}

/// Visa, approved without 3-D Secure.
pub const VISA_APPROVE: &str = "4111111111111111";
/// Mastercard, approved without 3-D Secure.
pub const MASTERCARD_APPROVE: &str = "5555555555554444";
/// Elcart (IIN 9417), approved without 3-D Secure.
pub const ELCART_APPROVE: &str = "9417000000000008";
/// Visa with a 3-D Secure challenge; approved with the right one-time code.
pub const VISA_3DS: &str = "4000000000003063";
/// Elcart with a 3-D Secure challenge; approved with the right one-time code.
pub const ELCART_3DS: &str = "9417000000003069";
/// Declined: insufficient funds (action code 116).
pub const DECLINE_INSUFFICIENT_FUNDS: &str = "4000000000001166";
/// Declined: expired card (action code 101), whatever expiry is sent.
pub const DECLINE_EXPIRED_CARD: &str = "4000000000001018";
/// Declined: do not honour (action code 100).
pub const DECLINE_DO_NOT_HONOUR: &str = "4000000000001000";
/// Declined: invalid CVC (action code 129), whatever CVC is sent.
pub const DECLINE_INVALID_CVC: &str = "4000000000001299";
/// Declined: lost card (action code 208).
pub const DECLINE_LOST_CARD: &str = "4000000000002081";
/// Declined: stolen card (action code 209).
pub const DECLINE_STOLEN_CARD: &str = "4000000000002099";
/// Approved and recorded, then the connection is dropped without an answer.
pub const APPROVE_THEN_DROP: &str = "4000000000009995";
/// Approved after the configured slow-card delay
/// ([`crate::EmulatorConfig::slow_card_delay`]).
pub const SLOW_APPROVE: &str = "4000000000008880";

/// All test cards, in the order of the documentation table.
pub const TEST_CARDS: &[TestCard] = &[
    TestCard {
        pan: VISA_APPROVE,
        brand: "Visa",
        behaviour: CardBehaviour::Approve,
        description: "approved, no 3-D Secure",
    },
    TestCard {
        pan: MASTERCARD_APPROVE,
        brand: "Mastercard",
        behaviour: CardBehaviour::Approve,
        description: "approved, no 3-D Secure",
    },
    TestCard {
        pan: ELCART_APPROVE,
        brand: "Elcart",
        behaviour: CardBehaviour::Approve,
        description: "approved, no 3-D Secure",
    },
    TestCard {
        pan: VISA_3DS,
        brand: "Visa",
        behaviour: CardBehaviour::ThreeDsChallenge,
        description: "3-D Secure challenge; approved with the right one-time code",
    },
    TestCard {
        pan: ELCART_3DS,
        brand: "Elcart",
        behaviour: CardBehaviour::ThreeDsChallenge,
        description: "3-D Secure challenge; approved with the right one-time code",
    },
    TestCard {
        pan: DECLINE_INSUFFICIENT_FUNDS,
        brand: "Visa",
        behaviour: CardBehaviour::Decline {
            action_code: action_codes::INSUFFICIENT_FUNDS,
        },
        description: "declined: insufficient funds",
    },
    TestCard {
        pan: DECLINE_EXPIRED_CARD,
        brand: "Visa",
        behaviour: CardBehaviour::Decline {
            action_code: action_codes::EXPIRED_CARD,
        },
        description: "declined: expired card (whatever expiry is sent)",
    },
    TestCard {
        pan: DECLINE_DO_NOT_HONOUR,
        brand: "Visa",
        behaviour: CardBehaviour::Decline {
            action_code: action_codes::DO_NOT_HONOUR,
        },
        description: "declined: do not honour",
    },
    TestCard {
        pan: DECLINE_INVALID_CVC,
        brand: "Visa",
        behaviour: CardBehaviour::Decline {
            action_code: action_codes::INVALID_CVC,
        },
        description: "declined: invalid CVC (whatever CVC is sent)",
    },
    TestCard {
        pan: DECLINE_LOST_CARD,
        brand: "Visa",
        behaviour: CardBehaviour::Decline {
            action_code: action_codes::LOST_CARD,
        },
        description: "declined: lost card",
    },
    TestCard {
        pan: DECLINE_STOLEN_CARD,
        brand: "Visa",
        behaviour: CardBehaviour::Decline {
            action_code: action_codes::STOLEN_CARD,
        },
        description: "declined: stolen card",
    },
    TestCard {
        pan: APPROVE_THEN_DROP,
        brand: "Visa",
        behaviour: CardBehaviour::ApproveThenDrop,
        description: "approved, then the connection is closed without an answer",
    },
    TestCard {
        pan: SLOW_APPROVE,
        brand: "Visa",
        behaviour: CardBehaviour::SlowApprove,
        description: "approved after the configured slow-card delay",
    },
];

/// What the emulator does with `pan` (digits only). Unknown numbers are
/// approved.
pub fn behaviour_of(pan: &str) -> CardBehaviour {
    TEST_CARDS
        .iter()
        .find(|c| c.pan == pan)
        .map_or(CardBehaviour::Approve, |c| c.behaviour)
}

/// Whether `digits` (ASCII digits only) passes the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Masks a card number the way BPC-style gateways show it: the first six
/// digits, `**`, the last four (`411111**1111`). Numbers shorter than 10
/// digits are fully masked.
pub fn mask_pan(pan: &str) -> String {
    if pan.len() < 10 || !pan.is_ascii() {
        return "*".repeat(pan.chars().count());
    }
    format!("{}**{}", &pan[..6], &pan[pan.len() - 4..])
}

/// The test-card table as aligned plain text (printed by the binary).
pub fn card_table_text() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:<11} {:>11}  behaviour",
        "card number", "brand", "actionCode"
    );
    for c in TEST_CARDS {
        let _ = writeln!(
            out,
            "{:<18} {:<11} {:>11}  {}",
            c.pan,
            c.brand,
            c.action_code(),
            c.description
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_test_card_is_16_digits_and_luhn_valid() {
        for c in TEST_CARDS {
            assert_eq!(c.pan.len(), 16, "{}", c.pan);
            assert!(luhn_valid(c.pan), "{} fails Luhn", c.pan);
        }
    }

    #[test]
    fn test_cards_are_unique() {
        for (i, a) in TEST_CARDS.iter().enumerate() {
            for b in &TEST_CARDS[i + 1..] {
                assert_ne!(a.pan, b.pan);
            }
        }
    }

    #[test]
    fn elcart_cards_have_iin_9417() {
        assert!(ELCART_APPROVE.starts_with("9417"));
        assert!(ELCART_3DS.starts_with("9417"));
    }

    #[test]
    fn luhn_rejects_a_wrong_check_digit() {
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("41111111111a1111"));
        assert!(!luhn_valid(""));
    }

    #[test]
    fn masking_keeps_first_six_and_last_four() {
        assert_eq!(mask_pan("4111111111111111"), "411111**1111");
        assert_eq!(mask_pan("9417000000000008"), "941700**0008");
        assert_eq!(mask_pan("123"), "***");
    }

    #[test]
    fn unknown_cards_are_approved() {
        assert_eq!(behaviour_of("4242424242424242"), CardBehaviour::Approve);
        assert_eq!(
            behaviour_of(DECLINE_LOST_CARD),
            CardBehaviour::Decline {
                action_code: action_codes::LOST_CARD
            }
        );
    }
}
