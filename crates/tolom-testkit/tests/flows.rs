//! The use cases end to end on in-memory adapters: the seed's flow and
//! every bad input a payer can cause.

use chrono::Duration;
use tolom_core::card::CardForm;
use tolom_core::charge::ChargeStatus;
use tolom_core::errors::*;
use tolom_core::i18n::{ErrorCode, Language};
use tolom_core::money::Money;
use tolom_core::outbox::OutboxStatus;
use tolom_core::payment::{Challenge, ChallengeResponse, DeclineReason, PaymentState};
use tolom_core::ports::*;
use tolom_core::ports::{Notification, Notifier, NotifyError};
use tolom_core::terms::TermsEdition;
use tolom_core::usecases::StartPayment;
use tolom_testkit::fake::Script;
use tolom_testkit::fixtures::{card_form, Harness};

fn start<'a>(code: &'a str, terms: &'a str, key: &'a str) -> StartPayment<'a> {
    StartPayment {
        code,
        accepted_terms: Some(terms),
        idempotency_key: key,
        language: Language::Ky,
    }
}

#[tokio::test]
async fn pays_a_code_end_to_end_with_receipt_email_and_agency_notice() {
    let (h, acquirer) = Harness::with_fake();
    let charge = h.charge("passport-2020", "Асанов Айбек Маратович").await;
    let view = h.tolom.look_up(&charge.code.grouped()).await.unwrap();
    assert_eq!(view.payer, "Асанов А.");
    assert_eq!(view.amount, Money::som(885));
    assert_eq!(view.status, ChargeStatus::Unpaid);
    assert_eq!(view.not_payable, None);
    let terms = h.terms_id().await;
    let p = h.start(&charge.code, "start-1").await;
    assert_eq!(p.state(), PaymentState::Created);
    assert_eq!(
        p.terms_edition(),
        terms,
        "the payment records the edition accepted"
    );
    let p = h
        .tolom
        .submit_card(p.id(), &card_form("4111 1111 1111 1111"), "card-1")
        .await
        .unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert_eq!(acquirer.charges(), 1);
    let view = h.tolom.look_up(charge.code.as_str()).await.unwrap();
    assert_eq!(view.status, ChargeStatus::Paid);
    assert_eq!(
        view.not_payable.map(|t| t.code()),
        Some("charge.already_paid")
    );
    let receipt = h.tolom.receipt(p.id()).await.unwrap();
    assert_eq!(receipt.total, Money::som(885));
    assert_eq!(
        receipt.masked_pan.as_ref().map(|m| m.as_str()),
        Some("4111********1111")
    );
    assert!(tolom_core::ports::receipt_signature_ok(
        &receipt,
        h.tolom.signer().as_ref()
    ));
    let text = receipt.to_text(Language::Ru);
    assert!(
        text.contains("Квитанция №") && text.contains("885.00 KGS") && text.contains("(UTC+06:00)"),
        "{text}"
    );
    assert!(!text.contains("4111111111111111"));
    let verified = h
        .tolom
        .verify_receipt(&receipt.number, &receipt.signature)
        .await
        .unwrap();
    assert_eq!(verified.map(|r| r.number), Some(receipt.number.clone()));
    assert!(
        h.tolom
            .verify_receipt(&receipt.number, "AAAA")
            .await
            .unwrap()
            .is_none(),
        "a forged signature is not genuine"
    );
    // Outbox: written with the success, delivered by the dispatcher.
    let report = h.tolom.dispatch_outbox("w1", 10).await.unwrap();
    assert_eq!(report.delivered, 2);
    assert_eq!(h.email.delivered().len(), 1);
    assert_eq!(h.webhook.delivered().len(), 1);
    assert_eq!(
        h.tolom.dispatch_outbox("w1", 10).await.unwrap().delivered,
        0,
        "delivered once"
    );
}

#[tokio::test]
async fn three_d_secure_one_time_code() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::Otp("123456".into())]);
    let charge = h.charge("meken-card", "Ivanova Anna").await;
    let p = h.pay(&charge.code, "5555555555554444", "s").await;
    assert_eq!(p.state(), PaymentState::ActionRequired);
    assert!(matches!(p.challenge(), Some(Challenge::Otp { .. })));
    let p = h
        .tolom
        .complete_challenge(p.id(), &ChallengeResponse::otp("123456"))
        .await
        .unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert_eq!(p.total(), Money::som(11_315));
    // Again: idempotent.
    let again = h
        .tolom
        .complete_challenge(p.id(), &ChallengeResponse::otp("123456"))
        .await
        .unwrap();
    assert_eq!(again.state(), PaymentState::Succeeded);
    assert_eq!(acquirer.charges(), 1);
}

