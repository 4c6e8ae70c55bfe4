//! Shared test set-up: a fresh schema per store, dropped afterwards.
//!
//! - `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//!   names the server.
//! - Each store gets its own schema `tolom_test_<unix secs>_<pid>_<n>`, with
//!   `application_name` set to the schema's name; a [`SchemaGuard`] drops it
//!   (terminating its connections first) when it goes out of scope, also
//!   when the test panics. Schemas older than two hours left by a killed
//!   run are dropped when a test process starts.
//! - When no server answers, tests print `SKIPPED: ...` and pass, unless
//!   the environment variable `CI` is set: then they fail.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;
use tolom_store_postgres::{PgOptions, PostgresStore};

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

impl TestDb {
    /// The test database, or `None` (after a loud message) when no server
    /// answers and `CI` is not set. Panics when `CI` is set and the server
    /// is unreachable.
    pub async fn connect_or_skip(test: &str) -> Option<TestDb> {
        let url = url();
        let reachable = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url))
            .await
            .map_err(|_| "timed out".to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        match reachable {
            Ok(conn) => {
                let _ = conn.close().await;
            }
            Err(why) => {
                if std::env::var_os("CI").is_some() {
                    panic!(
                        "{test}: PostgreSQL at DATABASE_URL is unreachable ({why}) and CI is set"
                    );
                }
                eprintln!(
                    "SKIPPED: {test}: no PostgreSQL at DATABASE_URL ({why}); \
                     set DATABASE_URL or start a server to run it"
                );
                return None;
            }
        }
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
        let _ = conn.close().await;
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

/// One portal instance: the use cases on a store, with recording
/// notifiers.
pub struct Portal {
    /// The use cases.
    pub tolom: tolom_core::usecases::Tolom,
    /// E-mails delivered.
    pub email: std::sync::Arc<tolom_testkit::notifier::RecordingNotifier>,
    /// Agency notices delivered.
    pub webhook: std::sync::Arc<tolom_testkit::notifier::RecordingNotifier>,
}

/// A portal instance on `store` with `acquirer` and `clock` (random ids,
/// the testkit's signing key).
pub fn portal(
    store: PostgresStore,
    acquirer: std::sync::Arc<dyn tolom_core::ports::Acquirer>,
    clock: std::sync::Arc<dyn tolom_core::ports::Clock>,
) -> Portal {
    use std::sync::Arc;
    use tolom_core::outbox::Channel;
    use tolom_testkit::notifier::RecordingNotifier;
    let email = Arc::new(RecordingNotifier::new(Channel::Email));
    let webhook = Arc::new(RecordingNotifier::new(Channel::Webhook));
    let tolom = tolom_core::usecases::Tolom::builder()
        .store(Arc::new(store))
        .acquirer(acquirer)
        .clock(clock)
        .signer(Arc::new(tolom_testkit::fixtures::test_signer()))
        .notifier(email.clone())
        .notifier(webhook.clone())
        .build()
        .unwrap_or_else(|e| panic!("portal: {e}"));
    Portal {
        tolom,
        email,
        webhook,
    }
}

/// Issues a charge of `service` (its first tariff), valid for 30 days.
pub async fn issue(
    tolom: &tolom_core::usecases::Tolom,
    service: &str,
    payer: &str,
) -> tolom_core::charge::Charge {
    let urgency = tolom
        .config()
        .catalogue
        .tariffs_of(service)
        .next()
        .map(|t| t.urgency.clone());
    tolom
        .issue_charge(tolom_core::usecases::IssueCharge {
            service: service.into(),
            urgency,
            amount: None,
            payer: payer.into(),
            code: None,
            expires_at: tolom.clock().now() + chrono::Duration::days(30),
            agency_ref: Some("AG-7".into()),
        })
        .await
        .unwrap_or_else(|e| panic!("issue charge: {e}"))
}

/// A card form with this PAN and CVV.
pub fn card(pan: &str, cvv: &str) -> tolom_core::card::CardForm {
    tolom_core::card::CardForm {
        holder: "AIBEK ASANOV".into(),
        pan: pan.into(),
        expiry: "12/30".into(),
        cvv: cvv.into(),
        phone: "+996 555 123 456".into(),
        email: "aibek@example.kg".into(),
    }
}
