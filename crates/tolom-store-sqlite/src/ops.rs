//! [`OpsStore`] on SQLite: the hash-chained audit log, admin API tokens
//! (hashes only), personal-data retention and access requests. Schema:
//! `migrations/20261125000002_ops.sql`.
//!
//! Every operator action writes its [`AuditNote`] in the same transaction
//! as the action ([`crate::audit::Records`]); a refused action (a taken
//! token name, an unknown token) rolls back and writes nothing, not even
//! the note.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tolom_core::access::{ApiToken, ANONYMISED};
use tolom_core::audit::{AuditEntry, AuditHead, AuditNote};
use tolom_core::card::Phone;
use tolom_core::outbox::ERROR_REMOVED;
use tolom_core::payment::Payment;
use tolom_core::ports::{OpsStore, StoreError, StoredCheckpoint};

use crate::audit::Records;
use crate::error::map;
use crate::rows::{
    audit_from, checkpoint_from, id, limit_of, payment_from, token_from, ts, AUDIT_COLUMNS,
    IN_FLIGHT_SQL, PAYMENT_COLUMNS, TOKEN_COLUMNS,
};
use crate::SqliteStore;

/// The recipient a receipt e-mail gets when its payment is anonymised
/// (the only change the trigger `outbox_payload_fixed` allows).
const ANONYMISED_EMAIL: &str = "anonymised@invalid";

/// `note` with `"anonymised": n` added to its data (an object; other data
/// is kept under `"data"`).
fn with_count(note: &AuditNote, n: u64) -> AuditNote {
    let mut note = note.clone();
    let data = match note.data.take() {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        other => {
            let mut map = serde_json::Map::new();
            map.insert("data".into(), other);
            map
        }
    };
    let mut data = data;
    data.insert("anonymised".into(), n.into());
    note.data = serde_json::Value::Object(data);
    note
}

#[async_trait]
impl OpsStore for SqliteStore {
    async fn append_audit(&self, note: &AuditNote) -> Result<(), StoreError> {
        let mut records = Records::new();
        records.note(note)?;
        self.write(move |tx| Box::pin(records.write(tx))).await
    }

