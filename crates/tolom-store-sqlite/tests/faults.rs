//! Faults, and the kind each one is reported as:
//!
//! - temporary (`Unavailable`, `is_temporary()`): a database locked by
//!   another process, a closed store — nothing was written, a retry goes
//!   through;
//! - permanent (`Broken`, not temporary): a missing directory or file, a
//!   directory in the file's place, a file that is not a database, a
//!   corrupted file, a read-only database, a stored row that does not read
//!   back into a valid value (a full disk: `src/error.rs`'s tests);
//! - a transaction aborted half-way leaves nothing of itself behind.

mod common;

use std::time::Duration as StdDuration;

use chrono::Duration;
use common::{card, open, open_err, World};
use sqlx::Connection;
use tolom_acquirer_sandbox::VISA_APPROVE;
use tolom_core::charge::ChargeStatus;
use tolom_core::errors::{StartPaymentError, SubmitCardError};
use tolom_core::events::{Event, EventKind};
use tolom_core::i18n::Language;
use tolom_core::payment::{Payment, PaymentState};
use tolom_core::ports::{
    ChargeStore, EventLog, InvariantKind, OutboxStore, PaymentQuery, PaymentStore, PaymentUpdate,
    StoreError, TermsStore,
};
use tolom_core::usecases::StartPayment;
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use uuid::Uuid;

/// The message of an `Unavailable`, checked temporary.
fn unavailable<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(e @ StoreError::Unavailable(_)) => {
            assert!(e.is_temporary(), "Unavailable is temporary");
            e.to_string()
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// The message of a `Broken`, checked permanent and free of driver types.
fn broken(e: StoreError) -> String {
    match e {
        e @ StoreError::Broken(_) => {
            assert!(!e.is_temporary(), "Broken is permanent");
            let m = e.to_string();
            assert!(!m.contains("sqlx"), "no driver type in the message: {m}");
            m
        }
        other => panic!("expected Broken, got {other:?}"),
    }
}

fn broken_result<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Ok(v) => panic!("expected Broken, got Ok({v:?})"),
        Err(e) => broken(e),
    }
}

#[tokio::test]
async fn a_missing_directory_is_broken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no-such-dir").join("tolom.db");
    broken(open_err(&path, SqliteOptions::default()).await);
    assert!(!path.exists(), "nothing created");
}

#[tokio::test]
async fn a_directory_instead_of_a_file_is_broken() {
    let dir = tempfile::tempdir().expect("tempdir");
    broken(open_err(dir.path(), SqliteOptions::default()).await);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_broken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0x42u8; 8192]).expect("write");
    let m = broken(open_err(&path, SqliteOptions::default()).await);
    assert!(m.contains("(26)"), "SQLITE_NOTADB: {m}");
}

#[tokio::test]
async fn a_missing_file_is_broken_when_creation_is_not_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.db");
    let options = SqliteOptions {
        create_if_missing: false,
        ..SqliteOptions::default()
    };
    broken(open_err(&path, options).await);
    assert!(!path.exists());
}

