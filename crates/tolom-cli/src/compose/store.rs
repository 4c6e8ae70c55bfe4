//! The database: SQLite (a file) or PostgreSQL, migrated on open — or,
//! with `database.run_migrations = false` on PostgreSQL, only checked to be
//! at this build's migration (the service's role then needs no right to
//! create anything; the owner runs `tolom migrate`).

use std::path::Path;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tolom_core::ports::{OpsStore, Store, StoreHealth};

use crate::config::Settings;
use crate::CliError;

/// An opened database, as the ports the builder takes.
pub(super) struct Opened {
    pub(super) store: Arc<dyn Store>,
    pub(super) ops: Arc<dyn OpsStore>,
    pub(super) health: Arc<dyn StoreHealth>,
    pub(super) kind: &'static str,
}

/// What opening does to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Schema {
    /// Bring it up to date (`tolom migrate`, and every command by default).
    Migrate,
    /// As configured: migrate unless `database.run_migrations = false`,
    /// then only check it is at this build's migration.
    AsConfigured,
}

pub(super) async fn open(settings: &Settings, schema: Schema) -> Result<Opened, CliError> {
    let migrate = schema == Schema::Migrate || settings.file.database.run_migrations != Some(false);
    let url = settings.database_url.as_str();
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
        }
        if !migrate {
            tracing::warn!(
                "database.run_migrations = false applies to PostgreSQL; a SQLite file is \
                 migrated by whoever opens it"
            );
        }
        let store = tolom_store_sqlite::SqliteStore::open(
            path,
            tolom_store_sqlite::SqliteOptions::default(),
        )
        .await?;
        let store = Arc::new(store);
        return Ok(Opened {
            store: store.clone(),
            ops: store.clone(),
            health: store,
            kind: "sqlite",
        });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options = tolom_store_postgres::PgOptions {
            schema: settings.file.database.schema.clone(),
            max_connections: settings.file.database.max_connections.unwrap_or(10),
            run_migrations: migrate,
            ..tolom_store_postgres::PgOptions::default()
        };
        let full = settings.database_url_with_password();
        let store = tolom_store_postgres::PostgresStore::connect(full.expose_secret(), options)
            .await
            .map_err(|e| CliError::Store(super::redact_error(&e.to_string(), settings)))?;
        let store = Arc::new(store);
        if !migrate {
            check_schema(store.as_ref()).await?;
        }
        return Ok(Opened {
            store: store.clone(),
            ops: store.clone(),
            health: store,
            kind: "postgres",
        });
    }
    Err(CliError::Usage(format!(
        "unsupported database URL {} (use sqlite:PATH or postgres://...)",
        crate::config::redact_url(url)
    )))
}

/// Refuses a schema that is not at this build's migration (the service
/// was told not to migrate it).
async fn check_schema(health: &dyn StoreHealth) -> Result<(), CliError> {
    match health.schema_status().await?.problem() {
        None => Ok(()),
        Some(problem) => Err(CliError::Store(format!(
            "{problem}; this instance does not migrate (database.run_migrations = false): \
             the schema's owner runs `tolom migrate`"
        ))),
    }
}
