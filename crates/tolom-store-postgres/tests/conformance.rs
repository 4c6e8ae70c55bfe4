//! The testkit's storage conformance suite, each case on a fresh schema.

mod common;

use std::sync::{Arc, Mutex};

use tolom_core::ports::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_conformance_suite() {
    let Some(db) = common::TestDb::connect_or_skip("storage conformance").await else {
        return;
    };
    let guards = Arc::new(Mutex::new(Vec::new()));
    tolom_testkit::conformance::storage::run(|| {
        let db = db.clone();
        let guards = guards.clone();
        async move {
            let (store, guard) = db.fresh().await;
            if let Ok(mut g) = guards.lock() {
                g.push(guard);
            }
            Arc::new(store) as Arc<dyn Store>
        }
    })
    .await;
}
