//! Behaviour of the sandbox acquirer, card by card and call by call.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use futures::executor::block_on;
use tolom_acquirer_sandbox::*;
use tolom_core::card::{BrandTable, CardBrand, CardDetails, CardForm, Contact};
use tolom_core::checkdigit::Luhn;
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::payment::{Approval, Challenge, ChallengeResponse, DeclineReason};
use tolom_core::ports::{
    Acquirer, AcquirerError, AcquirerErrorKind, AcquirerOutcome, Instrument, OrderStatus,
    PurchaseRequest, RefundOutcome,
};

const CVV: &str = "987";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn card_with_cvv(pan: &str, cvv: &str) -> (CardDetails, Contact) {
    CardForm {
        holder: "Aibek Asanov".into(),
        pan: pan.into(),
        expiry: "12/30".into(),
        cvv: cvv.into(),
        phone: "0555 123 456".into(),
        email: "aibek@example.kg".into(),
    }
    .validate(now(), &BrandTable::default())
    .unwrap_or_else(|e| panic!("test card {pan} does not validate: {:?}", e.codes()))
}

fn card(pan: &str) -> (CardDetails, Contact) {
    card_with_cvv(pan, CVV)
}

fn buy_with(
    sandbox: &SandboxAcquirer,
    order: &str,
    pan: &str,
    cvv: &str,
    som: u64,
) -> Result<AcquirerOutcome, AcquirerError> {
    let (card, contact) = card_with_cvv(pan, cvv);
    block_on(sandbox.purchase(PurchaseRequest {
        order_number: order,
        amount: Money::som(som),
        description: "ID card (2017), code 110000000000",
        language: Language::En,
        instrument: Instrument::Card {
            card: &card,
            contact: &contact,
        },
        return_url: Some("https://portal.example.kg/return"),
    }))
}

fn buy(
    sandbox: &SandboxAcquirer,
    order: &str,
    pan: &str,
) -> Result<AcquirerOutcome, AcquirerError> {
    buy_with(sandbox, order, pan, CVV, 510)
}

fn buy_hosted(
    sandbox: &SandboxAcquirer,
    order: &str,
    som: u64,
) -> Result<AcquirerOutcome, AcquirerError> {
    block_on(sandbox.purchase(PurchaseRequest {
        order_number: order,
        amount: Money::som(som),
        description: "Passport (2020), code 160000000000",
        language: Language::Ru,
        instrument: Instrument::HostedPage,
        return_url: None,
    }))
}

fn approval(outcome: &AcquirerOutcome) -> Approval {
    match outcome {
        AcquirerOutcome::Approved(a) => a.clone(),
        other => panic!("expected approval, got {other:?}"),
    }
}

fn status(sandbox: &SandboxAcquirer, order: &str) -> OrderStatus {
    block_on(sandbox.status(order)).unwrap()
}

fn complete(sandbox: &SandboxAcquirer, order: &str, field: &str, value: &str) -> AcquirerOutcome {
    let mut response = ChallengeResponse::default();
    response.fields.insert(field.into(), value.into());
    block_on(sandbox.complete_challenge(order, &response)).unwrap()
}

fn refund(sandbox: &SandboxAcquirer, order: &str, id: &str, som: u64) -> RefundOutcome {
    block_on(sandbox.refund(order, id, Money::som(som))).unwrap()
}

// ---------------------------------------------------------------------------
// The card table
// ---------------------------------------------------------------------------

#[test]
fn every_test_card_validates_with_its_documented_brand() {
    let cards = test_cards();
    assert_eq!(cards.len(), 14);
    for (i, tc) in cards.iter().enumerate() {
        assert!(
            Luhn::check(tc.pan.as_bytes()),
            "{} is not Luhn-valid",
            tc.pan
        );
        assert_eq!(tc.pan.len(), 16, "{}", tc.pan);
        let (details, _) = card(tc.pan);
        assert_eq!(details.brand, tc.brand, "{}", tc.pan);
        assert_eq!(tc.brand_name(), tc.brand.name());
        assert_eq!(behaviour_of(tc.pan), tc.behaviour);
        assert!(!tc.description.is_empty() && !tc.payer_sees.is_empty());
        assert!(
            cards[i + 1..].iter().all(|other| other.pan != tc.pan),
            "duplicate {}",
            tc.pan
        );
    }
    for brand in [
        CardBrand::Visa,
        CardBrand::Mastercard,
        CardBrand::Mir,
        CardBrand::UnionPay,
        CardBrand::Maestro,
        CardBrand::Elcart,
    ] {
        assert!(
            cards
                .iter()
                .any(|c| c.brand == brand && c.behaviour == Behaviour::Approve),
            "no approving {brand} card"
        );
    }
    assert_eq!(behaviour_of("4242424242424242"), Behaviour::Approve);
}

