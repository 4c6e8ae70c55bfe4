//! The database itself refuses what would break an invariant, even for a
//! program that bypasses the store and writes SQL directly — and says which
//! rule by a stable name (an index, a named CHECK, a trigger's token); the
//! migrations are versioned and forward-only.

mod common;

use common::{card, open, World};
use tolom_acquirer_sandbox::VISA_APPROVE;
use tolom_core::payment::PaymentState;
use tolom_core::ports::StoreError;
use tolom_store_sqlite::{SqliteOptions, SqliteStore};

/// Runs a statement on a raw connection and returns SQLite's extended
/// result code and message when it is refused.
async fn refused(raw: &mut sqlx::SqliteConnection, sql: &str) -> (i32, String) {
    match sqlx::query(sql).execute(&mut *raw).await {
        Ok(r) => panic!("the database accepted `{sql}` ({} rows)", r.rows_affected()),
        Err(sqlx::Error::Database(e)) => (
            e.code().and_then(|c| c.parse().ok()).unwrap_or(0),
            e.message().to_string(),
        ),
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// Copies payment `id` into a new row with another id, start key and state.
fn copy_payment(id: &str, new_id: &str, state: &str) -> String {
    format!(
        "INSERT INTO payments (id, charge_id, code, service, currency, amount_minor, fee_minor, \
         total_minor, state, version, created_at, updated_at, expires_at, terms_edition, \
         language, start_key, refunded_minor, refund_pending_minor) \
         SELECT '{new_id}', charge_id, code, service, currency, amount_minor, fee_minor, \
         total_minor, '{state}', 1, created_at, updated_at, expires_at, terms_edition, \
         language, 'raw-{new_id}', 0, 0 FROM payments WHERE id = '{id}'"
    )
}

const UNIQUE: i32 = 2067;
const CHECK: i32 = 275;
const TRIGGER: i32 = 1811;
const FOREIGN_KEY: i32 = 787;
const DATATYPE: i32 = 3091;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_refuses_broken_invariants_from_raw_sql_and_names_the_rule() {
    let w = World::new().await;
    // One paid charge, one charge with a payment in flight.
    let paid_charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let paid = w.h.start(&paid_charge.code, "a").await;
    let paid =
        w.h.tolom
            .submit_card(paid.id(), &card(VISA_APPROVE, "123"), "a")
            .await
            .expect("submit");
    assert_eq!(paid.state(), PaymentState::Succeeded);
    let open_charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let in_flight = w.h.start(&open_charge.code, "b").await;
    let (paid_id, flight_id) = (paid.id().to_string(), in_flight.id().to_string());
    let mut raw = common::raw(&w.path).await;
    // Inserting an edition is allowed; rewriting it is not (below).
    common::exec(
        &mut raw,
        "INSERT INTO terms_editions (id, published_at, effective_at, last_changed, text_ky, \
         text_ru, text_en) VALUES ('2026-12-01', 't', 't', '2026-12-01', 'ky', 'ru', 'en')",
    )
    .await;

    let cases: Vec<(String, i32, &str, &str)> = vec![
        (
            copy_payment(&flight_id, "p-2nd-in-flight", "authorizing"),
            UNIQUE,
            "index 'payments_one_in_flight'",
            "second in-flight payment",
        ),
        (
            copy_payment(&paid_id, "p-2nd-paid", "succeeded"),
            UNIQUE,
            "index 'payments_one_paid'",
            "second paid payment",
        ),
        (
            format!("UPDATE payments SET amount_minor = 1 WHERE id = '{paid_id}'"),
            TRIGGER,
            "tolom:immutable_field",
            "amount change",
        ),
        (
            format!("UPDATE payments SET code = '110000000017' WHERE id = '{paid_id}'"),
            TRIGGER,
            "tolom:immutable_field",
            "code change",
        ),
        (
            format!("UPDATE payments SET refunded_minor = total_minor + 1 WHERE id = '{paid_id}'"),
            CHECK,
            "refunds_within_total",
            "refund above total",
        ),
        (
            format!(
                "UPDATE payments SET refunded_minor = total_minor, refund_pending_minor = 1 \
                 WHERE id = '{paid_id}'"
            ),
            CHECK,
            "refunds_within_total",
            "pending refund above what is left",
        ),
        (
            format!("UPDATE payments SET refund_pending_minor = -1 WHERE id = '{paid_id}'"),
            CHECK,
            "refund_pending_not_negative",
            "negative pending refund",
        ),
        (
            format!("UPDATE payments SET refunded_minor = 10.5 WHERE id = '{paid_id}'"),
            DATATYPE,
            "",
            "amounts are integers (STRICT)",
        ),
        (
            format!(
                "UPDATE payments SET card = '{{\"masked_pan\":\"4111111111111111\",\"brand\":\"visa\",\"holder\":\"X\"}}' \
                 WHERE id = '{paid_id}'"
            ),
            CHECK,
            "card_masked",
            "a full PAN",
        ),
        (
            "UPDATE events SET kind = 'x'".into(),
            TRIGGER,
            "tolom:append_only",
            "events are append-only",
        ),
        (
            "DELETE FROM events".into(),
            TRIGGER,
            "tolom:append_only",
            "events are append-only",
        ),
        (
            "DELETE FROM audit_log".into(),
            TRIGGER,
            "tolom:append_only",
            "the audit log is append-only",
        ),
        (
            format!("DELETE FROM payments WHERE id = '{paid_id}'"),
            TRIGGER,
            "tolom:append_only",
            "payments are never deleted",
        ),
        (
            "UPDATE terms_editions SET text_en = 'x'".into(),
            TRIGGER,
            "tolom:append_only",
            "editions are never rewritten",
        ),
        (
            format!(
                "UPDATE charges SET status = 'cancelled' WHERE id = '{}'",
                paid_charge.id
            ),
            TRIGGER,
            "tolom:paid_without_payment",
            "a charge with a paid payment stays paid",
        ),
        (
            format!(
                "UPDATE charges SET status = 'paid' WHERE id = '{}'",
                open_charge.id
            ),
            TRIGGER,
            "tolom:paid_without_payment",
            "a charge is paid only by a paid payment",
        ),
        (
            format!(
                "UPDATE charges SET amount_minor = 1 WHERE id = '{}'",
                open_charge.id
            ),
            TRIGGER,
            "tolom:immutable_field",
            "a charge's amount is fixed",
        ),
        (
            "UPDATE outbox SET payload = '{}'".into(),
            TRIGGER,
            "tolom:immutable_field",
            "an outbox payload is fixed",
        ),
        (
            "INSERT INTO payments (id, charge_id, code, service, currency, amount_minor, fee_minor, \
             total_minor, state, version, created_at, updated_at, expires_at, terms_edition, \
             language, start_key, refunded_minor, refund_pending_minor) VALUES ('x', 'no-charge', \
             'c', 's', 'KGS', 1, 0, 1, 'created', 1, 't', 't', 't', 'e', 'ru', 'k', 0, 0)"
                .into(),
            FOREIGN_KEY,
            "",
            "a payment of no charge",
        ),
    ];
    for (sql, code, name, what) in cases {
        let (got_code, message) = refused(&mut raw, &sql).await;
        assert_eq!(got_code, code, "{what}: {message}");
        if code == TRIGGER {
            assert_eq!(
                message, name,
                "{what}: the trigger raises exactly its token"
            );
        } else {
            assert!(message.ends_with(name), "{what}: {message}");
        }
    }
}

#[tokio::test]
async fn migrations_are_versioned_idempotent_and_forward_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tolom.db");
    let store = open(&path, SqliteOptions::default()).await;
    let latest = SqliteStore::latest_schema_version();
    assert!(latest > 0);
    assert_eq!(store.schema_version().await, Ok(Some(latest)));
    store.migrate().await.expect("migrate again is a no-op");
    store.close().await;
    // Reopening an existing database runs nothing new and keeps the data.
    let store = open(&path, SqliteOptions::default()).await;
    assert_eq!(store.schema_version().await, Ok(Some(latest)));
    store.close().await;

    // A database migrated by a newer tolom is refused, not downgraded: a
    // schema this build does not know is permanent (Broken).
    let mut raw = common::raw(&path).await;
    common::exec(
        &mut raw,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99991231000000, 'from the future', 1, x'00', 0)",
    )
    .await;
    match SqliteStore::open(path.to_str().expect("path"), SqliteOptions::default()).await {
        Err(e @ StoreError::Broken(_)) => {
            assert!(e.to_string().contains("migration"), "{e}");
            assert!(!e.is_temporary());
        }
        other => panic!("expected Broken, got {other:?}"),
    }

    // WAL and the chosen synchronous setting are in force.
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .expect("journal mode");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_database_of_the_previous_schema_migrates_with_its_data() {
    // The first two migrations only, as an older tolom left the file.
    let dir = tempfile::tempdir().expect("tempdir");
    let old = dir.path().join("migrations");
    std::fs::create_dir_all(&old).expect("dir");
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for name in ["20261125000001_initial.sql", "20261125000002_ops.sql"] {
        std::fs::copy(here.join(name), old.join(name)).expect("copy migration");
    }
    let path = dir.path().join("tolom.db");
    std::fs::File::create(&path).expect("empty database file");
    let mut raw = common::raw(&path).await;
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .expect("old migrations")
        .run(&mut raw)
        .await
        .expect("old schema");
    let t = "2026-11-25T12:00:00.000000000Z";
    for sql in [
        format!(
            "INSERT INTO charges VALUES ('00000000-0000-4000-8000-000000000001', '110000000017', \
             'passport-2020', NULL, 'A', 'KGS', 88500, '{t}', '{t}', 'paid', NULL)"
        ),
        format!(
            "INSERT INTO payments (id, charge_id, code, service, currency, amount_minor, \
             fee_minor, total_minor, state, version, created_at, updated_at, expires_at, \
             terms_edition, language, start_key, approval, refunded_minor, \
             refund_pending_minor, succeeded_at, receipt_number) VALUES \
             ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', \
             '110000000017', 'passport-2020', 'KGS', 88500, 0, 88500, 'partially_refunded', 5, \
             '{t}', '{t}', '{t}', '2024-01-01', 'ru', 'k', '{{\"auth_code\":\"1\",\"rrn\":\"2\"}}', \
             100, 0, '{t}', 'R-1')"
        ),
        format!(
            "INSERT INTO refunds (id, payment_id, currency, amount_minor, reason, state, \
             idempotency_key, created_at, updated_at) VALUES \
             ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002', \
             'KGS', 100, 'r', 'succeeded', 'rk', '{t}', '{t}')"
        ),
        format!(
            "INSERT INTO events (id, at, charge_id, payment_id, kind, data) VALUES \
             ('00000000-0000-4000-8000-000000000004', '{t}', \
             '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', \
             'payment.succeeded', '{{}}')"
        ),
        // Two charges an older tolom took with one agency reference.
        format!(
            "INSERT INTO charges VALUES ('00000000-0000-4000-8000-000000000006', '110000000028', \
             'passport-2020', NULL, 'B', 'KGS', 88500, '2026-11-25T13:00:00.000000000Z', '{t}', \
             'unpaid', 'REQ-1')"
        ),
        format!(
            "INSERT INTO charges VALUES ('00000000-0000-4000-8000-000000000005', '110000000039', \
             'passport-2020', NULL, 'C', 'KGS', 88500, '{t}', '{t}', 'unpaid', 'REQ-1')"
        ),
    ] {
        common::exec(&mut raw, &sql).await;
    }
    drop(raw);

    let store = open(&path, SqliteOptions::default()).await;
    assert_eq!(
        store.schema_version().await,
        Ok(Some(SqliteStore::latest_schema_version()))
    );
    let payment_id = uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0002);
    let p = tolom_core::ports::PaymentStore::payment(&store, payment_id)
        .await
        .expect("read")
        .expect("the payment is still there");
    assert_eq!(p.state(), PaymentState::PartiallyRefunded);
    assert_eq!(p.version(), 5);
    let refunds = tolom_core::ports::PaymentStore::refunds_of(&store, payment_id)
        .await
        .expect("refunds");
    assert_eq!(refunds.len(), 1, "refunds came back from the rebuild");
    let events = tolom_core::ports::EventLog::events_of(&store, payment_id)
        .await
        .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].actor, "system",
        "old events were all the system's"
    );
    // The first of the charges with one agency reference holds it; the
    // other is kept as it was.
    let holder =
        tolom_core::ports::ChargeStore::charge_by_agency_ref(&store, "passport-2020", "REQ-1")
            .await
            .expect("read")
            .expect("held");
    assert_eq!(holder.payer.full_name, "C", "the first issued holds it");
    let other = tolom_core::ports::ChargeStore::charge_by_code(
        &store,
        &tolom_core::code::PaymentCode::from_trusted("110000000028"),
    )
    .await
    .expect("read")
    .expect("kept");
    assert_eq!(other.agency_ref.as_deref(), Some("REQ-1"));
    // The rebuilt tables keep their rules.
    let mut raw = common::raw(&path).await;
    let (code, message) = refused(
        &mut raw,
        &format!("DELETE FROM refunds WHERE payment_id = '{payment_id}'"),
    )
    .await;
    assert_eq!((code, message.as_str()), (TRIGGER, "tolom:append_only"));
    let (code, _) = refused(&mut raw, "UPDATE refunds SET payment_id = 'nope'").await;
    assert_eq!(code, TRIGGER, "a refund's payment is fixed");
}
