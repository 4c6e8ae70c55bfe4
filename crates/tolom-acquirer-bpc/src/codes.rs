//! The gateway's codes and what they mean to tolom: `actionCode` → decline
//! reason (one table), `orderStatus` values, request-level `errorCode`s.

use tolom_core::payment::DeclineReason;

/// `actionCode` values and the decline reason each maps to. Codes of the
/// BPC gateway (negative), ISO 8583:1993 (three digits) and ISO 8583:1987
/// (two digits) that banks of the region report. Any code not listed is
/// [`DeclineReason::Other`].
pub const ACTION_CODES: &[(i64, DeclineReason)] = &[
    // Insufficient funds.
    (116, DeclineReason::InsufficientFunds),
    (51, DeclineReason::InsufficientFunds),
    // Expired card.
    (101, DeclineReason::ExpiredCard),
    (54, DeclineReason::ExpiredCard),
    (33, DeclineReason::ExpiredCard),
    // Wrong CVV/CVC.
    (129, DeclineReason::IncorrectCvv),
    (82, DeclineReason::IncorrectCvv),
    // Do not honour and generic refusals.
    (100, DeclineReason::DoNotHonour),
    (200, DeclineReason::DoNotHonour),
    (5, DeclineReason::DoNotHonour),
    // Lost or stolen.
    (208, DeclineReason::LostOrStolen),
    (209, DeclineReason::LostOrStolen),
    (41, DeclineReason::LostOrStolen),
    (43, DeclineReason::LostOrStolen),
    // 3-D Secure failed.
    (-2006, DeclineReason::AuthenticationFailed),
    (-2005, DeclineReason::AuthenticationFailed),
    // Limits.
    (121, DeclineReason::LimitExceeded),
    (123, DeclineReason::LimitExceeded),
    (61, DeclineReason::LimitExceeded),
    (65, DeclineReason::LimitExceeded),
    // Card not allowed for this payment.
    (119, DeclineReason::RestrictedCard),
    (120, DeclineReason::RestrictedCard),
    (104, DeclineReason::RestrictedCard),
    (57, DeclineReason::RestrictedCard),
    (62, DeclineReason::RestrictedCard),
    // Unknown card.
    (14, DeclineReason::InvalidCard),
    (111, DeclineReason::InvalidCard),
    (125, DeclineReason::InvalidCard),
    (56, DeclineReason::InvalidCard),
    // Session timed out (the payer never finished): nothing was charged.
    (-2007, DeclineReason::Other),
];

/// The decline reason of a non-zero `actionCode`.
pub fn decline_reason(action_code: i64) -> DeclineReason {
    ACTION_CODES
        .iter()
        .find(|(code, _)| *code == action_code)
        .map(|(_, reason)| *reason)
        .unwrap_or(DeclineReason::Other)
}

/// `orderStatus`: registered, not paid.
pub const STATUS_REGISTERED: i64 = 0;
/// `orderStatus`: pre-authorised (two-stage; amount held).
pub const STATUS_PREAUTHORISED: i64 = 1;
/// `orderStatus`: authorised / paid.
pub const STATUS_PAID: i64 = 2;
/// `orderStatus`: authorisation reversed.
pub const STATUS_REVERSED: i64 = 3;
/// `orderStatus`: refunded (fully or partly).
pub const STATUS_REFUNDED: i64 = 4;
/// `orderStatus`: 3-D Secure in progress.
pub const STATUS_3DS_STARTED: i64 = 5;
/// `orderStatus`: declined.
pub const STATUS_DECLINED: i64 = 6;

/// `errorCode`: an order with this number is already registered.
pub const ERROR_DUPLICATE_ORDER: i64 = 1;
/// `errorCode`: unregistered / unknown order.
pub const ERROR_UNKNOWN_ORDER: i64 = 6;
/// `errorCode`: operation impossible in the order's state (or amount).
pub const ERROR_WRONG_STATE: i64 = 7;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_of_the_emulator_and_the_notes_maps() {
        assert_eq!(decline_reason(116), DeclineReason::InsufficientFunds);
        assert_eq!(decline_reason(101), DeclineReason::ExpiredCard);
        assert_eq!(decline_reason(129), DeclineReason::IncorrectCvv);
        assert_eq!(decline_reason(100), DeclineReason::DoNotHonour);
        assert_eq!(decline_reason(208), DeclineReason::LostOrStolen);
        assert_eq!(decline_reason(209), DeclineReason::LostOrStolen);
        assert_eq!(decline_reason(-2006), DeclineReason::AuthenticationFailed);
        assert_eq!(decline_reason(121), DeclineReason::LimitExceeded);
        assert_eq!(decline_reason(123), DeclineReason::LimitExceeded);
        assert_eq!(decline_reason(14), DeclineReason::InvalidCard);
        assert_eq!(decline_reason(119), DeclineReason::RestrictedCard);
        assert_eq!(decline_reason(-2007), DeclineReason::Other);
        assert_eq!(decline_reason(999), DeclineReason::Other);
        assert_eq!(decline_reason(-1), DeclineReason::Other);
    }

    #[test]
    fn the_table_has_no_duplicate_code_and_never_maps_approval() {
        for (i, (code, _)) in ACTION_CODES.iter().enumerate() {
            assert_ne!(*code, 0, "0 is approval, not a decline");
            assert!(
                ACTION_CODES[i + 1..].iter().all(|(c, _)| c != code),
                "actionCode {code} is listed twice"
            );
        }
    }

    #[test]
    fn every_specific_reason_is_reachable() {
        for reason in DeclineReason::ALL {
            assert!(
                ACTION_CODES.iter().any(|(_, r)| *r == reason),
                "{reason:?} has no action code"
            );
        }
    }
}
