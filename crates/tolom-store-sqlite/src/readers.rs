//! The read-only connections: a fixed set, each behind its own lock, opened
//! on first use.
//!
//! Not sqlx's pool: a read through it is one round trip to the
//! connection's worker thread, where the pool adds a second one (it pings
//! every connection it takes back) and a spawned task per read
//! (`benches/roundtrip.rs`: ~35–40 µs against ~22 µs per point read). A
//! SQLite connection runs one command at a time on its worker thread, so a
//! caller that goes away mid-read leaves the connection usable: the worker
//! finishes (or drops) that statement before it runs the next one.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Mutex, MutexGuard, Semaphore, SemaphorePermit};
use tolom_core::ports::StoreError;

use crate::error::map;

/// The read-only connections of a store.
#[derive(Debug)]
pub(crate) struct Readers {
    slots: Vec<Mutex<Option<SqliteConnection>>>,
    /// One permit per slot: a reader holding a permit always finds a free
    /// slot, so a read waits for *any* connection to be free, never for one
    /// particular (perhaps long) read.
    free: Semaphore,
    options: SqliteConnectOptions,
    next: AtomicUsize,
    closed: AtomicBool,
    wait: Duration,
}

/// A connection taken for one read; dereferences to the connection. The
/// slot is released before the permit (fields drop in order).
pub(crate) struct Reader<'a>(
    MutexGuard<'a, Option<SqliteConnection>>,
    #[allow(dead_code)] SemaphorePermit<'a>,
);

impl Deref for Reader<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.0.as_ref().expect("a taken reader is open")
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.0.as_mut().expect("a taken reader is open")
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

impl Readers {
    /// `count` connections (at least one) opened with `options` when first
    /// needed; a read waits at most `wait` for one to be free.
    pub(crate) fn new(options: SqliteConnectOptions, count: u32, wait: Duration) -> Readers {
        Readers {
            slots: (0..count.max(1)).map(|_| Mutex::new(None)).collect(),
            free: Semaphore::new(count.max(1) as usize),
            options,
            next: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            wait,
        }
    }

    /// Opens the first connection now (so that a bad location fails at
    /// open).
    pub(crate) async fn warm(&self) -> Result<(), StoreError> {
        drop(self.get().await?);
        Ok(())
    }

    /// A free connection: waits (at most the wait) until any connection is
    /// free, then takes the first free one from a rotating start.
    pub(crate) async fn get(&self) -> Result<Reader<'_>, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let timed_out =
            || StoreError::Unavailable("timed out waiting for a database connection".into());
        let deadline = tokio::time::Instant::now() + self.wait;
        let permit = tokio::time::timeout_at(deadline, self.free.acquire())
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| closed())?;
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        // With a permit, at most n - 1 other readers hold slots, so one is
        // free; should none be (a slot released just after its permit),
        // look again until the deadline rather than fail.
        let mut guard = loop {
            if let Some(g) = (0..n).find_map(|i| self.slots[(start + i) % n].try_lock().ok()) {
                break g;
            }
            if self.closed.load(Ordering::Acquire) {
                return Err(closed());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(timed_out());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        if guard.is_none() {
            *guard = Some(self.options.connect().await.map_err(map)?);
        }
        Ok(Reader(guard, permit))
    }

    /// Closes every connection (after the reads in progress); reads
    /// afterwards fail with `Unavailable`.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.free.close();
        for slot in &self.slots {
            if let Some(conn) = slot.lock().await.take() {
                let _ = conn.close().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_read_takes_whichever_connection_frees_first() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("readers.db");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap_or_else(|e| panic!("{e}"))
            .create_if_missing(true);
        let readers = Readers::new(options, 2, Duration::from_secs(5));
        let a = readers.get().await.unwrap_or_else(|e| panic!("{e}"));
        let b = readers.get().await.unwrap_or_else(|e| panic!("{e}"));
        // Both busy: each of these reads waits. Whatever slot its rotating
        // start names, it gets `b`'s once `b` is done, while `a` stays busy
        // (a long read) for the whole test.
        let waiting = async {
            for _ in 0..4 {
                drop(readers.get().await.unwrap_or_else(|e| panic!("{e}")));
            }
        };
        let release = async {
            tokio::task::yield_now().await;
            drop(b);
        };
        tokio::join!(waiting, release);
        drop(a);
        readers.close().await;
        assert!(readers.get().await.is_err(), "closed readers refuse reads");
    }
}
