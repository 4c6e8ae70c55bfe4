//! # tolom-store-postgres
//!
//! Storage for **tolom** on PostgreSQL: one [`PostgresStore`] implements
//! every storage port of the core ([`ChargeStore`], [`PaymentStore`],
//! [`OutboxStore`], [`EventLog`], [`TermsStore`], [`ExternalPaymentStore`], hence
//! [`tolom_core::ports::Store`]) and the operations port ([`OpsStore`]), for
//! any number of portal instances on one database.
//!
//! [`ChargeStore`]: tolom_core::ports::ChargeStore
//! [`PaymentStore`]: tolom_core::ports::PaymentStore
//! [`OutboxStore`]: tolom_core::ports::OutboxStore
//! [`EventLog`]: tolom_core::ports::EventLog
//! [`TermsStore`]: tolom_core::ports::TermsStore
//! [`ExternalPaymentStore`]: tolom_core::ports::ExternalPaymentStore
//! [`OpsStore`]: tolom_core::ports::OpsStore
//!
//! - **The database enforces the invariants itself** (see `migrations/`
//!   and `docs/storage-postgres.md`): partial unique indexes allow at most
//!   one payment in flight and at most one paid payment per charge; CHECK
//!   constraints keep refunds within what was paid; triggers keep amounts,
//!   charge and code fixed, tie a paid payment to a `Paid` charge and keep
//!   the event log append-only; updates are compare-and-set on a `version`
//!   column.
//! - **Outbox messages are written in the same transaction** as the state
//!   change they announce, and workers claim them with
//!   `FOR UPDATE SKIP LOCKED`, so workers in several processes never hold
//!   the same message at once.
//! - **Two durable commits per payment on the payer's path.** The start
//!   ([`create_payment`]) and the outbox lease ([`claim_outbox`]) commit
//!   with `synchronous_commit = off`, set by their own statement for their
//!   own transaction; they are on disk no later than the next durable
//!   commit (the WAL is flushed in order). `Authorizing`, the result and a
//!   dispatch round's delivered marks (one statement) wait for the disk.
//!   [`PostgresStore::commits`] and [`PostgresStore::durable_commits`]
//!   count them.
//! - **Every event and every operator action is in the audit chain**, in
//!   the transaction of the change it records: a trigger appends each event
//!   with its actor; the [`AuditNote`] of an operator action (retrying a
//!   dead letter, publishing an edition, creating or revoking a token, a
//!   retention run) is appended by the same transaction as the action, and
//!   a refused action writes neither. An append only inserts into
//!   `audit_pending` and takes no lock another writer takes; the sealer
//!   (`OpsStore::seal_audit`) chains pending entries in batches under the
//!   chain head's lock, which only sealers take.
//! - **Errors are mapped at the edge, by SQLSTATE and constraint name**,
//!   never by message text (`src/error.rs`): a refusal by a named index,
//!   CHECK or trigger becomes `DuplicateCode`, `InFlight`, an existing
//!   payment or an `Invariant` of the matching [`InvariantKind`];
//!   serialization failures and deadlocks are retried, then become the
//!   temporary [`StoreError::Unavailable`], like lost connections, pool
//!   timeouts and shutdowns; a full disk, corruption, missing privileges, an
//!   unknown table and a row that does not read back are the permanent
//!   [`StoreError::Broken`]. Nothing of `sqlx` crosses into the core.
//! - **Embedded, forward-only migrations** run on [`PostgresStore::connect`]
//!   and on demand ([`PostgresStore::migrate`]).
//!
//! [`create_payment`]: tolom_core::ports::PaymentStore::create_payment
//! [`claim_outbox`]: tolom_core::ports::OutboxStore::claim_outbox
//! [`AuditNote`]: tolom_core::audit::AuditNote
//! [`InvariantKind`]: tolom_core::ports::InvariantKind
//!
//! ## Layout
//!
//! The same in both storage adapters:
//!
//! | file | what |
//! |---|---|
//! | `lib.rs` | [`PostgresStore`]: connect, migrate, ping, close |
//! | `options.rs` | [`PgOptions`], pool and session settings |
//! | `error.rs` | the error mapping, the retry loop, [`ConnectError`] |
//! | `rows.rs` | columns, parameters, rows ↔ domain values |
//! | `audit.rs` | audit notes appended inside the action's transaction |
//! | `charges.rs`, `payments.rs`, `external.rs`, `outbox.rs`, `events.rs`, `terms.rs`, `ops.rs`, `health.rs` | one port each (`external.rs`: payments made elsewhere; `health.rs`: `StoreHealth`, the schema for readiness probes) |
//!
//! The port files import `lib.rs` (the store), `error`, `rows` and `audit`;
//! `audit` imports `error` and `rows`, which import nothing of the crate: no
//! module cycle.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tolom_store_postgres::{PgOptions, PostgresStore};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresStore::connect(
//!     "postgres://tolom@db.internal/tolom",
//!     PgOptions { schema: Some("tolom".into()), ..PgOptions::default() },
//! )
//! .await?;
//! let store: Arc<dyn tolom_core::ports::Store> = Arc::new(store);
//! # let _ = store;
//! # Ok(())
//! # }
//! ```
//!
//! Timestamps are stored as `timestamptz`, which keeps microseconds: a
//! `DateTime<Utc>` with nanoseconds reads back truncated to the microsecond.
#![forbid(unsafe_code)]

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
mod rows;
mod terms;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPool;
use tolom_core::ports::StoreError;

