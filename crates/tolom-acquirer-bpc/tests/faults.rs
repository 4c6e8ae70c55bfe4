//! Fault injection: no double charge, no lost success. Each test breaks the
//! gateway in one way (with the emulator's faults) and checks what the
//! payment ends as and how many times the bank charged.

mod common;

use std::sync::Arc;
use std::time::Duration;

use tolom_bpc_emulator::{Endpoint, Fault};
use tolom_core::card::BrandTable;
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::payment::{PaymentState, RefundState};
use tolom_core::ports::{
    Acquirer, AcquirerErrorKind, AcquirerOutcome, Instrument, OrderStatus, PurchaseRequest,
};
use tolom_testkit::fixtures::card_form;

/// Waits until the emulator has charged the order (processing of a slow or
/// delayed call goes on after the client gave up).
async fn wait_for_approval(emu: &tolom_bpc_emulator::RunningEmulator, order: &str) {
    for _ in 0..200 {
        if emu.order(order).is_some_and(|o| o.approvals == 1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the emulator never approved {order}");
}

#[tokio::test]
async fn connection_dropped_after_approval_ends_succeeded_after_reconciliation() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (_, p) = common::started(&h, "A B").await;
    emu.inject(Fault::drop_after_processing(Endpoint::PaymentOrder).times(1));
    let p = common::submit(&h, &p, "4111111111111111").await;
    assert_eq!(
        p.state(),
        PaymentState::Unknown,
        "the answer was lost: outcome unknown"
    );
    assert_eq!(common::approvals(&emu, &p), 1, "the bank did charge");
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!((report.checked, report.succeeded), (1, 1), "{report:?}");
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert!(p.receipt_number().is_some());
    assert_eq!(common::approvals(&emu, &p), 1, "exactly one charge");
    assert_eq!(emu.orders().len(), 1, "never registered again");
}

#[tokio::test]
async fn the_approve_then_drop_card_is_reconciled_to_one_charge() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (_, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4000000000009995").await;
    assert_eq!(p.state(), PaymentState::Unknown);
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    let again = h.tolom.reconcile().await.unwrap();
    assert_eq!(again.checked, 0, "settled once");
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert_eq!(common::approvals(&emu, &p), 1);
}

#[tokio::test]
async fn http_5xx_on_register_before_processing_fails_cleanly_and_charges_nothing() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (charge, p) = common::started(&h, "A B").await;
    emu.inject(Fault::http_status(Endpoint::Register, 503).times(1));
    let p = common::submit(&h, &p, "4111111111111111").await;
    assert_eq!(p.state(), PaymentState::Failed, "{p:?}");
    assert_eq!(p.failure(), Some("payment.acquirer_unavailable"));
    assert!(
        emu.orders().is_empty(),
        "nothing registered, nothing charged"
    );
    // The payer simply tries again.
    let (_, p2) = {
        let terms = h.terms_id().await;
        let p2 = h
            .tolom
            .start_payment(tolom_core::usecases::StartPayment {
                code: charge.code.as_str(),
                accepted_terms: Some(&terms),
                idempotency_key: "again",
                language: Language::Ru,
            })
            .await
            .unwrap();
        (charge, p2)
    };
    let p2 = common::submit(&h, &p2, "4111111111111111").await;
    assert_eq!(p2.state(), PaymentState::Succeeded);
    assert_eq!(emu.orders().iter().map(|o| o.approvals).sum::<u32>(), 1);
}

#[tokio::test]
async fn a_lost_register_answer_is_looked_up_and_the_order_continued() {
    for fault in [
        Fault::drop_after_processing(Endpoint::Register).times(1),
        Fault::malformed_json(Endpoint::Register).times(1),
    ] {
        let emu = common::emulator().await;
        let h = common::harness(Arc::new(common::client(&emu)));
        let (_, p) = common::started(&h, "A B").await;
        emu.inject(fault);
        let p = common::submit(&h, &p, "4111111111111111").await;
        assert_eq!(p.state(), PaymentState::Succeeded, "{fault:?}");
        assert_eq!(emu.orders().len(), 1, "one order: {fault:?}");
        assert_eq!(common::approvals(&emu, &p), 1);
    }
}

#[tokio::test]
async fn malformed_json_after_payment_is_unknown_then_reconciled() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (_, p) = common::started(&h, "A B").await;
    emu.inject(Fault::malformed_json(Endpoint::PaymentOrder).times(1));
    let p = common::submit(&h, &p, "4111111111111111").await;
    assert_eq!(p.state(), PaymentState::Unknown);
    h.tolom.reconcile().await.unwrap();
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert_eq!(common::approvals(&emu, &p), 1);
}

