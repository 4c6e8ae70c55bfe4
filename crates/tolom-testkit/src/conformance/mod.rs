//! Conformance suites: what any adapter runs to prove it keeps the contract
//! of its port. Ours run them; so should a third party's.
//!
//! Each suite is a set of named cases (plain `async fn`s, as in
//! `object_store`'s `integration.rs`), and a macro that makes one
//! `#[tokio::test]` per case, so that a report names every broken case and
//! the first failure hides none of the others:
//!
//! ```ignore
//! // tests/conformance.rs of a storage adapter:
//! async fn store() -> Option<std::sync::Arc<MyStore>> {
//!     Some(std::sync::Arc::new(MyStore::open_fresh().await))
//! }
//! tolom_testkit::storage_conformance!(store);   // storage_conformance::charges, ...
//! tolom_testkit::ops_conformance!(store);       // ops_conformance::audit_chain, ...
//! ```
//!
//! `storage_conformance!(my_module, store)` names the module, for a test
//! file that runs a suite on two adapters. A maker returns `None` to skip (after [`crate::external::missing`], which
//! fails in CI). The calling crate needs `tokio` (macros, multi-threaded
//! runtime) among its dev-dependencies. The acquirer and notifier makers
//! get the case's name, for adapters that script their behaviour per case.
//!
//! The suites panic with a message naming the broken rule, like assertions
//! in a test.

pub mod acquirer;
pub mod notifier;
pub mod ops;
pub mod storage;

/// One `#[tokio::test]` per storage case, in a module `storage_conformance`,
/// each on a fresh store from `$make` (an `async fn() -> Option<Arc<S>>`
/// with `S: Store`).
#[macro_export]
macro_rules! storage_conformance {
    ($make:ident) => {
        $crate::storage_conformance!(storage_conformance, $make);
    };
    ($module:ident, $make:ident) => {
        mod $module {
            $crate::__conformance_case!(storage, $make, charges);
            $crate::__conformance_case!(storage, $make, agency_references);
            $crate::__conformance_case!(storage, $make, charge_status);
            $crate::__conformance_case!(storage, $make, create_payment_rules);
            $crate::__conformance_case!(storage, $make, in_flight_is_atomic);
            $crate::__conformance_case!(storage, $make, optimistic_versions);
            $crate::__conformance_case!(storage, $make, success_is_atomic);
            $crate::__conformance_case!(storage, $make, invariants_in_storage);
            $crate::__conformance_case!(storage, $make, refunds);
            $crate::__conformance_case!(storage, $make, queries);
            $crate::__conformance_case!(storage, $make, outbox_claims);
            $crate::__conformance_case!(storage, $make, outbox_failures);
            $crate::__conformance_case!(storage, $make, events_and_terms);
            $crate::__conformance_case!(storage, $make, round_trip);
            $crate::__conformance_case!(storage, $make, external_payments);
            $crate::__conformance_case!(storage, $make, external_payment_races);
        }
    };
}

/// One `#[tokio::test]` per operations case (audit log, sealing,
/// checkpoints, tokens, retention),
/// in a module `ops_conformance`, each on a fresh store from `$make` (an
/// `async fn() -> Option<Arc<S>>` with `S: Store + OpsStore`).
#[macro_export]
macro_rules! ops_conformance {
    ($make:ident) => {
        $crate::ops_conformance!(ops_conformance, $make);
    };
    ($module:ident, $make:ident) => {
        mod $module {
            $crate::__conformance_case!(ops_arc, $make, audit_chain);
            $crate::__conformance_case!(ops_arc, $make, audit_sealing);
            $crate::__conformance_case!(ops_arc, $make, audit_checkpoints);
            $crate::__conformance_case!(ops_arc, $make, tokens);
            $crate::__conformance_case!(ops_arc, $make, retention);
            $crate::__conformance_case!(ops_arc, $make, retention_scrubs_outbox_errors);
            $crate::__conformance_case!(ops_arc, $make, external_payments_audited);
        }
    };
}

/// One `#[tokio::test]` per acquirer case, in a module
/// `acquirer_conformance`, each with an acquirer from `$make` (an
/// `async fn(&'static str) -> Option<AcquirerUnderTest>` given the case's
/// name).
#[macro_export]
macro_rules! acquirer_conformance {
    ($make:ident) => {
        $crate::acquirer_conformance!(acquirer_conformance, $make);
    };
    ($module:ident, $make:ident) => {
        mod $module {
            $crate::__conformance_case!(acquirer, $make, approval_is_idempotent);
            $crate::__conformance_case!(acquirer, $make, refunds_never_exceed_the_payment);
            $crate::__conformance_case!(acquirer, $make, decline);
            $crate::__conformance_case!(acquirer, $make, unknown_order);
            $crate::__conformance_case!(acquirer, $make, challenge);
            $crate::__conformance_case!(acquirer, $make, unpaid_order_is_cancelled);
        }
    };
}

/// One `#[tokio::test]` per notifier case, in a module
/// `notifier_conformance`, each with a notifier from `$make` (an
/// `async fn(&'static str) -> Option<NotifierUnderTest>` given the case's
/// name).
#[macro_export]
macro_rules! notifier_conformance {
    ($make:ident) => {
        $crate::notifier_conformance!(notifier_conformance, $make);
    };
    ($module:ident, $make:ident) => {
        mod $module {
            $crate::__conformance_case!(notifier, $make, delivers_at_least_once);
            $crate::__conformance_case!(notifier, $make, unreachable_is_temporary);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_case {
    (storage, $make:ident, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some(store) = super::$make().await else {
                return;
            };
            $crate::conformance::storage::$case(&*store).await;
        }
    };
    (ops_arc, $make:ident, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some(store) = super::$make().await else {
                return;
            };
            $crate::conformance::ops::$case(store).await;
        }
    };
    ($suite:ident, $make:ident, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some(under_test) = super::$make(stringify!($case)).await else {
                return;
            };
            $crate::conformance::$suite::$case(&under_test).await;
        }
    };
}
