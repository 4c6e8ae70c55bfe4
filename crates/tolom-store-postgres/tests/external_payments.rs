//! The testkit's flows of payments made elsewhere (a bank's app, a
//! terminal, ELQR) on PostgreSQL, each on a fresh schema: recording,
//! idempotency, the races with card payments, flagged duplicates and their
//! resolution.

mod common;

use std::sync::Arc;

use tolom_store_postgres::PostgresStore;

async fn store() -> Option<Arc<PostgresStore>> {
    common::store_for("postgres external payments").await
}

tolom_testkit::external_payment_flows!(store);
