//! [`OutboxStore`] on PostgreSQL: workers claim due messages with
//! `FOR UPDATE SKIP LOCKED` and a lease, so workers in several processes
//! never hold the same message at once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use tolom_core::audit::AuditNote;
use tolom_core::outbox::{OutboxMessage, OutboxStatus};
use tolom_core::ports::{OutboxStore, StoreError};
use uuid::Uuid;

use crate::audit::append_note;
use crate::error::{self, retry, Failure};
use crate::rows::{self, OUTBOX_COLUMNS};
use crate::PostgresStore;

#[async_trait]
impl OutboxStore for PostgresStore {
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
        // One statement: pick due, unleased rows, skipping rows another
        // worker is claiming right now, and lease them. Under READ
        // COMMITTED a row claimed and committed by another worker after our
        // snapshot is re-checked on the new version and dropped.
        //
        // The lease commits without waiting for the disk (the statement
        // sets `synchronous_commit = off` for its own transaction): a lease
        // lost in a power cut only makes the messages claimable again,
        // which at-least-once delivery allows; it is durable anyway with the
        // next durable commit (the round's delivered marks).
        let found = retry(|| async {
            sqlx::query(
                "UPDATE outbox o SET lease_until = $2, lease_owner = $4 \
                 FROM (SELECT id FROM outbox \
                       WHERE status = 'pending' AND next_attempt_at <= $1 \
                         AND (lease_until IS NULL OR lease_until <= $1) \
                       ORDER BY next_attempt_at, seq \
                       LIMIT $3 \
                       FOR UPDATE SKIP LOCKED) due \
                 WHERE o.id = due.id \
                 RETURNING o.seq, o.id, o.created_at, o.payload, o.status, o.attempts, \
                   o.next_attempt_at, o.lease_until, o.last_error, o.delivered_at, \
                   set_config('synchronous_commit', 'off', true) AS deferred",
            )
            .bind(now)
            .bind(lease_until)
            .bind(rows::limit_of(limit))
            .bind(worker)
            .fetch_all(self.pool())
            .await
            .map_err(Failure::from)
        })
        .await?;
        if !found.is_empty() {
            // A claim that found nothing wrote nothing (no commit record).
            self.committed(false);
        }
        let mut claimed = Vec::with_capacity(found.len());
        for row in &found {
            let seq: i64 = row.try_get("seq").map_err(error::map)?;
            claimed.push((seq, rows::outbox(row)?));
        }
        claimed.sort_by(|(sa, a), (sb, b)| (a.next_attempt_at, sa).cmp(&(b.next_attempt_at, sb)));
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    async fn outbox_delivered(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'delivered', delivered_at = coalesce(delivered_at, $2), \
             lease_until = NULL, lease_owner = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(error::map)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.committed(true);
        Ok(())
    }

    async fn outbox_delivered_many(
        &self,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        // One statement, one durable commit for the whole round. All or
        // nothing: the rows are marked only when every id names a message
        // (`found` and `u` read the same snapshot); a delivered message
        // keeps its first delivery time.
        let row = retry(|| async {
            sqlx::query(
                "WITH ids AS (SELECT DISTINCT unnest($1::uuid[]) AS id), \
                 found AS (SELECT count(*) AS n FROM outbox WHERE id IN (SELECT id FROM ids)), \
                 u AS (UPDATE outbox SET status = 'delivered', \
                         delivered_at = coalesce(delivered_at, $2), \
                         lease_until = NULL, lease_owner = NULL \
                       WHERE id IN (SELECT id FROM ids) \
                         AND (SELECT n FROM found) = (SELECT count(*) FROM ids) \
                       RETURNING 1) \
                 SELECT (SELECT count(*) FROM u) AS updated, \
                        (SELECT count(*) FROM ids) AS wanted",
            )
            .bind(ids)
            .bind(now)
            .fetch_one(self.pool())
            .await
            .map_err(Failure::from)
        })
        .await?;
        let updated: i64 = row.try_get("updated").map_err(error::map)?;
        let wanted: i64 = row.try_get("wanted").map_err(error::map)?;
        if updated < wanted {
            return Err(StoreError::NotFound);
        }
        self.committed(true);
        Ok(())
    }

    async fn outbox_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "WITH u AS (UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
               lease_until = NULL, lease_owner = NULL, \
               status = CASE WHEN $3::timestamptz IS NULL THEN 'dead' ELSE 'pending' END, \
               next_attempt_at = coalesce($3::timestamptz, next_attempt_at) \
             WHERE id = $1 AND status <> 'delivered' RETURNING id) \
             SELECT (SELECT count(*) FROM u) AS updated, \
                    EXISTS (SELECT 1 FROM outbox WHERE id = $1) AS found",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at)
        .fetch_one(self.pool())
        .await
        .map_err(error::map)?;
        let found: bool = row.try_get("found").map_err(error::map)?;
        if !found {
            return Err(StoreError::NotFound);
        }
        // Found but not updated: already delivered; a late failure report
        // changes nothing.
        if row.try_get::<i64, _>("updated").map_err(error::map)? == 1 {
            self.committed(true);
        }
        Ok(())
    }

    async fn outbox_list(
        &self,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let found = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ($1::text IS NULL OR status = $1) \
             ORDER BY seq DESC LIMIT $2"
        ))
        .bind(status.map(|s| s.as_str()))
        .bind(rows::limit_of(limit))
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows::all(&found, rows::outbox)
    }

    async fn outbox_retry(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<(), StoreError> {
        // One transaction: the message back to pending, then the note (the
        // chain head's lock is held only until the commit). No dead message
        // with this id: roll back, nothing written.
        retry(|| async {
            let mut tx = self.pool().begin().await?;
            let done = sqlx::query(
                "UPDATE outbox SET status = 'pending', next_attempt_at = $2, lease_until = NULL, \
                 lease_owner = NULL WHERE id = $1 AND status = 'dead'",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound.into());
            }
            append_note(&mut tx, note).await?;
            tx.commit().await?;
            self.committed(true);
            Ok(())
        })
        .await
    }
}
