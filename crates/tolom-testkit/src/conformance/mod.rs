//! Conformance suites: what any adapter runs to prove it keeps the contract
//! of its port. Ours run them; so should a third party's.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use tolom_core::ports::Store;
//! use tolom_testkit::{conformance, memory::InMemoryStore};
//! conformance::storage::run(|| async { Arc::new(InMemoryStore::new()) as Arc<dyn Store> }).await;
//! # }
//! ```
//!
//! The suites panic with a message naming the broken rule, like assertions
//! in a test.

pub mod acquirer;
pub mod notifier;
pub mod ops;
pub mod storage;
