//! The database itself refuses what would break an invariant, even when the
//! adapter is bypassed (raw SQL from an operator's console or a buggy
//! tool), and the migrations are versioned and re-runnable.

mod common;

use chrono::{Duration, TimeZone, Utc};
use sqlx::Row;
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::{CodeFormat, ServiceFamily};
use tolom_core::events::{Event, EventKind};
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::payment::{Approval, NewPayment, Payment};
use tolom_core::ports::{ChargeChange, ChargeStore, InvariantKind, PaymentStore, PaymentUpdate};
use tolom_store_postgres::PostgresStore;
use uuid::Uuid;

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn ev(charge: Uuid, payment: Option<Uuid>) -> Event {
    Event {
        id: Uuid::new_v4(),
        at: t0(),
        charge_id: charge,
        payment_id: payment,
        kind: if payment.is_some() {
            EventKind::PaymentAuthorizing
        } else {
            EventKind::ChargeIssued
        },
        actor: "system".into(),
        data: serde_json::json!({}),
    }
}

async fn charge(store: &PostgresStore, serial: u64) -> Charge {
    let c = Charge {
        id: Uuid::new_v4(),
        code: CodeFormat::default()
            .generate(ServiceFamily::Passport, serial)
            .unwrap_or_else(|| panic!("code")),
        service: "id-card-2017".into(),
        urgency: None,
        payer: Payer {
            full_name: "Асанов Айбек".into(),
        },
        amount: Money::som(510),
        issued_at: t0(),
        expires_at: t0() + Duration::days(30),
        status: ChargeStatus::Unpaid,
        agency_ref: None,
    };
    store
        .insert_charge(&c, &ev(c.id, None), &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c
}

async fn payment(store: &PostgresStore, c: &Charge) -> Payment {
    let p = Payment::create(NewPayment {
        id: Uuid::new_v4(),
        charge_id: c.id,
        code: c.code.clone(),
        service: c.service.clone(),
        amount: c.amount,
        fee: Money::som(0),
        terms_edition: "2024-01-01".into(),
        language: Language::Ky,
        start_key: Uuid::new_v4().to_string(),
        now: t0(),
        expires_at: t0() + Duration::minutes(30),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .create_payment(&p, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    p
}

/// Runs raw SQL in the store's schema and returns the SQLSTATE and
/// constraint it failed with.
async fn refused(store: &PostgresStore, sql: &str) -> (String, String) {
    match sqlx::query(sql).execute(store.pool()).await {
        Ok(r) => panic!("{sql} was accepted ({} rows)", r.rows_affected()),
        Err(sqlx::Error::Database(db)) => (
            db.code().map(|c| c.into_owned()).unwrap_or_default(),
            db.constraint().unwrap_or("").to_string(),
        ),
        Err(e) => panic!("{sql}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_refuses_broken_invariants_from_raw_sql() {
    let Some(db) = common::TestDb::connect_or_skip("schema invariants").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;
    let c = charge(&store, 1).await;
    let p = payment(&store, &c).await;

    // A second payment in flight for the same charge.
    let (code, name) = refused(
        &store,
        &format!(
            "INSERT INTO payments SELECT gen_random_uuid(), charge_id, code, service, currency, \
             amount_minor, fee_minor, total_minor, 'authorizing', 1, created_at, updated_at, \
             expires_at, terms_edition, language, 'other-key', submit_key, card, contact, \
             acquirer, acquirer_ref, approval, decline_reason, failure, challenge, \
             refunded_minor, refund_pending_minor, succeeded_at, receipt_number \
             FROM payments WHERE id = '{}'",
            p.id()
        ),
    )
    .await;
    assert_eq!(
        (code.as_str(), name.as_str()),
        ("23505", "payments_one_in_flight")
    );

    // Amounts, charge and code are fixed.
    for set in [
        "amount_minor = 1, total_minor = 1",
        "code = '119999999999'",
        &format!("charge_id = '{}'", Uuid::new_v4()),
    ] {
        let (code, name) = refused(
            &store,
            &format!("UPDATE payments SET {set} WHERE id = '{}'", p.id()),
        )
        .await;
        assert_eq!(code, "23514", "{set}");
        assert_eq!(name, "payments_fixed_fields", "{set}");
    }

    // Refunds above the total.
    let (code, name) = refused(
        &store,
        &format!(
            "UPDATE payments SET refund_pending_minor = total_minor + 1 WHERE id = '{}'",
            p.id()
        ),
    )
    .await;
    assert_eq!(
        (code.as_str(), name.as_str()),
        ("23514", "payments_refunds_within_total")
    );

    // A charge is not Paid without a paid payment.
    let (code, name) = refused(
        &store,
        &format!("UPDATE charges SET status = 'paid' WHERE id = '{}'", c.id),
    )
    .await;
    assert_eq!(
        (code.as_str(), name.as_str()),
        ("23514", "charges_paid_needs_payment")
    );

    // A payment does not hold money while its charge is not Paid (checked
    // at commit).
    let (code, _) = refused(
        &store,
        &format!(
            "UPDATE payments SET state = 'succeeded', approval = '{{\"auth_code\":\"1\",\"rrn\":\"1\"}}', \
             succeeded_at = now() WHERE id = '{}'",
            p.id()
        ),
    )
    .await;
    assert_eq!(code, "23514");

    // A full card number cannot be stored.
    let (code, name) = refused(
        &store,
        &format!(
            "UPDATE payments SET card = '{{\"masked_pan\":\"4111111111111111\",\"brand\":\"visa\",\"holder\":\"X\"}}' \
             WHERE id = '{}'",
            p.id()
        ),
    )
    .await;
    assert_eq!(
        (code.as_str(), name.as_str()),
        ("23514", "payments_card_is_masked")
    );

    // History is append-only.
    for sql in [
        "UPDATE events SET kind = 'rewritten'".to_string(),
        "DELETE FROM events".to_string(),
        "TRUNCATE events".to_string(),
        format!("DELETE FROM payments WHERE id = '{}'", p.id()),
        format!("DELETE FROM charges WHERE id = '{}'", c.id),
    ] {
        let (code, _) = refused(&store, &sql).await;
        assert_eq!(code, "23514", "{sql}");
    }

    // Nothing above changed the stored payment.
    assert_eq!(store.payment(p.id()).await, Ok(Some(p.clone())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_paid_payment_is_refused_by_the_index() {
    let Some(db) = common::TestDb::connect_or_skip("paid index").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;
    let c = charge(&store, 2).await;
    let mut p = payment(&store, &c).await;
    p.authorize("s".into(), None, None, "x", t0(), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    let up = |p: &Payment, charge: Option<ChargeChange>| PaymentUpdate {
        payment: p.clone(),
        charge,
        refund: None,
        events: vec![ev(p.charge_id(), Some(p.id()))],
        outbox: vec![],
        notes: Vec::new(),
    };
    store
        .update_payment(&up(&p, None))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    p.succeed(
        Approval {
            auth_code: "1".into(),
            rrn: "2".into(),
        },
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&up(&p, Some(ChargeChange::MarkPaid)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Raw: a copy of the paid payment under another id.
    let (code, name) = refused(
        &store,
        &format!(
            "INSERT INTO payments SELECT gen_random_uuid(), charge_id, code, service, currency, \
             amount_minor, fee_minor, total_minor, state, version, created_at, updated_at, \
             expires_at, terms_edition, language, 'copy-key', submit_key, card, contact, \
             acquirer, acquirer_ref, approval, decline_reason, failure, challenge, \
             refunded_minor, refund_pending_minor, succeeded_at, receipt_number \
             FROM payments WHERE id = '{}'",
            p.id()
        ),
    )
    .await;
    assert_eq!(
        (code.as_str(), name.as_str()),
        ("23505", "payments_one_paid")
    );
    // Through the port: MarkPaid without a paid payment is refused at
    // commit by the deferred rule (charges_paid_needs_payment).
    let c2 = charge(&store, 3).await;
    let mut q = payment(&store, &c2).await;
    q.authorize("s".into(), None, None, "x", t0(), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    let r = store
        .update_payment(&up(&q, Some(ChargeChange::MarkPaid)))
        .await;
    assert_eq!(
        r.as_ref().err().and_then(|e| e.invariant_kind()),
        Some(InvariantKind::PaidWithoutPayment),
        "{r:?}"
    );
    assert_eq!(
        store
            .payment(q.id())
            .await
            .ok()
            .flatten()
            .map(|x| x.version()),
        Some(1),
        "the refused update wrote nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_versioned_and_rerunnable() {
    let Some(db) = common::TestDb::connect_or_skip("migrations").await else {
        return;
    };
    let (store, guard) = db.fresh().await;
    store.migrate().await.unwrap_or_else(|e| panic!("{e}"));
    // A second instance on the same schema runs them again: a no-op.
    let other = db.another_instance(&guard, 2).await;
    other.migrate().await.unwrap_or_else(|e| panic!("{e}"));
    let applied: Vec<i64> = sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|r| r.get::<i64, _>("version"))
        .collect();
    assert_eq!(applied, PostgresStore::migration_versions());
    assert!(applied.len() >= 2);
    // The tables live in the test schema, not in public.
    let schema: String = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'payments' \
         AND table_schema = current_schema()",
    )
    .fetch_one(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(schema, guard.schema);
    // from_pool shares the pool (and its search_path).
    let shared = PostgresStore::from_pool(store.pool().clone());
    shared.ping().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(shared.charge(Uuid::new_v4()).await.is_ok());
}