#[test]
fn test_cards_do_what_they_document() {
    for tc in test_cards() {
        let sandbox = SandboxAcquirer::for_tests();
        let result = buy(&sandbox, "o-1", tc.pan);
        match tc.behaviour {
            Behaviour::Approve => {
                approval(&result.unwrap());
                assert_eq!(sandbox.charges("o-1"), 1);
            }
            Behaviour::Decline(reason) => {
                assert_eq!(result.unwrap(), AcquirerOutcome::Declined(reason));
                assert_eq!(status(&sandbox, "o-1"), OrderStatus::Declined(reason));
                assert_eq!(sandbox.charges("o-1"), 0);
            }
            Behaviour::ThreeDsOtp => {
                assert!(matches!(
                    result.unwrap(),
                    AcquirerOutcome::ActionRequired(Challenge::Otp { hint: Some(_) })
                ));
                assert_eq!(status(&sandbox, "o-1"), OrderStatus::Pending);
            }
            Behaviour::TimeoutAfterProcessing => {
                assert_eq!(result.unwrap_err().kind, AcquirerErrorKind::Unknown);
                assert_eq!(sandbox.charges("o-1"), 1);
            }
            Behaviour::TechnicalError => {
                assert_eq!(result.unwrap_err().kind, AcquirerErrorKind::NotSent);
                assert_eq!(status(&sandbox, "o-1"), OrderStatus::NotFound);
            }
            other => panic!("undocumented behaviour {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Approvals
// ---------------------------------------------------------------------------

#[test]
fn approve_cards_approve_for_every_brand() {
    let sandbox = SandboxAcquirer::for_tests();
    let pans = [
        VISA_APPROVE,
        MASTERCARD_APPROVE,
        MIR_APPROVE,
        UNIONPAY_APPROVE,
        MAESTRO_APPROVE,
        ELCART_APPROVE,
    ];
    for (i, pan) in pans.iter().enumerate() {
        let order = format!("order-{i}");
        let a = approval(&buy(&sandbox, &order, pan).unwrap());
        assert_eq!(a.auth_code.len(), 6);
        assert!(a.auth_code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a.rrn.len(), 12);
        assert!(a.rrn.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(
            status(&sandbox, &order),
            OrderStatus::Approved {
                approval: a,
                refunded: Money::som(0)
            }
        );
        let snap = sandbox.order(&order).unwrap();
        assert_eq!(snap.state, SandboxOrderState::Approved);
        assert_eq!(snap.amount_minor, 51_000);
        assert_eq!(snap.charges, 1);
        let masked = snap.masked_pan.unwrap();
        // 16 digits: the first 4 and the last 4 (never more than half).
        assert_eq!(&masked.as_str()[..4], &pan[..4]);
        assert_eq!(masked.last4(), &pan[12..]);
        assert!(masked.as_str().contains('*'));
        assert_eq!(Some(card(pan).0.brand), snap.brand);
    }
    assert_eq!(sandbox.total_charges(), 6);
    assert_eq!(sandbox.orders().len(), 6);
}

#[test]
fn any_other_valid_card_approves() {
    let sandbox = SandboxAcquirer::for_tests();
    approval(&buy(&sandbox, "o-1", "4242424242424242").unwrap());
    approval(&buy(&sandbox, "o-2", "2221000000000009").unwrap());
    assert_eq!(sandbox.total_charges(), 2);
}

#[test]
fn approvals_are_derived_from_the_order_number() {
    let a = SandboxAcquirer::for_tests();
    let b = SandboxAcquirer::for_tests();
    let first = approval(&buy(&a, "0f8fad5bd9cb469fa16570867728950e", VISA_APPROVE).unwrap());
    let again = approval(&buy(&b, "0f8fad5bd9cb469fa16570867728950e", MIR_APPROVE).unwrap());
    assert_eq!(first, again);
    assert_eq!(first, approval_for("0f8fad5bd9cb469fa16570867728950e"));
    let other = approval(&buy(&a, "7c9e6679742540de944be07fc1f90ae7", VISA_APPROVE).unwrap());
    assert_ne!(first, other);
}

// ---------------------------------------------------------------------------
// Declines
// ---------------------------------------------------------------------------

#[test]
fn decline_cards_decline_with_their_reason() {
    let sandbox = SandboxAcquirer::for_tests();
    for (pan, reason) in [
        (DECLINE_INSUFFICIENT_FUNDS, DeclineReason::InsufficientFunds),
        (DECLINE_EXPIRED_CARD, DeclineReason::ExpiredCard),
        (DECLINE_INCORRECT_CVV, DeclineReason::IncorrectCvv),
        (DECLINE_DO_NOT_HONOUR, DeclineReason::DoNotHonour),
        (DECLINE_LOST_OR_STOLEN, DeclineReason::LostOrStolen),
    ] {
        assert_eq!(
            buy(&sandbox, pan, pan).unwrap(),
            AcquirerOutcome::Declined(reason)
        );
        assert_eq!(status(&sandbox, pan), OrderStatus::Declined(reason));
        assert_eq!(
            sandbox.order(pan).unwrap().state,
            SandboxOrderState::Declined(reason)
        );
    }
    assert_eq!(sandbox.total_charges(), 0);
}

#[test]
fn cvv_000_declines_any_card() {
    let sandbox = SandboxAcquirer::for_tests();
    for (i, pan) in [
        VISA_APPROVE,
        ELCART_APPROVE,
        THREE_DS_OTP,
        DECLINE_INSUFFICIENT_FUNDS,
        "4242424242424242",
    ]
    .iter()
    .enumerate()
    {
        let order = format!("o-{i}");
        assert_eq!(
            buy_with(&sandbox, &order, pan, DECLINING_CVV, 510).unwrap(),
            AcquirerOutcome::Declined(DeclineReason::IncorrectCvv),
            "{pan}"
        );
    }
    // The timeout card records the decline and loses the answer.
    let err = buy_with(&sandbox, "t", TIMEOUT_AFTER_PROCESSING, "000", 510).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Unknown);
    assert_eq!(
        status(&sandbox, "t"),
        OrderStatus::Declined(DeclineReason::IncorrectCvv)
    );
    // The technical-error card never reaches the issuer.
    let err = buy_with(&sandbox, "x", TECHNICAL_ERROR, "000", 510).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::NotSent);
    assert_eq!(sandbox.total_charges(), 0);
}

// ---------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------

#[test]
fn repeated_purchase_returns_the_same_outcome_and_charges_once() {
    let sandbox = SandboxAcquirer::for_tests();
    let first = buy(&sandbox, "o-1", VISA_APPROVE).unwrap();
    for _ in 0..3 {
        assert_eq!(buy(&sandbox, "o-1", VISA_APPROVE).unwrap(), first);
    }
    // Even another card (or amount) on the same order number changes nothing.
    assert_eq!(
        buy_with(&sandbox, "o-1", DECLINE_DO_NOT_HONOUR, CVV, 999).unwrap(),
        first
    );
    assert_eq!(sandbox.charges("o-1"), 1);
    assert_eq!(sandbox.total_charges(), 1);
    assert_eq!(sandbox.order("o-1").unwrap().amount_minor, 51_000);

    let declined = buy(&sandbox, "o-2", DECLINE_INSUFFICIENT_FUNDS).unwrap();
    assert_eq!(buy(&sandbox, "o-2", VISA_APPROVE).unwrap(), declined);
    assert_eq!(sandbox.charges("o-2"), 0);

    let challenge = buy(&sandbox, "o-3", THREE_DS_OTP).unwrap();
    assert!(matches!(challenge, AcquirerOutcome::ActionRequired(_)));
    assert_eq!(buy(&sandbox, "o-3", THREE_DS_OTP).unwrap(), challenge);

    let redirect = buy_hosted(&sandbox, "o-4", 885).unwrap();
    assert_eq!(buy_hosted(&sandbox, "o-4", 885).unwrap(), redirect);

    assert_eq!(sandbox.total_charges(), 1);
    assert_eq!(sandbox.charges("unknown"), 0);
}

#[test]
fn concurrent_purchases_of_one_order_charge_once() {
    let sandbox = Arc::new(SandboxAcquirer::for_tests());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let sandbox = Arc::clone(&sandbox);
            std::thread::spawn(move || buy(&sandbox, "same", VISA_APPROVE).unwrap())
        })
        .collect();
    let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(outcomes.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(sandbox.total_charges(), 1);
}

// ---------------------------------------------------------------------------
// Lost answers and technical errors
// ---------------------------------------------------------------------------

#[test]
fn timeout_after_processing_charges_once_and_status_reports_approved() {
    let sandbox = SandboxAcquirer::for_tests();
    let err = buy(&sandbox, "o-1", TIMEOUT_AFTER_PROCESSING).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Unknown);
    assert_eq!(sandbox.charges("o-1"), 1);
    let OrderStatus::Approved { approval, refunded } = status(&sandbox, "o-1") else {
        panic!("expected approved");
    };
    assert!(refunded.is_zero());
    assert_eq!(approval, approval_for("o-1"));
    // A retry with the same order number answers, and does not charge again.
    assert_eq!(
        buy(&sandbox, "o-1", TIMEOUT_AFTER_PROCESSING).unwrap(),
        AcquirerOutcome::Approved(approval)
    );
    assert_eq!(sandbox.charges("o-1"), 1);
    assert_eq!(sandbox.total_charges(), 1);
}

#[test]
fn technical_error_records_nothing() {
    let sandbox = SandboxAcquirer::for_tests();
    let err = buy(&sandbox, "o-1", TECHNICAL_ERROR).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::NotSent);
    assert_eq!(status(&sandbox, "o-1"), OrderStatus::NotFound);
    assert!(sandbox.orders().is_empty());
    assert_eq!(sandbox.total_charges(), 0);
    // Nothing happened, so the same order number may be paid afterwards.
    approval(&buy(&sandbox, "o-1", VISA_APPROVE).unwrap());
    assert_eq!(sandbox.charges("o-1"), 1);
}

