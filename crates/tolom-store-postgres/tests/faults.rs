//! Faults: an unreachable server, an exhausted pool and a connection killed
//! in the middle of a payment update give the typed, retryable
//! `StoreError::Unavailable` — and a killed transaction leaves nothing
//! behind.

mod common;

use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use sqlx::{Connection, PgConnection};
use tolom_core::card::{CardBrand, CardSummary, MaskedPan};
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::{CodeFormat, ServiceFamily};
use tolom_core::events::{Event, EventKind};
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::outbox::{AgencyEvent, AgencyEventKind, OutboxMessage, OutboxPayload};
use tolom_core::payment::{Approval, NewPayment, Payment, PaymentState};
use tolom_core::ports::{
    ChargeChange, ChargeStore, EventLog, OutboxStore, PaymentStore, PaymentUpdate, StoreError,
};
use tolom_store_postgres::{ConnectError, PgOptions, PostgresStore};
use uuid::Uuid;

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The test URL with its port replaced by one where nothing listens.
fn unreachable_url() -> String {
    let url = common::url();
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", &url));
    let (auth, hostpart) = match rest.rsplit_once('@') {
        Some((a, h)) => (format!("{a}@"), h.to_string()),
        None => (String::new(), rest.to_string()),
    };
    let (hostport, path) = hostpart
        .split_once('/')
        .map(|(h, p)| (h.to_string(), format!("/{p}")))
        .unwrap_or((hostpart.clone(), String::new()));
    let host = hostport
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or(hostport);
    format!("{scheme}://{auth}{host}:1{path}")
}

