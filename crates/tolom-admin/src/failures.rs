//! How many failed authentications reach the audit log.
//!
//! Every request with a missing, malformed, unknown or revoked bearer
//! token is refused (`401`) and, within these bounds, recorded as
//! `admin.auth_failed`:
//!
//! - at most [`PER_CLIENT`] entries per client address per minute, and
//! - at most [`IN_ALL`] entries per minute from all clients together (a
//!   flood from many addresses is bounded too);
//! - the failures past a bound are counted, and the next entry written
//!   carries the count (`suppressed_before`: failures since the previous
//!   entry that were not written), so the log still tells how many there
//!   were;
//! - the limiter remembers at most [`CLIENTS`] addresses; a new one beyond
//!   that evicts the address seen first (O(1): a queue in arrival order
//!   beside the map). An evicted flooder may write [`PER_CLIENT`] entries
//!   again, still within [`IN_ALL`].
//!
//! So a flood writes at most `IN_ALL` entries a minute (about 144,000 a
//! day, each well under a kilobyte) however it is spread. The windows
//! follow the use cases' clock. Counts live in the instance's memory:
//! every instance of a portal keeps its own.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Entries per client address per minute.
pub const PER_CLIENT: u32 = 10;
/// Entries per minute from all clients together.
pub const IN_ALL: u32 = 100;
/// Client addresses remembered.
pub const CLIENTS: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: DateTime<Utc>,
    count: u32,
}

impl Window {
    fn new(now: DateTime<Utc>) -> Window {
        Window {
            start: now,
            count: 0,
        }
    }

    /// Starts a new window when a minute has passed (or the clock went
    /// back).
    fn roll(&mut self, now: DateTime<Utc>) {
        if now < self.start || now - self.start >= Duration::minutes(1) {
            *self = Window::new(now);
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    clients: HashMap<String, Window>,
    arrival: VecDeque<String>,
    all: Option<Window>,
    suppressed: u64,
}

/// What to do with a failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Write its entry, with the failures not written since the last one.
    Record {
        /// Failures not written since the previous entry.
        suppressed_before: u64,
    },
    /// Count it only: a bound is reached. `first` for the first one of
    /// the minute (worth one log line).
    Suppress {
        /// The first failure suppressed in this minute.
        first: bool,
    },
}

/// The bounded counts of failed authentications (see the module).
#[derive(Debug, Default)]
pub(crate) struct AuthFailures {
    inner: Mutex<Inner>,
}

impl AuthFailures {
    /// Whether the failure of `client` at `now` is written or counted.
    pub(crate) fn admit(&self, client: &str, now: DateTime<Utc>) -> Admit {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inner = &mut *guard;
        let all = inner.all.get_or_insert_with(|| Window::new(now));
        all.roll(now);
        let all_full = all.count >= IN_ALL;
        if !inner.clients.contains_key(client) {
            if inner.clients.len() >= CLIENTS {
                if let Some(first) = inner.arrival.pop_front() {
                    inner.clients.remove(&first);
                }
            }
            inner.clients.insert(client.to_string(), Window::new(now));
            inner.arrival.push_back(client.to_string());
        }
        let Some(window) = inner.clients.get_mut(client) else {
            return Admit::Suppress { first: false };
        };
        window.roll(now);
        if all_full || window.count >= PER_CLIENT {
            inner.suppressed = inner.suppressed.saturating_add(1);
            let first = if all_full {
                all.count == IN_ALL
            } else {
                window.count == PER_CLIENT
            };
            // Count past the bound once, so `first` is told only once.
            if all_full {
                all.count = all.count.saturating_add(u32::from(first));
            } else {
                window.count = window.count.saturating_add(u32::from(first));
            }
            return Admit::Suppress { first };
        }
        window.count += 1;
        all.count += 1;
        Admit::Record {
            suppressed_before: std::mem::take(&mut inner.suppressed),
        }
    }

    /// Client addresses remembered now.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        debug_assert_eq!(inner.clients.len(), inner.arrival.len());
        inner.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn a_client_gets_its_entries_a_minute_then_a_count() {
        let f = AuthFailures::default();
        let now = t0();
        for _ in 0..PER_CLIENT {
            assert!(matches!(f.admit("10.0.0.1", now), Admit::Record { .. }));
        }
        assert_eq!(f.admit("10.0.0.1", now), Admit::Suppress { first: true });
        for _ in 0..5 {
            assert_eq!(f.admit("10.0.0.1", now), Admit::Suppress { first: false });
        }
        // Another client is not held back by the first.
        assert_eq!(
            f.admit("10.0.0.2", now),
            Admit::Record {
                suppressed_before: 6
            }
        );
        // A minute later the first writes again; nothing was left out since
        // the last entry.
        assert_eq!(
            f.admit("10.0.0.1", now + Duration::seconds(60)),
            Admit::Record {
                suppressed_before: 0
            }
        );
    }

    #[test]
    fn many_clients_are_bounded_in_all_and_in_memory() {
        let f = AuthFailures::default();
        let now = t0();
        let mut recorded = 0;
        for i in 0..(CLIENTS * 3) {
            if matches!(f.admit(&format!("client-{i}"), now), Admit::Record { .. }) {
                recorded += 1;
            }
        }
        assert_eq!(recorded, IN_ALL as usize, "at most IN_ALL a minute");
        assert_eq!(f.remembered(), CLIENTS, "the oldest addresses make room");
        assert_eq!(
            f.admit("late", now + Duration::minutes(1)),
            Admit::Record {
                suppressed_before: (CLIENTS * 3) as u64 - u64::from(IN_ALL)
            },
            "the next minute's first entry counts what was left out"
        );
    }
}
