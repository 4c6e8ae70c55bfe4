//! The testkit's operations conformance suite (audit chain, tokens,
//! retention, access requests) on SQLite, in memory and on a file; and the
//! audit chain catching a row altered behind the store's back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tolom_core::audit::{verify_chain, AuditProblem};
use tolom_core::ports::OpsStore;
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use tolom_testkit::conformance::ops;

#[tokio::test]
async fn ops_conformance_in_memory() {
    ops::run(|| async { Arc::new(SqliteStore::in_memory().await.expect("in-memory store")) }).await;
}

#[tokio::test]
async fn ops_conformance_on_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    ops::run(|| {
        let path = dir
            .path()
            .join(format!("ops-{}.db", n.fetch_add(1, Ordering::SeqCst)));
        async move {
            Arc::new(
                SqliteStore::open(path.to_str().expect("utf-8"), SqliteOptions::default())
                    .await
                    .expect("open"),
            )
        }
    })
    .await;
}

#[tokio::test]
async fn an_altered_row_breaks_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8"), SqliteOptions::default())
        .await
        .expect("open");
    let now = chrono::Utc::now();
    for i in 0..3 {
        store
            .append_audit(now, "system", "x", "s", serde_json::json!({ "i": i }))
            .await
            .expect("append");
    }
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("raw");
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .execute(&pool)
            .await
            .is_err(),
        "the append-only trigger refuses updates"
    );
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&pool)
        .await
        .expect("drop trigger");
    sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        .execute(&pool)
        .await
        .expect("tamper");
    pool.close().await;
    let store = SqliteStore::open(path.to_str().expect("utf-8"), SqliteOptions::default())
        .await
        .expect("open");
    let entries = store.audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        verify_chain(&entries),
        Err(AuditProblem::Altered { seq: 2 })
    );
}
