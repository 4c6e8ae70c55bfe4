//! [`OutboxStore`] on SQLite: the transactional outbox. Messages are
//! written with the state change they announce ([`insert_outbox`], called
//! by the payment update), claimed under a lease, and retried by operators
//! with their note in the audit chain.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tolom_core::audit::AuditNote;
use tolom_core::outbox::{Channel, OutboxMessage, OutboxStatus};
use tolom_core::ports::{OutboxStore, StoreError};
use uuid::Uuid;

use crate::audit::{record_note, WriteTx};
use crate::error::map;
use crate::rows::{id, limit_of, outbox_from, payload_json, ts, Get, OUTBOX_COLUMNS};
use crate::SqliteStore;

/// Enqueues a message inside a write transaction.
pub(crate) async fn insert_outbox(tx: &mut WriteTx, m: &OutboxMessage) -> Result<(), StoreError> {
    let channel = match m.payload.channel() {
        Channel::Email => "email",
        Channel::Webhook => "webhook",
    };
    sqlx::query(
        "INSERT INTO outbox (id, created_at, channel, payload, status, attempts, \
         next_attempt_at, lease_until, lease_owner, last_error, delivered_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10)",
    )
    .bind(id(m.id))
    .bind(ts(m.created_at))
    .bind(channel)
    .bind(payload_json(&m.payload)?)
    .bind(m.status.as_str())
    .bind(i64::from(m.attempts))
    .bind(ts(m.next_attempt_at))
    .bind(m.lease_until.map(ts))
    .bind(&m.last_error)
    .bind(m.delivered_at.map(ts))
    .execute(&mut **tx)
    .await
    .map_err(map)?;
    Ok(())
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
        worker: &str,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // One write transaction picks the due, unleased messages and leases
        // them: a second claim (another task or process) waits for the
        // write lock and then no longer sees them as claimable.
        let mut tx = self.write().await?;
        let rows = sqlx::query(&format!(
            "UPDATE outbox SET lease_until = ?1, lease_owner = ?2 \
             WHERE seq IN (SELECT seq FROM outbox \
                 WHERE status = 'pending' AND next_attempt_at <= ?3 \
                 AND (lease_until IS NULL OR lease_until <= ?3) \
                 ORDER BY next_attempt_at, seq LIMIT ?4) \
             RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(ts(lease_until))
        .bind(worker)
        .bind(ts(now))
        .bind(limit_of(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map)?;
        self.commit(tx).await?;
        let mut claimed: Vec<(i64, OutboxMessage)> = rows
            .iter()
            .map(|r| Ok((r.int("seq")?, outbox_from(r)?)))
            .collect::<Result<_, StoreError>>()?;
        claimed.sort_by_key(|(seq, _)| *seq);
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    async fn outbox_delivered(&self, message: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE outbox SET \
             delivered_at = CASE WHEN status = 'delivered' THEN delivered_at ELSE ?2 END, \
             status = 'delivered', lease_until = NULL, lease_owner = NULL \
             WHERE id = ?1",
        )
        .bind(id(message))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.commit(tx).await
    }

    async fn outbox_failed(
        &self,
        message: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let status = sqlx::query_scalar::<_, String>("SELECT status FROM outbox WHERE id = ?1")
            .bind(id(message))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map)?
            .ok_or(StoreError::NotFound)?;
        if status == OutboxStatus::Delivered.as_str() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, \
             lease_until = NULL, lease_owner = NULL, \
             status = CASE WHEN ?3 IS NULL THEN 'dead' ELSE 'pending' END, \
             next_attempt_at = COALESCE(?3, next_attempt_at) \
             WHERE id = ?1",
        )
        .bind(id(message))
        .bind(error)
        .bind(retry_at.map(ts))
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        self.commit(tx).await
    }

    async fn outbox_list(
        &self,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE (?1 IS NULL OR status = ?1) \
             ORDER BY seq DESC LIMIT ?2"
        ))
        .bind(status.map(|s| s.as_str()))
        .bind(limit_of(limit))
        .fetch_all(self.readers())
        .await
        .map_err(map)?
        .iter()
        .map(outbox_from)
        .collect()
    }

    async fn outbox_retry(
        &self,
        message: Uuid,
        now: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?2, \
             lease_until = NULL, lease_owner = NULL \
             WHERE id = ?1 AND status = 'dead'",
        )
        .bind(id(message))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        if done.rows_affected() == 0 {
            // Dropping the transaction rolls it back: nothing written.
            return Err(StoreError::NotFound);
        }
        record_note(&mut tx, note).await?;
        self.commit(tx).await
    }
}
