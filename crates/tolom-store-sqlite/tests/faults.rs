//! Faults: an unreachable or locked database gives a typed, retryable
//! `Unavailable` and writes nothing; a transaction aborted half-way leaves
//! nothing of itself behind.

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use common::{card, open, World};
use sqlx::Connection;
use tolom_acquirer_sandbox::VISA_APPROVE;
use tolom_core::charge::ChargeStatus;
use tolom_core::errors::{StartPaymentError, SubmitCardError};
use tolom_core::payment::PaymentState;
use tolom_core::ports::{
    ChargeStore, EventLog, OutboxStore, PaymentQuery, PaymentStore, StoreError, TermsStore,
};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use uuid::Uuid;

fn unavailable<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(e @ StoreError::Unavailable(_)) => {
            assert!(e.is_retryable(), "Unavailable is retryable");
            e.to_string()
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_directory_is_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no-such-dir").join("tolom.db");
    let msg = unavailable(
        SqliteStore::open(path.to_str().expect("path"), SqliteOptions::default()).await,
    );
    assert!(
        !msg.contains("sqlx"),
        "no driver type in the message: {msg}"
    );
    assert!(!path.exists(), "nothing created");
}

#[tokio::test]
async fn a_directory_instead_of_a_file_is_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    unavailable(
        SqliteStore::open(dir.path().to_str().expect("path"), SqliteOptions::default()).await,
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0x42u8; 8192]).expect("write");
    unavailable(SqliteStore::open(path.to_str().expect("path"), SqliteOptions::default()).await);
}