#[test]
fn bad_requests_are_rejected_and_record_nothing() {
    let sandbox = SandboxAcquirer::for_tests();
    let err = buy_with(&sandbox, "o-1", VISA_APPROVE, CVV, 0).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Rejected);
    let err = buy(&sandbox, " ", VISA_APPROVE).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Rejected);
    assert!(sandbox.orders().is_empty());
}

// ---------------------------------------------------------------------------
// 3-D Secure
// ---------------------------------------------------------------------------

#[test]
fn three_ds_with_the_right_otp_approves() {
    let sandbox = SandboxAcquirer::for_tests();
    let outcome = buy(&sandbox, "o-1", THREE_DS_OTP).unwrap();
    let AcquirerOutcome::ActionRequired(Challenge::Otp { hint: Some(hint) }) = outcome else {
        panic!("expected an OTP challenge, got {outcome:?}");
    };
    assert!(hint.contains("56"), "{hint}");
    assert!(
        !hint.contains("123456"),
        "the hint must not give the code away"
    );
    assert_eq!(status(&sandbox, "o-1"), OrderStatus::Pending);
    assert_eq!(
        sandbox.order("o-1").unwrap().state,
        SandboxOrderState::AwaitingOtp
    );
    assert_eq!(sandbox.charges("o-1"), 0);

    let approved =
        block_on(sandbox.complete_challenge("o-1", &ChallengeResponse::otp("123456"))).unwrap();
    let a = approval(&approved);
    assert_eq!(sandbox.charges("o-1"), 1);
    assert!(
        matches!(status(&sandbox, "o-1"), OrderStatus::Approved { approval, .. } if approval == a)
    );
    // Idempotent: completing again, or purchasing again, answers the same.
    assert_eq!(complete(&sandbox, "o-1", OTP_FIELD, "000000"), approved);
    assert_eq!(buy(&sandbox, "o-1", THREE_DS_OTP).unwrap(), approved);
    assert_eq!(sandbox.total_charges(), 1);
}

