//! # tolom-core
//!
//! The domain model, ports and use cases of **tolom** (*төлөм*, "payment"):
//! paying state-service fees by payment code with a bank card.
//!
//! The core does no I/O and needs no async runtime. Adapters (storage,
//! acquirers, notifiers) implement the traits in [`ports`]; programs compose
//! them into a [`service::Tolom`].
//!
//! - [`money`]: exact amounts in KGS.
//! - [`catalogue`]: services and tariffs, from data.
//! - [`code`] and [`checkdigit`]: payment codes with pluggable check digits.
//! - [`charge`], [`payment`]: what a code refers to, and the payment state
//!   machine.
//! - [`card`]: card and contact validation; secrets that cannot leak.
//! - [`receipt`], [`terms`], [`i18n`]: what the payer reads.
//! - [`ports`], [`service`], [`errors`]: the hexagon.
//! - [`ops`]: audit log, admin tokens, personal-data retention.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod card;
pub mod catalogue;
pub mod charge;
pub mod checkdigit;
pub mod code;
pub mod errors;
pub mod i18n;
pub mod money;
pub mod ops;
pub mod outbox;
pub mod payment;
pub mod ports;
pub mod receipt;
pub mod service;
pub mod terms;
pub mod time;

pub use service::{Config, Tolom};
