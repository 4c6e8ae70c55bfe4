//! Money that must go back, over HTTP against the emulator: a code paid
//! twice (the second charge reversed, else refunded, retried with
//! back-off), and orders the bank refunded or only pre-authorised, which
//! are never taken for paid.

mod common;

use std::sync::Arc;

use chrono::Duration;
use tolom_bpc_emulator::{Endpoint, Fault, OrderStatus as EmuStatus, RunningEmulator};
use tolom_core::charge::ChargeStatus;
use tolom_core::events::EventKind;
use tolom_core::money::Money;
use tolom_core::payment::{Payment, PaymentState, RefundState};
use tolom_core::ports::{
    Acquirer, ChargeStore, Clock, EventLog, OrderStatus, OutboxStore, PaymentStore,
};
use tolom_core::usecases::return_backoff;
use tolom_testkit::fixtures::Harness;

/// The 3-D Secure card of the emulator.
const THREE_DS: &str = "4000 0000 0000 3063";
/// An approving card.
const APPROVE: &str = "4111 1111 1111 1111";

/// Calls the emulator received about `payment`'s order (by its number or
/// its gateway id), by endpoint.
fn calls_about(emu: &RunningEmulator, payment: &Payment, endpoint: Endpoint) -> usize {
    let number = payment.order_number();
    let id = emu
        .order(&number)
        .map(|o| o.order_id.to_string())
        .unwrap_or_default();
    emu.request_log()
        .iter()
        .filter(|e| e.endpoint == endpoint)
        .filter(|e| e.param("orderNumber") == Some(&number) || e.param("orderId") == Some(&id))
        .count()
}

/// A code paid twice at the bank: payer A's 3-D Secure is left open when
/// the gateway will not close unpaid orders, payer B pays the code, then A
/// finishes 3-D Secure at the bank after all. Returns (A, B, A's charge).
async fn paid_twice(
    emu: &RunningEmulator,
    h: &Harness,
) -> (Payment, Payment, tolom_core::charge::Charge) {
    let (charge, a) = common::started(h, "Асанов Айбек Маратович").await;
    let a = common::submit(h, &a, THREE_DS).await;
    assert_eq!(a.state(), PaymentState::ActionRequired);
    let challenge = a.challenge().cloned().expect("a challenge");
    // The gateway will not close the unpaid order: A is closed here anyway
    // and its order watched.
    emu.inject(Fault::refuse(Endpoint::Decline, 7));
    h.clock.advance(Duration::minutes(31));
    h.tolom.reconcile().await.expect("reconcile");
    let a = h.tolom.payment(a.id()).await.expect("a");
    assert_eq!(a.state(), PaymentState::Failed);
    assert_eq!(a.failure(), Some("payment.order_left_open"));
    emu.clear_faults();
    // B pays the code.
    let key = format!("start-b-{}", charge.id.simple());
    let terms = h.terms_id().await;
    let b = h
        .tolom
        .start_payment(tolom_core::usecases::StartPayment {
            code: charge.code.as_str(),
            accepted_terms: Some(&terms),
            idempotency_key: &key,
            language: tolom_core::i18n::Language::Ru,
        })
        .await
        .expect("start B");
    let b = common::submit(h, &b, APPROVE).await;
    assert_eq!(b.state(), PaymentState::Succeeded);
    // A's payer finishes 3-D Secure at the bank: charged a second time.
    let _ = common::solve_3ds(challenge, common::OTP).await;
    let order = emu.order(&a.order_number()).expect("A's order");
    assert_eq!(
        (order.status, order.approvals),
        (EmuStatus::Authorized, 1),
        "the bank took A's money too"
    );
    (a, b, charge)
}

