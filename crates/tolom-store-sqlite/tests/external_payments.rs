//! The testkit's flows of payments made elsewhere (a bank's app, a
//! terminal, ELQR) on a SQLite database file: recording, idempotency, the
//! races with card payments, flagged duplicates and their resolution.

mod common;

use std::sync::Arc;

use tolom_store_sqlite::{SqliteOptions, SqliteStore};

async fn store() -> Option<Arc<SqliteStore>> {
    Some(Arc::new(
        common::open(&common::scratch_file("external"), SqliteOptions::default()).await,
    ))
}

tolom_testkit::external_payment_flows!(store);
