//! The test cards and what the sandbox does with each.
//!
//! Every number is Luhn-valid and passes tolom's card validation with the
//! default [`BrandTable`](tolom_core::card::BrandTable). Any valid card
//! number that is not in [`test_cards`] is approved (unless its CVV is
//! `000`, see [`DECLINING_CVV`]).

use serde::Serialize;
use tolom_core::card::CardBrand;
use tolom_core::payment::DeclineReason;

/// Approved: Visa.
pub const VISA_APPROVE: &str = "4111111111111111";
/// Approved: Mastercard.
pub const MASTERCARD_APPROVE: &str = "5555555555554444";
/// Approved: Mir.
pub const MIR_APPROVE: &str = "2200000000000004";
/// Approved: UnionPay.
pub const UNIONPAY_APPROVE: &str = "6200000000000005";
/// Approved: Maestro.
pub const MAESTRO_APPROVE: &str = "6759649826438453";
/// Approved: Elcart.
pub const ELCART_APPROVE: &str = "9417000000000008";
/// Declined: insufficient funds.
pub const DECLINE_INSUFFICIENT_FUNDS: &str = "4000000000009995";
/// Declined: the issuer says the card has expired.
pub const DECLINE_EXPIRED_CARD: &str = "4000000000000069";
/// Declined: incorrect CVV.
pub const DECLINE_INCORRECT_CVV: &str = "4000000000000127";
/// Declined: do not honour (generic issuer refusal).
pub const DECLINE_DO_NOT_HONOUR: &str = "4000000000000002";
/// Declined: card reported lost or stolen.
pub const DECLINE_LOST_OR_STOLEN: &str = "4000000000009987";
/// 3-D Secure: asks for a one-time code ([`Challenge::Otp`](tolom_core::payment::Challenge::Otp)).
pub const THREE_DS_OTP: &str = "4000000000003220";
/// Approved and recorded, but the answer is lost: `purchase` fails with
/// an `Unknown` error and `status` reports the approval.
pub const TIMEOUT_AFTER_PROCESSING: &str = "4000000000000408";
/// Fails before reaching the issuer: `purchase` fails with a `NotSent`
/// error and nothing is recorded.
pub const TECHNICAL_ERROR: &str = "4000000000000119";

/// A CVV that declines **any** card with
/// [`DeclineReason::IncorrectCvv`] (except [`TECHNICAL_ERROR`], which never
/// reaches the issuer).
pub const DECLINING_CVV: &str = "000";

/// What the sandbox does with a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Behaviour {
    /// Approved at once.
    Approve,
    /// Declined at once with this reason.
    Decline(DeclineReason),
    /// Asks for a one-time code; the configured OTP approves, a wrong one
    /// asks again, and the last of the configured attempts
    /// ([`crate::SandboxConfig::otp_attempts`], default 3) declines with
    /// [`DeclineReason::AuthenticationFailed`].
    ThreeDsOtp,
    /// Approved and recorded, but the answer is lost (an `Unknown` error).
    TimeoutAfterProcessing,
    /// Fails before processing (a `NotSent` error); nothing is recorded.
    TechnicalError,
}

/// One documented test card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TestCard {
    /// The card number (a test number, not a real card).
    pub pan: &'static str,
    /// The brand tolom detects for it.
    pub brand: CardBrand,
    /// What the sandbox does.
    pub behaviour: Behaviour,
    /// The behaviour in words.
    pub description: &'static str,
    /// What the payer sees in the portal.
    pub payer_sees: &'static str,
}

impl TestCard {
    /// The brand's display name (`Visa`, `Elcart`, ...).
    pub fn brand_name(&self) -> &'static str {
        self.brand.name()
    }
}

const fn card(
    pan: &'static str,
    brand: CardBrand,
    behaviour: Behaviour,
    description: &'static str,
    payer_sees: &'static str,
) -> TestCard {
    TestCard {
        pan,
        brand,
        behaviour,
        description,
        payer_sees,
    }
}

const APPROVED: &str = "The receipt: payment succeeded.";

