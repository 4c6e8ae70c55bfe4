//! The clock port: where the core gets "now" from.

use chrono::{DateTime, Utc};

/// Where the core gets "now" from. The core never calls `Utc::now()` itself.
///
/// Implementations MUST be cheap and MUST NOT go backwards by more than the
/// system clock does.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
