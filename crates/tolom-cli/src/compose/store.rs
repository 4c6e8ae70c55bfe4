//! The database: SQLite (a file) or PostgreSQL, migrated on open.

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

pub(super) async fn open(settings: &Settings) -> Result<Opened, CliError> {
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
            ..tolom_store_postgres::PgOptions::default()
        };
        let full = settings.database_url_with_password();
        let store = tolom_store_postgres::PostgresStore::connect(full.expose_secret(), options)
            .await
            .map_err(|e| CliError::Store(super::redact_error(&e.to_string(), settings)))?;
        let store = Arc::new(store);
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