fn quick(schema: Option<&str>) -> PgOptions {
    PgOptions {
        schema: schema.map(str::to_string),
        acquire_timeout: StdDuration::from_millis(700),
        ..PgOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable_and_retryable() {
    // No server needed: nothing listens on port 1.
    let url = unreachable_url();
    let r = PostgresStore::connect(&url, quick(Some("tolom_nowhere"))).await;
    match r {
        Err(e @ ConnectError::Store(StoreError::Unavailable(_))) => {
            assert!(e.is_retryable());
            assert!(!e.to_string().is_empty());
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let lazy = PostgresStore::connect_lazy(&url, quick(Some("tolom_nowhere")))
        .unwrap_or_else(|e| panic!("{e}"));
    for r in [
        lazy.charge(Uuid::new_v4()).await.map(|_| ()),
        lazy.payment(Uuid::new_v4()).await.map(|_| ()),
        lazy.claim_outbox(t0(), t0(), 1, "w").await.map(|_| ()),
        lazy.ping().await,
    ] {
        match r {
            Err(e @ StoreError::Unavailable(_)) => assert!(e.is_temporary()),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
    assert!(matches!(
        lazy.migrate().await,
        Err(ConnectError::Store(StoreError::Unavailable(_)))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_is_unavailable() {
    let Some(db) = common::TestDb::connect_or_skip("exhausted pool").await else {
        return;
    };
    let (_store, guard) = db.fresh().await;
    let small = PostgresStore::connect(
        db.url(),
        PgOptions {
            max_connections: 1,
            application_name: guard.schema.clone(),
            ..quick(Some(&guard.schema))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let held = small
        .pool()
        .acquire()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = small.charge(Uuid::new_v4()).await;
    assert!(
        matches!(&r, Err(StoreError::Unavailable(_))),
        "expected Unavailable, got {r:?}"
    );
    drop(held);
    assert_eq!(
        small.charge(Uuid::new_v4()).await,
        Ok(None),
        "and it recovers"
    );
}

fn event(p: &Payment, kind: EventKind) -> Event {
    Event {
        id: Uuid::new_v4(),
        at: t0(),
        charge_id: p.charge_id(),
        payment_id: Some(p.id()),
        kind,
        actor: "system".into(),
        data: serde_json::json!({}),
    }
}

/// A charge and its payment, `Authorizing` with a card.
async fn authorizing(store: &PostgresStore) -> (Charge, Payment) {
    let charge = Charge {
        id: Uuid::new_v4(),
        code: CodeFormat::default()
            .generate(ServiceFamily::DrivingLicence, 42)
            .unwrap_or_else(|| panic!("code")),
        service: "driving-licence-national".into(),
        urgency: None,
        payer: Payer {
            full_name: "Токтогулов Нурлан".into(),
        },
        amount: Money::som(700),
        issued_at: t0(),
        expires_at: t0() + Duration::days(30),
        status: ChargeStatus::Unpaid,
        agency_ref: None,
    };
    let ev = Event {
        id: Uuid::new_v4(),
        at: t0(),
        charge_id: charge.id,
        payment_id: None,
        kind: EventKind::ChargeIssued,
        actor: "system".into(),
        data: serde_json::json!({}),
    };
    store
        .insert_charge(&charge, &ev, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut p = Payment::create(NewPayment {
        id: Uuid::new_v4(),
        charge_id: charge.id,
        code: charge.code.clone(),
        service: charge.service.clone(),
        amount: charge.amount,
        fee: Money::som(0),
        terms_edition: "2024-01-01".into(),
        language: Language::Ky,
        start_key: "start".into(),
        now: t0(),
        expires_at: t0() + Duration::minutes(30),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .create_payment(&p, &[event(&p, EventKind::PaymentCreated)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    p.authorize(
        "submit".into(),
        Some(CardSummary {
            masked_pan: MaskedPan::from_stored("411111******1111")
                .unwrap_or_else(|| panic!("mask")),
            brand: CardBrand::Visa,
            holder: "NURLAN T".into(),
        }),
        None,
        "sandbox",
        t0(),
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&PaymentUpdate {
            payment: p.clone(),
            charge: None,
            refund: None,
            events: vec![event(&p, EventKind::PaymentAuthorizing)],
            outbox: vec![],
            notes: Vec::new(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (charge, p)
}

/// The success of `p`: payment, charge, event and outbox message together.
fn success(p: &Payment) -> PaymentUpdate {
    let mut next = p.clone();
    next.succeed(
        Approval {
            auth_code: "654321".into(),
            rrn: "000000000042".into(),
        },
        t0() + Duration::seconds(5),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    PaymentUpdate {
        payment: next.clone(),
        charge: Some(ChargeChange::MarkPaid),
        refund: None,
        events: vec![event(&next, EventKind::PaymentSucceeded)],
        outbox: vec![OutboxMessage::new(
            Uuid::new_v4(),
            OutboxPayload::AgencyNotice(AgencyEvent {
                event_id: Uuid::new_v4(),
                kind: AgencyEventKind::PaymentSucceeded,
                occurred_at: t0(),
                code: next.code().to_string(),
                agency_ref: None,
                service: next.service().clone(),
                payment_id: next.id(),
                receipt_number: next.receipt_number().map(str::to_string),
                amount: next.amount(),
                refunded: next.refunded(),
                channel: tolom_core::external::PaymentChannel::Card,
            }),
            t0(),
        )],
        notes: Vec::new(),
    }
}

/// The pid of the store's backend that waits for a lock, once it waits.
async fn waiting_backend(watch: &mut PgConnection, app: &str) -> i32 {
    for _ in 0..200 {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
             AND wait_event_type = 'Lock' AND state = 'active'",
        )
        .bind(app)
        .fetch_optional(&mut *watch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        if let Some(pid) = pid {
            return pid;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("the update never waited for the lock")
}

/// Holds a row lock with `lock_sql`, starts the success of a payment, kills
/// the store's connection while the update waits, and checks that nothing
/// of the update was written and that it can be retried.
async fn kill_mid_update(lock_sql: &str, what: &str) {
    let Some(db) = common::TestDb::connect_or_skip(what).await else {
        return;
    };
    let (store, guard) = db.fresh_with(4).await;
    let (charge, p) = authorizing(&store).await;
    let events_before = store.events_of(p.id()).await.unwrap_or_default();
    let outbox_before = store.outbox_list(None, 0).await.unwrap_or_default();

    let mut blocker = db.raw().await;
    sqlx::query(&format!("SET search_path = \"{}\"", guard.schema))
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("BEGIN")
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(lock_sql)
        .bind(p.id())
        .bind(charge.id)
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let update = success(&p);
    let task = {
        let store = store.clone();
        let update = update.clone();
        tokio::spawn(async move { store.update_payment(&update).await })
    };
    let mut watch = db.raw().await;
    let pid = waiting_backend(&mut watch, &guard.schema).await;
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut watch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(killed);
    let r = task.await.unwrap_or_else(|e| panic!("{e}"));
    match &r {
        Err(e @ StoreError::Unavailable(_)) => assert!(e.is_temporary()),
        other => panic!("{what}: expected Unavailable, got {other:?}"),
    }
    sqlx::query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = blocker.close().await;
    let _ = watch.close().await;

    // Nothing of the killed transaction is visible.
    assert_eq!(store.payment(p.id()).await, Ok(Some(p.clone())), "{what}");
    assert_eq!(
        store
            .charge(charge.id)
            .await
            .ok()
            .flatten()
            .map(|c| c.status),
        Some(ChargeStatus::Unpaid),
        "{what}"
    );
    assert_eq!(store.events_of(p.id()).await, Ok(events_before), "{what}");
    assert_eq!(
        store.outbox_list(None, 0).await,
        Ok(outbox_before),
        "{what}"
    );

    // The caller retries: the pool has dropped the dead connection.
    store
        .update_payment(&update)
        .await
        .unwrap_or_else(|e| panic!("{what}: retry: {e}"));
    let stored = store.payment(p.id()).await.ok().flatten();
    assert_eq!(stored.map(|s| s.state()), Some(PaymentState::Succeeded));
    assert_eq!(store.outbox_list(None, 0).await.map(|o| o.len()), Ok(1));
    assert_eq!(
        store
            .charge(charge.id)
            .await
            .ok()
            .flatten()
            .map(|c| c.status),
        Some(ChargeStatus::Paid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_before_the_first_write_leaves_nothing() {
    // The payment row is locked: the update waits at its first statement.
    kill_mid_update(
        "SELECT 1 FROM payments WHERE id = $1 OR charge_id = $2 FOR UPDATE",
        "kill at the payment update",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_after_the_payment_write_leaves_nothing() {
    // The charge row is locked: the payment row is already updated inside
    // the transaction when the charge update waits.
    kill_mid_update(
        "SELECT 1 FROM charges WHERE id = $2 OR id = $1 FOR UPDATE",
        "kill at the charge update",
    )
    .await;
}
