//! [`EventLog`] on SQLite: the append-only event log (events of state
//! changes are written by the other ports in their transaction, through
//! [`crate::audit::Records`], which also appends them to the audit
//! chain with their actor).

use async_trait::async_trait;
use tolom_core::events::Event;
use tolom_core::ports::{EventLog, StoreError};
use uuid::Uuid;

use crate::audit::Records;
use crate::error::map;
use crate::rows::{event_from, id, EVENT_COLUMNS};
use crate::SqliteStore;

#[async_trait]
impl EventLog for SqliteStore {
    async fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        let records = Records::of_events(std::slice::from_ref(event))?;
        self.write(move |tx| Box::pin(records.write(tx))).await
    }

    async fn events_of(&self, of: Uuid) -> Result<Vec<Event>, StoreError> {
        sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE charge_id = ?1 OR payment_id = ?1 \
             ORDER BY seq"
        ))
        .bind(id(of))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(event_from)
        .collect()
    }
}