static TEST_CARDS: [TestCard; 14] = [
    card(
        VISA_APPROVE,
        CardBrand::Visa,
        Behaviour::Approve,
        "Approved",
        APPROVED,
    ),
    card(
        MASTERCARD_APPROVE,
        CardBrand::Mastercard,
        Behaviour::Approve,
        "Approved",
        APPROVED,
    ),
    card(
        MIR_APPROVE,
        CardBrand::Mir,
        Behaviour::Approve,
        "Approved",
        APPROVED,
    ),
    card(
        UNIONPAY_APPROVE,
        CardBrand::UnionPay,
        Behaviour::Approve,
        "Approved",
        APPROVED,
    ),
    card(
        MAESTRO_APPROVE,
        CardBrand::Maestro,
        Behaviour::Approve,
        "Approved",
        APPROVED,
    ),
    card(
        ELCART_APPROVE,
        CardBrand::Elcart,
        Behaviour::Approve,
        "Approved",
        APPROVED,
    ),
    card(
        DECLINE_INSUFFICIENT_FUNDS,
        CardBrand::Visa,
        Behaviour::Decline(DeclineReason::InsufficientFunds),
        "Declined: insufficient funds (decline.insufficient_funds)",
        "Insufficient funds on the card.",
    ),
    card(
        DECLINE_EXPIRED_CARD,
        CardBrand::Visa,
        Behaviour::Decline(DeclineReason::ExpiredCard),
        "Declined: the issuer says the card has expired (decline.expired_card)",
        "The bank declined the payment: the card has expired.",
    ),
    card(
        DECLINE_INCORRECT_CVV,
        CardBrand::Visa,
        Behaviour::Decline(DeclineReason::IncorrectCvv),
        "Declined: incorrect CVV, whatever CVV is typed (decline.incorrect_cvv)",
        "The CVV/CVC code is incorrect.",
    ),
    card(
        DECLINE_DO_NOT_HONOUR,
        CardBrand::Visa,
        Behaviour::Decline(DeclineReason::DoNotHonour),
        "Declined: do not honour (decline.do_not_honour)",
        "Your bank declined the payment. Please contact your bank.",
    ),
    card(
        DECLINE_LOST_OR_STOLEN,
        CardBrand::Visa,
        Behaviour::Decline(DeclineReason::LostOrStolen),
        "Declined: card reported lost or stolen (decline.lost_or_stolen)",
        "The card is blocked. Please contact your bank.",
    ),
    card(
        THREE_DS_OTP,
        CardBrand::Visa,
        Behaviour::ThreeDsOtp,
        "3-D Secure one-time code: the configured OTP (default 123456) approves; \
         a wrong code asks again, the third wrong one declines \
         (decline.authentication_failed)",
        "A field for the SMS code (asked again after a wrong one); then the receipt, \
         or after three wrong codes \"The payment was not confirmed (3-D Secure).\"",
    ),
    card(
        TIMEOUT_AFTER_PROCESSING,
        CardBrand::Visa,
        Behaviour::TimeoutAfterProcessing,
        "Approved and recorded (one charge), but the answer is lost: purchase \
         fails with an Unknown error; status reports Approved",
        "\"The bank has not confirmed the outcome yet ...\"; after \
         reconciliation, the receipt",
    ),
    card(
        TECHNICAL_ERROR,
        CardBrand::Visa,
        Behaviour::TechnicalError,
        "Technical error before processing: purchase fails with a NotSent \
         error; nothing is recorded (status NotFound)",
        "\"The bank is not available right now. No money was taken ...\"",
    ),
];

/// Every documented test card.
pub fn test_cards() -> &'static [TestCard] {
    &TEST_CARDS
}

/// What the sandbox does with a card number (digits only): the test card's
/// behaviour, or [`Behaviour::Approve`] for any other number.
pub fn behaviour_of(pan: &str) -> Behaviour {
    TEST_CARDS
        .iter()
        .find(|c| c.pan == pan)
        .map_or(Behaviour::Approve, |c| c.behaviour)
}
