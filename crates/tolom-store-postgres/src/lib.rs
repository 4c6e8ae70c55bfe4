//! # tolom-store-postgres
//!
//! Storage for **tolom** on PostgreSQL: one [`PostgresStore`] implements
//! every storage port of the core ([`ChargeStore`], [`PaymentStore`],
//! [`OutboxStore`], [`EventLog`], [`TermsStore`], hence
//! [`tolom_core::ports::Store`]), for any number of portal instances on one
//! database.
//!
//! [`ChargeStore`]: tolom_core::ports::ChargeStore
//! [`PaymentStore`]: tolom_core::ports::PaymentStore
//! [`OutboxStore`]: tolom_core::ports::OutboxStore
//! [`EventLog`]: tolom_core::ports::EventLog
//! [`TermsStore`]: tolom_core::ports::TermsStore
//!
//! - **The database enforces the invariants itself** (see
//!   `migrations/0001_init.sql` and `docs/storage-postgres.md`): partial
//!   unique indexes allow at most one payment in flight and at most one paid
//!   payment per charge; CHECK constraints keep refunds within what was
//!   paid; triggers keep amounts, charge and code fixed, tie a paid payment
//!   to a `Paid` charge and keep the event log append-only; updates are
//!   compare-and-set on a `version` column.
//! - **Outbox messages are written in the same transaction** as the state
//!   change they announce, and workers claim them with
//!   `FOR UPDATE SKIP LOCKED`, so workers in several processes never hold
//!   the same message at once.
//! - **Errors are mapped at the edge**: unique violations become
//!   `DuplicateCode`, `InFlight` or an existing payment; check and trigger
//!   violations `Invariant`; serialization failures and deadlocks are
//!   retried internally; lost connections, pool timeouts and shutdowns
//!   become the retryable [`StoreError::Unavailable`]. Nothing of `sqlx`
//!   crosses into the core.
//! - **Embedded, forward-only migrations** run on [`PostgresStore::connect`]
//!   and on demand ([`PostgresStore::migrate`]).
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

mod convert;
mod error;
mod ops;
mod store;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tolom_core::ports::StoreError;

/// The embedded migrations (`crates/tolom-store-postgres/migrations/`).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// The schema that holds tolom's tables (created when missing). It is
    /// put first and alone on the connections' `search_path`, so several
    /// deployments (or test runs) can share one database. `None`: the
    /// server's default `search_path` (usually `public`).
    ///
    /// Letters, digits and `_` only, not starting with a digit.
    pub schema: Option<String>,
    /// Most connections the pool opens (default 10). Several portal
    /// instances each have their own pool: keep their sum under the
    /// server's `max_connections`.
    pub max_connections: u32,
    /// Connections kept open when idle (default 0).
    pub min_connections: u32,
    /// How long a call waits for a connection before it fails with
    /// [`StoreError::Unavailable`] (default 5 s). With the server down, every
    /// call fails after this long.
    pub acquire_timeout: Duration,
    /// Server-side `statement_timeout` (default 30 s; `None`: the server's
    /// setting). A statement cut off fails with `Unavailable`.
    pub statement_timeout: Option<Duration>,
    /// Server-side `lock_timeout` (default 10 s; `None`: the server's). A
    /// statement that waits longer for a row lock fails with `Unavailable`.
    pub lock_timeout: Option<Duration>,
    /// `application_name` shown in `pg_stat_activity` (default `tolom`).
    pub application_name: String,
    /// Check each connection with a round trip before a call uses it
    /// (default `true`). A connection the server closed (restart,
    /// failover, `pg_terminate_backend`) is then replaced silently; with
    /// `false`, the call that meets it fails once with the retryable
    /// [`StoreError::Unavailable`] and the pool drops it. `false` saves one
    /// round trip per call (see `docs/benchmarks/tolom-store-postgres.md`).
    pub test_before_acquire: bool,
    /// Run the migrations on connect (default `true`). Turn it off when a
    /// deployment job runs [`PostgresStore::migrate`] before the portals
    /// start.
    pub run_migrations: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            schema: None,
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(30)),
            lock_timeout: Some(Duration::from_secs(10)),
            application_name: "tolom".into(),
            test_before_acquire: true,
            run_migrations: true,
        }
    }
}

/// Why [`PostgresStore::connect`] or [`PostgresStore::migrate`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL or the options are invalid (retrying will not help).
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// The database could not be reached, or refused the session; retrying
    /// may help (see [`StoreError::is_retryable`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A migration failed, or the database holds migrations that this build
    /// does not know (a newer tolom ran against it).
    #[error("migration failed: {0}")]
    Migrate(String),
}