pub use error::ConnectError;
pub use options::PgOptions;

/// The embedded migrations (`crates/tolom-store-postgres/migrations/`).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Every storage port of tolom on PostgreSQL.
///
/// Cheap to clone (the pool is shared). Each instance of a portal holds its
/// own store (its own pool); all of them may point at the same database and
/// schema.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: Option<String>,
    counts: Arc<Counts>,
}

/// The write transactions a store (and its clones) committed.
#[derive(Debug, Default)]
struct Counts {
    commits: AtomicU64,
    durable: AtomicU64,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects, creates the schema when missing and runs the migrations
    /// (unless [`PgOptions::run_migrations`] is off). A role with the
    /// privileges on an existing schema's tables (and no right to create
    /// anything) connects with `run_migrations: false`.
    ///
    /// Fails with [`ConnectError::Store`]`(`[`StoreError::Unavailable`]`)`
    /// when the server cannot be reached within
    /// [`PgOptions::acquire_timeout`] (temporary), and with
    /// [`ConnectError::Store`]`(`[`StoreError::Broken`]`)` when it refuses
    /// the session or the schema for good (wrong credentials, no such
    /// database, no privilege to create the schema).
    pub async fn connect(url: &str, options: PgOptions) -> Result<PostgresStore, ConnectError> {
        let connect = options::connect_options(url, &options)?;
        let pool = options::pool_options(&options)
            .connect_with(connect)
            .await
            .map_err(|e| ConnectError::Store(error::map(e)))?;
        let store = PostgresStore {
            pool,
            schema: options.schema.clone(),
            counts: Arc::default(),
        };
        store.create_schema().await?;
        if options.run_migrations {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// A store that connects on first use: nothing is checked now, and
    /// every call fails with [`StoreError::Unavailable`] while the server
    /// cannot be reached. Migrations are not run: call
    /// [`PostgresStore::migrate`].
    pub fn connect_lazy(url: &str, options: PgOptions) -> Result<PostgresStore, ConnectError> {
        let connect = options::connect_options(url, &options)?;
        Ok(PostgresStore {
            pool: options::pool_options(&options).connect_lazy_with(connect),
            schema: options.schema,
            counts: Arc::default(),
        })
    }

    /// A store on a pool the caller built (its `search_path` decides the
    /// schema). Migrations are not run: call [`PostgresStore::migrate`].
    pub fn from_pool(pool: PgPool) -> PostgresStore {
        PostgresStore {
            pool,
            schema: None,
            counts: Arc::default(),
        }
    }

    /// Runs the embedded migrations that have not run yet. Safe to call from
    /// several instances at once (the migrator takes an advisory lock).
    /// Fails with [`ConnectError::Migrate`] when the database holds a
    /// migration this build does not know, or one that changed, or a
    /// migration fails; with [`ConnectError::Store`] and a temporary
    /// [`StoreError::Unavailable`] when the server went away meanwhile.
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        use sqlx::migrate::MigrateError;
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            // The migrator's own statements (its table, its lock): the
            // server went away, or the role may not create the table.
            MigrateError::Execute(inner) => match error::map(inner) {
                e @ (StoreError::Unavailable(_) | StoreError::Broken(_)) => ConnectError::Store(e),
                other => ConnectError::Migrate(other.to_string()),
            },
            // A migration's SQL failed: only a lost server is worth a retry.
            MigrateError::ExecuteMigration(inner, version) => match error::map(inner) {
                e @ StoreError::Unavailable(_) => ConnectError::Store(e),
                other => ConnectError::Migrate(format!("migration {version}: {other}")),
            },
            other => ConnectError::Migrate(other.to_string()),
        })
    }

    /// The versions of the embedded migrations, oldest first.
    pub fn migration_versions() -> Vec<i64> {
        MIGRATOR.iter().map(|m| m.version).collect()
    }

    /// The connection pool (for health checks and operators' queries).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema given in [`PgOptions::schema`], if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Write transactions committed through this store (and its clones)
    /// since it was created: every successful write of a port, durable or
    /// not (reads and writes that changed nothing are not counted). For
    /// metrics, the benchmark's commits-per-payment figure and the tests
    /// that keep that figure from growing.
    pub fn commits(&self) -> u64 {
        self.counts.commits.load(Ordering::Relaxed)
    }

    /// Of [`PostgresStore::commits`], those that waited for the disk
    /// (`synchronous_commit` as configured on the server, normally `on`).
    /// The others are the writes the port lets commit without waiting —
    /// [`create_payment`] and [`claim_outbox`], which run with
    /// `synchronous_commit = off` for their own transaction: they become
    /// durable no later than the next durable commit, because PostgreSQL
    /// flushes its write-ahead log in order, up to that commit's record.
    ///
    /// [`create_payment`]: tolom_core::ports::PaymentStore::create_payment
    /// [`claim_outbox`]: tolom_core::ports::OutboxStore::claim_outbox
    pub fn durable_commits(&self) -> u64 {
        self.counts.durable.load(Ordering::Relaxed)
    }

    /// Counts one committed write transaction.
    pub(crate) fn committed(&self, durable: bool) {
        self.counts.commits.fetch_add(1, Ordering::Relaxed);
        if durable {
            self.counts.durable.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(error::map)
    }

    /// Closes every connection; calls made afterwards fail with
    /// [`StoreError::Unavailable`] (the pool is closed).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn create_schema(&self) -> Result<(), ConnectError> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        // Look first: `CREATE SCHEMA IF NOT EXISTS` needs the CREATE
        // privilege on the database even when the schema exists, and a
        // deployment may give tolom's role no more than the schema's.
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                .bind(schema)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| ConnectError::Store(error::map(e)))?;
        if exists {
            return Ok(());
        }
        let sql = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
        match sqlx::query(&sql).execute(&self.pool).await {
            Ok(_) => Ok(()),
            // Two instances creating it at the same moment: one wins.
            Err(e) if error::is_any_unique(&e) => Ok(()),
            Err(e) => Err(ConnectError::Store(error::map(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_embedded() {
        let versions = PostgresStore::migration_versions();
        assert_eq!(versions.first(), Some(&1));
        assert!(versions.contains(&7), "{versions:?}");
    }
}
