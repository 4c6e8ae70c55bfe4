//! The four targets.

pub mod api;
pub mod bpc;
pub mod card;
pub mod code;
