//! [`OpsStore`] on PostgreSQL: the hash-chained audit log, its sealing and
//! checkpoints, admin API tokens (hashes only), personal-data retention and
//! access requests. Schema and chain rules: `migrations/0004_ops.sql`,
//! `0005_actors.sql` and `0006_audit_sealing.sql`.
//!
//! Appends — from [`OpsStore::append_audit`], from the operator actions
//! that carry an [`AuditNote`] (each in the transaction of its action), and
//! from the `events_audit` trigger that adds every stored event with its
//! actor — insert into `audit_pending` and take no shared lock;
//! [`OpsStore::seal_audit`] chains them in batches (`tolom_audit_seal`,
//! which locks the chain's one-row head, so sealers on any number of
//! instances take turns and form one chain).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tolom_core::access::{ApiToken, ANONYMISED};
use tolom_core::audit::{AuditEntry, AuditHead, AuditNote};
use tolom_core::card::Phone;
use tolom_core::outbox::ERROR_REMOVED;
use tolom_core::payment::Payment;
use tolom_core::ports::{OpsStore, StoreError, StoredCheckpoint};

use crate::audit::{append_note, seal};
use crate::error::{self, retry, Failure};
use crate::rows::{
    self, AUDIT_COLUMNS, CHECKPOINT_COLUMNS, IN_FLIGHT_SQL, PAYMENT_COLUMNS, TOKEN_COLUMNS,
};
use crate::PostgresStore;

#[async_trait]
impl OpsStore for PostgresStore {
    async fn append_audit(&self, note: &AuditNote) -> Result<(), StoreError> {
        retry(|| async {
            let mut conn = self.pool().acquire().await?;
            append_note(&mut conn, note).await
        })
        .await
    }

    async fn seal_audit(&self, max: usize) -> Result<u64, StoreError> {
        retry(|| async {
            let mut conn = self.pool().acquire().await?;
            let n = seal(&mut conn, max).await?;
            if n > 0 {
                self.committed(true);
            }
            Ok(n)
        })
        .await
    }

    async fn audit_unsealed(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_pending")
            .fetch_one(self.pool())
            .await
            .map_err(error::map)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn audit_head(&self) -> Result<AuditHead, StoreError> {
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(self.pool())
                .await
                .map_err(error::map)?;
        Ok(match last {
            None => AuditHead::empty(),
            Some((seq, hash)) => AuditHead {
                size: u64::try_from(seq)
                    .map_err(|e| StoreError::Broken(format!("audit seq {seq}: {e}")))?,
                hash,
            },
        })
    }

    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError> {
        let size = i64::try_from(checkpoint.size).map_err(|_| {
            StoreError::invariant(
                tolom_core::ports::InvariantKind::Constraint,
                "checkpoint size out of range",
            )
        })?;
        let done = sqlx::query(&format!(
            "INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (size) DO NOTHING"
        ))
        .bind(size)
        .bind(&checkpoint.head)
        .bind(checkpoint.at)
        .bind(&checkpoint.text)
        .execute(self.pool())
        .await
        .map_err(error::map)?;
        if done.rows_affected() == 1 {
            self.committed(true);
        }
        Ok(done.rows_affected() == 1)
    }

    async fn checkpoints(&self, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let found = sqlx::query(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY size DESC LIMIT $1"
        ))
        .bind(rows::limit_of(limit))
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows::all(&found, rows::checkpoint)
    }

