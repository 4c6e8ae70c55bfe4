//! [`OutboxStore`] on SQLite: the transactional outbox. Messages are
//! written with the state change they announce ([`outbox_sql`], called
//! by the payment update), claimed under a lease, and retried by operators
//! with their note in the audit chain.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tolom_core::audit::AuditNote;
use tolom_core::outbox::{Channel, OutboxMessage, OutboxStatus};
use tolom_core::ports::{OutboxStore, StoreError};
use uuid::Uuid;

use crate::audit::Records;
use crate::error::map;
use crate::rows::{
    id, limit_of, outbox_from, payload_json, to_json, ts, Get, SqliteQuery, OUTBOX_COLUMNS,
};
use crate::SqliteStore;

/// An outbox message as its row, encoded before the transaction.
pub(crate) struct OutboxRow {
    id: String,
    created_at: String,
    channel: &'static str,
    payload: String,
    status: &'static str,
    attempts: i64,
    next_attempt_at: String,
    lease_until: Option<String>,
    last_error: Option<String>,
    delivered_at: Option<String>,
}

impl OutboxRow {
    /// The row of `m`.
    pub(crate) fn encode(m: &OutboxMessage) -> Result<OutboxRow, StoreError> {
        Ok(OutboxRow {
            id: id(m.id),
            created_at: ts(m.created_at),
            channel: match m.payload.channel() {
                Channel::Email => "email",
                Channel::Webhook => "webhook",
            },
            payload: payload_json(&m.payload)?,
            status: m.status.as_str(),
            attempts: i64::from(m.attempts),
            next_attempt_at: ts(m.next_attempt_at),
            lease_until: m.lease_until.map(ts),
            last_error: m.last_error.clone(),
            delivered_at: m.delivered_at.map(ts),
        })
    }

    /// The rows of `messages`.
    pub(crate) fn encode_all(messages: &[OutboxMessage]) -> Result<Vec<OutboxRow>, StoreError> {
        messages.iter().map(OutboxRow::encode).collect()
    }
}

/// The statement enqueueing `count` messages, with unnumbered parameters
/// (the `first`-th on) (it can follow other statements in one call), and the
/// number of parameters it takes. Empty for no message.
pub(crate) fn outbox_sql(count: usize, first: usize) -> (String, usize) {
    if count == 0 {
        return (String::new(), 0);
    }
    let mut next = first;
    let mut rows = String::new();
    for r in 0..count {
        if r > 0 {
            rows.push_str(", ");
        }
        let p = |next: &mut usize| {
            *next += 1;
            "?".to_string()
        };
        let cols: Vec<String> = (0..8).map(|_| p(&mut next)).collect();
        let (a, b) = (p(&mut next), p(&mut next));
        rows.push_str(&format!("({}, NULL, {a}, {b})", cols.join(", ")));
    }
    (
        format!(
            "INSERT INTO outbox (id, created_at, channel, payload, status, attempts, \
             next_attempt_at, lease_until, lease_owner, last_error, delivered_at) VALUES {rows}; "
        ),
        next - first,
    )
}

/// Binds the parameters of [`outbox_sql`] after those already bound.
pub(crate) fn bind_outbox<'q>(mut q: SqliteQuery<'q>, rows: Vec<OutboxRow>) -> SqliteQuery<'q> {
    for m in rows {
        q = q
            .bind(m.id)
            .bind(m.created_at)
            .bind(m.channel)
            .bind(m.payload)
            .bind(m.status)
            .bind(m.attempts)
            .bind(m.next_attempt_at)
            .bind(m.lease_until)
            .bind(m.last_error)
            .bind(m.delivered_at);
    }
    q
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
        // write lock and then no longer sees them as claimable. The lease
        // may commit without waiting for the disk (the port allows it: a
        // lease lost in a power cut only makes a message claimable again).
        let (lease_until, worker, now) = (ts(lease_until), worker.to_string(), ts(now));
        let rows = self
            .write_deferred(move |tx| {
                Box::pin(async move {
                    sqlx::query(&format!(
                        "UPDATE outbox SET lease_until = ?1, lease_owner = ?2 \
                         WHERE seq IN (SELECT seq FROM outbox \
                             WHERE status = 'pending' AND next_attempt_at <= ?3 \
                             AND (lease_until IS NULL OR lease_until <= ?3) \
                             ORDER BY next_attempt_at, seq LIMIT ?4) \
                         RETURNING {OUTBOX_COLUMNS}"
                    ))
                    .bind(lease_until)
                    .bind(worker)
                    .bind(now)
                    .bind(limit_of(limit))
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(map)
                })
            })
            .await?;
        let mut claimed: Vec<(i64, OutboxMessage)> = rows
            .iter()
            .map(|r| Ok((r.int("seq")?, outbox_from(r)?)))
            .collect::<Result<_, StoreError>>()?;
        claimed.sort_by_key(|(seq, _)| *seq);
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    async fn outbox_delivered(&self, message: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.outbox_delivered_many(&[message], now).await
    }

    async fn outbox_delivered_many(
        &self,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut unique: Vec<String> = ids.iter().map(|m| id(*m)).collect();
        unique.sort_unstable();
        unique.dedup();
        let expected = unique.len() as u64;
        let list = to_json(&unique)?;
        let now = ts(now);
        // One statement marks them all; an unknown id fails the whole call
        // (all or nothing: the job rolls back to its savepoint).
        self.write(move |tx| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE outbox SET \
                     delivered_at = CASE WHEN status = 'delivered' THEN delivered_at ELSE ?2 END, \
                     status = 'delivered', lease_until = NULL, lease_owner = NULL \
                     WHERE id IN (SELECT value FROM json_each(?1))",
                )
                .bind(list)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                if done.rows_affected() != expected {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn outbox_failed(
        &self,
        message: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let (message, error, retry_at) = (id(message), error.to_string(), retry_at.map(ts));
        self.write(move |tx| {
            Box::pin(async move {
                // A delivered message stays delivered (nothing changes).
                let done = sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, \
                     lease_until = NULL, lease_owner = NULL, \
                     status = CASE WHEN ?3 IS NULL THEN 'dead' ELSE 'pending' END, \
                     next_attempt_at = COALESCE(?3, next_attempt_at) \
                     WHERE id = ?1 AND status <> 'delivered'",
                )
                .bind(&message)
                .bind(error)
                .bind(retry_at)
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                if done.rows_affected() == 0 {
                    sqlx::query_scalar::<_, i64>("SELECT 1 FROM outbox WHERE id = ?1")
                        .bind(&message)
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(map)?
                        .ok_or(StoreError::NotFound)?;
                }
                Ok(())
            })
        })
        .await
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
        .fetch_all(&mut *self.reader().await?)
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
        let (message, now) = (id(message), ts(now));
        let mut records = Records::new();
        records.note(note)?;
        self.write(move |tx| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE outbox SET status = 'pending', next_attempt_at = ?2, \
                     lease_until = NULL, lease_owner = NULL \
                     WHERE id = ?1 AND status = 'dead'",
                )
                .bind(message)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                if done.rows_affected() == 0 {
                    // The job rolls back: nothing written.
                    return Err(StoreError::NotFound);
                }
                records.write(tx).await
            })
        })
        .await
    }
}