#[test]
fn three_ds_asks_again_after_a_wrong_otp_and_declines_after_the_last_attempt() {
    let sandbox = SandboxAcquirer::for_tests();
    let challenge = buy(&sandbox, "o-1", THREE_DS_OTP).unwrap();
    let declined = AcquirerOutcome::Declined(DeclineReason::AuthenticationFailed);
    assert_eq!(SandboxConfig::DEFAULT_OTP_ATTEMPTS, 3);
    // Two wrong codes: asked again, the order still open.
    for _ in 0..2 {
        assert_eq!(complete(&sandbox, "o-1", OTP_FIELD, "654321"), challenge);
        assert_eq!(status(&sandbox, "o-1"), OrderStatus::Pending);
    }
    // The third: declined.
    assert_eq!(complete(&sandbox, "o-1", OTP_FIELD, "654321"), declined);
    assert_eq!(
        status(&sandbox, "o-1"),
        OrderStatus::Declined(DeclineReason::AuthenticationFailed)
    );
    // The right code after the last wrong one does not turn the decline around.
    assert_eq!(complete(&sandbox, "o-1", OTP_FIELD, "123456"), declined);

    // A wrong code, then the right one: approved, charged once.
    buy(&sandbox, "o-2", THREE_DS_OTP).unwrap();
    assert_eq!(complete(&sandbox, "o-2", OTP_FIELD, "111111"), challenge);
    approval(&complete(&sandbox, "o-2", OTP_FIELD, "123456"));
    assert_eq!(sandbox.charges("o-2"), 1);

    // One attempt: a missing code declines at once.
    let mut config = SandboxConfig::new(Environment::Test);
    config.otp_attempts = 1;
    let strict = SandboxAcquirer::new(config).unwrap();
    buy(&strict, "o-3", THREE_DS_OTP).unwrap();
    assert_eq!(
        block_on(strict.complete_challenge("o-3", &ChallengeResponse::default())).unwrap(),
        declined
    );
    assert_eq!(strict.total_charges(), 0);
    assert_eq!(sandbox.total_charges(), 1);
}

