//! The id port.

use uuid::Uuid;

/// Makes ids. Implementations MUST never repeat an id.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A new id.
    fn new_id(&self) -> Uuid;
}

/// Random (v4) ids.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn new_id(&self) -> Uuid {
        Uuid::new_v4()
    }
}
