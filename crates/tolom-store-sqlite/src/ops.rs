//! The operations port ([`OpsStore`]) on SQLite: the hash-chained audit
//! log, admin API tokens (hashes only), personal-data retention and access
//! requests. Schema: `migrations/20261125000002_ops.sql`.
//!
//! Every event written through the storage ports is appended to the audit
//! chain by [`append_in`], called from the store's event writer inside the
//! same transaction. The single writer connection with `BEGIN IMMEDIATE`
//! serialises appends: the last entry read in a transaction is still the
//! last when it commits.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, Transaction};
use tolom_core::card::Phone;
use tolom_core::access::{ApiToken, Role, ANONYMISED};
use tolom_core::audit::AuditEntry;
use tolom_core::ports::OpsStore;
use tolom_core::payment::Payment;
use tolom_core::ports::{PaymentStore, StoreError};

use crate::codec::*;
use crate::error::{corrupt, map, unique_violation};
use crate::store::SqliteStore;

const AUDIT_COLUMNS: &str = "seq, at, actor, action, subject, data, prev_hash, hash";

fn audit_from(row: &SqliteRow) -> Result<AuditEntry, StoreError> {
    let seq = row.int("seq")?;
    Ok(AuditEntry {
        seq: u64::try_from(seq).map_err(|_| corrupt("audit seq", seq))?,
        at: parse_ts(&row.text("at")?)?,
        actor: row.text("actor")?,
        action: row.text("action")?,
        subject: row.text("subject")?,
        data: from_json("audit data", &row.text("data")?)?,
        prev_hash: row.text("prev_hash")?,
        hash: row.text("hash")?,
    })
}

const TOKEN_COLUMNS: &str = "id, name, role, secret_hash, created_at, revoked_at";

fn token_from(row: &SqliteRow) -> Result<ApiToken, StoreError> {
    let role = row.text("role")?;
    Ok(ApiToken {
        id: parse_id(&row.text("id")?)?,
        name: row.text("name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("token role", role))?,
        secret_hash: row.text("secret_hash")?,
        created_at: parse_ts(&row.text("created_at")?)?,
        revoked_at: row
            .opt_text("revoked_at")?
            .map(|s| parse_ts(&s))
            .transpose()?,
    })
}

/// Appends one entry to the audit chain inside a write transaction.
pub(crate) async fn append_in(
    tx: &mut Transaction<'static, Sqlite>,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    subject: &str,
    data: serde_json::Value,
) -> Result<AuditEntry, StoreError> {
    let last = sqlx::query(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"
    ))
    .fetch_optional(&mut **tx)
    .await
    .map_err(map)?
    .as_ref()
    .map(audit_from)
    .transpose()?;
    let entry = AuditEntry::next(last.as_ref(), at, actor, action, subject, data);
    sqlx::query(&format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))
    .bind(i64::try_from(entry.seq).map_err(|_| StoreError::Invariant("audit log full".into()))?)
    .bind(ts(entry.at))
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.subject)
    .bind(to_json(&entry.data)?)
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .execute(&mut **tx)
    .await
    .map_err(map)?;
    Ok(entry)
}

/// The in-flight states, as stored.
const IN_FLIGHT_SQL: &str = "('created', 'authorizing', 'action_required', 'unknown')";

#[async_trait]
impl OpsStore for SqliteStore {
    async fn append_audit(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        subject: &str,
        data: serde_json::Value,
    ) -> Result<AuditEntry, StoreError> {
        let mut tx = self.write().await?;
        let entry = append_in(&mut tx, at, actor, action, subject, data).await?;
        self.commit(tx).await?;
        Ok(entry)
    }

    async fn audit_entries(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= ?1 ORDER BY seq LIMIT ?2"
        ))
        .bind(i64::try_from(from_seq).unwrap_or(i64::MAX))
        .bind(if limit == 0 {
            -1
        } else {
            i64::try_from(limit).unwrap_or(i64::MAX)
        })
        .fetch_all(self.readers())
        .await
        .map_err(map)?;
        rows.iter().map(audit_from).collect()
    }

    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(&format!(
            "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ))
        .bind(id(token.id))
        .bind(&token.name)
        .bind(token.role.as_str())
        .bind(&token.secret_hash)
        .bind(ts(token.created_at))
        .bind(token.revoked_at.map(ts))
        .execute(&mut *tx)
        .await;
        match done {
            Ok(_) => {}
            Err(e) if unique_violation(&e).is_some() => {
                return Err(StoreError::Invariant(format!(
                    "a token named {} (or with the same secret) exists",
                    token.name
                )))
            }
            Err(e) => return Err(map(e)),
        }
        self.commit(tx).await
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, name"
        ))
        .fetch_all(self.readers())
        .await
        .map_err(map)?;
        rows.iter().map(token_from).collect()
    }

    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?1 AND revoked_at IS NULL"
        ))
        .bind(secret_hash)
        .fetch_optional(self.readers())
        .await
        .map_err(map)?
        .as_ref()
        .map(token_from)
        .transpose()
    }

    async fn revoke_token(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(ts(at))
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.commit(tx).await
    }

    async fn anonymise_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
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
        .bind(ts(before))
        .bind(ANONYMISED)
        .fetch_all(&mut *tx)
        .await
        .map_err(map)?;
        // Receipt e-mails of anonymised payments (delivered or not) lose
        // their recipient; the trigger `outbox_payload_fixed` allows exactly
        // this change.
        sqlx::query(
            "UPDATE outbox SET payload = json_set(payload, '$.data.to', 'anonymised@invalid') \
             WHERE json_extract(payload, '$.kind') = 'receipt_email' \
               AND json_extract(payload, '$.data.to') IS NOT 'anonymised@invalid' \
               AND json_extract(payload, '$.data.payment_id') IN \
                   (SELECT id FROM payments WHERE contact IS NULL AND state NOT IN \
                    ('created', 'authorizing', 'action_required', 'unknown') \
                    AND updated_at < ?1)",
        )
        .bind(ts(before))
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        self.commit(tx).await?;
        Ok(ids.len() as u64)
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
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM payments WHERE contact IS NOT NULL AND \
               (json_extract(contact, '$.phone') = ?1 \
                OR lower(json_extract(contact, '$.email')) = ?2) \
             ORDER BY created_at, id",
        )
        .bind(phone)
        .bind(email)
        .fetch_all(self.readers())
        .await
        .map_err(map)?;
        let mut out = Vec::with_capacity(ids.len());
        for i in ids {
            if let Some(p) = self.payment(parse_id(&i)?).await? {
                out.push(p);
            }
        }
        Ok(out)
    }
}