#[test]
fn the_otp_is_configurable() {
    let mut config = SandboxConfig::new(Environment::Development);
    config.otp = "4321".into();
    config.otp_attempts = 1;
    let sandbox = SandboxAcquirer::new(config).unwrap();
    buy(&sandbox, "o-1", THREE_DS_OTP).unwrap();
    buy(&sandbox, "o-2", THREE_DS_OTP).unwrap();
    assert!(matches!(
        complete(&sandbox, "o-1", OTP_FIELD, "123456"),
        AcquirerOutcome::Declined(DeclineReason::AuthenticationFailed)
    ));
    approval(&complete(&sandbox, "o-2", OTP_FIELD, " 4321 "));
}

#[test]
fn complete_challenge_on_orders_not_awaiting_one() {
    let sandbox = SandboxAcquirer::for_tests();
    let approved = buy(&sandbox, "o-1", VISA_APPROVE).unwrap();
    assert_eq!(complete(&sandbox, "o-1", OTP_FIELD, "123456"), approved);
    let declined = buy(&sandbox, "o-2", DECLINE_DO_NOT_HONOUR).unwrap();
    assert_eq!(complete(&sandbox, "o-2", OTP_FIELD, "123456"), declined);
    let err = block_on(sandbox.complete_challenge("nope", &ChallengeResponse::otp("123456")))
        .unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Rejected);
    assert_eq!(sandbox.total_charges(), 1);
}

// ---------------------------------------------------------------------------
// Hosted page
// ---------------------------------------------------------------------------

#[test]
fn hosted_page_redirects_and_approves_on_outcome_approve() {
    let sandbox = SandboxAcquirer::for_tests();
    let outcome = buy_hosted(&sandbox, "h-1", 885).unwrap();
    let AcquirerOutcome::ActionRequired(Challenge::Redirect {
        url,
        method,
        fields,
    }) = outcome
    else {
        panic!("expected a redirect, got {outcome:?}");
    };
    assert_eq!(url, "sandbox://hosted/h-1");
    assert_eq!(method, "GET");
    assert!(fields.is_empty());
    assert_eq!(status(&sandbox, "h-1"), OrderStatus::Pending);
    let snap = sandbox.order("h-1").unwrap();
    assert_eq!(snap.state, SandboxOrderState::AwaitingHostedPage);
    assert_eq!(snap.masked_pan, None);
    assert_eq!(snap.brand, None);
    assert_eq!(snap.amount_minor, 88_500);

    let approved = complete(&sandbox, "h-1", HOSTED_OUTCOME_FIELD, HOSTED_APPROVE);
    assert_eq!(approval(&approved), approval_for("h-1"));
    assert!(matches!(
        status(&sandbox, "h-1"),
        OrderStatus::Approved { .. }
    ));
    assert_eq!(sandbox.charges("h-1"), 1);
}

#[test]
fn hosted_page_declines_on_any_other_outcome() {
    let sandbox = SandboxAcquirer::for_tests();
    let declined = AcquirerOutcome::Declined(DeclineReason::AuthenticationFailed);
    buy_hosted(&sandbox, "h-1", 885).unwrap();
    assert_eq!(
        complete(&sandbox, "h-1", HOSTED_OUTCOME_FIELD, "cancel"),
        declined
    );
    buy_hosted(&sandbox, "h-2", 885).unwrap();
    // An OTP is not a hosted-page outcome.
    assert_eq!(complete(&sandbox, "h-2", OTP_FIELD, "123456"), declined);
    assert_eq!(sandbox.total_charges(), 0);
}

// ---------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------