#[tokio::test]
async fn wrong_one_time_code_declines_and_the_payer_can_try_again() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::Otp("123456".into())]);
    let charge = h.charge("id-card-2017", "Асанов Айбек").await;
    let p = h.pay(&charge.code, "4111111111111111", "s1").await;
    let p = h
        .tolom
        .complete_challenge(p.id(), &ChallengeResponse::otp("000000"))
        .await
        .unwrap();
    assert_eq!(p.state(), PaymentState::Declined);
    assert_eq!(
        p.decline_reason(),
        Some(DeclineReason::AuthenticationFailed)
    );
    let p2 = h.pay(&charge.code, "4111111111111111", "s2").await;
    assert_eq!(p2.state(), PaymentState::Succeeded);
}

#[tokio::test]
async fn bad_codes_each_get_their_own_error() {
    let (h, _) = Harness::with_fake();
    let charge = h.charge("passport-2020", "Асанов Айбек").await;
    let code = charge.code.as_str().to_string();
    let mut typo = code.clone().into_bytes();
    typo[4] = if typo[4] == b'9' { b'0' } else { typo[4] + 1 };
    let typo = String::from_utf8(typo).unwrap();
    let unknown = h
        .tolom
        .config()
        .code_format
        .generate(tolom_core::code::ServiceFamily::MekenCard, 424242)
        .unwrap();
    let cases = [
        ("", "code.empty"),
        ("11AB00000000", "code.invalid_characters"),
        ("1100", "code.length"),
        ("990000000000", "code.prefix"),
        (typo.as_str(), "code.check_digit"),
        (unknown.as_str(), "code.not_found"),
    ];
    for (input, expected) in cases {
        let err = h.tolom.look_up(input).await.unwrap_err();
        assert_eq!(err.code(), expected, "{input:?}");
        for lang in Language::ALL {
            assert!(!err.message(lang).is_empty());
        }
    }
}

#[tokio::test]
async fn expired_paid_and_cancelled_codes_are_refused() {
    let (h, _) = Harness::with_fake();
    let terms = h.terms_id().await;
    let paid = h.charge("passport-2020", "A B").await;
    let p = h.start(&paid.code, "p").await;
    h.tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "pc")
        .await
        .unwrap();
    let err = h
        .tolom
        .start_payment(start(paid.code.as_str(), &terms, "p2"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "charge.already_paid");
    // Replaying the original start key still returns the paid payment.
    assert_eq!(
        h.tolom
            .start_payment(start(paid.code.as_str(), &terms, "p"))
            .await
            .unwrap()
            .id(),
        p.id()
    );

    let cancelled = h.charge("passport-2020", "C D").await;
    h.tolom.cancel_charge(&cancelled.code).await.unwrap();
    let err = h
        .tolom
        .start_payment(start(cancelled.code.as_str(), &terms, "c"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "charge.cancelled");

    let expiring = h.charge("passport-2020", "E F").await;
    h.clock.advance(Duration::days(31));
    let err = h
        .tolom
        .start_payment(start(expiring.code.as_str(), &terms, "e"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "charge.expired");
    assert_eq!(
        h.tolom
            .look_up(expiring.code.as_str())
            .await
            .unwrap()
            .status,
        ChargeStatus::Expired
    );
    let report = h.tolom.expire_stale().await.unwrap();
    assert_eq!(report.charges_expired, 1);
}

#[tokio::test]
async fn terms_must_be_accepted_and_current() {
    let (h, _) = Harness::with_fake();
    let charge = h.charge("passport-2020", "A B").await;
    let req = StartPayment {
        code: charge.code.as_str(),
        accepted_terms: None,
        idempotency_key: "k",
        language: Language::En,
    };
    assert_eq!(
        h.tolom.start_payment(req).await.unwrap_err().code(),
        "terms.not_accepted"
    );
    let old = h.terms_id().await;
    let mut next = TermsEdition::seed_edition();
    next.id = "2026-11-25".into();
    next.effective_at = tolom_core::ports::Clock::now(h.clock.as_ref());
    next.published_at = next.effective_at;
    h.tolom.publish_terms(next).await.unwrap();
    let err = h
        .tolom
        .start_payment(start(charge.code.as_str(), &old, "k"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "terms.outdated");
    let p = h
        .tolom
        .start_payment(start(charge.code.as_str(), "2026-11-25", "k"))
        .await
        .unwrap();
    assert_eq!(p.terms_edition(), "2026-11-25");
}

#[tokio::test]
async fn idempotency_keys() {
    let (h, acquirer) = Harness::with_fake();
    let terms = h.terms_id().await;
    let a = h.charge("passport-2020", "A B").await;
    let b = h.charge("passport-2020", "C D").await;
    let p = h.start(&a.code, "key-1").await;
    let same = h.start(&a.code, "key-1").await;
    assert_eq!(p.id(), same.id(), "same key, same payment");
    assert_eq!(
        h.tolom
            .start_payment(start(b.code.as_str(), &terms, "key-1"))
            .await
            .unwrap_err()
            .code(),
        "idempotency.key_reused"
    );
    assert_eq!(
        h.tolom
            .start_payment(start(a.code.as_str(), &terms, "bad key!"))
            .await
            .unwrap_err()
            .code(),
        "idempotency.key_invalid"
    );
    let paid = h
        .tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "card-1")
        .await
        .unwrap();
    let replay = h
        .tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "card-1")
        .await
        .unwrap();
    assert_eq!(paid, replay, "same key: same result");
    assert_eq!(
        acquirer.purchase_calls(),
        1,
        "no second call to the acquirer"
    );
    let other = h
        .tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "card-2")
        .await
        .unwrap_err();
    assert_eq!(other.code(), "payment.already_submitted");
    assert_eq!(acquirer.charges(), 1);
}