/// `reverse.do` refused (after the day's cut-off, errorCode 7): the second
/// charge is refunded in full over `refund.do`, the payment is `returned`,
/// the code stays paid by B, and neither the payer nor the agency is told
/// of a second payment.
#[tokio::test]
async fn a_duplicate_approval_the_bank_will_not_reverse_is_refunded() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (a, b, charge) = paid_twice(&emu, &h).await;
    emu.inject(Fault::refuse(Endpoint::Reverse, 7));
    let messages = h.store.outbox_list(None, 0).await.expect("outbox").len();
    h.clock.advance(Duration::seconds(30));
    let r = h.tolom.reconcile().await.expect("reconcile");
    assert_eq!((r.duplicates, r.duplicates_returned), (1, 1), "{r:?}");
    let a = h.tolom.payment(a.id()).await.expect("a");
    assert_eq!(a.state(), PaymentState::Returned);
    assert_eq!(a.refunded(), a.total(), "refunded in full");
    assert_eq!(a.receipt_number(), None, "no receipt for the second charge");
    let refunds = h.store.refunds_of(a.id()).await.expect("refunds");
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].state, RefundState::Succeeded);
    let order = emu.order(&a.order_number()).expect("order");
    assert_eq!(order.status, EmuStatus::Refunded);
    assert_eq!(order.refunded_amount, order.amount, "the money is back");
    assert_eq!(calls_about(&emu, &a, Endpoint::Reverse), 1);
    assert_eq!(calls_about(&emu, &a, Endpoint::Refund), 1);
    let kinds: Vec<EventKind> = h
        .store
        .events_of(a.id())
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&EventKind::PaymentDuplicate), "{kinds:?}");
    assert!(kinds.contains(&EventKind::RefundSucceeded), "{kinds:?}");
    assert_eq!(
        h.tolom.payment(b.id()).await.expect("b").state(),
        PaymentState::Succeeded
    );
    assert_eq!(
        h.store
            .charge(charge.id)
            .await
            .expect("charge")
            .map(|c| c.status),
        Some(ChargeStatus::Paid)
    );
    assert_eq!(
        h.store.outbox_list(None, 0).await.expect("outbox").len(),
        messages,
        "no e-mail or agency notice about the second charge"
    );
    // Nothing more happens on the next rounds.
    emu.clear_request_log();
    h.clock.advance(Duration::hours(1));
    h.tolom.reconcile().await.expect("reconcile");
    assert_eq!(calls_about(&emu, &a, Endpoint::GetOrderStatusExtended), 0);
}

/// Neither reversal nor refund goes through at first: the duplicate stays
/// open and is retried with back-off — the rounds in between ask the bank
/// nothing about it (no status call per round) — and the next attempt,
/// once due, refunds it.
#[tokio::test]
async fn a_duplicate_approval_is_retried_with_back_off_not_every_round() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (a, _b, _charge) = paid_twice(&emu, &h).await;
    emu.inject(Fault::refuse(Endpoint::Reverse, 7));
    emu.inject(Fault::refuse(Endpoint::Refund, 7).times(1));
    h.clock.advance(Duration::seconds(30));
    let r = h.tolom.reconcile().await.expect("reconcile");
    assert_eq!((r.duplicates, r.duplicates_open), (1, 1), "{r:?}");
    let open = h.tolom.payment(a.id()).await.expect("a");
    assert_eq!(open.state(), PaymentState::Duplicate);
    assert_eq!(open.return_attempts(), 1);
    assert_eq!(
        open.next_return_at().expect("scheduled") - h.clock.now(),
        return_backoff(1)
    );
    // Rounds within the back-off: not a single call about A's order.
    emu.clear_request_log();
    for _ in 0..4 {
        h.clock.advance(Duration::seconds(10));
        let r = h.tolom.reconcile().await.expect("reconcile");
        assert_eq!(r.duplicates_open, 1, "{r:?}");
    }
    for endpoint in [
        Endpoint::GetOrderStatusExtended,
        Endpoint::Reverse,
        Endpoint::Refund,
    ] {
        assert_eq!(
            calls_about(&emu, &a, endpoint),
            0,
            "{endpoint} called between attempts"
        );
    }
    // Due: one attempt, which refunds it.
    h.clock.advance(Duration::seconds(20));
    let r = h.tolom.reconcile().await.expect("reconcile");
    assert_eq!(r.duplicates_returned, 1, "{r:?}");
    assert_eq!(calls_about(&emu, &a, Endpoint::Reverse), 1);
    assert_eq!(calls_about(&emu, &a, Endpoint::Refund), 1);
    let a = h.tolom.payment(a.id()).await.expect("a");
    assert_eq!(a.state(), PaymentState::Returned);
    let order = emu.order(&a.order_number()).expect("order");
    assert_eq!(order.refunded_amount, order.amount);
}