    async fn audit_entries(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let found = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
        ))
        .bind(i64::try_from(from_seq).unwrap_or(i64::MAX))
        .bind(rows::limit_of(limit))
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows::all(&found, rows::audit)
    }

    async fn create_token(&self, token: &ApiToken, note: &AuditNote) -> Result<(), StoreError> {
        // A taken name fails on `api_tokens_name_key` (→ DuplicateToken)
        // before the note is written; the transaction rolls back.
        let sql =
            format!("INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        retry(|| async {
            let mut tx = self.pool().begin().await?;
            sqlx::query(&sql)
                .bind(token.id)
                .bind(&token.name)
                .bind(token.role.as_str())
                .bind(&token.secret_hash)
                .bind(token.created_at)
                .bind(token.revoked_at)
                .execute(&mut *tx)
                .await?;
            append_note(&mut tx, note).await?;
            tx.commit().await?;
            self.committed(true);
            Ok(())
        })
        .await
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let found = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, name"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows::all(&found, rows::token)
    }

    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(secret_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(error::map)?
        .as_ref()
        .map(rows::token)
        .transpose()
    }

    async fn revoke_token(
        &self,
        name: &str,
        at: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<(), StoreError> {
        retry(|| async {
            let mut tx = self.pool().begin().await?;
            let done = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
            )
            .bind(name)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                // Rolled back with the transaction: nothing written.
                return Err(StoreError::NotFound.into());
            }
            append_note(&mut tx, note).await?;
            tx.commit().await?;
            self.committed(true);
            Ok(())
        })
        .await
    }

    async fn anonymise_before(
        &self,
        before: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<u64, StoreError> {
        retry(|| async {
            let mut tx = self.pool().begin().await?;
            let n: i64 = sqlx::query_scalar(&format!(
                "WITH p AS (UPDATE payments SET contact = NULL, \
                   card = CASE WHEN card IS NULL THEN NULL \
                          ELSE jsonb_set(card, '{{holder}}', to_jsonb($2::text)) END, \
                   version = version + 1 \
                 WHERE updated_at < $1 AND state NOT IN {IN_FLIGHT_SQL} \
                   AND (contact IS NOT NULL \
                        OR (card IS NOT NULL AND card->>'holder' IS DISTINCT FROM $2)) \
                 RETURNING id) SELECT count(*) FROM p"
            ))
            .bind(before)
            .bind(ANONYMISED)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "UPDATE outbox SET payload = jsonb_set(payload, '{{to}}', '\"anonymised@invalid\"') \
                 WHERE payload->>'kind' = 'receipt_email' \
                   AND payload->>'to' IS DISTINCT FROM 'anonymised@invalid' \
                   AND (payload->>'payment_id')::uuid IN \
                       (SELECT id FROM payments WHERE contact IS NULL \
                        AND state NOT IN {IN_FLIGHT_SQL} AND updated_at < $1)"
            ))
            .bind(before)
            .execute(&mut *tx)
            .await?;
            // So do the failure texts of every message of those payments
            // (a bounce quotes the address).
            sqlx::query(&format!(
                "UPDATE outbox SET last_error = $2 \
                 WHERE last_error IS NOT NULL AND last_error IS DISTINCT FROM $2 \
                   AND COALESCE(payload->>'payment_id', payload->'event'->>'payment_id')::uuid IN \
                       (SELECT id FROM payments WHERE contact IS NULL \
                        AND state NOT IN {IN_FLIGHT_SQL} AND updated_at < $1)"
            ))
            .bind(before)
            .bind(ERROR_REMOVED)
            .execute(&mut *tx)
            .await?;
            let n = u64::try_from(n).unwrap_or(0);
            // Every run is recorded with its count (also 0), as the
            // reference store does: added to the note's data when it is an
            // object.
            let mut counted = note.clone();
            if let Some(data) = counted.data.as_object_mut() {
                data.insert("anonymised".into(), n.into());
            }
            append_note(&mut tx, &counted).await?;
            tx.commit().await?;
            self.committed(true);
            Ok::<_, Failure>(n)
        })
        .await
    }

    async fn payments_by_contact(
        &self,
        phone: Option<String>,
        email: Option<String>,
    ) -> Result<Vec<Payment>, StoreError> {
        let phone = phone
            .as_deref()
            .and_then(Phone::parse)
            .map(|p| p.as_str().to_string());
        let email = email
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty());
        if phone.is_none() && email.is_none() {
            return Ok(Vec::new());
        }
        let found = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE contact IS NOT NULL AND \
               (contact->>'phone' = $1 OR lower(contact->>'email') = $2) \
             ORDER BY created_at, id"
        ))
        .bind(phone)
        .bind(email)
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows::all(&found, rows::payment)
    }
}