#[tokio::test]
async fn a_missing_file_is_unavailable_when_creation_is_not_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.db");
    let options = SqliteOptions {
        create_if_missing: false,
        ..SqliteOptions::default()
    };
    unavailable(SqliteStore::open(path.to_str().expect("path"), options).await);
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_is_unavailable_for_every_port_and_keeps_what_was_committed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = World::new(dir.path()).await;
    let charge = w.charge().await;
    let terms = w.terms().await;
    let code = charge.code.to_string();
    let p = w
        .tolom
        .start_payment(World::start(&code, &terms, "k1"))
        .await
        .expect("start");
    w.store.close().await;

    // Every port, reads and writes.
    unavailable(w.store.charge(charge.id).await);
    unavailable(w.store.charge_by_code(&charge.code).await);
    unavailable(w.store.payment(p.id).await);
    unavailable(w.store.list_payments(&PaymentQuery::default()).await);
    unavailable(w.store.events_of(charge.id).await);
    unavailable(w.store.terms_editions().await);
    unavailable(w.store.outbox_list(None, 0).await);
    unavailable(
        w.store
            .claim_outbox(chrono::Utc::now(), chrono::Utc::now(), 1, "w")
            .await,
    );
    // Through the use cases, typed.
    match w
        .tolom
        .submit_card(p.id, &card(VISA_APPROVE, "123"), "s1")
        .await
    {
        Err(SubmitCardError::Store(e @ StoreError::Unavailable(_))) => assert!(e.is_retryable()),
        other => panic!("expected Store(Unavailable), got {other:?}"),
    }
    assert_eq!(
        w.acquirer.purchase_calls(),
        0,
        "nothing sent to the acquirer"
    );

    // Reopened: the committed state, nothing partial.
    let store = open(&w.path, SqliteOptions::default()).await;
    let stored = store.payment(p.id).await.expect("read").expect("payment");
    assert_eq!(stored, p, "the payment is exactly as committed");
    assert_eq!(
        store
            .charge(charge.id)
            .await
            .expect("read")
            .map(|c| c.status),
        Some(ChargeStatus::Unpaid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_process_is_unavailable_then_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SqliteOptions {
        busy_timeout: StdDuration::from_millis(200),
        ..SqliteOptions::default()
    };
    let w = World::with_options(dir.path(), options).await;
    let charge = w.charge().await;
    let terms = w.terms().await;
    let code = charge.code.to_string();

    // Another process holds the write lock.
    let mut other = common::raw(&w.path).await;
    let lock = other.begin_with("BEGIN IMMEDIATE").await.expect("lock");
    // Reads still work in WAL mode.
    assert!(w.store.charge(charge.id).await.expect("read").is_some());
    let started = std::time::Instant::now();
    match w
        .tolom
        .start_payment(World::start(&code, &terms, "while-locked"))
        .await
    {
        Err(StartPaymentError::Store(e @ StoreError::Unavailable(_))) => {
            assert!(e.is_retryable())
        }
        other => panic!("expected Store(Unavailable), got {other:?}"),
    }
    assert!(
        started.elapsed() >= StdDuration::from_millis(150),
        "it waited for the busy timeout first"
    );
    lock.rollback().await.expect("release");
    assert!(
        w.store
            .list_payments(&PaymentQuery {
                charge_id: Some(charge.id),
                ..PaymentQuery::default()
            })
            .await
            .expect("list")
            .is_empty(),
        "nothing was written"
    );
    // The same request, retried, goes through.
    let p = w
        .tolom
        .start_payment(World::start(&code, &terms, "while-locked"))
        .await
        .expect("retry after the lock is released");
    assert_eq!(p.state, PaymentState::Created);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_aborted_half_way_leaves_nothing_and_reconciliation_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = World::new(dir.path()).await;
    let charge = w.charge().await;
    let terms = w.terms().await;
    let code = charge.code.to_string();
    let p = w
        .tolom
        .start_payment(World::start(&code, &terms, "k"))
        .await
        .expect("start");

    // Test-only fault: the outbox refuses inserts, so the success
    // transaction fails after its payment update and charge update ran.
    let mut raw = common::raw(&w.path).await;
    sqlx::query(
        "CREATE TRIGGER test_refuse_outbox BEFORE INSERT ON outbox \
         BEGIN SELECT RAISE(ABORT, 'test: outbox refused'); END",
    )
    .execute(&mut raw)
    .await
    .expect("fault trigger");

    let r = w
        .tolom
        .submit_card(p.id, &card(VISA_APPROVE, "123"), "s")
        .await;
    assert!(
        matches!(r, Err(SubmitCardError::Store(StoreError::Invariant(ref m))) if m.contains("outbox refused")),
        "the failed commit is reported, got {r:?}"
    );
    assert_eq!(w.acquirer.inner.total_charges(), 1, "the acquirer approved");

    // Nothing of the failed transaction is visible.
    let stored = w.store.payment(p.id).await.expect("read").expect("payment");
    assert_eq!(
        stored.state,
        PaymentState::Authorizing,
        "the success was not written"
    );
    assert_eq!(stored.version, 2);
    assert_eq!(stored.receipt_number, None);
    assert_eq!(
        w.store
            .charge(charge.id)
            .await
            .expect("read")
            .map(|c| c.status),
        Some(ChargeStatus::Unpaid),
        "the charge update rolled back with it"
    );
    assert_eq!(w.store.outbox_list(None, 0).await.map(|v| v.len()), Ok(0));
    let kinds: Vec<String> = w
        .store
        .events_of(p.id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["payment.created", "payment.authorizing"]);
    let paid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE state = 'succeeded'")
        .fetch_one(&mut raw)
        .await
        .expect("count");
    assert_eq!(paid, 0);

    // The fault goes away; reconciliation settles the stuck payment from
    // the acquirer's status, with its outbox messages, and no second charge.
    sqlx::query("DROP TRIGGER test_refuse_outbox")
        .execute(&mut raw)
        .await
        .expect("drop trigger");
    w.clock.advance(Duration::minutes(3));
    let report = w.tolom.reconcile().await.expect("reconcile");
    assert_eq!(report.succeeded, 1, "{report:?}");
    let settled = w.tolom.payment(p.id).await.expect("payment");
    assert_eq!(settled.state, PaymentState::Succeeded);
    assert_eq!(
        w.store
            .charge(charge.id)
            .await
            .expect("read")
            .map(|c| c.status),
        Some(ChargeStatus::Paid)
    );
    assert_eq!(w.store.outbox_list(None, 0).await.map(|v| v.len()), Ok(2));
    assert_eq!(w.acquirer.inner.total_charges(), 1);
}

#[tokio::test]
async fn a_stale_writer_loses_and_nothing_of_its_update_is_written() {
    // Optimistic concurrency through the store directly: two updates from
    // one version; the loser's outbox message and event are not written.
    let dir = tempfile::tempdir().expect("tempdir");
    let w = World::new(dir.path()).await;
    let charge = w.charge().await;
    let terms = w.terms().await;
    let p = w
        .tolom
        .start_payment(World::start(charge.code.as_str(), &terms, "k"))
        .await
        .expect("start");
    let mut a = p.clone();
    a.expire(p.created_at).expect("expire");
    let mut b = p.clone();
    b.authorize("x".into(), None, None, "sandbox", p.created_at)
        .expect("authorize");
    let upd = |pay: &tolom_core::payment::Payment, kind: &str| tolom_core::ports::PaymentUpdate {
        payment: pay.clone(),
        charge: None,
        refund: None,
        events: vec![tolom_core::events::Event {
            id: Uuid::new_v4(),
            at: pay.updated_at,
            charge_id: pay.charge_id,
            payment_id: Some(pay.id),
            kind: kind.into(),
            data: serde_json::json!({}),
        }],
        outbox: vec![],
    };
    w.store
        .update_payment(&upd(&a, "first"))
        .await
        .expect("first wins");
    assert_eq!(
        w.store.update_payment(&upd(&b, "second")).await,
        Err(StoreError::Conflict)
    );
    let kinds: Vec<String> = w
        .store
        .events_of(p.id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(!kinds.contains(&"second".to_string()));
    let _ = Arc::new(());
}