    // One writer: entries are chained in the transaction that appends them
    // (the writer lock already orders them), so nothing waits to be sealed.
    async fn seal_audit(&self, _max: usize) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn audit_unsealed(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn audit_head(&self) -> Result<AuditHead, StoreError> {
        let last = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"
        ))
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?;
        Ok(match last.as_ref().map(audit_from).transpose()? {
            Some(e) => AuditHead::of(&e),
            None => AuditHead::empty(),
        })
    }

    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError> {
        let size = i64::try_from(checkpoint.size).map_err(|_| {
            StoreError::invariant(
                tolom_core::ports::InvariantKind::Constraint,
                "checkpoint size out of range",
            )
        })?;
        let c = checkpoint.clone();
        self.write(move |tx| {
            Box::pin(async move {
                let done = sqlx::query(
                    "INSERT INTO audit_checkpoints (size, head, at, text) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (size) DO NOTHING",
                )
                .bind(size)
                .bind(c.head)
                .bind(ts(c.at))
                .bind(c.text)
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    async fn checkpoints(&self, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError> {
        sqlx::query(
            "SELECT size, head, at, text FROM audit_checkpoints ORDER BY size DESC LIMIT ?1",
        )
        .bind(limit_of(limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(checkpoint_from)
        .collect()
    }

    async fn audit_entries(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= ?1 ORDER BY seq LIMIT ?2"
        ))
        .bind(i64::try_from(from_seq).unwrap_or(i64::MAX))
        .bind(limit_of(limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(audit_from)
        .collect()
    }

    async fn create_token(&self, token: &ApiToken, note: &AuditNote) -> Result<(), StoreError> {
        let mut records = Records::new();
        records.note(note)?;
        let t = token.clone();
        self.write(move |tx| {
            Box::pin(async move {
                // UNIQUE api_tokens.name → DuplicateToken (error.rs), before
                // the note: the job rolls back and nothing is written.
                sqlx::query(&format!(
                    "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                ))
                .bind(id(t.id))
                .bind(t.name)
                .bind(t.role.as_str())
                .bind(t.secret_hash)
                .bind(ts(t.created_at))
                .bind(t.revoked_at.map(ts))
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                records.write(tx).await
            })
        })
        .await
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, name"
        ))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(token_from)
        .collect()
    }

    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?1 AND revoked_at IS NULL"
        ))
        .bind(secret_hash)
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .as_ref()
        .map(token_from)
        .transpose()
    }

    async fn revoke_token(
        &self,
        name: &str,
        at: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<(), StoreError> {
        let mut records = Records::new();
        records.note(note)?;
        let (name, at) = (name.to_string(), ts(at));
        self.write(move |tx| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                )
                .bind(name)
                .bind(at)
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

    async fn anonymise_before(
        &self,
        before: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<u64, StoreError> {
        let (before, note) = (ts(before), note.clone());
        self.write(move |tx| {
            Box::pin(async move {
                let ids: Vec<String> = sqlx::query_scalar(&format!(
                    "UPDATE payments SET contact = NULL, \
                       card = CASE WHEN card IS NULL THEN NULL \
                              ELSE json_set(card, '$.holder', ?2) END, \
                       version = version + 1 \
                     WHERE updated_at < ?1 AND state NOT IN {IN_FLIGHT_SQL} \
                       AND (contact IS NOT NULL \
                            OR (card IS NOT NULL AND json_extract(card, '$.holder') IS NOT ?2)) \
                     RETURNING id"
                ))
                .bind(&before)
                .bind(ANONYMISED)
                .fetch_all(&mut **tx)
                .await
                .map_err(map)?;
                // Receipt e-mails of anonymised payments (delivered or not) lose
                // their recipient; the trigger `outbox_payload_fixed` allows exactly
                // this change.
                sqlx::query(&format!(
                    "UPDATE outbox SET payload = json_set(payload, '$.data.to', ?2) \
                     WHERE json_extract(payload, '$.kind') = 'receipt_email' \
                       AND json_extract(payload, '$.data.to') IS NOT ?2 \
                       AND json_extract(payload, '$.data.payment_id') IN \
                           (SELECT id FROM payments WHERE contact IS NULL \
                            AND state NOT IN {IN_FLIGHT_SQL} AND updated_at < ?1)"
                ))
                .bind(&before)
                .bind(ANONYMISED_EMAIL)
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                // So do the failure texts of every message of those payments (a
                // bounce quotes the address).
                sqlx::query(&format!(
                    "UPDATE outbox SET last_error = ?2 \
                     WHERE last_error IS NOT NULL AND last_error IS NOT ?2 \
                       AND json_extract(payload, '$.data.payment_id') IN \
                           (SELECT id FROM payments WHERE contact IS NULL \
                            AND state NOT IN {IN_FLIGHT_SQL} AND updated_at < ?1)"
                ))
                .bind(&before)
                .bind(ERROR_REMOVED)
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                let count = ids.len() as u64;
                let mut records = Records::new();
                records.note(&with_count(&note, count))?;
                records.write(tx).await?;
                Ok(count)
            })
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
        sqlx::query(&format!(
            "SELECT {} FROM payments WHERE contact IS NOT NULL AND \
               (json_extract(contact, '$.phone') = ?1 \
                OR lower(json_extract(contact, '$.email')) = ?2) \
             ORDER BY created_at, id",
            *PAYMENT_COLUMNS
        ))
        .bind(phone)
        .bind(email)
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(payment_from)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_joins_the_note_data() {
        let at = Utc::now();
        let n = with_count(
            &AuditNote::system(
                at,
                "retention.run",
                "payments",
                serde_json::json!({"days": 3}),
            ),
            2,
        );
        assert_eq!(n.data, serde_json::json!({"days": 3, "anonymised": 2}));
        let n = with_count(
            &AuditNote::system(at, "retention.run", "payments", serde_json::Value::Null),
            0,
        );
        assert_eq!(n.data, serde_json::json!({"anonymised": 0}));
        let n = with_count(
            &AuditNote::system(at, "retention.run", "payments", serde_json::json!("x")),
            1,
        );
        assert_eq!(n.data, serde_json::json!({"data": "x", "anonymised": 1}));
    }
}
