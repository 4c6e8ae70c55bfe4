//! # tolom-admin
//!
//! What operators of a tolom portal do besides taking payments, as a
//! library: per-day reports for reconciliation with the bank's statement,
//! personal-data retention and access requests, admin API tokens, and
//! audit-log verification; and [`api::admin_router`], the admin JSON API
//! (bearer tokens stored only as hashes, roles, every action in the audit
//! log). The `tolom` command line and the portal's `serve` use both.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod ops;

pub use api::{admin_router, AdminState};
pub use ops::*;