#[tokio::test]
async fn a_second_payment_while_one_is_in_flight_is_refused() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::Otp("1".into())]);
    let terms = h.terms_id().await;
    let c = h.charge("passport-2020", "A B").await;
    let p = h.start(&c.code, "k1").await;
    // A payer filling the card form holds the code: a stranger's start is
    // refused, with when to try again.
    let held = h
        .tolom
        .start_payment(start(c.code.as_str(), &terms, "k2"))
        .await
        .unwrap_err();
    assert_eq!(held.code(), "charge.payment_in_progress");
    let window = h.tolom.config().card_entry_window;
    assert!(matches!(
        held,
        tolom_core::errors::StartPaymentError::InProgress { payment_id, retry_after: Some(at) }
            if payment_id == p.id() && at == p.created_at() + window
    ));
    // The payer's own start (same key) gets their payment.
    assert_eq!(h.start(&c.code, "k1").await.id(), p.id());
    // Once the card-entry window is over, a new start supersedes it.
    h.clock.advance(window);
    let p2 = h.start(&c.code, "k2").await;
    assert_ne!(p.id(), p2.id());
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Expired
    );
    assert_eq!(
        h.tolom
            .submit_card(p.id(), &card_form("4111111111111111"), "x")
            .await
            .unwrap_err()
            .code(),
        "payment.expired"
    );
    // One in 3-D Secure blocks others.
    let p2 = h
        .tolom
        .submit_card(p2.id(), &card_form("4111111111111111"), "c2")
        .await
        .unwrap();
    assert_eq!(p2.state(), PaymentState::ActionRequired);
    let err = h
        .tolom
        .start_payment(start(c.code.as_str(), &terms, "k3"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "charge.payment_in_progress");
}

#[tokio::test]
async fn card_errors_come_all_at_once_and_change_nothing() {
    let (h, acquirer) = Harness::with_fake();
    let c = h.charge("passport-2020", "A B").await;
    let p = h.start(&c.code, "k").await;
    let bad = CardForm {
        holder: "Айбек".into(),
        pan: "4111111111111112".into(),
        expiry: "01/20".into(),
        cvv: "1".into(),
        phone: "x".into(),
        email: "y".into(),
    };
    let err = h.tolom.submit_card(p.id(), &bad, "c").await.unwrap_err();
    let SubmitCardError::Invalid(errors) = err else {
        panic!("expected field errors")
    };
    assert_eq!(errors.0.len(), 6);
    assert_eq!(h.tolom.payment(p.id()).await.unwrap(), p, "nothing written");
    assert_eq!(acquirer.purchase_calls(), 0);
    for (pan, code) in [
        ("4111111111111", "card.pan_luhn"),
        ("3000000000000004", "card.brand_unknown"),
        ("41111111111", "card.pan_length"),
    ] {
        let err = h
            .tolom
            .submit_card(p.id(), &card_form(pan), "c")
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{pan}");
    }
    // Then the corrected form goes through.
    assert_eq!(
        h.tolom
            .submit_card(p.id(), &card_form("4111111111111111"), "c")
            .await
            .unwrap()
            .state(),
        PaymentState::Succeeded
    );
}

#[tokio::test]
async fn unknown_outcome_is_reconciled_without_a_second_charge() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::ApproveThenTimeout]);
    let terms = h.terms_id().await;
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k").await;
    assert_eq!(p.state(), PaymentState::Unknown);
    assert_eq!(
        h.tolom
            .start_payment(start(c.code.as_str(), &terms, "k2"))
            .await
            .unwrap_err()
            .code(),
        "charge.payment_in_progress"
    );
    acquirer.fail_status(1);
    let r = h.tolom.reconcile().await.unwrap();
    assert_eq!(
        (r.checked, r.unsettled),
        (1, 1),
        "an unreachable acquirer leaves it unsettled"
    );
    let r = h.tolom.reconcile().await.unwrap();
    assert_eq!((r.checked, r.succeeded), (1, 1));
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Succeeded
    );
    assert_eq!(acquirer.charges(), 1);
    assert_eq!(
        h.tolom.look_up(c.code.as_str()).await.unwrap().status,
        ChargeStatus::Paid
    );
}

