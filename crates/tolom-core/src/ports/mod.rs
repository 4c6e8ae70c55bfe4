//! Ports: the traits adapters implement, each with its contract, one file
//! per port.
//!
//! | port | file | implemented by |
//! |---|---|---|
//! | storage: [`ChargeStore`], [`PaymentStore`], [`OutboxStore`], [`EventLog`], [`TermsStore`] (together with the next, [`Store`]) | `storage.rs` | SQLite, PostgreSQL, the testkit's in-memory store |
//! | payments made elsewhere: [`ExternalPaymentStore`] | `external.rs` | the same stores |
//! | operations: [`OpsStore`] (audit log, tokens, retention) | `ops.rs` | the same stores |
//! | [`Acquirer`] | `acquirer.rs` | sandbox, BPC gateway |
//! | [`Notifier`] | `notifier.rs` | SMTP, webhooks, the demo's log |
//! | [`Clock`] | `clock.rs` | [`SystemClock`], the testkit's manual clock |
//! | [`IdGenerator`] | `ids.rs` | [`RandomIds`], the testkit's sequential ids |
//! | [`ReceiptSigner`] | `signer.rs` | [`Ed25519Signer`] |
//! | [`StoreHealth`] (optional: schema and database checks for readiness probes) | `health.rs` | SQLite, PostgreSQL |
//! | errors of all of them | `errors.rs` | |
//!
//! Contracts are written as MUST rules; the testkit's conformance suites
//! (`tolom_testkit::conformance`) check them for any adapter. Domain modules
//! (money, codes, charges, payments, receipts, ...) import no port; the use
//! cases ([`crate::usecases`]) are where ports and domain meet.

mod acquirer;
mod clock;
mod errors;
mod external;
mod health;
mod ids;
mod notifier;
mod ops;
mod signer;
mod storage;

pub use acquirer::*;
pub use clock::*;
pub use errors::*;
pub use external::*;
pub use health::*;
pub use ids::*;
pub use notifier::*;
pub use ops::*;
pub use signer::*;
pub use storage::*;
