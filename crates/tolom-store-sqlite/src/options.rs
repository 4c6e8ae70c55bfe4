//! How a [`SqliteStore`](crate::SqliteStore) opens its database.

use std::time::Duration;

/// What "committed" means: when SQLite syncs to disk.
///
/// Both run in WAL mode. See `docs/adapters.md` ("SQLite settings") for the
/// trade-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL` (the default): every durable commit syncs the WAL
    /// to disk before it returns. A committed payment survives a power loss
    /// or an OS crash. The writes the port allows to be deferred (starting a
    /// payment, leasing outbox messages) commit with `NORMAL` when their
    /// batch holds nothing else, and reach the disk with the next durable
    /// commit.
    #[default]
    Full,
    /// `synchronous=NORMAL`: the WAL is synced only at checkpoints. A commit
    /// survives a crash of the program, but the last commits before a power
    /// loss or OS crash may roll back (the database stays consistent).
    Normal,
}

impl Durability {
    /// The `PRAGMA synchronous` value.
    pub fn pragma(&self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// Settings of [`SqliteStore::open`](crate::SqliteStore::open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// When commits are synced to disk (default [`Durability::Full`]).
    pub durability: Durability,
    /// How long a connection waits for a lock held by another process
    /// before giving up with [`StoreError::Unavailable`](tolom_core::ports::StoreError::Unavailable)
    /// (default 5 s). Within one process writes never wait on SQLite's lock:
    /// they queue for the single writer task instead.
    pub busy_timeout: Duration,
    /// How long a read waits for a free read-only connection, and a write
    /// for room in the writer's queue (at most 1,024 writes wait), default
    /// 30 s; past it the call fails with `Unavailable`, having written
    /// nothing. A write once queued is not given up on: it runs, and its
    /// caller is answered after the commit.
    pub acquire_timeout: Duration,
    /// Read-only connections for look-ups and lists (default 4).
    pub readers: u32,
    /// Create the database file when it does not exist (default true). The
    /// directory must exist.
    pub create_if_missing: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            readers: 4,
            create_if_missing: true,
        }
    }
}
