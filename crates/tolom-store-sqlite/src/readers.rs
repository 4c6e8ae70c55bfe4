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
use tokio::sync::{Mutex, MutexGuard};
use tolom_core::ports::StoreError;

use crate::error::map;

/// The read-only connections of a store.
#[derive(Debug)]
pub(crate) struct Readers {
    slots: Vec<Mutex<Option<SqliteConnection>>>,
    options: SqliteConnectOptions,
    next: AtomicUsize,
    closed: AtomicBool,
    wait: Duration,
}

/// A connection taken for one read; dereferences to the connection.
pub(crate) struct Reader<'a>(MutexGuard<'a, Option<SqliteConnection>>);

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

    /// A free connection: the first one free from a rotating start, or the
    /// start's own once it is free (at most the wait).
    pub(crate) async fn get(&self) -> Result<Reader<'_>, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut taken = None;
        for i in 0..n {
            if let Ok(guard) = self.slots[(start + i) % n].try_lock() {
                taken = Some(guard);
                break;
            }
        }
        let mut guard = match taken {
            Some(g) => g,
            None => tokio::time::timeout(self.wait, self.slots[start].lock())
                .await
                .map_err(|_| {
                    StoreError::Unavailable("timed out waiting for a database connection".into())
                })?,
        };
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        if guard.is_none() {
            *guard = Some(self.options.connect().await.map_err(map)?);
        }
        Ok(Reader(guard))
    }

    /// Closes every connection (after the reads in progress); reads
    /// afterwards fail with `Unavailable`.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for slot in &self.slots {
            if let Some(conn) = slot.lock().await.take() {
                let _ = conn.close().await;
            }
        }
    }
}