#[tokio::test]
async fn a_slow_answer_beyond_the_timeout_is_unknown_then_reconciled_with_one_charge() {
    let emu = common::emulator_with(Duration::from_millis(2_500)).await;
    let h = common::harness(Arc::new(common::client(&emu))); // 1 s timeout
    let (_, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4000000000008880").await;
    assert_eq!(p.state(), PaymentState::Unknown);
    // Reconciling while the bank is still processing settles nothing.
    let early = h.tolom.reconcile().await.unwrap();
    assert_eq!(early.unsettled, 1, "{early:?}");
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Unknown
    );
    wait_for_approval(&emu, &p.order_number()).await;
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert_eq!(common::approvals(&emu, &p), 1);
    assert_eq!(emu.orders().len(), 1);
}

#[tokio::test]
async fn the_same_order_number_twice_never_makes_a_second_order_or_charge() {
    let emu = common::emulator().await;
    let client = common::client(&emu);
    let (card, contact) = card_form("4111111111111111")
        .validate(chrono::Utc::now(), &BrandTable::default())
        .unwrap();
    let buy = || {
        client.purchase(PurchaseRequest {
            order_number: "dup-order-1",
            amount: Money::som(885),
            description: "dup",
            language: Language::Ky,
            instrument: Instrument::Card {
                card: &card,
                contact: &contact,
            },
            return_url: Some(common::RETURN_URL),
        })
    };
    let first = buy().await.unwrap();
    assert!(matches!(first, AcquirerOutcome::Approved(_)));
    // Another client (a restarted process: nothing cached) retries.
    let other = common::client(&emu);
    let again = other
        .purchase(PurchaseRequest {
            order_number: "dup-order-1",
            amount: Money::som(885),
            description: "dup",
            language: Language::Ky,
            instrument: Instrument::Card {
                card: &card,
                contact: &contact,
            },
            return_url: Some(common::RETURN_URL),
        })
        .await
        .unwrap();
    assert_eq!(again, first, "the existing order's approval");
    assert_eq!(buy().await.unwrap(), first);
    let registers = emu
        .request_log()
        .iter()
        .filter(|e| e.endpoint.name() == "register.do")
        .count();
    assert_eq!(
        registers, 3,
        "each retry asked register.do and got errorCode 1"
    );
    assert_eq!(emu.orders().len(), 1);
    assert_eq!(emu.order("dup-order-1").unwrap().approvals, 1);
    assert_eq!(emu.order("dup-order-1").unwrap().payment_attempts, 1);
}

#[tokio::test]
async fn a_retry_after_a_lost_3ds_answer_gets_the_challenge_again() {
    let emu = common::emulator().await;
    let client = common::client(&emu);
    let (card, contact) = card_form("4000000000003063")
        .validate(chrono::Utc::now(), &BrandTable::default())
        .unwrap();
    let request = || PurchaseRequest {
        order_number: "tds-order-1",
        amount: Money::som(510),
        description: "3ds",
        language: Language::En,
        instrument: Instrument::Card {
            card: &card,
            contact: &contact,
        },
        return_url: None,
    };
    let first = client.purchase(request()).await.unwrap();
    let AcquirerOutcome::ActionRequired(challenge) = first.clone() else {
        panic!("{first:?}")
    };
    assert_eq!(client.purchase(request()).await.unwrap(), first);
    // A fresh client has no copy of the challenge: it says "pending"
    // rather than inventing one, and never pays again.
    let fresh = common::client(&emu);
    assert_eq!(
        fresh.purchase(request()).await.unwrap(),
        AcquirerOutcome::Pending
    );
    common::solve_3ds(challenge, common::OTP).await;
    assert!(matches!(
        fresh.purchase(request()).await.unwrap(),
        AcquirerOutcome::Approved(_)
    ));
    assert_eq!(emu.order("tds-order-1").unwrap().approvals, 1);
}

#[tokio::test]
async fn an_unreachable_gateway_is_not_sent_and_fails_the_payment() {
    let emu = common::emulator().await;
    let config = common::config(&emu);
    emu.shutdown().await;
    let client = tolom_acquirer_bpc::BpcAcquirer::new(config).unwrap();
    let err = client.status("anything").await.unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::NotSent, "{err}");
    let h = common::harness(Arc::new(client));
    let (_, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4111111111111111").await;
    assert_eq!(p.state(), PaymentState::Failed);
    assert_eq!(p.failure(), Some("payment.acquirer_unavailable"));
}

