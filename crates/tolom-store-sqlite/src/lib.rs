//! # tolom-store-sqlite
//!
//! Storage for [tolom](tolom_core) on SQLite: every storage port of the core
//! ([`ChargeStore`](tolom_core::ports::ChargeStore),
//! [`PaymentStore`](tolom_core::ports::PaymentStore),
//! [`OutboxStore`](tolom_core::ports::OutboxStore),
//! [`EventLog`](tolom_core::ports::EventLog),
//! [`TermsStore`](tolom_core::ports::TermsStore),
//! [`ExternalPaymentStore`](tolom_core::ports::ExternalPaymentStore)), so a [`SqliteStore`] is a
//! [`tolom_core::ports::Store`]; and the operations port
//! [`OpsStore`](tolom_core::ports::OpsStore) (hash-chained audit log that
//! every event and every operator's note also goes into, in the same
//! transaction; admin tokens; retention; access requests).
//!
//! - **The schema enforces the invariants**, not only the Rust code: one
//!   payment in flight per charge and one paid payment per charge (partial
//!   unique indexes), optimistic versions, refunds never above the total
//!   (CHECK), amounts/charge/code fixed after insert and append-only events
//!   and audit log (triggers), no unmasked card number (CHECK). See
//!   `migrations/` (the rules are named in `20261202000003_*.sql`).
//! - **Embedded, versioned, forward-only migrations** run by
//!   [`SqliteStore::open`] and [`SqliteStore::migrate`].
//! - **Settings**: WAL, `synchronous=FULL` by default ([`Durability`]), a
//!   busy timeout, foreign keys on; reads on a few read-only connections,
//!   each behind its own lock (`readers.rs`: one round trip per read,
//!   where sqlx's pool adds a ping and a spawned task to every read).
//! - **One writer, group commit** (`writer.rs`): every write is a *job*
//!   handed to one task that owns the writer connection. The task takes
//!   every job ready at that moment (up to 64) and runs them in one
//!   `BEGIN IMMEDIATE` … `COMMIT`, each job in its own `SAVEPOINT` (a job
//!   that fails rolls back only its own writes and gets its own error), and
//!   answers every caller only after the `COMMIT` returned (a failed
//!   `COMMIT` is every job's error). A caller that goes away does not touch
//!   the batch: its job runs to its end. Concurrent payers share one fsync;
//!   no payer meets `SQLITE_BUSY`; several processes on one file take turns
//!   through `BEGIN IMMEDIATE` and the busy timeout.
//! - **Deferred durability of the start and the lease**: `create_payment`
//!   and `claim_outbox` may commit without waiting for the disk (the port
//!   allows it, provided they are durable no later than the next durable
//!   commit). The writer decides `PRAGMA synchronous` per batch, before
//!   `BEGIN`: `NORMAL` for a batch of such deferred jobs only, the store's
//!   level (`FULL`) for a batch with any other job; in WAL mode a `FULL`
//!   commit syncs the WAL and with it every earlier `NORMAL` commit. A
//!   payment costs two durable commits on the payer's path (`Authorizing`,
//!   then the result with its events, audit entries and outbox messages);
//!   a dispatch round one for all its delivered marks.
//!   [`SqliteStore::commits`], [`SqliteStore::durable_commits`] and
//!   [`SqliteStore::write_jobs`] count them (`tests/commits.rs`).
//! - **Few round trips**: each statement is a round trip to sqlx's SQLite
//!   worker thread, so a write sends its statements together (multi-row
//!   `INSERT`s of events, audit entries and outbox messages in one call; a
//!   merged read at the start); the audit chain's head is read once per
//!   batch and kept across batches while no other connection commits
//!   (`PRAGMA data_version`).
//!
//! ## Layout
//!
//! The same in both storage adapters:
//!
//! | module | what |
//! | --- | --- |
//! | `lib.rs` | these docs, [`SqliteStore`]: open, migrate, close, the readers, the commit counters |
//! | `writer.rs` | the writer task: group commit, a savepoint per job, `synchronous` per batch |
//! | `readers.rs` | the read-only connections |
//! | `options.rs` | [`SqliteOptions`], [`Durability`] |
//! | `rows.rs` | rows ↔ domain values (a row that does not restore is `Broken`) |
//! | `error.rs` | SQLite errors → [`StoreError`] |
//! | `audit.rs` | writes into the event log and the audit chain inside a transaction (events, notes), shared by the ports |
//! | `charges.rs` | `ChargeStore` |
//! | `payments.rs` | `PaymentStore` |
//! | `external.rs` | `ExternalPaymentStore` (payments made elsewhere) |
//! | `outbox.rs` | `OutboxStore` |
//! | `events.rs` | `EventLog` |
//! | `terms.rs` | `TermsStore` |
//! | `ops.rs` | `OpsStore` |
//! | `health.rs` | `StoreHealth` (readiness: the file opened is still there, the schema) |
//!
//! Port modules import `lib.rs`, `rows`, `error` and `audit`, never each
//! other (except `payments` and `external` using `outbox`'s insert), and
//! `audit` and `writer` import no port module: there is no module cycle.
//!
//! ## Errors
//!
//! SQLite errors become [`StoreError`]
//! kinds at the edge (`error.rs`), by the **extended result code** and the
//! **name** of the rule, never by the prose of a message; nothing of sqlx
//! crosses into the core:
//!
//! - a UNIQUE violation (2067, 1555) by the index SQLite names
//!   (`payments_one_in_flight` → `InFlight` on insert, `Invariant`
//!   `SecondInFlight` on update; `payments_one_paid` →
//!   `SecondPaidPayment`) or the columns it lists (`charges.code` →
//!   `DuplicateCode`, `payments.start_key` → the existing payment,
//!   `refunds.payment_id, refunds.idempotency_key` → `Conflict`,
//!   `terms_editions.id` → `DuplicateEdition`, `api_tokens.name` →
//!   `DuplicateToken`);
//! - a CHECK (275) by the constraint's name (`refunds_within_total`,
//!   `refunded_not_negative`, `refund_pending_not_negative` →
//!   `RefundsExceedTotal`; `card_masked` → `UnmaskedCard`; any other →
//!   `Constraint`);
//! - a trigger (1811) by the exact token it raises (`tolom:immutable_field`,
//!   `tolom:append_only`, `tolom:paid_without_payment`,
//!   `tolom:charge_already_paid`);
//! - a FOREIGN KEY (787) → `ChargeNotFound` for a new payment, otherwise
//!   `Constraint`; NOT NULL, STRICT types → `Constraint`;
//! - `BUSY`/`LOCKED` after the busy timeout, a pool timeout, a closed
//!   store → `Unavailable` (temporary: nothing was written, retry);
//! - `CORRUPT`, `NOTADB`, `FULL`, `READONLY`, `PERM`, `IOERR_*`, `CANTOPEN`,
//!   a database migrated by a newer tolom, a row that does not read back
//!   into a valid value → `Broken` (permanent: an operator has to act).
//!
//! Only `Unavailable` and `Conflict` are
//! [temporary](tolom_core::ports::StoreError::is_temporary).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use tolom_core::ports::Store;
//! use tolom_store_sqlite::SqliteStore;
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
//! assert!(store.terms_editions().await.unwrap().is_empty());
//! # });
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod charges;
mod error;
mod events;
mod external;
mod health;
mod ops;
mod options;
mod outbox;
mod payments;
mod readers;
mod rows;
mod terms;
mod writer;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::ConnectOptions;
use tolom_core::ports::StoreError;