#[test]
fn refunds_partial_full_over_and_idempotent() {
    let sandbox = SandboxAcquirer::for_tests();
    buy_with(&sandbox, "o-1", VISA_APPROVE, CVV, 1000).unwrap();

    assert_eq!(refund(&sandbox, "o-1", "r-1", 300), RefundOutcome::Refunded);
    assert!(matches!(
        status(&sandbox, "o-1"),
        OrderStatus::Refunded { refunded, .. } if refunded == Money::som(300)
    ));
    // Same refund id again: no second refund.
    assert_eq!(refund(&sandbox, "o-1", "r-1", 300), RefundOutcome::Refunded);
    assert_eq!(sandbox.order("o-1").unwrap().refunded_minor, 30_000);
    // Same refund id, other amount: refused.
    assert!(matches!(
        refund(&sandbox, "o-1", "r-1", 400),
        RefundOutcome::Refused(_)
    ));
    // More than is left: refused, nothing changes.
    assert!(matches!(
        refund(&sandbox, "o-1", "r-2", 701),
        RefundOutcome::Refused(_)
    ));
    assert_eq!(sandbox.order("o-1").unwrap().refunded_minor, 30_000);
    // The rest: the order is fully refunded.
    assert_eq!(refund(&sandbox, "o-1", "r-2", 700), RefundOutcome::Refunded);
    assert!(matches!(
        status(&sandbox, "o-1"),
        OrderStatus::Refunded { refunded, .. } if refunded == Money::som(1000)
    ));
    assert!(matches!(
        refund(&sandbox, "o-1", "r-3", 1),
        RefundOutcome::Refused(_)
    ));
    // Retrying an earlier refund after the order is fully refunded is fine.
    assert_eq!(refund(&sandbox, "o-1", "r-2", 700), RefundOutcome::Refunded);
    assert_eq!(sandbox.order("o-1").unwrap().refunded_minor, 100_000);
    // Refunds are not charges.
    assert_eq!(sandbox.charges("o-1"), 1);
}

#[test]
fn refunds_only_for_approved_orders() {
    let sandbox = SandboxAcquirer::for_tests();
    buy(&sandbox, "declined", DECLINE_DO_NOT_HONOUR).unwrap();
    buy(&sandbox, "pending", THREE_DS_OTP).unwrap();
    buy(&sandbox, "paid", VISA_APPROVE).unwrap();
    for order in ["declined", "pending"] {
        assert!(matches!(
            refund(&sandbox, order, "r-1", 10),
            RefundOutcome::Refused(_)
        ));
    }
    assert!(matches!(
        refund(&sandbox, "paid", "r-0", 0),
        RefundOutcome::Refused(_)
    ));
    let err = block_on(sandbox.refund("nope", "r-1", Money::som(10))).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Rejected);
    let err = block_on(sandbox.refund("paid", "", Money::som(10))).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Rejected);
}

// ---------------------------------------------------------------------------
// Reversal
// ---------------------------------------------------------------------------

#[test]
fn reverse_approved_and_pending_orders() {
    let sandbox = SandboxAcquirer::for_tests();
    buy(&sandbox, "paid", VISA_APPROVE).unwrap();
    block_on(sandbox.reverse("paid")).unwrap();
    assert_eq!(status(&sandbox, "paid"), OrderStatus::Reversed);
    assert_eq!(
        sandbox.order("paid").unwrap().state,
        SandboxOrderState::Reversed
    );
    // Reversing again is idempotent.
    block_on(sandbox.reverse("paid")).unwrap();
    // A reversed order cannot be paid, refunded or completed again.
    assert_eq!(
        buy(&sandbox, "paid", VISA_APPROVE).unwrap_err().kind,
        AcquirerErrorKind::Rejected
    );
    assert!(matches!(
        refund(&sandbox, "paid", "r-1", 1),
        RefundOutcome::Refused(_)
    ));

    buy(&sandbox, "pending", THREE_DS_OTP).unwrap();
    block_on(sandbox.reverse("pending")).unwrap();
    assert_eq!(status(&sandbox, "pending"), OrderStatus::Reversed);
    let err = block_on(sandbox.complete_challenge("pending", &ChallengeResponse::otp("123456")))
        .unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Rejected);

    buy_hosted(&sandbox, "hosted", 885).unwrap();
    block_on(sandbox.reverse("hosted")).unwrap();
    assert_eq!(status(&sandbox, "hosted"), OrderStatus::Reversed);

    // The approval was made once and stays counted.
    assert_eq!(sandbox.total_charges(), 1);
}

#[test]
fn reverse_refuses_declined_refunded_and_unknown_orders() {
    let sandbox = SandboxAcquirer::for_tests();
    buy(&sandbox, "declined", DECLINE_LOST_OR_STOLEN).unwrap();
    buy(&sandbox, "refunded", VISA_APPROVE).unwrap();
    refund(&sandbox, "refunded", "r-1", 10);
    for order in ["declined", "refunded", "nope"] {
        let err = block_on(sandbox.reverse(order)).unwrap_err();
        assert_eq!(err.kind, AcquirerErrorKind::Rejected, "{order}");
    }
    // A refunded order is reported as refunded, never as approved.
    assert!(matches!(
        status(&sandbox, "refunded"),
        OrderStatus::Refunded { .. }
    ));
}

