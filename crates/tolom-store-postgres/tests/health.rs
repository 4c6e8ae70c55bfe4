//! The store's look at itself for readiness probes: the schema this build
//! knows, a schema migrated by a newer tolom, a server that went away.

mod common;

use tolom_core::ports::StoreHealth;

#[tokio::test]
async fn the_health_check_reads_the_schema_from_the_database() {
    let Some(db) = common::TestDb::connect_or_skip("store health").await else {
        return;
    };
    let (store, guard) = db.fresh().await;
    let status = store.schema_status().await.expect("status");
    assert!(status.is_current(), "{status:?}");
    assert_eq!(
        Some(status.known),
        tolom_store_postgres::PostgresStore::migration_versions()
            .last()
            .copied()
    );
    // A newer tolom migrated the schema: this build is no longer current.
    let mut raw = db.raw_in(&guard.schema).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99991231000000, 'from the future', true, '\\x00', 0)",
    )
    .execute(&mut raw)
    .await
    .expect("insert a newer migration");
    let status = store.schema_status().await.expect("status");
    assert_eq!(status.applied, Some(99991231000000));
    assert!(status.problem().unwrap_or_default().contains("newer"));
    // The pool closed: temporary.
    store.close().await;
    let e = store.schema_status().await.expect_err("closed");
    assert!(e.is_temporary(), "{e}");
}