#[tokio::test]
async fn technical_error_before_processing_fails_cleanly() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::NotSent]);
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k").await;
    assert_eq!(p.state(), PaymentState::Failed);
    assert_eq!(p.failure(), Some("payment.acquirer_unavailable"));
    let p2 = h.start(&c.code, "k2").await;
    assert_eq!(
        h.tolom
            .submit_card(p2.id(), &card_form("4111111111111111"), "c2")
            .await
            .unwrap()
            .state(),
        PaymentState::Succeeded
    );
}

#[tokio::test]
async fn abandoned_payments_expire_and_abandoned_challenges_ask_the_acquirer() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::Otp("1".into())]);
    let c1 = h.charge("passport-2020", "A B").await;
    let c2 = h.charge("passport-2020", "C D").await;
    let p1 = h.start(&c1.code, "k1").await;
    let p2 = h.pay(&c2.code, "4111111111111111", "k2").await;
    assert_eq!(p2.state(), PaymentState::ActionRequired);
    h.clock.advance(Duration::minutes(31));
    let r = h.tolom.expire_stale().await.unwrap();
    assert_eq!(r.payments_expired, 2, "{r:?}");
    assert_eq!(
        h.tolom.payment(p1.id()).await.unwrap().state(),
        PaymentState::Expired
    );
    assert_eq!(
        h.tolom.payment(p2.id()).await.unwrap().state(),
        PaymentState::Expired
    );
    // Both codes can be paid again.
    let again = h.start(&c2.code, "k3").await;
    assert_eq!(again.state(), PaymentState::Created);
}

#[tokio::test]
async fn refunds_full_partial_idempotent_and_bounded() {
    let (h, acquirer) = Harness::with_fake();
    let c = h.charge("meken-card", "Ivanova Anna").await;
    let p = h.start(&c.code, "k").await;
    h.tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "c")
        .await
        .unwrap();
    let r1 = h
        .tolom
        .refund(
            p.id(),
            Some(Money::som(1_315)),
            "production cancelled",
            "r1",
        )
        .await
        .unwrap();
    assert_eq!(r1.state, tolom_core::payment::RefundState::Succeeded);
    let again = h
        .tolom
        .refund(
            p.id(),
            Some(Money::som(1_315)),
            "production cancelled",
            "r1",
        )
        .await
        .unwrap();
    assert_eq!(again.id, r1.id, "same key, same refund");
    let over = h
        .tolom
        .refund(p.id(), Some(Money::som(10_001)), "x", "r2")
        .await
        .unwrap_err();
    assert_eq!(over.code(), "refund.exceeds_paid");
    let zero = h
        .tolom
        .refund(p.id(), Some(Money::som(0)), "x", "r3")
        .await
        .unwrap_err();
    assert_eq!(zero.code(), "refund.amount_invalid");
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::PartiallyRefunded
    );
    let rest = h
        .tolom
        .refund(p.id(), None, "service cancelled", "r4")
        .await
        .unwrap();
    assert_eq!(rest.amount, Money::som(10_000));
    let paid = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(paid.state(), PaymentState::Refunded);
    assert_eq!(paid.refunded(), Money::som(11_315));
    assert_eq!(
        h.tolom
            .refund(p.id(), None, "x", "r5")
            .await
            .unwrap_err()
            .code(),
        "refund.not_refundable"
    );
    assert_eq!(
        h.tolom.look_up(c.code.as_str()).await.unwrap().status,
        ChargeStatus::Unpaid,
        "a full refund reopens the charge"
    );
    assert_eq!(acquirer.charges(), 1);
    let notices = h
        .store
        .outbox_list(Some(OutboxStatus::Pending), 0)
        .await
        .unwrap();
    assert_eq!(notices.len(), 4, "receipt, paid notice, two refund notices");
}

#[tokio::test]
async fn outbox_retries_with_back_off_and_ends_in_dead_letters() {
    let (h, _) = Harness::with_fake();
    let c = h.charge("passport-2020", "A B").await;
    let p = h.start(&c.code, "k").await;
    h.tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "c")
        .await
        .unwrap();
    h.email.fail_next(100, true);
    let r = h.tolom.dispatch_outbox("w", 10).await.unwrap();
    assert_eq!((r.delivered, r.retried), (1, 1));
    assert_eq!(
        h.tolom.dispatch_outbox("w", 10).await.unwrap(),
        Default::default(),
        "not due before its back-off"
    );
    for minutes in [1, 5, 60, 24 * 60] {
        h.clock.advance(Duration::minutes(minutes));
        assert_eq!(
            h.tolom.dispatch_outbox("w", 10).await.unwrap().retried,
            1,
            "retry after {minutes} min"
        );
    }
    h.clock.advance(Duration::days(2));
    assert_eq!(
        h.tolom.dispatch_outbox("w", 10).await.unwrap().dead,
        1,
        "dead after the last retry"
    );
    let dead = h
        .store
        .outbox_list(Some(OutboxStatus::Dead), 0)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 6);
    h.email.fail_next(0, true);
    let (operator, me) = h.operator();
    operator
        .retry_outbox(&me, &[dead[0].id], false)
        .await
        .unwrap();
    assert_eq!(
        h.tolom.dispatch_outbox("w", 10).await.unwrap().delivered,
        1,
        "an operator's retry delivers"
    );
    assert_eq!(h.email.delivered().len(), 1);
}

