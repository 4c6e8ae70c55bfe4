//! The error mapping, provoked for real on the server: refusals map by
//! constraint name to their `InvariantKind` and write nothing; missing
//! privileges, a missing table and a row that does not read back are the
//! permanent `Broken`; serialization failures stay temporary (and are
//! retried where the adapter retries); every SQLSTATE class maps by its
//! code, whatever the message says.

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use sqlx::PgConnection;
use tolom_acquirer_sandbox::{SandboxAcquirer, DECLINE_INSUFFICIENT_FUNDS, VISA_APPROVE};
use tolom_core::card::CardSummary;
use tolom_core::charge::{Charge, ChargeStatus};
use tolom_core::events::{Event, EventKind};
use tolom_core::money::Money;
use tolom_core::payment::{Approval, Payment, PaymentRecord, PaymentState};
use tolom_core::ports::{
    ChargeChange, ChargeStore, Clock, EventLog, InvariantKind, OutboxStore, PaymentQuery,
    PaymentStore, PaymentUpdate, StoreError, TermsStore,
};
use tolom_core::usecases::Config;
use tolom_store_postgres::{ConnectError, PostgresStore};
use tolom_testkit::fixtures::Harness;
use uuid::Uuid;

/// A payment with some stored fields changed and its version bumped,
/// without the checks of `Payment::restore`: what only the database can
/// refuse.
fn forge(p: &Payment, change: impl FnOnce(&mut PaymentRecord)) -> Payment {
    let mut r = p.record().clone();
    r.version += 1;
    change(&mut r);
    Payment::restore_unchecked(r)
}

fn event(p: &Payment, kind: EventKind) -> Event {
    Event {
        id: Uuid::new_v4(),
        at: Utc::now(),
        charge_id: p.charge_id(),
        payment_id: Some(p.id()),
        kind,
        actor: "system".into(),
        data: serde_json::json!({}),
    }
}

fn update(p: &Payment, charge: Option<ChargeChange>) -> PaymentUpdate {
    PaymentUpdate {
        payment: p.clone(),
        charge,
        refund: None,
        events: vec![event(p, EventKind::PaymentAuthorizing)],
        outbox: vec![],
        notes: Vec::new(),
    }
}

fn harness(store: &PostgresStore) -> Harness<PostgresStore> {
    Harness::on(
        Arc::new(store.clone()),
        Arc::new(SandboxAcquirer::for_tests()),
        Config::default(),
    )
}

/// Asserts `r` is an invariant violation of `kind`, permanent.
fn assert_kind(r: Result<(), StoreError>, kind: InvariantKind, what: &str) {
    let e = r.err().unwrap_or_else(|| panic!("{what}: accepted"));
    assert_eq!(e.invariant_kind(), Some(kind), "{what}: {e:?}");
    assert!(!e.is_temporary(), "{what}: {e:?}");
}

