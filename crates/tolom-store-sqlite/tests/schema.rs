//! The database itself refuses what would break an invariant, even for a
//! program that bypasses the store and writes SQL directly; migrations are
//! versioned and forward-only.

mod common;

use common::{card, open, World};
use tolom_acquirer_sandbox::VISA_APPROVE;
use tolom_core::payment::PaymentState;
use tolom_core::ports::StoreError;
use tolom_store_sqlite::{SqliteOptions, SqliteStore};

/// Runs a statement on a raw connection and returns SQLite's message when
/// it is refused.
async fn refused(raw: &mut sqlx::SqliteConnection, sql: &str) -> String {
    match sqlx::query(sql).execute(&mut *raw).await {
        Ok(r) => panic!("the database accepted `{sql}` ({} rows)", r.rows_affected()),
        Err(sqlx::Error::Database(e)) => e.message().to_string(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_refuses_broken_invariants_from_raw_sql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = World::new(dir.path()).await;
    let terms = w.terms().await;
    // One paid charge, one charge with a payment in flight.
    let paid_charge = w.charge().await;
    let paid = w
        .tolom
        .start_payment(World::start(paid_charge.code.as_str(), &terms, "a"))
        .await
        .expect("start");
    let paid = w
        .tolom
        .submit_card(paid.id, &card(VISA_APPROVE, "123"), "a")
        .await
        .expect("submit");
    assert_eq!(paid.state, PaymentState::Succeeded);
    let open_charge = w.charge().await;
    let in_flight = w
        .tolom
        .start_payment(World::start(open_charge.code.as_str(), &terms, "b"))
        .await
        .expect("start");
    let (paid_id, flight_id) = (paid.id.to_string(), in_flight.id.to_string());
    let mut raw = common::raw(&w.path).await;

    let m = refused(
        &mut raw,
        &copy_payment(&flight_id, "p-2nd-in-flight", "authorizing"),
    )
    .await;
    assert!(
        m.contains("payments.charge_id"),
        "second in-flight payment: {m}"
    );
    let m = refused(&mut raw, &copy_payment(&paid_id, "p-2nd-paid", "succeeded")).await;
    assert!(m.contains("payments.charge_id"), "second paid payment: {m}");
    let m = refused(
        &mut raw,
        &format!("UPDATE payments SET amount_minor = 1 WHERE id = '{paid_id}'"),
    )
    .await;
    assert!(m.contains("fixed after creation"), "amount change: {m}");
    let m = refused(
        &mut raw,
        &format!("UPDATE payments SET code = '110000000017' WHERE id = '{paid_id}'"),
    )
    .await;
    assert!(m.contains("fixed after creation"), "code change: {m}");
    let m = refused(
        &mut raw,
        &format!("UPDATE payments SET refunded_minor = total_minor + 1 WHERE id = '{paid_id}'"),
    )
    .await;
    assert!(m.contains("CHECK"), "refund above total: {m}");
    let m = refused(
        &mut raw,
        &format!(
            "UPDATE payments SET refunded_minor = total_minor, refund_pending_minor = 1 \
             WHERE id = '{paid_id}'"
        ),
    )
    .await;
    assert!(
        m.contains("CHECK"),
        "pending refund above what is left: {m}"
    );
    let m = refused(
        &mut raw,
        &format!("UPDATE payments SET refunded_minor = 10.5 WHERE id = '{paid_id}'"),
    )
    .await;
    assert!(m.contains("cannot store REAL"), "amounts are integers: {m}");
    let m = refused(
        &mut raw,
        &format!(
            "UPDATE payments SET card = '{{\"masked_pan\":\"4111111111111111\",\"brand\":\"visa\",\"holder\":\"X\"}}' \
             WHERE id = '{paid_id}'"
        ),
    )
    .await;
    assert!(m.contains("CHECK"), "a full PAN is refused: {m}");
    let m = refused(&mut raw, "UPDATE events SET kind = 'x'").await;
    assert!(m.contains("append-only"), "{m}");
    let m = refused(&mut raw, "DELETE FROM events").await;
    assert!(m.contains("append-only"), "{m}");
    let m = refused(
        &mut raw,
        &format!("DELETE FROM payments WHERE id = '{paid_id}'"),
    )
    .await;
    assert!(m.contains("never deleted"), "{m}");
    let m = refused(
        &mut raw,
        &format!(
            "UPDATE charges SET status = 'cancelled' WHERE id = '{}'",
            paid_charge.id
        ),
    )
    .await;
    assert!(m.contains("stays paid"), "{m}");
    let m = refused(
        &mut raw,
        &format!(
            "UPDATE charges SET status = 'paid' WHERE id = '{}'",
            open_charge.id
        ),
    )
    .await;
    assert!(m.contains("only by a paid payment"), "{m}");
    let m = refused(
        &mut raw,
        &format!(
            "UPDATE charges SET amount_minor = 1 WHERE id = '{}'",
            open_charge.id
        ),
    )
    .await;
    assert!(m.contains("fixed after issue"), "{m}");
    let m = refused(
        &mut raw,
        "INSERT INTO payments (id, charge_id, code, service, currency, amount_minor, fee_minor, \
         total_minor, state, version, created_at, updated_at, expires_at, terms_edition, \
         language, start_key, refunded_minor, refund_pending_minor) VALUES ('x', 'no-charge', \
         'c', 's', 'KGS', 1, 0, 1, 'created', 1, 't', 't', 't', 'e', 'ru', 'k', 0, 0)",
    )
    .await;
    assert!(m.contains("FOREIGN KEY"), "{m}");
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

    // A database migrated by a newer tolom is refused, not downgraded.
    let mut raw = common::raw(&path).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99991231000000, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut raw)
    .await
    .expect("fake future migration");
    match SqliteStore::open(path.to_str().expect("path"), SqliteOptions::default()).await {
        Err(StoreError::Invariant(m)) => assert!(m.contains("migration"), "{m}"),
        other => panic!("expected Invariant, got {other:?}"),
    }

    // WAL and the chosen synchronous setting are in force.
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .expect("journal mode");
    assert_eq!(mode, "wal");
}