#[tokio::test]
async fn every_payment_event_is_recorded_without_card_data() {
    let (h, _) = Harness::with_fake();
    let c = h.charge("passport-2020", "A B").await;
    let p = h.start(&c.code, "k").await;
    h.tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "c")
        .await
        .unwrap();
    let kinds: Vec<String> = h
        .store
        .events_of(p.id())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "payment.created",
            "payment.authorizing",
            "payment.succeeded"
        ]
    );
    let everything = format!("{:?}{:?}", h.store.all_events(), h.store.all_payments());
    assert!(!everything.contains("4111111111111111"));
    assert!(everything.contains("4111********1111"));
}

/// A receiver so slow that each delivery takes 20 s of the clock.
struct SlowReceiver {
    clock: std::sync::Arc<tolom_testkit::clock::ManualClock>,
    channel: tolom_core::outbox::Channel,
    got: std::sync::Mutex<u32>,
}

#[async_trait::async_trait]
impl Notifier for SlowReceiver {
    fn channel(&self) -> tolom_core::outbox::Channel {
        self.channel
    }
    async fn deliver(&self, _id: uuid::Uuid, _n: &Notification) -> Result<(), NotifyError> {
        self.clock.advance(Duration::seconds(20));
        *self.got.lock().unwrap() += 1;
        Ok(())
    }
}

#[tokio::test]
async fn a_slow_batch_stops_before_its_lease_runs_out() {
    use std::sync::Arc;
    use tolom_core::outbox::Channel;
    let clock = Arc::new(tolom_testkit::clock::ManualClock::fixed());
    let store = Arc::new(tolom_testkit::memory::InMemoryStore::new());
    let email = Arc::new(SlowReceiver {
        clock: clock.clone(),
        channel: Channel::Email,
        got: Default::default(),
    });
    let hook = Arc::new(SlowReceiver {
        clock: clock.clone(),
        channel: Channel::Webhook,
        got: Default::default(),
    });
    let tolom = tolom_core::Tolom::builder()
        .store(store.clone())
        .acquirer(Arc::new(tolom_testkit::fake::FakeAcquirer::new()))
        .clock(clock.clone())
        .signer(Arc::new(tolom_testkit::fixtures::test_signer()))
        .notifier(email.clone())
        .notifier(hook.clone())
        .build()
        .unwrap();
    let terms = tolom.terms_in_force().await.unwrap().id;
    for i in 0..2 {
        let charge = tolom
            .issue_charge(tolom_core::usecases::IssueCharge {
                service: "passport-2020".into(),
                urgency: None,
                amount: None,
                payer: "A B".into(),
                code: None,
                expires_at: tolom_core::ports::Clock::now(clock.as_ref()) + Duration::days(1),
                agency_ref: None,
            })
            .await
            .unwrap();
        let p = tolom
            .start_payment(start(charge.code.as_str(), &terms, &format!("s{i}")))
            .await
            .unwrap();
        tolom
            .submit_card(p.id(), &card_form("4111111111111111"), &format!("c{i}"))
            .await
            .unwrap();
    }
    // Four messages, 20 s each, a 60 s lease: three go, the fourth waits.
    let report = tolom.dispatch_outbox("w", 10).await.unwrap();
    assert_eq!((report.delivered, report.deferred), (3, 1), "{report:?}");
    // It is claimable again once the lease has run out, and goes then.
    assert_eq!(tolom.dispatch_outbox("w", 10).await.unwrap().delivered, 1);
    let total = *email.got.lock().unwrap() + *hook.got.lock().unwrap();
    assert_eq!(total, 4, "each message delivered exactly once");
}

#[tokio::test]
async fn a_late_approval_is_recovered_not_lost() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::LoseRequest]);
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k").await;
    assert_eq!(p.state(), PaymentState::Unknown);
    h.clock.advance(Duration::minutes(3));
    h.tolom.reconcile().await.unwrap();
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Failed,
        "the acquirer had no such order"
    );
    // The request reaches the bank after all and is approved.
    acquirer.approve_late(&p.order_number(), p.total());
    let r = h.tolom.reconcile().await.unwrap();
    assert_eq!(r.recovered, 1, "{r:?}");
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert!(p.receipt_number().is_some());
    assert_eq!(
        h.tolom.look_up(c.code.as_str()).await.unwrap().status,
        ChargeStatus::Paid
    );
    assert_eq!(acquirer.charges(), 1);
}