#[tokio::test]
async fn wrong_credentials_are_rejected_not_unknown() {
    let emu = common::emulator().await;
    let mut config = common::config(&emu);
    config.credentials = tolom_acquirer_bpc::BpcCredentials::Password {
        user_name: common::USER.into(),
        password: "wrong".to_string().into(),
    };
    let client = tolom_acquirer_bpc::BpcAcquirer::new(config).unwrap();
    let err = client.status("anything").await.unwrap_err();
    assert_eq!(err.kind, AcquirerErrorKind::Rejected, "{err}");
    let h = common::harness(Arc::new(client));
    let (_, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4111111111111111").await;
    assert_eq!(p.state(), PaymentState::Failed);
    assert!(emu.orders().is_empty());
}

#[tokio::test]
async fn a_lost_status_after_3ds_never_fails_a_payment_that_succeeded() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (_, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4000000000003063").await;
    let response = common::solve_3ds(p.challenge().cloned().unwrap(), common::OTP).await;
    // The gateway is down when the payer comes back.
    emu.inject(Fault::http_status(Endpoint::GetOrderStatusExtended, 502).always());
    let p = h.tolom.complete_challenge(p.id(), &response).await.unwrap();
    assert_eq!(
        p.state(),
        PaymentState::Unknown,
        "not Failed: it may have been paid"
    );
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!(report.unsettled, 1, "still down: {report:?}");
    emu.clear_faults();
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert_eq!(common::approvals(&emu, &p), 1);
}

#[tokio::test]
async fn a_refund_whose_answer_was_lost_is_settled_once_by_reconciliation() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (_, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4111111111111111").await;
    emu.inject(Fault::drop_after_processing(Endpoint::Refund).times(1));
    let r = h
        .tolom
        .refund(p.id(), Some(Money::som(100)), "partly", "lost-1")
        .await
        .unwrap();
    assert_eq!(r.state, RefundState::Pending, "outcome unknown");
    h.clock.advance(chrono::Duration::minutes(3));
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!(report.refunds_settled, 1, "{report:?}");
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::PartiallyRefunded);
    assert_eq!(p.refunded(), Money::som(100));
    assert_eq!(
        emu.order(&p.order_number()).unwrap().refunded_amount,
        10_000
    );
    // The status agrees: refunded in part (orderStatus 4), not "approved".
    assert!(matches!(
        common::client(&emu).status(&p.order_number()).await.unwrap(),
        OrderStatus::Refunded { refunded, .. } if refunded == Money::som(100)
    ));
}

#[tokio::test]
async fn a_dropped_3ds_answer_is_unknown_and_the_unpaid_order_is_closed_within_minutes() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (charge, p) = common::started(&h, "A B").await;
    emu.inject(Fault::drop_after_processing(Endpoint::PaymentOrder).times(1));
    let p = common::submit(&h, &p, "4000000000003063").await;
    assert_eq!(p.state(), PaymentState::Unknown);
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!(report.unsettled, 1, "3-D Secure pending at the gateway");
    // The payer never saw the ACS, so nothing is coming: once the payment
    // has been stuck for `authorizing_stale_after` (not the gateway's own
    // 20-minute session), the order is declined at the gateway on its word
    // "not paid" and the payment fails, which frees the code.
    h.clock.advance(h.tolom.config().authorizing_stale_after);
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Failed, "{p:?}");
    let order = emu.order(&p.order_number()).unwrap();
    assert_eq!(
        order.status.code(),
        6,
        "declined at the gateway (decline.do)"
    );
    assert_eq!(common::approvals(&emu, &p), 0);
    assert!(h
        .tolom
        .look_up(charge.code.as_str())
        .await
        .unwrap()
        .not_payable
        .is_none());
}

/// A gateway that never times its orders out: an order registered and then
/// left (a 5xx on `paymentorder.do`) is declined there once the payment is
/// stale, and the code is free again.
#[tokio::test]
async fn a_5xx_on_payment_with_a_gateway_that_never_expires_orders_frees_the_code() {
    let emu = common::emulator_never_expiring().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (charge, p) = common::started(&h, "A B").await;
    emu.inject(Fault::http_status(Endpoint::PaymentOrder, 502).times(1));
    let p = common::submit(&h, &p, "4111111111111111").await;
    assert!(p.state().is_in_flight(), "{p:?}");
    h.clock.advance(h.tolom.config().authorizing_stale_after);
    h.tolom.reconcile().await.unwrap();
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Failed, "{p:?}");
    assert_eq!(emu.order(&p.order_number()).unwrap().status.code(), 6);
    let again = common::submit(&h, &common::started(&h, "A B").await.1, "4111111111111111").await;
    assert_eq!(again.state(), PaymentState::Succeeded);
    let _ = charge;
}
