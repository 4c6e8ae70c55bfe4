//! How to connect: [`PgOptions`], and the pool and session settings made
//! from them.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::ConnectError;

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
    ///
    /// [`StoreError::Unavailable`]: tolom_core::ports::StoreError::Unavailable
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
    /// `false`, the call that meets it fails once with the temporary
    /// [`StoreError::Unavailable`] and the pool drops it. `false` saves one
    /// round trip per call (see `docs/benchmarks/tolom-store-postgres.md`).
    ///
    /// [`StoreError::Unavailable`]: tolom_core::ports::StoreError::Unavailable
    pub test_before_acquire: bool,
    /// Run the migrations on connect (default `true`). Turn it off when a
    /// deployment job runs [`crate::PostgresStore::migrate`] before the
    /// portals start.
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

/// Whether `name` is a plain SQL identifier we accept as a schema name.
pub(crate) fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

/// The connection settings: the URL, the application name and the session
/// settings (`search_path`, timeouts).
pub(crate) fn connect_options(
    url: &str,
    options: &PgOptions,
) -> Result<PgConnectOptions, ConnectError> {
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
pub(crate) fn redact(message: &str) -> String {
    match (message.find("://"), message.find('@')) {
        (Some(s), Some(a)) if a > s => format!("{}://***{}", &message[..s], &message[a..]),
        _ => message.to_string(),
    }
}

/// The pool settings.
pub(crate) fn pool_options(options: &PgOptions) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .min_connections(options.min_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(options.test_before_acquire)
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
}
