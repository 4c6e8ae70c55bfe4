//! The testkit's acquirer conformance suite, one named test per case, for
//! the BPC client against the emulator and for the sandbox acquirer.

mod common;

use std::sync::Arc;

use futures::FutureExt;
use tolom_acquirer_sandbox::{
    SandboxAcquirer, DECLINE_INSUFFICIENT_FUNDS, THREE_DS_OTP, VISA_APPROVE,
};
use tolom_core::payment::{ChallengeResponse, DeclineReason};
use tolom_testkit::conformance::acquirer::{run, AcquirerUnderTest, TestCards};

fn bpc_cards() -> TestCards {
    TestCards {
        approve: "4111111111111111".into(),
        decline: ("4000000000001166".into(), DeclineReason::InsufficientFunds),
        challenge: "4000000000003063".into(),
    }
}

/// The BPC client against a fresh emulator over real HTTP; challenges are
/// solved by walking the emulator's ACS page.
async fn bpc(_case: &'static str) -> Option<AcquirerUnderTest> {
    let emu = common::emulator().await;
    let client = common::client(&emu);
    Some(AcquirerUnderTest {
        acquirer: Arc::new(client),
        cards: bpc_cards(),
        solve: Box::new(|challenge, _order| common::solve_3ds(challenge, common::OTP).boxed()),
        guard: Some(Box::new(emu)),
    })
}

tolom_testkit::acquirer_conformance!(bpc_emulator, bpc);

fn sandbox_cards() -> TestCards {
    TestCards {
        approve: VISA_APPROVE.into(),
        decline: (
            DECLINE_INSUFFICIENT_FUNDS.into(),
            DeclineReason::InsufficientFunds,
        ),
        challenge: THREE_DS_OTP.into(),
    }
}

/// The sandbox acquirer with its documented test cards.
async fn sandbox(_case: &'static str) -> Option<AcquirerUnderTest> {
    Some(AcquirerUnderTest {
        acquirer: Arc::new(SandboxAcquirer::for_tests()),
        cards: sandbox_cards(),
        solve: Box::new(|_challenge, _order| async { ChallengeResponse::otp("123456") }.boxed()),
        guard: None,
    })
}

tolom_testkit::acquirer_conformance!(sandbox_acquirer, sandbox);

/// The whole suite on one emulator charges each approved order exactly once,
/// whatever the suite repeated.
#[tokio::test]
async fn the_emulator_charges_each_approved_order_once() {
    let emu = common::emulator().await;
    let under_test = AcquirerUnderTest {
        acquirer: Arc::new(common::client(&emu)),
        cards: bpc_cards(),
        solve: Box::new(|challenge, _order| common::solve_3ds(challenge, common::OTP).boxed()),
        guard: None,
    };
    run(&under_test).await;
    for order in emu.orders() {
        assert!(order.approvals <= 1, "{order:?}");
    }
    assert_eq!(
        emu.orders().iter().map(|o| o.approvals).sum::<u32>(),
        4,
        "the approve card (three times: the approval, refunds and cancel cases) and the challenge card were each charged once"
    );
    emu.shutdown().await;
}

/// The whole suite on one sandbox: four charges (three approvals, one
/// challenge).
#[tokio::test]
async fn the_sandbox_charges_each_approved_order_once() {
    let sandbox = Arc::new(SandboxAcquirer::for_tests());
    let under_test = AcquirerUnderTest {
        acquirer: sandbox.clone(),
        cards: sandbox_cards(),
        solve: Box::new(|_challenge, _order| async { ChallengeResponse::otp("123456") }.boxed()),
        guard: None,
    };
    run(&under_test).await;
    assert_eq!(sandbox.total_charges(), 4);
}