use crate::error::{map, map_migrate};
use crate::readers::{Reader, Readers};
use crate::writer::{Commit, WriteFuture, WriteTx, Writer};

pub use options::{Durability, SqliteOptions};

/// The embedded, versioned, forward-only migrations
/// (`crates/tolom-store-sqlite/migrations/`).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Storage on SQLite: every storage port of the core, so an
/// `Arc<SqliteStore>` is an `Arc<dyn tolom_core::ports::Store>`, and the
/// operations port.
///
/// **Write discipline.** All writes go through one writer task owning the
/// writer connection, which commits the jobs ready at the same moment
/// together (group commit: one `BEGIN IMMEDIATE` … `COMMIT`, a savepoint
/// per job, every caller answered after the commit; see the crate docs).
/// Within a process writers therefore never meet `SQLITE_BUSY`, and a
/// transaction that reads before it writes never has to upgrade its lock.
/// Look-ups and lists use read-only connections, which in WAL mode never
/// block the writer and are never blocked by it. Several
/// processes on one file still work: `BEGIN IMMEDIATE` takes SQLite's write
/// lock, and the busy timeout makes them wait their turn. The writer task
/// runs on the Tokio runtime the store was opened on; it stops when the
/// store is closed or its last clone dropped.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tolom_store_sqlite::{SqliteOptions, SqliteStore};
/// let dir = std::env::temp_dir().join(format!("tolom-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let store = SqliteStore::open(dir.join("tolom.db").to_str().unwrap(), SqliteOptions::default())
///     .await
///     .unwrap();
/// assert_eq!(store.schema_version().await.unwrap(), Some(SqliteStore::latest_schema_version()));
/// store.close().await;
/// # std::fs::remove_dir_all(&dir).ok();
/// # });
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
    location: String,
    /// The file opened (none in memory), for the health check.
    file: Option<OpenedFile>,
}

