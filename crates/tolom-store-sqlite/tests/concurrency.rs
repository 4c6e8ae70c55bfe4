//! Many payers at once through `Tolom` on a SQLite file: one charge at the
//! acquirer, one succeeded payment, idempotent replays, and no `SQLITE_BUSY`
//! reaching a payer.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{card, World};
use tolom_acquirer_sandbox::VISA_APPROVE;
use tolom_core::charge::ChargeStatus;
use tolom_core::errors::{StartPaymentError, SubmitCardError};
use tolom_core::i18n::Language;
use tolom_core::payment::{Payment, PaymentState};
use tolom_core::ports::{ChargeStore, PaymentQuery, PaymentStore, StoreError};
use tolom_core::usecases::StartPayment;

fn start<'a>(code: &'a str, terms: &'a str, key: &'a str) -> StartPayment<'a> {
    StartPayment {
        code,
        accepted_terms: Some(terms),
        idempotency_key: key,
        language: Language::Ru,
    }
}

#[derive(Debug)]
enum Outcome {
    StartFailed(StartPaymentError),
    Submitted(Box<Result<Payment, SubmitCardError>>),
}

fn store_error(o: &Outcome) -> Option<&StoreError> {
    match o {
        Outcome::StartFailed(StartPaymentError::Store(e)) => Some(e),
        Outcome::Submitted(r) => match r.as_ref() {
            Err(SubmitCardError::Store(e)) => Some(e),
            _ => None,
        },
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_payers_race_for_one_charge_and_exactly_one_pays() {
    let w = Arc::new(World::new().await);
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let terms = w.h.terms_id().await;
    let code = charge.code.to_string();

    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let w = w.clone();
            let code = code.clone();
            let terms = terms.clone();
            tokio::spawn(async move {
                let start_key = format!("start-{i}");
                match w
                    .h
                    .tolom
                    .start_payment(start(&code, &terms, &start_key))
                    .await
                {
                    Err(e) => Outcome::StartFailed(e),
                    Ok(p) => Outcome::Submitted(Box::new(
                        w.h.tolom
                            .submit_card(p.id(), &card(VISA_APPROVE, "123"), &format!("submit-{i}"))
                            .await,
                    )),
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("task"));
    }

    let unavailable: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(store_error(o), Some(StoreError::Unavailable(_))))
        .collect();
    assert!(
        unavailable.is_empty(),
        "no payer may see the database as unavailable (SQLITE_BUSY): {unavailable:?}"
    );
    for o in &outcomes {
        // Every failure is one a payer can be shown: in progress, already
        // paid, superseded (expired), or a retryable conflict.
        match o {
            Outcome::StartFailed(e) => assert!(
                matches!(
                    e,
                    StartPaymentError::InProgress { .. }
                        | StartPaymentError::NotPayable(_)
                        | StartPaymentError::Store(StoreError::Conflict)
                ),
                "unexpected start failure: {e:?}"
            ),
            Outcome::Submitted(r) => assert!(
                matches!(
                    r.as_ref(),
                    Ok(_)
                        | Err(SubmitCardError::Expired)
                        | Err(SubmitCardError::AlreadySubmitted)
                        | Err(SubmitCardError::NotPayable(_))
                ),
                "unexpected submit result: {r:?}"
            ),
        }
    }
    let winners: Vec<&Payment> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Submitted(r) => r.as_ref().as_ref().ok(),
            _ => None,
        })
        .filter(|p| p.state() == PaymentState::Succeeded)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one payer sees a success");

    assert_eq!(
        w.acquirer.inner.total_charges(),
        1,
        "exactly one charge at the acquirer"
    );
    assert_eq!(
        w.acquirer.purchase_calls(),
        1,
        "exactly one purchase call reached the acquirer"
    );
    let payments = w
        .store()
        .list_payments(&PaymentQuery {
            charge_id: Some(charge.id),
            ..PaymentQuery::default()
        })
        .await
        .expect("list");
    let succeeded: Vec<&Payment> = payments
        .iter()
        .filter(|p| p.state() == PaymentState::Succeeded)
        .collect();
    assert_eq!(succeeded.len(), 1, "exactly one succeeded payment stored");
    assert_eq!(succeeded[0].id(), winners[0].id());
    assert!(
        payments.iter().all(|p| !p.state().is_in_flight()),
        "nothing is left in flight: {:?}",
        payments.iter().map(|p| p.state()).collect::<Vec<_>>()
    );
    let stored = w
        .store()
        .charge(charge.id)
        .await
        .expect("charge")
        .expect("exists");
    assert_eq!(stored.status, ChargeStatus::Paid, "the charge is Paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replayed_idempotency_keys_return_one_payment_and_call_the_acquirer_once() {
    let w = Arc::new(World::new().await);
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let terms = w.h.terms_id().await;
    let code = charge.code.to_string();

    // 16 concurrent starts with one key.
    let starts: Vec<_> = (0..16)
        .map(|_| {
            let w = w.clone();
            let code = code.clone();
            let terms = terms.clone();
            tokio::spawn(async move {
                w.h.tolom
                    .start_payment(start(&code, &terms, "same-start-key"))
                    .await
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for t in starts {
        let p = t.await.expect("task").expect("a replayed start succeeds");
        ids.insert(p.id());
    }
    assert_eq!(ids.len(), 1, "every replay returns the same payment");
    let payment_id = *ids.iter().next().expect("one id");
    let stored = w
        .store()
        .list_payments(&PaymentQuery {
            charge_id: Some(charge.id),
            ..PaymentQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(stored.len(), 1, "one payment row");

    // 16 concurrent submissions with one key.
    let submits: Vec<_> = (0..16)
        .map(|_| {
            let w = w.clone();
            tokio::spawn(async move {
                w.h.tolom
                    .submit_card(payment_id, &card(VISA_APPROVE, "123"), "same-submit-key")
                    .await
            })
        })
        .collect();
    for t in submits {
        let p = t.await.expect("task").expect("a replayed submit succeeds");
        assert_eq!(p.id(), payment_id, "the same payment");
        assert!(
            matches!(
                p.state(),
                PaymentState::Authorizing | PaymentState::Succeeded
            ),
            "a replay sees the payment in progress or done, got {:?}",
            p.state()
        );
    }
    assert_eq!(w.acquirer.purchase_calls(), 1, "one acquirer call");
    let order =
        w.h.tolom
            .payment(payment_id)
            .await
            .expect("payment")
            .order_number();
    assert_eq!(w.acquirer.inner.charges(&order), 1, "one charge");
    assert_eq!(w.acquirer.inner.total_charges(), 1);
    let done = w.h.tolom.payment(payment_id).await.expect("payment");
    assert_eq!(done.state(), PaymentState::Succeeded);
    assert_eq!(
        done.version(),
        3,
        "created, authorizing, succeeded: no extra writes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_charges_paid_at_once_never_surface_busy() {
    // Writers from many tasks on different charges: all queue for the one
    // writer connection; none fails.
    let w = Arc::new(World::new().await);
    let terms = w.h.terms_id().await;
    let mut codes = Vec::new();
    for _ in 0..32 {
        codes.push(
            w.h.charge(common::SERVICE, common::PAYER)
                .await
                .code
                .to_string(),
        );
    }
    let tasks: Vec<_> = codes
        .into_iter()
        .enumerate()
        .map(|(i, code)| {
            let w = w.clone();
            let terms = terms.clone();
            tokio::spawn(async move {
                let p =
                    w.h.tolom
                        .start_payment(start(&code, &terms, &format!("s{i}")))
                        .await
                        .expect("start");
                let p =
                    w.h.tolom
                        .submit_card(p.id(), &card(VISA_APPROVE, "123"), &format!("c{i}"))
                        .await
                        .expect("submit");
                let _ = w.h.tolom.receipt(p.id()).await.expect("receipt");
                w.h.tolom
                    .dispatch_outbox(&format!("w{i}"), 4)
                    .await
                    .expect("dispatch");
                p
            })
        })
        .collect();
    for t in tasks {
        let p = t.await.expect("task");
        assert_eq!(p.state(), PaymentState::Succeeded);
    }
    assert_eq!(w.acquirer.inner.total_charges(), 32);
    assert_eq!(Arc::strong_count(&w), 1, "every task has ended");
}
