//! Property test: arbitrary sequences of payer, operator and background
//! commands — payments made elsewhere (a bank's app, ELQR) among them —
//! never break the invariants.

use chrono::Duration;
use futures::executor::block_on;
use proptest::prelude::*;
use tolom_core::charge::{Charge, ChargeStatus};
use tolom_core::external::{ExternalState, PaymentChannel};
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::payment::{ChallengeResponse, DeclineReason, PaymentState, RefundState};
use tolom_core::ports::ChargeStore;
use tolom_core::ports::PaymentStore;
use tolom_core::ports::{Clock, ExternalPaymentStore, ExternalQuery};
use tolom_core::usecases::operator::ExternalReport;
use tolom_core::usecases::StartPayment;
use tolom_testkit::fake::Script;
use tolom_testkit::fixtures::{card_form, Harness};
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Cmd {
    Start {
        charge: usize,
        key: u8,
    },
    Submit {
        slot: usize,
        script: u8,
        key: u8,
    },
    Challenge {
        slot: usize,
        right: bool,
    },
    Refund {
        slot: usize,
        som: u64,
        key: u8,
    },
    Cancel {
        charge: usize,
    },
    /// A payment of the charge made elsewhere is reported (`reference`
    /// picks one of a few, so that some reports are sent again).
    External {
        charge: usize,
        reference: u8,
    },
    Advance {
        minutes: i64,
    },
    Reconcile,
    Expire,
    Dispatch,
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        4 => (0..3usize, 0..6u8).prop_map(|(charge, key)| Cmd::Start { charge, key }),
        4 => (0..8usize, 0..6u8, 0..3u8).prop_map(|(slot, script, key)| Cmd::Submit { slot, script, key }),
        2 => (0..8usize, any::<bool>()).prop_map(|(slot, right)| Cmd::Challenge { slot, right }),
        2 => (0..8usize, 1..1000u64, 0..3u8).prop_map(|(slot, som, key)| Cmd::Refund { slot, som, key }),
        1 => (0..3usize).prop_map(|charge| Cmd::Cancel { charge }),
        2 => (0..3usize, 0..3u8).prop_map(|(charge, reference)| Cmd::External { charge, reference }),
        1 => (1..90i64).prop_map(|minutes| Cmd::Advance { minutes }),
        1 => Just(Cmd::Reconcile),
        1 => Just(Cmd::Expire),
        1 => Just(Cmd::Dispatch),
    ]
}

