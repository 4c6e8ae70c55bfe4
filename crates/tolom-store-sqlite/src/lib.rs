//! # tolom-store-sqlite
//!
//! Storage for [tolom](tolom_core) on SQLite: every storage port of the core
//! ([`ChargeStore`](tolom_core::ports::ChargeStore),
//! [`PaymentStore`](tolom_core::ports::PaymentStore),
//! [`OutboxStore`](tolom_core::ports::OutboxStore),
//! [`EventLog`](tolom_core::ports::EventLog),
//! [`TermsStore`](tolom_core::ports::TermsStore)), so a [`SqliteStore`] is a
//! [`tolom_core::ports::Store`]; and the operations port
//! [`OpsStore`](tolom_core::ports::OpsStore) (hash-chained audit log that
//! every event also goes into, admin tokens, retention, access requests).
//!
//! - **The schema enforces the invariants**, not only the Rust code: one
//!   payment in flight per charge and one paid payment per charge (partial
//!   unique indexes), optimistic versions, refunds never above the total
//!   (CHECK), amounts/charge/code fixed after insert and append-only events
//!   (triggers), no unmasked card number (CHECK). See
//!   `migrations/20261125000001_initial.sql`.
//! - **Embedded, versioned, forward-only migrations** run by
//!   [`SqliteStore::open`] and [`SqliteStore::migrate`].
//! - **Server settings**: WAL, `synchronous=FULL` by default
//!   ([`Durability`]), a busy timeout, foreign keys on, and one writer
//!   connection taking `BEGIN IMMEDIATE` next to a pool of read-only
//!   readers, so concurrent payers never see `SQLITE_BUSY`.
//! - **Errors mapped at the edge**: SQLite errors become
//!   [`StoreError`](tolom_core::ports::StoreError) kinds (`DuplicateCode`,
//!   `InFlight`, `Conflict`, `Invariant`, retryable `Unavailable`); nothing
//!   of sqlx crosses into the core.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use tolom_core::ports::Store;
//! use tolom_store_sqlite::SqliteStore;
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
//! assert!(store.terms_editions().await.unwrap().is_empty());
//! # });
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
mod error;
mod ops;
mod options;
mod store;

pub use options::{Durability, SqliteOptions};
pub use store::SqliteStore;
