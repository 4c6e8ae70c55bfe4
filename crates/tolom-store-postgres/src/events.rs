//! [`EventLog`] on PostgreSQL: the append-only event log. Every event row,
//! also those the other ports write with their state changes, is appended
//! to the audit chain by the trigger `events_audit`, in the same
//! transaction, with the event's actor (`migrations/0005_actors.sql`).

use async_trait::async_trait;
use tolom_core::events::Event;
use tolom_core::ports::{EventLog, StoreError};
use uuid::Uuid;

use crate::error;
use crate::rows::{self, EVENT_COLUMNS};
use crate::PostgresStore;

#[async_trait]
impl EventLog for PostgresStore {
    async fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        rows::bind_event(sqlx::query(&sql), event)
            .execute(self.pool())
            .await
            .map_err(error::map)?;
        self.committed(true);
        Ok(())
    }

    async fn events_of(&self, id: Uuid) -> Result<Vec<Event>, StoreError> {
        let found = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE charge_id = $1 OR payment_id = $1 ORDER BY seq"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows::all(&found, rows::event)
    }
}
