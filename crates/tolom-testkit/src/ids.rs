//! Predictable ids.

use std::sync::atomic::{AtomicU64, Ordering};

use tolom_core::ports::IdGenerator;
use uuid::Uuid;

/// Ids 1, 2, 3, … (as UUIDs with a fixed high part), for reproducible tests.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl SequentialIds {
    /// Starts at 1.
    pub fn new() -> SequentialIds {
        SequentialIds::default()
    }
}

impl IdGenerator for SequentialIds {
    fn new_id(&self) -> Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        // A random-looking but fixed high part keeps generated codes spread
        // over the serial space.
        Uuid::from_u128(
            (0x7010_4d00_0000_4000_8000_0000_0000_0000u128)
                | (u128::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15) & 0xffff_ffff_ffff_ffff),
        )
    }
}
