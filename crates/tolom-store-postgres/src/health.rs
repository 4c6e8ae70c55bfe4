//! [`StoreHealth`] on PostgreSQL, for readiness probes: one query on the
//! pool — the newest migration applied in the store's schema — which
//! also proves that the server answers.

use async_trait::async_trait;
use tolom_core::ports::{SchemaStatus, StoreError, StoreHealth};

use crate::{error, PostgresStore, MIGRATOR};

#[async_trait]
impl StoreHealth for PostgresStore {
    async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        // A schema nobody migrated yet has no migrations table: that is
        // "no migrations", not a storage failure.
        let has_table: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(self.pool())
                .await
                .map_err(error::map)?;
        if !has_table {
            return Ok(SchemaStatus {
                applied: None,
                known,
            });
        }
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(self.pool())
                .await
                .map_err(error::map)?;
        Ok(SchemaStatus { applied, known })
    }
}