#[tokio::test]
async fn a_late_approval_of_an_already_paid_code_is_reversed() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::LoseRequest, Script::Approve]);
    let c = h.charge("passport-2020", "A B").await;
    let p1 = h.pay(&c.code, "4111111111111111", "k1").await;
    h.clock.advance(Duration::minutes(3));
    h.tolom.reconcile().await.unwrap();
    let p2 = h.start(&c.code, "k2").await;
    assert_eq!(
        h.tolom
            .submit_card(p2.id(), &card_form("4111111111111111"), "c2")
            .await
            .unwrap()
            .state(),
        PaymentState::Succeeded
    );
    acquirer.approve_late(&p1.order_number(), p1.total());
    assert_eq!(acquirer.charges(), 2, "the bank charged twice");
    let r = h.tolom.reconcile().await.unwrap();
    assert_eq!(r.recovered, 0);
    assert_eq!((r.duplicates, r.duplicates_returned), (1, 1), "{r:?}");
    assert_eq!(
        acquirer.charges(),
        1,
        "the second charge was reversed at once"
    );
    let kinds: Vec<String> = h
        .store
        .events_of(p1.id())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert!(
        kinds.contains(&"payment.duplicate".to_string())
            && kinds.contains(&"payment.duplicate_reversed".to_string()),
        "{kinds:?}"
    );
    let p1 = h.tolom.payment(p1.id()).await.unwrap();
    assert_eq!(p1.state(), PaymentState::Returned);
    assert!(p1.refunded().is_zero(), "reversed, not refunded");
    assert_eq!(p1.receipt_number(), None, "no receipt for a duplicate");
    assert_eq!(
        h.store.charge(c.id).await.unwrap().unwrap().status,
        ChargeStatus::Paid,
        "the charge stays paid by the second payment"
    );
}

/// Two payers' cards charged for one code, and the bank will not reverse
/// the second charge (too late in the day): it is refunded instead, the
/// agency hears nothing of it (its code stays paid by the first), and it
/// is not announced as paid.
#[tokio::test]
async fn a_duplicate_the_bank_will_not_reverse_is_refunded_whole() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::LoseRequest, Script::Approve]);
    acquirer.refuse_reverse(true);
    let c = h.charge("passport-2020", "A B").await;
    let p1 = h.pay(&c.code, "4111111111111111", "k1").await;
    h.clock.advance(Duration::minutes(3));
    h.tolom.reconcile().await.unwrap();
    let p2 = h.pay(&c.code, "4111111111111111", "k2").await;
    assert_eq!(p2.state(), PaymentState::Succeeded);
    let messages_before = h.store.outbox_list(None, 0).await.unwrap().len();
    acquirer.approve_late(&p1.order_number(), p1.total());
    let r = h.tolom.reconcile().await.unwrap();
    assert_eq!((r.duplicates, r.duplicates_returned), (1, 1), "{r:?}");
    let p1 = h.tolom.payment(p1.id()).await.unwrap();
    assert_eq!(p1.state(), PaymentState::Returned);
    assert_eq!(p1.refunded(), p1.total(), "refunded in full");
    let refunds = h.store.refunds_of(p1.id()).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        refunds[0].state,
        tolom_core::payment::RefundState::Succeeded
    );
    assert_eq!(
        acquirer.status(&p1.order_number()).await,
        Ok(OrderStatus::Refunded {
            approval: p1.approval().cloned().unwrap(),
            refunded: p1.total()
        })
    );
    assert_eq!(
        h.store.outbox_list(None, 0).await.unwrap().len(),
        messages_before,
        "no receipt e-mail, no agency notice for a duplicate"
    );
    assert_eq!(
        h.store.charge(c.id).await.unwrap().unwrap().status,
        ChargeStatus::Paid
    );
}