/// The database file as opened.
#[derive(Debug, Clone)]
struct OpenedFile {
    path: PathBuf,
    id: FileId,
}

/// What tells one file from another at the same path: device and inode on
/// Unix; elsewhere only that it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

impl FileId {
    #[cfg(unix)]
    fn of(m: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId(m.dev(), m.ino())
    }

    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> FileId {
        FileId(0, 0)
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

fn is_memory(location: &str) -> bool {
    location == ":memory:"
        || location == "sqlite::memory:"
        || location.contains("mode=memory")
        || location
            .trim_start_matches("sqlite:")
            .starts_with(":memory:")
}

impl SqliteStore {
    /// Opens (creating it if allowed) the database at `location` — a file
    /// path, or a `sqlite:` URL such as `sqlite:///var/lib/tolom/tolom.db`
    /// or `sqlite://data/tolom.db?mode=rwc` — in WAL mode with the
    /// durability, busy timeout and foreign keys of `options`, and runs the
    /// pending migrations.
    ///
    /// Fails with [`StoreError::Broken`] when the file cannot be opened
    /// (missing directory, permissions, a directory in its place, not a
    /// database, a bad URL), when the database was migrated by a newer tolom
    /// (an applied migration this build does not know) or an applied
    /// migration was edited; with [`StoreError::Unavailable`] when another
    /// process holds the database locked beyond the busy timeout.
    pub async fn open(location: &str, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        if is_memory(location) {
            return SqliteStore::in_memory().await;
        }
        let base = if location.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(location)
                .map_err(|e| StoreError::Broken(format!("bad database location: {e}")))?
        } else {
            SqliteConnectOptions::new().filename(location)
        };
        let base = base
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .disable_statement_logging();
        let path = base.get_filename().to_path_buf();
        let writer_options = base
            .clone()
            .create_if_missing(options.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal);
        let mut conn = writer_options.connect().await.map_err(map)?;
        MIGRATOR.run(&mut conn).await.map_err(map_migrate)?;
        let file = std::fs::metadata(&path).ok().map(|m| OpenedFile {
            id: FileId::of(&m),
            path,
        });
        let readers = Readers::new(
            base.read_only(true),
            options.readers,
            options.acquire_timeout,
        );
        readers.warm().await?;
        Ok(SqliteStore {
            writer: Writer::start(conn, Some(options.durability), options.acquire_timeout),
            readers: Arc::new(readers),
            location: location.to_string(),
            file,
        })
    }

    /// A fresh private database in memory, migrated: for tests. The
    /// database has a name of its own in SQLite's shared cache, so that the
    /// writer and the readers see the same one; it lives as long as the
    /// writer's connection.
    pub async fn in_memory() -> Result<SqliteStore, StoreError> {
        // `sqlite::memory:` names a new shared-cache database each time it
        // is parsed: parsed once, cloned for every connection.
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(map)?
            .foreign_keys(true)
            .disable_statement_logging();
        let mut conn = options.clone().connect().await.map_err(map)?;
        MIGRATOR.run(&mut conn).await.map_err(map_migrate)?;
        let readers = Readers::new(options, 2, std::time::Duration::from_secs(30));
        readers.warm().await?;
        Ok(SqliteStore {
            writer: Writer::start(conn, None, SqliteOptions::default().acquire_timeout),
            readers: Arc::new(readers),
            location: ":memory:".into(),
            file: None,
        })
    }

    /// Runs the migrations not yet applied (idempotent; [`SqliteStore::open`]
    /// already does it). Migrations are forward-only: there is no down
    /// migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.writer
            .submit(None, |tx| {
                Box::pin(async move { MIGRATOR.run_direct(&mut **tx).await.map_err(map_migrate) })
            })
            .await
    }

