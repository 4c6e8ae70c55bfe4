//! The testkit's acquirer conformance suite, for the BPC client against the
//! emulator and for the sandbox acquirer.

mod common;

use tolom_acquirer_sandbox::{
    SandboxAcquirer, DECLINE_INSUFFICIENT_FUNDS, THREE_DS_OTP, VISA_APPROVE,
};
use tolom_core::payment::{ChallengeResponse, DeclineReason};
use tolom_testkit::conformance::acquirer::{run, TestCards};

#[tokio::test]
async fn bpc_client_against_the_emulator_passes_the_conformance_suite() {
    let emu = common::emulator().await;
    let client = common::client(&emu);
    let cards = TestCards {
        approve: "4111111111111111".into(),
        decline: ("4000000000001166".into(), DeclineReason::InsufficientFunds),
        challenge: "4000000000003063".into(),
    };
    run(&client, &cards, |challenge, _order| {
        common::solve_3ds(challenge, common::OTP)
    })
    .await;
    // Exactly one charge per approved order, whatever the suite repeated.
    for order in emu.orders() {
        assert!(order.approvals <= 1, "{order:?}");
    }
    assert_eq!(
        emu.orders().iter().map(|o| o.approvals).sum::<u32>(),
        2,
        "the approve card and the challenge card were each charged once"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn sandbox_passes_the_conformance_suite() {
    let sandbox = SandboxAcquirer::for_tests();
    let cards = TestCards {
        approve: VISA_APPROVE.into(),
        decline: (
            DECLINE_INSUFFICIENT_FUNDS.into(),
            DeclineReason::InsufficientFunds,
        ),
        challenge: THREE_DS_OTP.into(),
    };
    run(&sandbox, &cards, |_challenge, _order| async {
        ChallengeResponse::otp("123456")
    })
    .await;
    assert_eq!(sandbox.total_charges(), 2);
}