// ---------------------------------------------------------------------------
// Fault hooks
// ---------------------------------------------------------------------------

#[test]
fn failing_status_leaves_orders_as_they_are() {
    let sandbox = SandboxAcquirer::for_tests();
    buy(&sandbox, "o-1", TIMEOUT_AFTER_PROCESSING).unwrap_err();
    sandbox.fail_next_status(AcquirerErrorKind::NotSent);
    sandbox.fail_next_status(AcquirerErrorKind::Unknown);
    assert_eq!(
        block_on(sandbox.status("o-1")).unwrap_err().kind,
        AcquirerErrorKind::NotSent
    );
    assert_eq!(
        block_on(sandbox.status("o-1")).unwrap_err().kind,
        AcquirerErrorKind::Unknown
    );
    assert!(matches!(
        status(&sandbox, "o-1"),
        OrderStatus::Approved { .. }
    ));
    sandbox.fail_next_status(AcquirerErrorKind::Rejected);
    sandbox.clear_faults();
    assert!(matches!(
        status(&sandbox, "o-1"),
        OrderStatus::Approved { .. }
    ));
}

#[test]
fn failing_purchases_before_or_after_processing() {
    let sandbox = SandboxAcquirer::for_tests();
    sandbox.fail_next_purchase(AcquirerErrorKind::NotSent);
    assert_eq!(
        buy(&sandbox, "o-1", VISA_APPROVE).unwrap_err().kind,
        AcquirerErrorKind::NotSent
    );
    assert_eq!(status(&sandbox, "o-1"), OrderStatus::NotFound);

    sandbox.fail_next_purchase(AcquirerErrorKind::Rejected);
    assert_eq!(
        buy(&sandbox, "o-1", VISA_APPROVE).unwrap_err().kind,
        AcquirerErrorKind::Rejected
    );
    assert_eq!(status(&sandbox, "o-1"), OrderStatus::NotFound);

    // Unknown: processed by the card's rules, then the answer is lost.
    sandbox.fail_next_purchase(AcquirerErrorKind::Unknown);
    assert_eq!(
        buy(&sandbox, "o-1", VISA_APPROVE).unwrap_err().kind,
        AcquirerErrorKind::Unknown
    );
    assert!(matches!(
        status(&sandbox, "o-1"),
        OrderStatus::Approved { .. }
    ));
    assert_eq!(sandbox.charges("o-1"), 1);

    // The request lost on the way: Unknown, and nothing processed.
    sandbox.lose_next_purchase_request();
    assert_eq!(
        buy(&sandbox, "o-2", VISA_APPROVE).unwrap_err().kind,
        AcquirerErrorKind::Unknown
    );
    assert_eq!(status(&sandbox, "o-2"), OrderStatus::NotFound);

    // Faults are used up: the next purchase works.
    approval(&buy(&sandbox, "o-2", VISA_APPROVE).unwrap());
    assert_eq!(sandbox.total_charges(), 2);
}

#[test]
fn failing_refunds_challenges_and_reversals() {
    let sandbox = SandboxAcquirer::for_tests();
    buy(&sandbox, "o-1", VISA_APPROVE).unwrap();

    sandbox.fail_next_refund(AcquirerErrorKind::NotSent);
    let err = block_on(sandbox.refund("o-1", "r-1", Money::som(10))).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::NotSent);
    assert_eq!(sandbox.order("o-1").unwrap().refunded_minor, 0);

    sandbox.fail_next_refund(AcquirerErrorKind::Unknown);
    let err = block_on(sandbox.refund("o-1", "r-1", Money::som(10))).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Unknown);
    assert_eq!(sandbox.order("o-1").unwrap().refunded_minor, 1_000);
    // The retry with the same refund id does not refund twice.
    assert_eq!(refund(&sandbox, "o-1", "r-1", 10), RefundOutcome::Refunded);
    assert_eq!(sandbox.order("o-1").unwrap().refunded_minor, 1_000);

    buy(&sandbox, "o-2", THREE_DS_OTP).unwrap();
    sandbox.fail_next_challenge(AcquirerErrorKind::Unknown);
    let err =
        block_on(sandbox.complete_challenge("o-2", &ChallengeResponse::otp("123456"))).unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Unknown);
    assert!(matches!(
        status(&sandbox, "o-2"),
        OrderStatus::Approved { .. }
    ));

    buy(&sandbox, "o-3", THREE_DS_OTP).unwrap();
    sandbox.fail_next_reverse(AcquirerErrorKind::NotSent);
    assert_eq!(
        block_on(sandbox.reverse("o-3")).unwrap_err().kind,
        AcquirerErrorKind::NotSent
    );
    assert_eq!(status(&sandbox, "o-3"), OrderStatus::Pending);
    block_on(sandbox.reverse("o-3")).unwrap();
    assert_eq!(status(&sandbox, "o-3"), OrderStatus::Reversed);
}

