//! Rule tests with the `mockall` mocks of the ports: exact expectations on
//! what the use cases ask of the acquirer and the clock.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use tolom_core::i18n::Language;
use tolom_core::payment::{DeclineReason, PaymentState};
use tolom_core::ports::MockClock;
use tolom_core::ports::{AcquirerOutcome, MockAcquirer, OrderStatus};
use tolom_core::usecases::{IssueCharge, StartPayment};
use tolom_core::Tolom;
use tolom_testkit::fixtures::{card_form, test_signer};
use tolom_testkit::memory::InMemoryStore;

#[tokio::test]
async fn a_decline_calls_the_acquirer_once_with_the_payment_as_order_number() {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || now);
    let mut acquirer = MockAcquirer::new();
    acquirer.expect_name().return_const("mock".to_string());
    acquirer
        .expect_purchase()
        .times(1)
        .withf(|req| req.order_number.len() == 32 && req.amount.to_minor_units() == 88_500)
        .returning(|_| Ok(AcquirerOutcome::Declined(DeclineReason::InsufficientFunds)));
    acquirer.expect_status().never();
    let store = Arc::new(InMemoryStore::new());
    let tolom = Tolom::builder()
        .store(store)
        .acquirer(Arc::new(acquirer))
        .clock(Arc::new(clock))
        .signer(Arc::new(test_signer()))
        .build()
        .unwrap();
    let charge = tolom
        .issue_charge(IssueCharge {
            service: "passport-2020".into(),
            urgency: None,
            amount: None,
            payer: "Асанов Айбек".into(),
            code: None,
            expires_at: now + Duration::days(1),
            agency_ref: None,
        })
        .await
        .unwrap();
    let terms = tolom.terms_in_force().await.unwrap();
    let p = tolom
        .start_payment(StartPayment {
            code: charge.code.as_str(),
            accepted_terms: Some(&terms.id),
            idempotency_key: "k",
            language: Language::En,
        })
        .await
        .unwrap();
    let p = tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "c")
        .await
        .unwrap();
    assert_eq!(p.state(), PaymentState::Declined);
    assert_eq!(p.decline_reason(), Some(DeclineReason::InsufficientFunds));
    // A replay does not reach the acquirer again (times(1) above).
    let again = tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "c")
        .await
        .unwrap();
    assert_eq!(again.state(), PaymentState::Declined);
}

#[tokio::test]
async fn reconcile_leaves_a_payment_alone_while_the_acquirer_says_pending() {
    let mut acquirer = MockAcquirer::new();
    acquirer.expect_name().return_const("mock".to_string());
    acquirer
        .expect_purchase()
        .returning(|_| Err(tolom_core::ports::AcquirerError::unknown("timeout")));
    acquirer
        .expect_status()
        .times(1)
        .returning(|_| Ok(OrderStatus::Pending));
    acquirer.expect_reverse().never();
    // Within `authorizing_stale_after` (2 minutes) the order is not
    // cancelled: the bank may still be answering.
    acquirer.expect_cancel().never();
    let h = tolom_testkit::fixtures::Harness::with_acquirer(Arc::new(acquirer), Default::default());
    let charge = h.charge("passport-2020", "A B").await;
    let terms = h.terms_id().await;
    let p = h
        .tolom
        .start_payment(StartPayment {
            code: charge.code.as_str(),
            accepted_terms: Some(&terms),
            idempotency_key: "k",
            language: Language::Ru,
        })
        .await
        .unwrap();
    let p = h
        .tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "c")
        .await
        .unwrap();
    assert_eq!(p.state(), PaymentState::Unknown);
    h.clock.advance(chrono::Duration::minutes(1));
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!((report.checked, report.unsettled), (1, 1));
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Unknown
    );
}

#[tokio::test]
async fn a_purchase_that_never_reached_the_acquirer_is_not_asked_about_again() {
    let mut acquirer = MockAcquirer::new();
    acquirer.expect_name().return_const("mock".to_string());
    acquirer.expect_purchase().times(1).returning(|_| {
        Err(tolom_core::ports::AcquirerError::not_sent(
            "connection refused",
        ))
    });
    // Neither reconciliation nor the late-approval sweep asks about it.
    acquirer.expect_status().never();
    let h = tolom_testkit::fixtures::Harness::with_acquirer(Arc::new(acquirer), Default::default());
    let charge = h.charge("passport-2020", "A B").await;
    let p = h.pay(&charge.code, "4111111111111111", "k").await;
    assert_eq!(p.state(), PaymentState::Failed);
    assert_eq!(p.acquirer(), None, "recorded as never sent");
    h.clock.advance(chrono::Duration::minutes(3));
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!((report.checked, report.recovered), (0, 0));
}
