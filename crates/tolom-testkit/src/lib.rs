//! # tolom-testkit
//!
//! Everything needed to test payment rules and adapters without a database
//! or a network:
//!
//! - [`memory::InMemoryStore`]: every storage port, honouring every contract
//!   (the atomic one-in-flight rule, outbox messages written in the same
//!   step as the state change).
//! - [`clock::ManualClock`] and [`ids::SequentialIds`]: time and ids under
//!   the test's control.
//! - [`fake::FakeAcquirer`]: a scriptable acquirer for rule tests.
//! - [`fixtures`]: a ready [`tolom_core::Tolom`] and demo data.
//! - [`external_payments`]: the flows of payments made elsewhere (a bank's
//!   app, a terminal, ELQR) that every storage adapter runs.
//! - [`conformance`]: the suites any adapter runs to prove it keeps the
//!   contracts of its port (`storage`, `ops`, `acquirer`, `notifier`), with
//!   macros that make one named test per case.
//! - [`external`]: the one rule for tests that need PostgreSQL, an SMTP
//!   server or Chromium: skip loudly on a laptop, fail in CI.
//! - with feature `mock`: the `mockall` mocks of every port, re-exported in
//!   [`mocks`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod conformance;
pub mod external;
pub mod external_payments;
pub mod fake;
pub mod fixtures;
pub mod ids;
pub mod memory;
pub mod notifier;

/// The `mockall` mocks of the ports (feature `mock`).
#[cfg(feature = "mock")]
pub mod mocks {
    pub use tolom_core::ports::{
        MockAcquirer, MockChargeStore, MockClock, MockEventLog, MockExternalPaymentStore,
        MockIdGenerator, MockNotifier, MockOpsStore, MockOutboxStore, MockPaymentStore,
        MockReceiptSigner, MockTermsStore,
    };
}
