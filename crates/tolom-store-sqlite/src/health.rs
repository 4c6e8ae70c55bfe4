//! [`StoreHealth`] on SQLite, for readiness probes: the file is still the
//! one the store opened, and the schema this build knows.
//!
//! A database file removed (or replaced) while tolom holds it open is the
//! failure to catch here: SQLite keeps reading and writing the unlinked
//! file through the open connections, so every query still succeeds — and
//! everything written is lost when the process stops. The check compares
//! the file at the path with the one opened (device and inode on Unix;
//! existence elsewhere), then reads the newest applied migration.

use async_trait::async_trait;
use tolom_core::ports::{SchemaStatus, StoreError, StoreHealth};

use crate::{FileId, SqliteStore};

#[async_trait]
impl StoreHealth for SqliteStore {
    async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        if let Some(opened) = &self.file {
            let shown = opened.path.display();
            match std::fs::metadata(&opened.path) {
                Err(e) => {
                    return Err(StoreError::Broken(format!(
                        "the database file {shown} is gone ({}): it was removed or moved while \
                         open, and what is written now would be lost",
                        e.kind()
                    )))
                }
                Ok(m) if FileId::of(&m) != opened.id => {
                    return Err(StoreError::Broken(format!(
                        "the database file {shown} was replaced while open"
                    )))
                }
                Ok(_) => {}
            }
        }
        Ok(SchemaStatus {
            applied: self.schema_version().await?,
            known: SqliteStore::latest_schema_version(),
        })
    }
}
