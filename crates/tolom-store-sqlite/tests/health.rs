//! The store's look at itself for readiness probes: the schema this build
//! knows, and a database file removed or replaced while open (which SQLite
//! itself never reports: the open connections keep using the old file).

use tolom_core::ports::{StoreError, StoreHealth};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};

async fn open(path: &std::path::Path) -> SqliteStore {
    SqliteStore::open(path.to_str().expect("utf-8 path"), SqliteOptions::default())
        .await
        .expect("open")
}

#[tokio::test]
async fn a_fresh_database_is_at_this_builds_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("tolom.db")).await;
    let status = store.schema_status().await.expect("status");
    assert!(status.is_current(), "{status:?}");
    assert_eq!(status.known, SqliteStore::latest_schema_version());
    let memory = SqliteStore::in_memory().await.expect("memory");
    assert!(memory.schema_status().await.expect("status").is_current());
}

#[tokio::test]
async fn a_database_file_removed_or_replaced_while_open_is_broken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tolom.db");
    let store = open(&path).await;
    // Replaced: another file renamed over it.
    std::fs::write(dir.path().join("other.db"), b"not the same file").expect("write");
    std::fs::rename(dir.path().join("other.db"), &path).expect("rename");
    match store.schema_status().await {
        Err(e @ StoreError::Broken(_)) => assert!(e.to_string().contains("replaced"), "{e}"),
        other => panic!("a replaced file is broken, got {other:?}"),
    }
    // Removed.
    std::fs::remove_file(&path).expect("remove");
    match store.schema_status().await {
        Err(e @ StoreError::Broken(_)) => {
            assert!(e.to_string().contains("removed"), "{e}");
            assert!(!e.is_temporary());
        }
        other => panic!("a removed file is broken, got {other:?}"),
    }
}

#[tokio::test]
async fn a_closed_store_is_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("tolom.db")).await;
    store.close().await;
    match store.schema_status().await {
        Err(e) => assert!(e.is_temporary(), "{e}"),
        Ok(s) => panic!("a closed store answered {s:?}"),
    }
}
