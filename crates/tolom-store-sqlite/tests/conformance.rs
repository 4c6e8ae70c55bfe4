//! The testkit's conformance suites, one named test per case: storage
//! (`storage_conformance::*`) and operations (`ops_conformance::*`) on a
//! database file with the default settings (`synchronous=FULL`); the
//! storage suite also on a file with `synchronous=NORMAL`
//! (`storage_conformance_normal::*`) and both on a private in-memory
//! database (`*_in_memory::*`).

mod common;

use std::sync::Arc;

use tolom_store_sqlite::{Durability, SqliteOptions, SqliteStore};

async fn on_file(durability: Durability) -> Arc<SqliteStore> {
    let options = SqliteOptions {
        durability,
        ..SqliteOptions::default()
    };
    Arc::new(common::open(&common::scratch_file("conformance"), options).await)
}

/// A fresh database file, `synchronous=FULL` (the default).
async fn store() -> Option<Arc<SqliteStore>> {
    Some(on_file(Durability::Full).await)
}

/// A fresh database file, `synchronous=NORMAL`.
async fn store_normal() -> Option<Arc<SqliteStore>> {
    Some(on_file(Durability::Normal).await)
}

/// A fresh private database in memory.
async fn in_memory() -> Option<Arc<SqliteStore>> {
    Some(Arc::new(
        SqliteStore::in_memory().await.expect("in-memory store"),
    ))
}

tolom_testkit::storage_conformance!(store);
tolom_testkit::ops_conformance!(store);
tolom_testkit::storage_conformance!(storage_conformance_normal, store_normal);
tolom_testkit::storage_conformance!(storage_conformance_in_memory, in_memory);
tolom_testkit::ops_conformance!(ops_conformance_in_memory, in_memory);