/// Checks the invariants. `settled` says every unknown outcome has been
/// reconciled, so charges at the acquirer must equal succeeded payments.
async fn check(h: &Harness, charges: &[Charge], charged: u32, settled: bool) {
    let payments = h.store.all_payments();
    let mut ever_paid = 0;
    let mut unsure = 0;
    for c in charges {
        let mine: Vec<_> = payments.iter().filter(|p| p.charge_id() == c.id).collect();
        let paid = mine.iter().filter(|p| p.state().is_paid()).count();
        let in_flight = mine.iter().filter(|p| p.state().is_in_flight()).count();
        assert!(paid <= 1, "two paid payments for one charge: {mine:?}");
        assert!(
            in_flight <= 1,
            "two payments in flight for one charge: {mine:?}"
        );
        let elsewhere = h
            .store
            .list_external_payments(&ExternalQuery {
                charge_id: Some(c.id),
                ..ExternalQuery::default()
            })
            .await
            .unwrap();
        let accepted = elsewhere
            .iter()
            .filter(|p| p.state == ExternalState::Accepted)
            .count();
        assert!(
            paid + accepted <= 1,
            "a charge paid by two things: {mine:?} {elsewhere:?}"
        );
        let stored = h.store.charge(c.id).await.unwrap().unwrap();
        assert_eq!(
            stored.status == ChargeStatus::Paid,
            paid + accepted == 1,
            "charge Paid ⇔ a paid payment or one made elsewhere: {stored:?} {mine:?} {elsewhere:?}"
        );
        for p in &elsewhere {
            assert_eq!(p.amount, c.amount, "paid elsewhere: the charge's amount");
        }
        for p in &mine {
            assert_eq!(p.amount(), c.amount, "amount fixed after creation");
            assert_eq!(p.total(), p.amount().checked_add(p.fee()).unwrap());
            let committed = p.refunded().checked_add(p.refund_pending()).unwrap();
            assert!(
                committed <= p.total(),
                "refunds exceed what was paid: {p:?}"
            );
            let refunds = h.store.refunds_of(p.id()).await.unwrap();
            let done = refunds
                .iter()
                .filter(|r| r.state == RefundState::Succeeded)
                .try_fold(Money::zero(p.total().currency()), |a, r| {
                    a.checked_add(r.amount)
                })
                .unwrap();
            assert_eq!(
                done,
                p.refunded(),
                "refund records add up to the payment's refunded amount"
            );
            if matches!(
                p.state(),
                PaymentState::Succeeded | PaymentState::PartiallyRefunded | PaymentState::Refunded
            ) {
                ever_paid += 1;
            }
            if matches!(p.state(), PaymentState::Unknown | PaymentState::Authorizing) {
                unsure += 1;
            }
            assert_ne!(
                p.state(),
                PaymentState::Duplicate,
                "a duplicate is given back at once (the fake acquirer reverses): {p:?}"
            );
        }
    }
    assert!(
        charged >= ever_paid,
        "a succeeded payment without a charge at the acquirer"
    );
    assert!(
        charged <= ever_paid + unsure,
        "a charge at the acquirer with no payment that may have succeeded"
    );
    if settled {
        assert_eq!(unsure, 0, "reconciliation settles every unknown outcome");
        assert_eq!(charged, ever_paid, "every charge at the acquirer is one succeeded payment (no double charge, no lost success)");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn invariants_hold_under_any_sequence(cmds in prop::collection::vec(cmd(), 1..40)) {
        block_on(async {
            let (h, acquirer) = Harness::with_fake();
            let mut charges = Vec::new();
            for (i, (service, payer)) in tolom_testkit::fixtures::SAMPLE_PAYERS.iter().take(3).enumerate() {
                let _ = i;
                charges.push(h.charge(service, payer).await);
            }
            let terms = h.terms_id().await;
            let mut slots: Vec<Uuid> = Vec::new();
            for c in cmds {
                match c {
                    Cmd::Start { charge, key } => {
                        let code = charges[charge].code.to_string();
                        let key = format!("start-{charge}-{key}");
                        if let Ok(p) = h.tolom.start_payment(StartPayment {
                            code: &code, accepted_terms: Some(&terms), idempotency_key: &key, language: Language::Ru,
                        }).await {
                            if !slots.contains(&p.id()) { slots.push(p.id()); }
                        }
                    }
                    Cmd::Submit { slot, script, key } => {
                        let Some(id) = slots.get(slot).copied() else { continue };
                        acquirer.script([match script {
                            0 => Script::Approve,
                            1 => Script::Decline(DeclineReason::InsufficientFunds),
                            2 => Script::Otp("111".into()),
                            3 => Script::ApproveThenTimeout,
                            4 => Script::LoseRequest,
                            _ => Script::NotSent,
                        }]);
                        let _ = h.tolom.submit_card(id, &card_form("4111111111111111"), &format!("card-{key}")).await;
                        // Drop an unused script step so the next submit decides afresh.
                        acquirer.script(std::iter::empty());
                    }
                    Cmd::Challenge { slot, right } => {
                        let Some(id) = slots.get(slot).copied() else { continue };
                        let otp = if right { "111" } else { "999" };
                        let _ = h.tolom.complete_challenge(id, &ChallengeResponse::otp(otp)).await;
                    }
                    Cmd::Refund { slot, som, key } => {
                        let Some(id) = slots.get(slot).copied() else { continue };
                        let _ = h.tolom.refund(id, Some(Money::som(som)), "test", &format!("refund-{key}")).await;
                    }
                    Cmd::Cancel { charge } => { let _ = h.tolom.cancel_charge(&charges[charge].code).await; }
                    Cmd::External { charge, reference } => {
                        let (op, cli) = h.operator();
                        let c = &charges[charge];
                        let _ = op.record_external_payment(&cli, ExternalReport {
                            code: c.code.to_string(),
                            channel: PaymentChannel::Elqr,
                            reference: format!("ELQR-{charge}-{reference}"),
                            amount: c.amount,
                            paid_at: h.clock.now(),
                        }).await;
                    }
                    Cmd::Advance { minutes } => h.clock.advance(Duration::minutes(minutes)),
                    Cmd::Reconcile => { let _ = h.tolom.reconcile().await; }
                    Cmd::Expire => { let _ = h.tolom.expire_stale().await; }
                    Cmd::Dispatch => { let _ = h.tolom.dispatch_outbox("w", 10).await; }
                }
                check(&h, &charges, acquirer.charges(), false).await;
            }
            h.clock.advance(Duration::minutes(5));
            h.tolom.reconcile().await.unwrap();
            check(&h, &charges, acquirer.charges(), true).await;
        });
    }
}