    /// The newest migration applied to the database, if any.
    pub async fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1",
        )
        .fetch_one(&mut *self.reader().await?)
        .await
        .map_err(map)
    }

    /// The newest migration this build knows.
    pub fn latest_schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Where the database is, as given to [`SqliteStore::open`].
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Write transactions committed (`COMMIT`s that succeeded) through this
    /// store and its clones since it was opened. With group commit one
    /// commit carries the jobs of several callers, so this is at most
    /// [`SqliteStore::write_jobs`]. For metrics and for the benchmark's
    /// commits-per-payment figure.
    pub fn commits(&self) -> u64 {
        self.writer.counters.commits.load(Ordering::Relaxed)
    }

    /// The [`commits`](SqliteStore::commits) that waited for the disk:
    /// those made with `synchronous=FULL` (a batch with at least one
    /// durable job, on a store opened with [`Durability::Full`]). A batch
    /// of deferred jobs only (starting a payment, leasing outbox messages)
    /// commits with `synchronous=NORMAL` and is not counted; neither is any
    /// commit of a store opened with [`Durability::Normal`] or in memory.
    /// The disk's rate of these is the limit of payments per second.
    pub fn durable_commits(&self) -> u64 {
        self.writer.counters.durable_commits.load(Ordering::Relaxed)
    }

    /// Write jobs handed to the writer (one per write call of a port, plus
    /// migrations): jobs ÷ [`commits`](SqliteStore::commits) is the mean
    /// size of a group commit.
    pub fn write_jobs(&self) -> u64 {
        self.writer.counters.jobs.load(Ordering::Relaxed)
    }

    /// Closes every connection (after the calls in progress end: the write
    /// jobs already queued still run). Calls made afterwards fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }

    /// Runs a durable write job in the writer: `f` runs inside a
    /// `BEGIN IMMEDIATE` … `COMMIT` shared with other callers' jobs (in a
    /// savepoint of its own), and the answer comes once the commit is on
    /// disk. An error of `f` rolls back only `f`'s writes.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> WriteFuture<'c, T> + Send + 'static,
    {
        self.writer.submit(Some(Commit::Durable), f).await
    }

    /// As [`SqliteStore::write`], for the writes the port allows to commit
    /// without waiting for the disk (durable no later than the next
    /// durable commit): starting a payment, leasing outbox messages.
    pub(crate) async fn write_deferred<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> WriteFuture<'c, T> + Send + 'static,
    {
        self.writer.submit(Some(Commit::Deferred), f).await
    }

    /// Runs `f` alone on the writer connection, outside any transaction
    /// (statements of the unit tests).
    #[cfg(test)]
    pub(crate) async fn bare<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> WriteFuture<'c, T> + Send + 'static,
    {
        self.writer.submit(None, f).await
    }

    /// A read-only connection, for one read.
    pub(crate) async fn reader(&self) -> Result<Reader<'_>, StoreError> {
        self.readers.get().await
    }
}
