//! The testkit's conformance suites on PostgreSQL: one named test per case
//! (`storage_conformance::charges`, `ops_conformance::audit_chain`, ...),
//! each on a fresh schema.

mod common;

use std::sync::Arc;

use tolom_store_postgres::PostgresStore;

async fn store() -> Option<Arc<PostgresStore>> {
    common::store_for("postgres conformance").await
}

tolom_testkit::storage_conformance!(store);
tolom_testkit::ops_conformance!(store);
