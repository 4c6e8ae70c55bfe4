//! The testkit's operations conformance suite on PostgreSQL (a fresh schema
//! per store), and the audit chain catching rows altered, deleted or
//! inserted behind the store's back.

mod common;

use std::sync::{Arc, Mutex};

use tolom_core::audit::{verify_chain, AuditProblem};
use tolom_core::ports::OpsStore;
use tolom_testkit::conformance::ops;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_conformance() {
    let Some(db) = common::TestDb::connect_or_skip("ops conformance").await else {
        return;
    };
    let guards = Arc::new(Mutex::new(Vec::new()));
    ops::run(|| {
        let db = db.clone();
        let guards = guards.clone();
        async move {
            let (store, guard) = db.fresh().await;
            if let Ok(mut g) = guards.lock() {
                g.push(guard);
            }
            Arc::new(store)
        }
    })
    .await;
}

#[tokio::test]
async fn tampering_breaks_the_chain() {
    let Some(db) = common::TestDb::connect_or_skip("audit tampering").await else {
        return;
    };
    let (store, guard) = db.fresh().await;
    let now = chrono::Utc::now();
    for i in 0..4 {
        store
            .append_audit(
                now,
                "system",
                "x",
                "s",
                serde_json::json!({"i": i, "b": [1, "x"]}),
            )
            .await
            .expect("append");
    }
    let entries = store.audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        verify_chain(&entries),
        Ok(4),
        "hashes computed in SQL match the core's"
    );
    let raw = store.pool();
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .execute(raw)
            .await
            .is_err(),
        "append-only"
    );
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(raw)
        .await
        .expect("disable trigger");
    sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        .execute(raw)
        .await
        .expect("tamper");
    let entries = store.audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        verify_chain(&entries),
        Err(AuditProblem::Altered { seq: 2 })
    );
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(raw)
        .await
        .expect("delete");
    let entries = store.audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        verify_chain(&entries),
        Err(AuditProblem::Missing { from: 2, to: 2 })
    );
    drop(guard);
}