/// Asserts `r` is `Broken`, permanent.
fn assert_broken<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    match r {
        Err(e @ StoreError::Broken(_)) => assert!(!e.is_temporary(), "{what}"),
        other => panic!("{what}: expected Broken, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constraint_names_map_to_invariant_kinds_and_nothing_is_written() {
    let Some(db) = common::TestDb::connect_or_skip("invariant kinds").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;
    let h = harness(&store);

    // A paid payment (its charge Paid).
    let c1 = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    let paid = h.pay(&c1.code, VISA_APPROVE, "paid").await;
    assert_eq!(paid.state(), PaymentState::Succeeded);
    let events_before = store.events_of(paid.id()).await.map(|e| e.len());
    let outbox_before = store.outbox_list(None, 0).await.map(|o| o.len());

    let refused: Vec<(&str, PaymentUpdate, InvariantKind)> = vec![
        (
            "amount changed",
            update(
                &forge(&paid, |r| {
                    r.amount = Money::som(1);
                    r.total = Money::som(1);
                }),
                None,
            ),
            InvariantKind::ImmutableField,
        ),
        (
            "refunds above the total",
            update(&forge(&paid, |r| r.refunded = Money::som(10_000)), None),
            InvariantKind::RefundsExceedTotal,
        ),
        (
            "MarkPaid on a paid charge",
            update(&forge(&paid, |_| {}), Some(ChargeChange::MarkPaid)),
            InvariantKind::ChargeAlreadyPaid,
        ),
        (
            "Reopen while the payment stays paid",
            update(&forge(&paid, |_| {}), Some(ChargeChange::Reopen)),
            InvariantKind::PaidWithoutPayment,
        ),
    ];
    // A full card number cannot even be forged into a payment: the domain
    // type refuses it (the schema's `payments_card_is_masked` rule behind
    // it is tried with raw SQL in `schema.rs`).
    assert!(
        serde_json::from_value::<CardSummary>(serde_json::json!({
            "masked_pan": "4111111111111111",
            "brand": "visa",
            "holder": "AIBEK ASANOV",
        }))
        .is_err(),
        "a card summary with a full card number"
    );
    for (what, u, kind) in refused {
        assert_kind(store.update_payment(&u).await, kind, what);
        assert_eq!(
            store.payment(paid.id()).await,
            Ok(Some(paid.clone())),
            "{what}: the payment is as it was"
        );
    }
    assert_eq!(
        store.events_of(paid.id()).await.map(|e| e.len()),
        events_before
    );
    assert_eq!(
        store.outbox_list(None, 0).await.map(|o| o.len()),
        outbox_before
    );
    assert_eq!(
        store.charge(c1.id).await.ok().flatten().map(|c| c.status),
        Some(ChargeStatus::Paid)
    );

    // Leaving Paid while the paid payment exists (deferred trigger).
    assert_kind(
        store
            .set_charge_status(
                c1.id,
                ChargeStatus::Paid,
                ChargeStatus::Cancelled,
                &Event {
                    payment_id: None,
                    kind: EventKind::ChargeCancelled,
                    ..event(&paid, EventKind::ChargeCancelled)
                },
                &[],
            )
            .await,
        InvariantKind::PaidWithoutPayment,
        "cancel a paid charge",
    );

    // A second paid payment of one charge: a declined payment forged into
    // a complete success, once another payment paid the charge.
    let c2 = h.charge("id-card-2017", "Асанов Айбек Маратович").await;
    let declined = h.pay(&c2.code, DECLINE_INSUFFICIENT_FUNDS, "d2").await;
    assert_eq!(declined.state(), PaymentState::Declined);
    let winner = h.pay(&c2.code, VISA_APPROVE, "w2").await;
    assert_eq!(winner.state(), PaymentState::Succeeded);
    let second = forge(&declined, |r| {
        r.state = PaymentState::Succeeded;
        r.decline_reason = None;
        r.approval = Some(Approval {
            auth_code: "1".into(),
            rrn: "2".into(),
        });
        r.succeeded_at = Some(Utc::now());
        r.receipt_number = Some("20261125-0000000001".into());
    });
    assert_kind(
        store.update_payment(&update(&second, None)).await,
        InvariantKind::SecondPaidPayment,
        "a second paid payment",
    );
    assert_eq!(store.payment(declined.id()).await, Ok(Some(declined)));

    // A second payment in flight: a declined one moved back into flight
    // while another is in flight.
    let c3 = h.charge("meken-card", "Ivanova Anna").await;
    let declined = h.pay(&c3.code, DECLINE_INSUFFICIENT_FUNDS, "d3").await;
    let in_flight = h.start(&c3.code, "s3").await;
    assert_kind(
        store
            .update_payment(&update(
                &forge(&declined, |r| r.state = PaymentState::Authorizing),
                None,
            ))
            .await,
        InvariantKind::SecondInFlight,
        "a second payment in flight",
    );
    // MarkPaid with a payment that is not paid (refused at commit).
    assert_kind(
        store
            .update_payment(&update(
                &forge(&in_flight, |_| {}),
                Some(ChargeChange::MarkPaid),
            ))
            .await,
        InvariantKind::PaidWithoutPayment,
        "MarkPaid without a paid payment",
    );
    assert_eq!(store.payment(in_flight.id()).await, Ok(Some(in_flight)));
    assert_eq!(
        store.charge(c3.id).await.ok().flatten().map(|c| c.status),
        Some(ChargeStatus::Unpaid)
    );

    // A duplicate code is DuplicateCode, also with a new id.
    let dup = Charge {
        id: Uuid::new_v4(),
        ..c1.clone()
    };
    assert_eq!(
        store
            .insert_charge(
                &dup,
                &Event {
                    charge_id: dup.id,
                    payment_id: None,
                    kind: EventKind::ChargeIssued,
                    ..event(&paid, EventKind::ChargeIssued)
                },
                &[],
            )
            .await,
        Err(StoreError::DuplicateCode)
    );
    assert_eq!(store.charge(dup.id).await, Ok(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_privileges_is_broken() {
    let Some(db) = common::TestDb::connect_or_skip("no privileges").await else {
        return;
    };
    let (_store, guard) = db.fresh().await;
    let role = db
        .role_without_privileges(&format!("{}_noperm", guard.schema))
        .await;

    // connect: it may not even create (or look into) the schema.
    let r = PostgresStore::connect(&db.url_as(&role.name), db.options(&guard.schema, 2)).await;
    match &r {
        Err(e @ ConnectError::Store(StoreError::Broken(_))) => {
            assert!(!e.is_temporary() && !e.is_retryable(), "{e}");
        }
        other => panic!("expected ConnectError::Store(Broken), got {other:?}"),
    }

    // A store on a pool of that role: every call is Broken, not a retry.
    let store = PostgresStore::from_pool(db.pool_with(&guard.schema, Some(&role.name), &[]).await);
    assert_broken(store.charge(Uuid::new_v4()).await, "read a charge");
    assert_broken(
        store.list_payments(&PaymentQuery::default()).await,
        "list payments",
    );
    assert_broken(
        store.claim_outbox(Utc::now(), Utc::now(), 5, "w").await,
        "claim the outbox",
    );
    store.close().await;
    drop(role);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_with_only_the_tables_privileges_connects_without_migrating() {
    let Some(db) = common::TestDb::connect_or_skip("least privilege").await else {
        return;
    };
    let (owner, guard) = db.fresh().await;
    let role = db
        .role_without_privileges(&format!("{}_app", guard.schema))
        .await;
    let schema = &guard.schema;
    let name = &role.name;
    for sql in [
        format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{name}\""),
        format!("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA \"{schema}\" TO \"{name}\""),
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA \"{schema}\" TO \"{name}\""),
    ] {
        sqlx::query(&sql)
            .execute(owner.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let store = PostgresStore::connect(
        &db.url_as(name),
        tolom_store_postgres::PgOptions {
            run_migrations: false,
            ..db.options(schema, 2)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("connect with the tables' privileges: {e}"));
    // It works: a whole payment through the use cases, on that role.
    let h = harness(&store);
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    let paid = h.pay(&charge.code, VISA_APPROVE, "least").await;
    assert_eq!(paid.state(), PaymentState::Succeeded);
    // What it may not do is Broken, not a retry: migrating (the migrator
    // creates its table if missing, which needs CREATE on the schema).
    match store.migrate().await {
        Err(e @ ConnectError::Store(StoreError::Broken(_))) => assert!(!e.is_temporary()),
        other => panic!("expected Broken, got {other:?}"),
    }
    store.close().await;
    drop(role);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_and_unreadable_rows_are_broken() {
    let Some(db) = common::TestDb::connect_or_skip("missing table").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;
    let h = harness(&store);
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    let p = h.start(&charge.code, "k").await;

    // A payment row that does not restore (refunded without having been
    // paid: within every constraint, but not a payment tolom writes).
    sqlx::query("UPDATE payments SET refunded_minor = 100 WHERE id = $1")
        .bind(p.id())
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_broken(
        store.payment(p.id()).await,
        "a payment that does not restore",
    );
    assert_broken(
        store.list_payments(&PaymentQuery::default()).await,
        "listing it",
    );

    // An event kind this build does not know.
    sqlx::query(
        "INSERT INTO events (id, at, charge_id, kind, data) \
         VALUES ($1, now(), $2, 'payment.teleported', '{}')",
    )
    .bind(Uuid::new_v4())
    .bind(charge.id)
    .execute(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_broken(store.events_of(charge.id).await, "an unknown event kind");

    // A table that is not there (a schema tolom does not know).
    sqlx::query("DROP TABLE terms_editions")
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_broken(store.terms_editions().await, "a missing table");
}

/// The pid of the backend of `app` that waits for a lock, once it waits.
async fn waiting_backend(watch: &mut PgConnection, app: &str) {
    for _ in 0..250 {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
             AND wait_event_type = 'Lock' AND state = 'active'",
        )
        .bind(app)
        .fetch_optional(&mut *watch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        if pid.is_some() {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("the statement never waited for the lock")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serialization_failures_are_temporary_and_retried() {
    let Some(db) = common::TestDb::connect_or_skip("serialization failures").await else {
        return;
    };
    let (store, guard) = db.fresh().await;
    let h = harness(&store);
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    let p = h.start(&charge.code, "k").await;
    // Sessions that run SERIALIZABLE: a row changed by a concurrent
    // transaction after the statement's snapshot is a serialization
    // failure (40001) instead of a re-check.
    let serializable = PostgresStore::from_pool(
        db.pool_with(
            &guard.schema,
            None,
            &[("default_transaction_isolation", "serializable")],
        )
        .await,
    );
    let mut watch = db.raw().await;

    // 1. A statement the adapter does not retry: the caller gets the
    // temporary Unavailable, and its retry succeeds.
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outbox (id, created_at, channel, payload, status, attempts, \
         next_attempt_at) VALUES ($1, now(), 'webhook', '{}', 'pending', 0, now())",
    )
    .bind(id)
    .execute(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut blocker = db.raw_in(&guard.schema).await;
    sqlx::query("BEGIN")
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("UPDATE outbox SET last_error = 'held' WHERE id = $1")
        .bind(id)
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let task = {
        let s = serializable.clone();
        tokio::spawn(async move { s.outbox_delivered(id, Utc::now()).await })
    };
    waiting_backend(&mut watch, &guard.schema).await;
    sqlx::query("COMMIT")
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    match task.await.unwrap_or_else(|e| panic!("{e}")) {
        Err(e @ StoreError::Unavailable(_)) => {
            assert!(e.is_temporary(), "{e}");
            // The detail names the SQLSTATE, for operators.
            assert!(e.to_string().contains("40001"), "{e}");
        }
        other => panic!("expected a temporary Unavailable (40001), got {other:?}"),
    }
    serializable
        .outbox_delivered(id, Utc::now())
        .await
        .unwrap_or_else(|e| panic!("the retry: {e}"));

    // 2. A payment update, which the adapter runs again by itself: the
    // caller sees only the success.
    sqlx::query("BEGIN")
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("UPDATE payments SET updated_at = updated_at WHERE id = $1")
        .bind(p.id())
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expired = {
        let mut next = p.clone();
        next.expire(h.clock.now() + Duration::minutes(1))
            .unwrap_or_else(|e| panic!("{e}"));
        next
    };
    let task = {
        let s = serializable.clone();
        let u = update(&expired, None);
        tokio::spawn(async move { s.update_payment(&u).await })
    };
    waiting_backend(&mut watch, &guard.schema).await;
    sqlx::query("COMMIT")
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        task.await.unwrap_or_else(|e| panic!("{e}")),
        Ok(()),
        "retried after the serialization failure"
    );
    assert_eq!(
        store
            .payment(p.id())
            .await
            .ok()
            .flatten()
            .map(|p| p.state()),
        Some(PaymentState::Expired)
    );
    serializable.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sqlstate_maps_by_code_and_constraint_not_by_message() {
    let Some(db) = common::TestDb::connect_or_skip("sqlstates").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;
    // A test-only trigger that refuses every new charge with the SQLSTATE
    // and constraint in `tolom_test_fault`, and always the same message.
    for sql in [
        "CREATE TABLE tolom_test_fault (sqlstate text NOT NULL, name text)",
        "CREATE FUNCTION tolom_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ \
         DECLARE f record; \
         BEGIN \
           SELECT * INTO f FROM tolom_test_fault LIMIT 1; \
           IF f.name IS NULL THEN \
             RAISE EXCEPTION 'injected' USING ERRCODE = f.sqlstate; \
           ELSE \
             RAISE EXCEPTION 'injected' USING ERRCODE = f.sqlstate, CONSTRAINT = f.name; \
           END IF; \
         END $$",
        "CREATE TRIGGER tolom_test_fault BEFORE INSERT ON charges \
         FOR EACH ROW EXECUTE FUNCTION tolom_test_fault()",
    ] {
        sqlx::query(sql)
            .execute(store.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let now = Utc::now();
    enum Want {
        Temporary,
        Broken,
        Kind(InvariantKind),
        Duplicate,
    }
    use InvariantKind::*;
    let cases: Vec<(&str, Option<&str>, Want)> = vec![
        ("53100", None, Want::Broken),    // disk_full
        ("53200", None, Want::Broken),    // out_of_memory
        ("53300", None, Want::Temporary), // too_many_connections
        ("XX001", None, Want::Broken),    // data_corrupted
        ("XX002", None, Want::Broken),    // index_corrupted
        ("58030", None, Want::Broken),    // io_error
        ("42501", None, Want::Broken),    // insufficient_privilege
        ("42P01", None, Want::Broken),    // undefined_table
        ("25006", None, Want::Broken),    // read_only_sql_transaction
        ("08006", None, Want::Temporary), // connection_failure
        ("57014", None, Want::Temporary), // query_canceled
        ("55P03", None, Want::Temporary), // lock_not_available
        ("40001", None, Want::Temporary), // serialization_failure
        ("40P01", None, Want::Temporary), // deadlock_detected
        ("23505", Some("charges_code_key"), Want::Duplicate),
        (
            "23505",
            Some("payments_one_paid"),
            Want::Kind(SecondPaidPayment),
        ),
        (
            "23505",
            Some("payments_one_in_flight"),
            Want::Kind(SecondInFlight),
        ),
        (
            "23514",
            Some("payments_refunds_within_total"),
            Want::Kind(RefundsExceedTotal),
        ),
        ("23514", Some("events_append_only"), Want::Kind(AppendOnly)),
        (
            "23514",
            Some("payments_card_is_masked"),
            Want::Kind(UnmaskedCard),
        ),
        (
            "P0001",
            Some("payments_fixed_fields"),
            Want::Kind(ImmutableField),
        ),
        ("P0001", None, Want::Kind(Constraint)),
        (
            "23503",
            Some("payments_charge_id_fkey"),
            Want::Kind(Constraint),
        ),
        ("22003", None, Want::Kind(Constraint)),
    ];
    let mut conn = db.raw().await;
    for (code, name, want) in cases {
        sqlx::query(&format!(
            "DELETE FROM \"{}\".tolom_test_fault",
            store.schema().unwrap_or("public")
        ))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query(&format!(
            "INSERT INTO \"{}\".tolom_test_fault VALUES ($1, $2)",
            store.schema().unwrap_or("public")
        ))
        .bind(code)
        .bind(name)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let charge = Charge {
            id: Uuid::new_v4(),
            code: tolom_core::code::CodeFormat::default()
                .generate(tolom_core::code::ServiceFamily::Passport, 77)
                .unwrap_or_else(|| panic!("code")),
            service: "passport-2020".into(),
            urgency: None,
            payer: tolom_core::charge::Payer {
                full_name: "Асанов Айбек".into(),
            },
            amount: Money::som(885),
            issued_at: now,
            expires_at: now + Duration::days(30),
            status: ChargeStatus::Unpaid,
            agency_ref: None,
        };
        let ev = Event {
            id: Uuid::new_v4(),
            at: now,
            charge_id: charge.id,
            payment_id: None,
            kind: EventKind::ChargeIssued,
            actor: "system".into(),
            data: serde_json::json!({}),
        };
        let what = format!("{code} {name:?}");
        let e = store
            .insert_charge(&charge, &ev, &[])
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        match want {
            Want::Temporary => assert!(
                matches!(e, StoreError::Unavailable(_)) && e.is_temporary(),
                "{what}: {e:?}"
            ),
            Want::Broken => assert!(
                matches!(e, StoreError::Broken(_)) && !e.is_temporary(),
                "{what}: {e:?}"
            ),
            Want::Kind(kind) => {
                assert_eq!(e.invariant_kind(), Some(kind), "{what}: {e:?}");
                assert!(!e.is_temporary(), "{what}");
            }
            Want::Duplicate => assert_eq!(e, StoreError::DuplicateCode, "{what}"),
        }
        assert_eq!(
            store.charge(charge.id).await,
            Ok(None),
            "{what}: nothing written"
        );
    }
}
