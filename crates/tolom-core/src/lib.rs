//! # tolom-core
//!
//! The domain model, ports and use cases of **tolom** (*төлөм*, "payment"):
//! paying state-service fees by payment code with a bank card.
//!
//! The core does no I/O and needs no async runtime. Adapters (storage,
//! acquirers, notifiers) implement the traits in [`ports`]; programs compose
//! them into a [`Tolom`], whose use cases live in [`usecases`], grouped by
//! what they do.
//!
//! The domain (no module here imports a port):
//! - [`money`]: exact amounts in KGS.
//! - [`catalogue`]: services and tariffs, from data.
//! - [`code`] and [`checkdigit`]: payment codes with pluggable check digits.
//! - [`charge`], [`payment`]: what a code refers to, and the payment state
//!   machine with its one transition table.
//! - [`external`]: payments of a charge made elsewhere (a bank's app, a
//!   terminal, ELQR) and reported to tolom.
//! - [`card`]: card and contact validation; secrets that cannot leak.
//! - [`receipt`], [`terms`], [`i18n`], [`time`]: what the payer reads.
//! - [`events`], [`outbox`]: what is recorded and announced with each
//!   change.
//! - [`audit`], [`access`]: the tamper-evident audit log, admin tokens,
//!   roles and principals.
//!
//! The hexagon:
//! - [`ports`]: one file per port, each with its contract.
//! - [`usecases`]: charges, terms, paying, challenge, refunds,
//!   reconcile/expire, outbox, receipts, and the operator's actions.
//! - [`errors`]: the use cases' errors, each with a stable code.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod audit;
pub mod card;
pub mod catalogue;
pub mod charge;
pub mod checkdigit;
pub mod code;
pub mod errors;
pub mod events;
pub mod external;
mod hex;
pub mod i18n;
pub mod money;
pub mod outbox;
pub mod payment;
pub mod ports;
pub mod receipt;
pub mod terms;
pub mod time;
pub mod usecases;

pub use usecases::{Config, Tolom};
