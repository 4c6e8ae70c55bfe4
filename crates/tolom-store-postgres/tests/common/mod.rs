//! What the tests need of PostgreSQL itself: the server, a fresh schema per
//! store (dropped afterwards), raw connections. Payment flows come from the
//! testkit's `Harness` (`tolom_testkit::fixtures::Harness::on`), not from
//! here.
//!
//! - `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//!   names the server.
//! - Each store gets its own schema `tolom_test_<unix secs>_<pid>_<n>`, with
//!   `application_name` set to the schema's name; a [`SchemaGuard`] drops it
//!   (terminating its connections first) when it goes out of scope, also
//!   when the test panics. Schemas older than two hours left by a killed
//!   run are dropped when a test process starts.
//! - Whether a missing server skips or fails a test is decided by
//!   `tolom_testkit::external` alone (it fails in CI).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use tolom_store_postgres::{PgOptions, PostgresStore};
use tolom_testkit::external::{self, External};

/// The server tests use unless `DATABASE_URL` says otherwise.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The prefix of every test schema.
pub const PREFIX: &str = "tolom_test_";

/// The database URL.
pub fn url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string())
}

/// A reachable test database.
#[derive(Debug, Clone)]
pub struct TestDb {
    url: String,
}

static CLEANED: OnceCell<()> = OnceCell::const_new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whether a server answers at `url` (within 5 s).
pub async fn probe(url: &str) -> Result<(), String> {
    let conn = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url))
        .await
        .map_err(|_| format!("no answer from DATABASE_URL within 5 s ({})", redacted(url)))?
        .map_err(|e| format!("DATABASE_URL ({}): {e}", redacted(url)))?;
    let _ = conn.close().await;
    Ok(())
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(a)) if a > s => format!("{}://***{}", &url[..s], &url[a..]),
        _ => url.to_string(),
    }
}