/// A duplicate the bank will neither reverse nor refund (yet) stays
/// `Duplicate`, and is tried again with back-off: no acquirer call for it
/// on the rounds in between (one status call per failed payment every
/// round is what the sweep used to do for two hours). Reports and the
/// operator see it; the operator can give it back at once.
#[tokio::test]
async fn a_duplicate_that_cannot_be_given_back_yet_is_retried_with_back_off() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::LoseRequest, Script::Approve]);
    acquirer.refuse_reverse(true);
    acquirer.refuse_refund(true);
    let c = h.charge("passport-2020", "A B").await;
    let p1 = h.pay(&c.code, "4111111111111111", "k1").await;
    h.clock.advance(Duration::minutes(3));
    h.tolom.reconcile().await.unwrap();
    h.pay(&c.code, "4111111111111111", "k2").await;
    acquirer.approve_late(&p1.order_number(), p1.total());
    let r = h.tolom.reconcile().await.unwrap();
    assert_eq!((r.duplicates, r.duplicates_open), (1, 1), "{r:?}");
    let dup = h.tolom.payment(p1.id()).await.unwrap();
    assert_eq!(dup.state(), PaymentState::Duplicate);
    assert_eq!(dup.return_attempts(), 1);
    let first_retry = dup.next_return_at().unwrap();
    assert_eq!(
        first_retry - tolom_core::ports::Clock::now(h.clock.as_ref()),
        tolom_core::usecases::return_backoff(1)
    );
    // Rounds within the back-off: nothing is asked about the duplicate.
    let calls = acquirer.calls();
    for _ in 0..5 {
        h.clock.advance(Duration::seconds(10));
        let r = h.tolom.reconcile().await.unwrap();
        assert_eq!(r.duplicates_open, 1, "{r:?}");
    }
    assert_eq!(
        acquirer.calls(),
        calls,
        "no status, reverse or refund call between attempts"
    );
    // Due: one attempt (reverse, refund, a status), then the next back-off.
    h.clock.advance(Duration::seconds(20));
    h.tolom.reconcile().await.unwrap();
    let (s0, v0, f0) = calls;
    assert_eq!(acquirer.calls(), (s0 + 1, v0 + 1, f0 + 1));
    let dup = h.tolom.payment(p1.id()).await.unwrap();
    assert_eq!(dup.return_attempts(), 2);
    assert_eq!(
        dup.next_return_at().unwrap() - tolom_core::ports::Clock::now(h.clock.as_ref()),
        tolom_core::usecases::return_backoff(2),
        "the back-off grows"
    );
    // Operators see it, with why.
    let (operator, who) = h.operator();
    let open = operator.open_duplicates(&who).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].payment_id, p1.id());
    assert_eq!(open[0].attempts, 2);
    assert!(
        open[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("refunds refused"),
        "{:?}",
        open[0].last_error
    );
    let backlog = operator.backlog(&who).await.unwrap();
    assert_eq!(backlog.duplicates_open, 1);
    // The bank takes refunds again: the operator gives it back now,
    // whatever the back-off says.
    acquirer.refuse_refund(false);
    let done = operator.return_duplicate(&who, p1.id()).await.unwrap();
    assert_eq!(done.outcome, tolom_core::usecases::ReturnOutcome::Refunded);
    assert_eq!(done.payment.state(), PaymentState::Returned);
    assert!(operator.open_duplicates(&who).await.unwrap().is_empty());
    let refund_event = h
        .store
        .events_of(p1.id())
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.kind == tolom_core::events::EventKind::RefundRequested)
        .unwrap();
    assert_eq!(refund_event.actor, who.actor(), "the operator's action");
    assert!(operator.return_duplicate(&who, p1.id()).await.is_err());
}

/// The bank refunded an order (its back office) after tolom closed the
/// payment: the late-approval sweep does not turn it into a success (which
/// would announce to the agency a fee that was given back).
#[tokio::test]
async fn an_order_refunded_at_the_bank_is_not_recovered_as_paid() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::LoseRequest]);
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k").await;
    h.clock.advance(Duration::minutes(3));
    h.tolom.reconcile().await.unwrap();
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Failed
    );
    acquirer.approve_late(&p.order_number(), p.total());
    acquirer.refund_at_bank(&p.order_number(), p.total());
    let messages_before = h.store.outbox_list(None, 0).await.unwrap().len();
    let r = h.tolom.reconcile().await.unwrap();
    assert_eq!(r.recovered, 0, "{r:?}");
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Failed
    );
    assert_eq!(
        h.store.charge(c.id).await.unwrap().unwrap().status,
        ChargeStatus::Unpaid,
        "the code is still to be paid"
    );
    assert_eq!(
        h.store.outbox_list(None, 0).await.unwrap().len(),
        messages_before,
        "nothing announced"
    );
    // Refunded in part is not paid either.
    let p2 = h.pay(&c.code, "4111111111111111", "k2").await;
    assert_eq!(p2.state(), PaymentState::Succeeded);
    let (s, _, _) = acquirer.calls();
    assert!(s > 0);
}

/// A payment in flight whose order the bank reports refunded, or only
/// pre-authorised (held, not taken), is never settled as paid: refunded
/// closes it, held waits and, once the payer's time is over, the hold is
/// released and the payment closed.
#[tokio::test]
async fn refunded_and_pre_authorised_orders_are_not_paid() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::LoseRequest, Script::LoseRequest]);
    let c1 = h.charge("passport-2020", "A B").await;
    let refunded = h.pay(&c1.code, "4111111111111111", "k1").await;
    let c2 = h.charge("passport-2020", "C D").await;
    let held = h.pay(&c2.code, "4111111111111111", "k2").await;
    assert_eq!(refunded.state(), PaymentState::Unknown);
    acquirer.approve_late(&refunded.order_number(), refunded.total());
    acquirer.refund_at_bank(&refunded.order_number(), Money::som(100));
    acquirer.hold_late(&held.order_number(), held.total());
    h.tolom.reconcile().await.unwrap();
    let closed = h.tolom.payment(refunded.id()).await.unwrap();
    assert_eq!(closed.state(), PaymentState::Failed);
    assert_eq!(closed.failure(), Some("payment.refunded_at_acquirer"));
    assert_eq!(
        h.tolom.payment(held.id()).await.unwrap().state(),
        PaymentState::Unknown,
        "held, not paid: waiting"
    );
    h.clock.advance(h.tolom.config().authorizing_stale_after);
    h.tolom.reconcile().await.unwrap();
    let released = h.tolom.payment(held.id()).await.unwrap();
    assert_eq!(released.state(), PaymentState::Failed);
    assert_eq!(released.failure(), Some("payment.held_at_acquirer"));
    assert_eq!(
        acquirer.status(&held.order_number()).await,
        Ok(OrderStatus::Reversed),
        "the hold is released at the bank"
    );
    for c in [c1, c2] {
        assert_eq!(
            h.store.charge(c.id).await.unwrap().unwrap().status,
            ChargeStatus::Unpaid
        );
    }
}