#[tokio::test]
async fn a_bad_location_is_broken() {
    broken(
        SqliteStore::open("sqlite://x.db?mode=nonsense", SqliteOptions::default())
            .await
            .err()
            .unwrap_or_else(|| panic!("opened")),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_file_is_broken() {
    let w = World::new().await;
    let path = w.path.clone();
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    w.store().close().await; // checkpoints the WAL into the file
                             // Overwrite the pages of the charges table with garbage.
    let mut raw = common::raw(&path).await;
    // Whatever is still in the WAL goes into the file first, so that the
    // table's pages are where the file says.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut raw)
        .await
        .expect("checkpoint");
    let (root, page_size): (i64, i64) = (
        sqlx::query_scalar("SELECT rootpage FROM sqlite_master WHERE name = 'charges'")
            .fetch_one(&mut raw)
            .await
            .expect("root page"),
        sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&mut raw)
            .await
            .expect("page size"),
    );
    raw.close().await.expect("close");
    let mut bytes = std::fs::read(&path).expect("read");
    let start = usize::try_from((root - 1) * page_size).expect("offset");
    let end = start + usize::try_from(page_size).expect("size");
    assert!(end <= bytes.len(), "the page is in the file");
    bytes[start..end].fill(0xA5);
    std::fs::write(&path, bytes).expect("write");

    match SqliteStore::open(path.to_str().expect("path"), SqliteOptions::default()).await {
        Err(e) => {
            broken(e);
        }
        Ok(store) => {
            let m = broken_result(store.charge_by_code(&charge.code).await);
            assert!(m.contains("(11)"), "SQLITE_CORRUPT: {m}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_broken_for_writes_and_serves_reads() {
    let w = World::new().await;
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let url = format!("sqlite://{}?mode=ro", w.path.display());
    let ro = SqliteStore::open(&url, SqliteOptions::default())
        .await
        .expect("a migrated database opens read-only");
    assert!(
        ro.charge(charge.id).await.expect("read").is_some(),
        "reads still work"
    );
    let ev = Event {
        id: Uuid::new_v4(),
        at: charge.issued_at,
        charge_id: charge.id,
        payment_id: None,
        kind: EventKind::ChargeCancelled,
        actor: "system".into(),
        data: serde_json::json!({}),
    };
    let m = broken_result(
        ro.set_charge_status(
            charge.id,
            ChargeStatus::Unpaid,
            ChargeStatus::Cancelled,
            &ev,
            &[],
        )
        .await,
    );
    assert!(m.contains("(8)"), "SQLITE_READONLY: {m}");
    assert_eq!(
        w.store()
            .charge(charge.id)
            .await
            .map(|c| c.map(|c| c.status)),
        Ok(Some(ChargeStatus::Unpaid)),
        "nothing written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_rows_that_do_not_read_back_are_broken() {
    let w = World::new().await;
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let paid = w.h.pay(&charge.code, VISA_APPROVE, "k").await;
    assert_eq!(paid.state(), PaymentState::Succeeded);
    let mut raw = common::raw(&w.path).await;
    // An event of a kind this build does not know.
    common::exec(
        &mut raw,
        &format!(
            "INSERT INTO events (id, at, charge_id, kind, actor, data) VALUES \
             ('{}', '2026-11-25T12:00:00.000000000Z', '{}', 'charge.teleported', 'system', '{{}}')",
            Uuid::new_v4(),
            charge.id
        ),
    )
    .await;
    let m = broken_result(w.store().events_of(charge.id).await);
    assert!(m.contains("event kind"), "{m}");
    // A succeeded payment without its approval: the schema allows the
    // column to be NULL, `Payment::restore` does not.
    common::exec(
        &mut raw,
        &format!(
            "UPDATE payments SET approval = NULL WHERE id = '{}'",
            paid.id()
        ),
    )
    .await;
    broken_result(w.store().payment(paid.id()).await);
    broken_result(w.store().list_payments(&PaymentQuery::default()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_is_unavailable_for_every_port_and_keeps_what_was_committed() {
    let w = World::new().await;
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let p = w.h.start(&charge.code, "k1").await;
    w.store().close().await;

    // Every port, reads and writes.
    let store = w.store();
    unavailable(store.charge(charge.id).await);
    unavailable(store.charge_by_code(&charge.code).await);
    unavailable(store.payment(p.id()).await);
    unavailable(store.list_payments(&PaymentQuery::default()).await);
    unavailable(store.events_of(charge.id).await);
    unavailable(store.terms_editions().await);
    unavailable(store.outbox_list(None, 0).await);
    unavailable(
        store
            .claim_outbox(chrono::Utc::now(), chrono::Utc::now(), 1, "w")
            .await,
    );
    // Through the use cases, typed.
    match w
        .h
        .tolom
        .submit_card(p.id(), &card(VISA_APPROVE, "123"), "s1")
        .await
    {
        Err(SubmitCardError::Store(e @ StoreError::Unavailable(_))) => assert!(e.is_temporary()),
        other => panic!("expected Store(Unavailable), got {other:?}"),
    }
    assert_eq!(
        w.acquirer.purchase_calls(),
        0,
        "nothing sent to the acquirer"
    );

    // Reopened: the committed state, nothing partial.
    let store = open(&w.path, SqliteOptions::default()).await;
    let stored = store.payment(p.id()).await.expect("read").expect("payment");
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
    let w = World::with_options(SqliteOptions {
        busy_timeout: StdDuration::from_millis(200),
        ..SqliteOptions::default()
    })
    .await;
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let terms = w.h.terms_id().await;
    let start = || StartPayment {
        code: charge.code.as_str(),
        accepted_terms: Some(&terms),
        idempotency_key: "while-locked",
        language: Language::Ru,
    };

    // Another process holds the write lock.
    let mut other = common::raw(&w.path).await;
    let lock = other.begin_with("BEGIN IMMEDIATE").await.expect("lock");
    // Reads still work in WAL mode.
    assert!(w.store().charge(charge.id).await.expect("read").is_some());
    let started = std::time::Instant::now();
    match w.h.tolom.start_payment(start()).await {
        Err(StartPaymentError::Store(e @ StoreError::Unavailable(_))) => {
            assert!(e.is_temporary())
        }
        other => panic!("expected Store(Unavailable), got {other:?}"),
    }
    assert!(
        started.elapsed() >= StdDuration::from_millis(150),
        "it waited for the busy timeout first"
    );
    lock.rollback().await.expect("release");
    assert!(
        w.store()
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
    let p =
        w.h.tolom
            .start_payment(start())
            .await
            .expect("retry after the lock is released");
    assert_eq!(p.state(), PaymentState::Created);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_aborted_half_way_leaves_nothing_and_reconciliation_recovers() {
    let w = World::new().await;
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let p = w.h.start(&charge.code, "k").await;

    // Test-only fault: the outbox refuses inserts, so the success
    // transaction fails after its payment update and charge update ran.
    let mut raw = common::raw(&w.path).await;
    common::exec(
        &mut raw,
        "CREATE TRIGGER test_refuse_outbox BEFORE INSERT ON outbox \
         BEGIN SELECT RAISE(ABORT, 'test: outbox refused'); END",
    )
    .await;

    let r =
        w.h.tolom
            .submit_card(p.id(), &card(VISA_APPROVE, "123"), "s")
            .await;
    match &r {
        Err(SubmitCardError::Store(e)) => {
            // A trigger tolom does not know: a constraint, by its text.
            assert_eq!(e.invariant_kind(), Some(InvariantKind::Constraint), "{e}");
            assert!(e.to_string().contains("outbox refused"), "{e}");
        }
        other => panic!("the failed commit is reported, got {other:?}"),
    }
    assert_eq!(w.acquirer.inner.total_charges(), 1, "the acquirer approved");

    // Nothing of the failed transaction is visible.
    let stored = w
        .store()
        .payment(p.id())
        .await
        .expect("read")
        .expect("payment");
    assert_eq!(
        stored.state(),
        PaymentState::Authorizing,
        "the success was not written"
    );
    assert_eq!(stored.version(), 2);
    assert_eq!(stored.receipt_number(), None);
    assert_eq!(
        w.store()
            .charge(charge.id)
            .await
            .expect("read")
            .map(|c| c.status),
        Some(ChargeStatus::Unpaid),
        "the charge update rolled back with it"
    );
    assert_eq!(w.store().outbox_list(None, 0).await.map(|v| v.len()), Ok(0));
    let kinds: Vec<EventKind> = w
        .store()
        .events_of(p.id())
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [EventKind::PaymentCreated, EventKind::PaymentAuthorizing]
    );
    let paid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE state = 'succeeded'")
        .fetch_one(&mut raw)
        .await
        .expect("count");
    assert_eq!(paid, 0);

    // The fault goes away; reconciliation settles the stuck payment from
    // the acquirer's status, with its outbox messages, and no second charge.
    common::exec(&mut raw, "DROP TRIGGER test_refuse_outbox").await;
    w.h.clock.advance(Duration::minutes(3));
    let report = w.h.tolom.reconcile().await.expect("reconcile");
    assert_eq!(report.succeeded, 1, "{report:?}");
    let settled = w.h.tolom.payment(p.id()).await.expect("payment");
    assert_eq!(settled.state(), PaymentState::Succeeded);
    assert_eq!(
        w.store()
            .charge(charge.id)
            .await
            .expect("read")
            .map(|c| c.status),
        Some(ChargeStatus::Paid)
    );
    assert_eq!(w.store().outbox_list(None, 0).await.map(|v| v.len()), Ok(2));
    assert_eq!(w.acquirer.inner.total_charges(), 1);
}

#[tokio::test]
async fn a_stale_writer_loses_and_nothing_of_its_update_is_written() {
    // Optimistic concurrency through the store directly: two updates from
    // one version; the loser's event is not written.
    let w = World::new().await;
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let p = w.h.start(&charge.code, "k").await;
    let mut a = p.clone();
    a.expire(p.created_at()).expect("expire");
    let mut b = p.clone();
    b.authorize(
        "x".into(),
        None,
        None,
        "sandbox",
        p.created_at(),
        p.created_at(),
    )
    .expect("authorize");
    let upd = |pay: &Payment, kind: EventKind| PaymentUpdate {
        payment: pay.clone(),
        charge: None,
        refund: None,
        events: vec![Event {
            id: Uuid::new_v4(),
            at: pay.updated_at(),
            charge_id: pay.charge_id(),
            payment_id: Some(pay.id()),
            kind,
            actor: "system".into(),
            data: serde_json::json!({}),
        }],
        outbox: vec![],
        notes: Vec::new(),
    };
    w.store()
        .update_payment(&upd(&a, EventKind::PaymentExpired))
        .await
        .expect("first wins");
    assert_eq!(
        w.store()
            .update_payment(&upd(&b, EventKind::PaymentAuthorizing))
            .await,
        Err(StoreError::Conflict)
    );
    let kinds: Vec<EventKind> = w
        .store()
        .events_of(p.id())
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [EventKind::PaymentCreated, EventKind::PaymentExpired],
        "the loser's event is not written"
    );
}