// ---------------------------------------------------------------------------
// Configuration and the production guard
// ---------------------------------------------------------------------------

#[test]
fn refuses_production_unless_allowed() {
    let err = SandboxAcquirer::new(SandboxConfig::new(Environment::Production)).unwrap_err();
    assert_eq!(err, SandboxError::ProductionRefused);
    assert!(err.to_string().contains("production"));

    let mut config = SandboxConfig::new(Environment::Production);
    config.allow_in_production = true;
    let sandbox = SandboxAcquirer::new(config).unwrap();
    assert_eq!(sandbox.config().environment, Environment::Production);

    for env in [Environment::Development, Environment::Test] {
        SandboxAcquirer::new(SandboxConfig::new(env)).unwrap();
    }
    SandboxAcquirer::new(SandboxConfig::default()).unwrap();
}

#[test]
fn configuration_defaults_and_checks() {
    let config = SandboxConfig::default();
    assert_eq!(config.otp, "123456");
    assert_eq!(config.otp_attempts, 3);
    assert_eq!(config.name, "sandbox");
    assert!(!config.allow_in_production);
    assert_eq!(SandboxAcquirer::for_tests().name(), "sandbox");
    assert_eq!(
        SandboxAcquirer::for_tests().config().environment,
        Environment::Test
    );

    let mut named = SandboxConfig::new(Environment::Test);
    named.name = "sandbox-bishkek".into();
    assert_eq!(
        SandboxAcquirer::new(named).unwrap().name(),
        "sandbox-bishkek"
    );

    for (otp, name) in [("", "sandbox"), ("12a4", "sandbox"), ("123456", " ")] {
        let mut bad = SandboxConfig::new(Environment::Test);
        bad.otp = otp.into();
        bad.name = name.into();
        assert!(matches!(
            SandboxAcquirer::new(bad),
            Err(SandboxError::InvalidConfig(_))
        ));
    }
    let mut none = SandboxConfig::new(Environment::Test);
    none.otp_attempts = 0;
    assert!(matches!(
        SandboxAcquirer::new(none),
        Err(SandboxError::InvalidConfig(_))
    ));
}

#[test]
fn environments_parse() {
    for (text, env) in [
        ("development", Environment::Development),
        ("test", Environment::Test),
        ("production", Environment::Production),
        (" Production ", Environment::Production),
    ] {
        assert_eq!(text.parse::<Environment>().unwrap(), env);
    }
    for env in [
        Environment::Development,
        Environment::Test,
        Environment::Production,
    ] {
        assert_eq!(env.to_string().parse::<Environment>().unwrap(), env);
    }
    assert!(matches!(
        "prod".parse::<Environment>(),
        Err(SandboxError::UnknownEnvironment(_))
    ));
}

// ---------------------------------------------------------------------------
// Card data never shows
// ---------------------------------------------------------------------------

#[test]
fn no_card_data_in_debug_snapshots_or_errors() {
    let sandbox = SandboxAcquirer::for_tests();
    let mut texts = Vec::new();
    for (i, tc) in test_cards().iter().enumerate() {
        let order = format!("o-{i}");
        match buy(&sandbox, &order, tc.pan) {
            Ok(outcome) => texts.push(format!("{outcome:?}")),
            Err(e) => texts.push(format!("{e} {e:?}")),
        }
        let _ = block_on(sandbox.complete_challenge(&order, &ChallengeResponse::otp("123456")));
    }
    let sandbox_debug = format!("{sandbox:?}");
    assert!(!sandbox_debug.contains(CVV), "{sandbox_debug}");
    for text in &texts {
        assert!(!text.contains(CVV), "{text}");
    }
    texts.push(sandbox_debug);
    texts.push(format!("{:?}", sandbox.orders()));
    for snap in sandbox.orders() {
        texts.push(format!("{snap:?}"));
    }
    for text in &texts {
        for tc in test_cards() {
            assert!(!text.contains(tc.pan), "{} shows in {text}", tc.pan);
        }
    }
}