impl TestDb {
    /// The test database, or `None` when no server answers (after
    /// `tolom_testkit::external::require`, which prints `SKIPPED` — or
    /// panics in CI).
    pub async fn connect_or_skip(test: &str) -> Option<TestDb> {
        let url = url();
        external::require(test, External::Postgres, probe(&url).await)?;
        let db = TestDb { url };
        CLEANED
            .get_or_init(|| async {
                db.drop_stale_schemas().await;
            })
            .await;
        Some(db)
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new, unique schema name.
    pub fn new_schema_name(&self) -> String {
        format!(
            "{PREFIX}{}_{}_{}",
            now_secs(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Options for a store in `schema`.
    pub fn options(&self, schema: &str, max_connections: u32) -> PgOptions {
        PgOptions {
            schema: Some(schema.to_string()),
            max_connections,
            application_name: schema.to_string(),
            ..PgOptions::default()
        }
    }

    /// A migrated store in a new schema, and the guard that drops it.
    pub async fn fresh(&self) -> (PostgresStore, SchemaGuard) {
        self.fresh_with(10).await
    }

    /// [`TestDb::fresh`] with a pool of `max_connections`.
    pub async fn fresh_with(&self, max_connections: u32) -> (PostgresStore, SchemaGuard) {
        let schema = self.new_schema_name();
        let guard = SchemaGuard {
            url: self.url.clone(),
            schema: schema.clone(),
        };
        let store = PostgresStore::connect(&self.url, self.options(&schema, max_connections))
            .await
            .unwrap_or_else(|e| panic!("connect to a fresh schema: {e}"));
        (store, guard)
    }

    /// A second store (its own pool) on the schema of `guard`: another
    /// portal instance on the same database.
    pub async fn another_instance(
        &self,
        guard: &SchemaGuard,
        max_connections: u32,
    ) -> PostgresStore {
        PostgresStore::connect(&self.url, self.options(&guard.schema, max_connections))
            .await
            .unwrap_or_else(|e| panic!("second instance: {e}"))
    }

    /// A plain connection (no schema on the search path).
    pub async fn raw(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("raw connection: {e}"))
    }

    /// A plain connection with `schema` alone on the search path.
    pub async fn raw_in(&self, schema: &str) -> PgConnection {
        let mut conn = self.raw().await;
        sqlx::query(&format!("SET search_path = \"{schema}\""))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("search_path: {e}"));
        conn
    }

    /// A pool on `schema` whose sessions run with these extra settings
    /// (e.g. `default_transaction_isolation`), as `user` when given; its
    /// `application_name` is the schema's name, so [`SchemaGuard`] ends its
    /// connections. For `PostgresStore::from_pool`.
    pub async fn pool_with(
        &self,
        schema: &str,
        user: Option<&str>,
        settings: &[(&str, &str)],
    ) -> PgPool {
        let mut options = PgConnectOptions::from_str(&self.url)
            .unwrap_or_else(|e| panic!("DATABASE_URL: {e}"))
            .application_name(schema)
            .options([("search_path", schema)])
            .options(settings.iter().copied());
        if let Some(user) = user {
            options = options.username(user);
        }
        PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .unwrap_or_else(|e| panic!("pool: {e}"))
    }

    /// The URL with `user` instead of its user (and no password).
    pub fn url_as(&self, user: &str) -> String {
        let (scheme, rest) = self
            .url
            .split_once("://")
            .unwrap_or(("postgres", &self.url));
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let host = authority
            .rsplit_once('@')
            .map(|(_, h)| h)
            .unwrap_or(authority);
        format!("{scheme}://{user}@{host}{path}")
    }

    /// A login role with no privilege at all, dropped with the guard.
    pub async fn role_without_privileges(&self, name: &str) -> RoleGuard {
        let mut conn = self.raw().await;
        sqlx::query(&format!("CREATE ROLE \"{name}\" LOGIN"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("create role: {e}"));
        let _ = conn.close().await;
        RoleGuard {
            url: self.url.clone(),
            name: name.to_string(),
        }
    }

    async fn drop_stale_schemas(&self) {
        let Ok(mut conn) = PgConnection::connect(&self.url).await else {
            return;
        };
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'tolom\\_test\\_%'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        let cutoff = now_secs().saturating_sub(2 * 3600);
        for name in names {
            let secs = name[PREFIX.len()..]
                .split('_')
                .next()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            if secs < cutoff {
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .execute(&mut conn)
                    .await;
            }
        }
        // Roles left by a killed run (named after their test's schema).
        let roles: Vec<String> = sqlx::query_scalar(
            "SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'tolom\\_test\\_%'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        for name in roles {
            let secs = name[PREFIX.len()..]
                .split('_')
                .next()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            if secs < cutoff {
                let _ = sqlx::query(&format!("DROP OWNED BY \"{name}\""))
                    .execute(&mut conn)
                    .await;
                let _ = sqlx::query(&format!("DROP ROLE IF EXISTS \"{name}\""))
                    .execute(&mut conn)
                    .await;
            }
        }
        let _ = conn.close().await;
    }
}

/// A migrated store on a fresh schema for one test, or `None` (skipped)
/// without a server. The schema is dropped when the test's runtime shuts
/// down: its guard waits in a task of that runtime, which the shutdown
/// drops. For the conformance macros, whose makers return only the store.
pub async fn store_for(test: &str) -> Option<Arc<PostgresStore>> {
    let db = TestDb::connect_or_skip(test).await?;
    let (store, guard) = db.fresh().await;
    tokio::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    Some(Arc::new(store))
}

/// Drops its role when dropped (ending the role's sessions first).
#[derive(Debug)]
pub struct RoleGuard {
    url: String,
    /// The role.
    pub name: String,
}

impl Drop for RoleGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        let name = self.name.clone();
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(mut conn) = PgConnection::connect(&url).await else {
                    return;
                };
                let _ = sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                )
                .bind(&name)
                .execute(&mut conn)
                .await;
                // The privileges granted to it (on the test's schema) first.
                let _ = sqlx::query(&format!("DROP OWNED BY \"{name}\""))
                    .execute(&mut conn)
                    .await;
                if let Err(e) = sqlx::query(&format!("DROP ROLE IF EXISTS \"{name}\""))
                    .execute(&mut conn)
                    .await
                {
                    eprintln!("could not drop test role {name}: {e}");
                }
                let _ = conn.close().await;
            });
        });
        let _ = handle.join();
    }
}

/// Drops its schema when dropped (also while a failing test unwinds).
#[derive(Debug)]
pub struct SchemaGuard {
    url: String,
    /// The schema.
    pub schema: String,
}

impl SchemaGuard {
    /// A guard for a schema made by hand.
    pub fn new(url: &str, schema: &str) -> SchemaGuard {
        SchemaGuard {
            url: url.to_string(),
            schema: schema.to_string(),
        }
    }
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.schema.clone();
        // A thread of its own with its own runtime: Drop cannot await, and
        // the test's runtime may be shutting down.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(mut conn) = PgConnection::connect(&url).await else {
                    return;
                };
                // Connections of the test's pools (named after the schema)
                // may hold locks: end them first.
                let _ = sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1 AND pid <> pg_backend_pid()",
                )
                .bind(&schema)
                .execute(&mut conn)
                .await;
                let _ = sqlx::query("SET lock_timeout = '10s'")
                    .execute(&mut conn)
                    .await;
                if let Err(e) = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .execute(&mut conn)
                    .await
                {
                    eprintln!("could not drop test schema {schema}: {e}");
                }
                let _ = conn.close().await;
            });
        });
        let _ = handle.join();
    }
}