/// The bank refunded an order (its back office, `orderStatus` 4) after
/// tolom had closed the payment: the late-approval sweep must not turn it
/// into a success — the code stays unpaid and nothing is announced.
#[tokio::test]
async fn an_order_refunded_at_the_bank_is_not_recovered_as_paid() {
    let emu = common::emulator().await;
    let client = Arc::new(common::client(&emu));
    let h = common::harness(client.clone());
    let (charge, a) = common::started(&h, "Асанов Айбек Маратович").await;
    let a = common::submit(&h, &a, THREE_DS).await;
    let challenge = a.challenge().cloned().expect("a challenge");
    emu.inject(Fault::refuse(Endpoint::Decline, 7));
    h.clock.advance(Duration::minutes(31));
    h.tolom.reconcile().await.expect("reconcile");
    emu.clear_faults();
    assert_eq!(
        h.tolom.payment(a.id()).await.expect("a").state(),
        PaymentState::Failed
    );
    // The payer finishes 3-D Secure late, and the bank refunds the order
    // at its own end.
    let _ = common::solve_3ds(challenge, common::OTP).await;
    assert_eq!(
        client
            .refund(&a.order_number(), "bank", Money::som(885))
            .await,
        Ok(tolom_core::ports::RefundOutcome::Refunded)
    );
    assert!(matches!(
        client.status(&a.order_number()).await,
        Ok(OrderStatus::Refunded { .. })
    ));
    let messages = h.store.outbox_list(None, 0).await.expect("outbox").len();
    let r = h.tolom.reconcile().await.expect("reconcile");
    assert_eq!(r.recovered, 0, "{r:?}");
    let a = h.tolom.payment(a.id()).await.expect("a");
    assert_eq!(a.state(), PaymentState::Failed, "not paid");
    assert_eq!(a.receipt_number(), None);
    assert_eq!(
        h.store
            .charge(charge.id)
            .await
            .expect("charge")
            .map(|c| c.status),
        Some(ChargeStatus::Unpaid)
    );
    assert_eq!(
        h.store.outbox_list(None, 0).await.expect("outbox").len(),
        messages,
        "no receipt e-mail, no agency notice"
    );
}

/// Payments in flight whose orders the bank shows refunded (4) or only
/// pre-authorised (1): neither is settled as paid. The refunded one is
/// closed; the held one waits and, once the payer's time is over, its hold
/// is released (`reverse.do`) and the payment closed.
#[tokio::test]
async fn refunded_and_pre_authorised_orders_in_flight_are_not_paid() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (c1, refunded) = common::started(&h, "Асанов Айбек").await;
    let refunded = common::submit(&h, &refunded, THREE_DS).await;
    let (c2, held) = common::started(&h, "Сыдыкова Айгүл").await;
    let held = common::submit(&h, &held, THREE_DS).await;
    assert!(emu.set_order_status(&refunded.order_number(), EmuStatus::Refunded));
    assert!(emu.set_order_status(&held.order_number(), EmuStatus::PreAuthorized));
    h.clock.advance(Duration::minutes(31));
    h.tolom.reconcile().await.expect("reconcile");
    let closed = h.tolom.payment(refunded.id()).await.expect("refunded");
    assert_eq!(closed.state(), PaymentState::Failed);
    assert_eq!(closed.failure(), Some("payment.refunded_at_acquirer"));
    let released = h.tolom.payment(held.id()).await.expect("held");
    assert_eq!(released.state(), PaymentState::Failed);
    assert_eq!(released.failure(), Some("payment.held_at_acquirer"));
    assert_eq!(
        emu.order(&held.order_number()).map(|o| o.status),
        Some(EmuStatus::Reversed),
        "the hold is released at the bank"
    );
    for c in [c1, c2] {
        assert_eq!(
            h.store
                .charge(c.id)
                .await
                .expect("charge")
                .map(|c| c.status),
            Some(ChargeStatus::Unpaid)
        );
    }
}
