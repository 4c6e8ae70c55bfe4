//! The testkit's storage conformance suite, on a private in-memory database
//! and on database files (both durability settings).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tolom_core::ports::Store;
use tolom_store_sqlite::{Durability, SqliteOptions, SqliteStore};
use tolom_testkit::conformance::storage;

#[tokio::test]
async fn conformance_in_memory() {
    storage::run(|| async {
        Arc::new(SqliteStore::in_memory().await.expect("in-memory store")) as Arc<dyn Store>
    })
    .await;
}

async fn on_files(durability: Durability) {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    storage::run(|| {
        let path = dir
            .path()
            .join(format!("tolom-{}.db", n.fetch_add(1, Ordering::SeqCst)));
        async move {
            let options = SqliteOptions {
                durability,
                ..SqliteOptions::default()
            };
            Arc::new(
                SqliteStore::open(path.to_str().expect("utf-8 path"), options)
                    .await
                    .expect("open file store"),
            ) as Arc<dyn Store>
        }
    })
    .await;
    assert!(
        n.load(Ordering::SeqCst) >= 13,
        "every case ran on its own file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_file_synchronous_full() {
    on_files(Durability::Full).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_file_synchronous_normal() {
    on_files(Durability::Normal).await;
}