/// An open challenge past its window is closed on the acquirer's word: the
/// order is cancelled there (even when the acquirer would not reverse it),
/// the payment expires, and a payer who answers afterwards is told the
/// session is over and is not charged.
#[tokio::test]
async fn an_open_challenge_past_its_window_is_cancelled_and_a_late_answer_charges_nothing() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::Otp("123456".into())]);
    acquirer.refuse_reverse(true);
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k").await;
    h.clock.advance(Duration::minutes(45));
    let r = h.tolom.expire_stale().await.unwrap();
    assert_eq!(r.payments_expired, 1, "{r:?}");
    assert_eq!(
        acquirer.status(&p.order_number()).await,
        Ok(OrderStatus::Reversed),
        "cancelled at the acquirer"
    );
    let late = h
        .tolom
        .complete_challenge(p.id(), &ChallengeResponse::otp("123456"))
        .await
        .unwrap_err();
    assert_eq!(late.code(), "payment.expired");
    assert_eq!(acquirer.charges(), 0, "nothing was charged");
}

/// A card the bank never processed (a crash or a 5xx between registering
/// the order and paying it) does not hold the code until the gateway's own
/// session timeout: once the payment is stuck for `authorizing_stale_after`,
/// the order is cancelled at the gateway on its word "not paid", the payment
/// fails and the code is free.
#[tokio::test]
async fn an_order_the_bank_never_processed_is_closed_within_minutes() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::RegisterOnly]);
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k1").await;
    assert_eq!(p.state(), PaymentState::Unknown);
    h.tolom.reconcile().await.unwrap();
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Unknown,
        "not yet: a request may still be on its way"
    );
    h.clock.advance(h.tolom.config().authorizing_stale_after);
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let closed = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(closed.state(), PaymentState::Failed);
    assert_eq!(closed.failure(), Some("payment.acquirer_unavailable"));
    assert_eq!(
        acquirer.status(&p.order_number()).await,
        Ok(OrderStatus::Reversed),
        "the order is cancelled at the gateway: nothing can be paid on it any more"
    );
    // The code is free at once, and the second payment pays it.
    let again = h.pay(&c.code, "4111111111111111", "k2").await;
    assert_eq!(again.state(), PaymentState::Succeeded);
    assert_eq!(acquirer.charges(), 1);
}

/// A payer who left the bank's challenge page: once the challenge window is
/// over the order is cancelled and the payment expires — whether or not the
/// gateway ever times its orders out.
#[tokio::test]
async fn an_abandoned_challenge_is_closed_when_its_window_ends() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::Otp("123456".into())]);
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k1").await;
    assert_eq!(p.state(), PaymentState::ActionRequired);
    h.clock.advance(h.tolom.config().authorizing_stale_after);
    h.tolom.reconcile().await.unwrap();
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::ActionRequired,
        "the payer still has the challenge window"
    );
    h.clock
        .advance(p.expires_at() - tolom_core::ports::Clock::now(h.clock.as_ref()));
    h.tolom.reconcile().await.unwrap();
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Expired
    );
    assert_eq!(
        acquirer.status(&p.order_number()).await,
        Ok(OrderStatus::Reversed)
    );
}

/// A gateway that will not cancel an unpaid order: the payment closes anyway
/// (the gateway's word is "not paid", and the code must not stay blocked),
/// with its own failure, and the order is watched for days: an approval that
/// comes hours later is recovered, not lost.
#[tokio::test]
async fn an_order_the_gateway_will_not_cancel_is_watched_for_a_late_approval() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.refuse_cancel(true);
    acquirer.script([Script::RegisterOnly]);
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k1").await;
    h.clock.advance(h.tolom.config().authorizing_stale_after);
    h.tolom.reconcile().await.unwrap();
    let closed = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(closed.state(), PaymentState::Failed);
    assert_eq!(closed.failure(), Some("payment.order_left_open"));
    // Hours later, past the usual late-approval window, the order is paid.
    h.clock.advance(Duration::hours(5));
    acquirer.approve_late(&p.order_number(), p.total());
    let report = h.tolom.reconcile().await.unwrap();
    assert_eq!(report.recovered, 1, "{report:?}");
    assert_eq!(
        h.tolom.payment(p.id()).await.unwrap().state(),
        PaymentState::Succeeded
    );
    assert_eq!(
        h.store.charge(c.id).await.unwrap().unwrap().status,
        ChargeStatus::Paid
    );
}