impl ConnectError {
    /// Whether trying again later may succeed (the server was unreachable
    /// or busy).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ConnectError::Store(e) if e.is_retryable())
    }
}

/// Every storage port of tolom on PostgreSQL.
///
/// Cheap to clone (the pool is shared). Each instance of a portal holds its
/// own store (its own pool); all of them may point at the same database and
/// schema.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: Option<String>,
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

/// Whether `name` is a plain SQL identifier we accept as a schema name.
fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

fn connect_options(url: &str, options: &PgOptions) -> Result<PgConnectOptions, ConnectError> {
    let mut connect = PgConnectOptions::from_str(url)
        .map_err(|e| ConnectError::Config(format!("database URL: {}", redact(&e.to_string()))))?
        .application_name(&options.application_name);
    let mut settings: Vec<(&str, String)> = Vec::new();
    if let Some(schema) = &options.schema {
        if !valid_schema(schema) {
            return Err(ConnectError::Config(format!(
                "schema {schema:?}: use letters, digits and _ only"
            )));
        }
        settings.push(("search_path", schema.clone()));
    }
    if let Some(t) = options.statement_timeout {
        settings.push(("statement_timeout", format!("{}ms", t.as_millis())));
    }
    if let Some(t) = options.lock_timeout {
        settings.push(("lock_timeout", format!("{}ms", t.as_millis())));
    }
    if !settings.is_empty() {
        connect = connect.options(settings);
    }
    Ok(connect)
}

/// Drops anything that looks like a URL's credentials from a message.
fn redact(message: &str) -> String {
    match (message.find("://"), message.find('@')) {
        (Some(s), Some(a)) if a > s => format!("{}://***{}", &message[..s], &message[a..]),
        _ => message.to_string(),
    }
}

fn pool_options(options: &PgOptions) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .min_connections(options.min_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(options.test_before_acquire)
}

impl PostgresStore {
    /// Connects, creates the schema when missing and runs the migrations
    /// (unless [`PgOptions::run_migrations`] is off).
    ///
    /// Fails with [`ConnectError::Store`]`(`[`StoreError::Unavailable`]`)`
    /// when the server cannot be reached within
    /// [`PgOptions::acquire_timeout`].
    pub async fn connect(url: &str, options: PgOptions) -> Result<PostgresStore, ConnectError> {
        let connect = connect_options(url, &options)?;
        let pool = pool_options(&options)
            .connect_with(connect)
            .await
            .map_err(|e| ConnectError::Store(error::map(e)))?;
        let store = PostgresStore {
            pool,
            schema: options.schema.clone(),
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
        let connect = connect_options(url, &options)?;
        Ok(PostgresStore {
            pool: pool_options(&options).connect_lazy_with(connect),
            schema: options.schema,
        })
    }

    /// A store on a pool the caller built (its `search_path` decides the
    /// schema). Migrations are not run: call [`PostgresStore::migrate`].
    pub fn from_pool(pool: PgPool) -> PostgresStore {
        PostgresStore { pool, schema: None }
    }

    /// Runs the embedded migrations that have not run yet. Safe to call from
    /// several instances at once (the migrator takes an advisory lock).
    /// Fails with [`ConnectError::Migrate`] when the database holds a
    /// migration this build does not know, or one that changed.
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => match error::map(inner) {
                StoreError::Unavailable(m) => ConnectError::Store(StoreError::Unavailable(m)),
                other => ConnectError::Migrate(other.to_string()),
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

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(error::map)
    }

    /// Closes every connection; calls made afterwards fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn create_schema(&self) -> Result<(), ConnectError> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
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
    fn schema_names_are_plain_identifiers() {
        assert!(valid_schema("tolom"));
        assert!(valid_schema("tolom_test_1"));
        assert!(valid_schema("_x"));
        assert!(!valid_schema(""));
        assert!(!valid_schema("1abc"));
        assert!(!valid_schema("a-b"));
        assert!(!valid_schema("a\"; DROP TABLE x; --"));
        assert!(!valid_schema(&"a".repeat(64)));
    }

    #[test]
    fn bad_schema_is_a_config_error() {
        let r = connect_options(
            "postgres://u:secret@localhost/db",
            &PgOptions {
                schema: Some("no way".into()),
                ..PgOptions::default()
            },
        );
        assert!(matches!(r, Err(ConnectError::Config(_))));
    }

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            redact("bad url postgres://u:secret@host/db"),
            "bad url postgres://***@host/db"
        );
        assert!(
            !format!("{:?}", ConnectError::Config(redact("postgres://u:pw@h/d"))).contains("pw")
        );
    }

    #[test]
    fn migrations_are_embedded() {
        assert_eq!(PostgresStore::migration_versions().first(), Some(&1));
    }
}
