//! Many payers (and many portal instances) racing for one charge, through
//! the use cases (the testkit's `Harness` on each instance's store), the
//! PostgreSQL store and the sandbox acquirer: exactly one charge at the
//! acquirer, one succeeded payment, the charge Paid.

mod common;

use std::sync::Arc;
use std::time::Duration;

use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::charge::{ChargeStatus, NotPayable};
use tolom_core::errors::{StartPaymentError, SubmitCardError};
use tolom_core::i18n::Language;
use tolom_core::outbox::OutboxStatus;
use tolom_core::payment::PaymentState;
use tolom_core::ports::{ChargeStore, OutboxStore, PaymentQuery, PaymentStore};
use tolom_core::usecases::{Config, StartPayment};
use tolom_store_postgres::PostgresStore;
use tolom_testkit::fixtures::{card_form, Harness};
use uuid::Uuid;

/// One portal instance: the use cases on its own store (its own pool).
type Instance = Arc<Harness<PostgresStore>>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Paid(Uuid),
    AlreadyPaid,
}

/// What one payer does: start, pay, and start again when another payer's
/// start replaced theirs, until the charge is paid (by them or another).
async fn payer(h: Instance, code: String, terms: String, who: usize) -> Outcome {
    let tolom = &h.tolom;
    let mut replaced = 0u32;
    for attempt in 0..2000 {
        let start_key = format!("start-{who}-{attempt}");
        let started = tolom
            .start_payment(StartPayment {
                code: &code,
                accepted_terms: Some(&terms),
                idempotency_key: &start_key,
                language: Language::Ru,
            })
            .await;
        let payment = match started {
            Ok(p) => p,
            Err(StartPaymentError::NotPayable(NotPayable::AlreadyPaid)) => {
                return Outcome::AlreadyPaid
            }
            Err(StartPaymentError::InProgress { .. }) => {
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            Err(StartPaymentError::Store(e)) if e.is_temporary() => continue,
            Err(e) => panic!("payer {who}: start: {e:?}"),
        };
        let submitted = tolom
            .submit_card(
                payment.id(),
                &card_form(VISA_APPROVE),
                &format!("submit-{who}-{attempt}"),
            )
            .await;
        match submitted {
            Ok(p) if p.state() == PaymentState::Succeeded => return Outcome::Paid(p.id()),
            Ok(p) => panic!("payer {who}: payment ended {:?}", p.state()),
            // Another payer's start replaced this payment before the card
            // went out: nothing was charged; start again.
            Err(SubmitCardError::Expired | SubmitCardError::AlreadySubmitted) => {
                // Another payer's start replaced this one (the core expires a
                // `Created` payment when a new start comes). A payer does not
                // retry within the same millisecond: back off, longer each
                // time and differently per payer, so that the race settles
                // even on a loaded machine.
                replaced += 1;
                let base = 1u64 << replaced.min(5);
                let jitter = (who as u64 * 7 + attempt as u64 * 13) % 5;
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
                continue;
            }
            Err(SubmitCardError::NotPayable(NotPayable::AlreadyPaid)) => {
                return Outcome::AlreadyPaid
            }
            Err(SubmitCardError::Store(e)) if e.is_temporary() => continue,
            Err(e) => panic!("payer {who}: submit: {e:?}"),
        }
    }
    panic!("payer {who} never saw the charge settle")
}

async fn race(instances: Vec<Instance>, sandbox: &SandboxAcquirer) {
    let first = instances[0].clone();
    let charge = first
        .charge("passport-2020", "Сыдыкова Айгүл Бакытовна")
        .await;
    let terms = first.terms_id().await;
    let tasks: Vec<_> = (0..64)
        .map(|who| {
            let h = instances[who % instances.len()].clone();
            tokio::spawn(payer(h, charge.code.to_string(), terms.clone(), who))
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap_or_else(|e| panic!("task: {e}")));
    }
    let paid: Vec<Uuid> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Paid(id) => Some(*id),
            Outcome::AlreadyPaid => None,
        })
        .collect();
    assert_eq!(paid.len(), 1, "exactly one payer paid: {outcomes:?}");
    assert_eq!(sandbox.total_charges(), 1, "one charge at the acquirer");
    assert_eq!(
        sandbox.orders().len(),
        1,
        "the card reached the acquirer once"
    );
    assert_eq!(sandbox.charges(&paid[0].simple().to_string()), 1);
    // Every instance sees the same, consistent state.
    for h in &instances {
        let store = &h.store;
        let payments = store
            .list_payments(&PaymentQuery {
                charge_id: Some(charge.id),
                ..PaymentQuery::default()
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let succeeded: Vec<_> = payments
            .iter()
            .filter(|p| p.state() == PaymentState::Succeeded)
            .collect();
        assert_eq!(succeeded.len(), 1, "one succeeded payment");
        assert_eq!(succeeded[0].id(), paid[0]);
        assert!(
            payments.iter().all(|p| !p.state().is_in_flight()),
            "nothing left in flight: {:?}",
            payments.iter().map(|p| p.state()).collect::<Vec<_>>()
        );
        assert_eq!(
            store
                .charge(charge.id)
                .await
                .ok()
                .flatten()
                .map(|c| c.status),
            Some(ChargeStatus::Paid)
        );
        let outbox = store
            .outbox_list(Some(OutboxStatus::Pending), 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(outbox.len(), 2, "one receipt e-mail and one agency notice");
    }
}

/// A portal instance on `store` (each instance's clock stands at the same
/// fixed instant).
fn instance(store: PostgresStore, sandbox: Arc<SandboxAcquirer>) -> Instance {
    Arc::new(Harness::on(Arc::new(store), sandbox, Config::default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_payers_one_charge_one_pool() {
    let Some(db) = common::TestDb::connect_or_skip("64 payers, one pool").await else {
        return;
    };
    let (store, _guard) = db.fresh_with(16).await;
    let sandbox = Arc::new(SandboxAcquirer::for_tests());
    race(vec![instance(store, sandbox.clone())], &sandbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_payers_one_charge_two_portal_instances() {
    let Some(db) = common::TestDb::connect_or_skip("64 payers, two instances").await else {
        return;
    };
    let (a, guard) = db.fresh_with(10).await;
    let b = db.another_instance(&guard, 10).await;
    let sandbox = Arc::new(SandboxAcquirer::for_tests());
    race(
        vec![instance(a, sandbox.clone()), instance(b, sandbox.clone())],
        &sandbox,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replayed_idempotency_keys_give_one_payment_and_one_acquirer_call() {
    let Some(db) = common::TestDb::connect_or_skip("concurrent replays").await else {
        return;
    };
    let (a, guard) = db.fresh_with(10).await;
    let b = db.another_instance(&guard, 10).await;
    let sandbox = Arc::new(SandboxAcquirer::for_tests());
    let instances = [instance(a, sandbox.clone()), instance(b, sandbox.clone())];
    let charge = instances[0]
        .charge("id-card-2017", "Асанов Айбек Маратович")
        .await;
    let code = charge.code.to_string();
    let terms = instances[0].terms_id().await;

    // 32 replays of one start request, over two instances, at once.
    let starts: Vec<_> = (0..32)
        .map(|i| {
            let h = instances[i % 2].clone();
            let (code, terms) = (code.clone(), terms.clone());
            tokio::spawn(async move {
                h.tolom
                    .start_payment(StartPayment {
                        code: &code,
                        accepted_terms: Some(&terms),
                        idempotency_key: "start-once",
                        language: Language::Ky,
                    })
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for s in starts {
        let p = s
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("replayed start: {e:?}"));
        ids.push(p.id());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every replay returns the same payment");
    let payment_id = ids[0];

    // 32 replays of one card submission, over two instances, at once.
    let submits: Vec<_> = (0..32)
        .map(|i| {
            let h = instances[i % 2].clone();
            tokio::spawn(async move {
                h.tolom
                    .submit_card(payment_id, &card_form(VISA_APPROVE), "submit-once")
                    .await
            })
        })
        .collect();
    let mut raced = 0;
    for s in submits {
        match s.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(p) => {
                assert_eq!(p.id(), payment_id);
                assert!(
                    matches!(
                        p.state(),
                        PaymentState::Authorizing | PaymentState::Succeeded
                    ),
                    "a replay sees the payment in progress or done, got {:?}",
                    p.state()
                );
            }
            // The core checks the replayed key only when it first reads the
            // payment: a replay that read it before another replay's success
            // and the charge after it answers "already paid" (a core race,
            // reported; nothing is charged twice).
            Err(SubmitCardError::NotPayable(NotPayable::AlreadyPaid)) => raced += 1,
            Err(e) => panic!("replayed submit: {e:?}"),
        }
    }
    assert!(raced < 32, "at least one replay returned the payment");
    assert_eq!(sandbox.orders().len(), 1, "one call reached the acquirer");
    assert_eq!(sandbox.total_charges(), 1, "one charge");
    // Replayed once more, later: the final result.
    let again = instances[1]
        .tolom
        .submit_card(payment_id, &card_form(VISA_APPROVE), "submit-once")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(again.state(), PaymentState::Succeeded);
    let listed = instances[1]
        .store
        .list_payments(&PaymentQuery {
            charge_id: Some(charge.id),
            ..PaymentQuery::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed.len(), 1, "one payment stored");
}
