//! The operations port ([`OpsStore`]) on PostgreSQL: the hash-chained audit
//! log, admin API tokens (hashes only), personal-data retention and access
//! requests. Schema and chain rules: `migrations/0004_ops.sql`.
//!
//! Appends — from [`OpsStore::append_audit`] and from the `events_audit`
//! trigger that adds every stored event in the same transaction — go
//! through the SQL function `tolom_audit_append`, which locks the one-row
//! chain head `FOR UPDATE`, so appends from any number of instances form
//! one chain.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;
use tolom_core::card::Phone;
use tolom_core::access::{ApiToken, Role, ANONYMISED};
use tolom_core::audit::AuditEntry;
use tolom_core::ports::OpsStore;
use tolom_core::payment::Payment;
use tolom_core::ports::{PaymentStore, StoreError};
use uuid::Uuid;

use crate::error;
use crate::PostgresStore;

const AUDIT_COLUMNS: &str = "seq, at, actor, action, subject, data, prev_hash, hash";

fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invariant(format!("unreadable stored {what}: {e}"))
}

fn audit_from(row: &PgRow) -> Result<AuditEntry, StoreError> {
    let seq: i64 = row.try_get("seq").map_err(error::map)?;
    let data: Json<serde_json::Value> = row.try_get("data").map_err(error::map)?;
    Ok(AuditEntry {
        seq: u64::try_from(seq).map_err(|e| bad("audit seq", e))?,
        at: row.try_get("at").map_err(error::map)?,
        actor: row.try_get("actor").map_err(error::map)?,
        action: row.try_get("action").map_err(error::map)?,
        subject: row.try_get("subject").map_err(error::map)?,
        data: data.0,
        prev_hash: row.try_get("prev_hash").map_err(error::map)?,
        hash: row.try_get("hash").map_err(error::map)?,
    })
}

const TOKEN_COLUMNS: &str = "id, name, role, secret_hash, created_at, revoked_at";

fn token_from(row: &PgRow) -> Result<ApiToken, StoreError> {
    let role: String = row.try_get("role").map_err(error::map)?;
    Ok(ApiToken {
        id: row.try_get::<Uuid, _>("id").map_err(error::map)?,
        name: row.try_get("name").map_err(error::map)?,
        role: Role::parse(&role).ok_or_else(|| bad("token role", &role))?,
        secret_hash: row.try_get("secret_hash").map_err(error::map)?,
        created_at: row.try_get("created_at").map_err(error::map)?,
        revoked_at: row.try_get("revoked_at").map_err(error::map)?,
    })
}

const IN_FLIGHT_SQL: &str = "('created', 'authorizing', 'action_required', 'unknown')";

#[async_trait]
impl OpsStore for PostgresStore {
    async fn append_audit(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        subject: &str,
        data: serde_json::Value,
    ) -> Result<AuditEntry, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM tolom_audit_append($1, $2, $3, $4, $5)"
        ))
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(subject)
        .bind(Json(&data))
        .fetch_one(self.pool())
        .await
        .map_err(error::map)?;
        audit_from(&row)
    }

    async fn audit_entries(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
        ))
        .bind(i64::try_from(from_seq).unwrap_or(i64::MAX))
        .bind((limit > 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX)))
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows.iter().map(audit_from).collect()
    }

    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(token.id)
        .bind(&token.name)
        .bind(token.role.as_str())
        .bind(&token.secret_hash)
        .bind(token.created_at)
        .bind(token.revoked_at)
        .execute(self.pool())
        .await;
        match done {
            Ok(_) => Ok(()),
            Err(e) if error::is_any_unique(&e) => Err(StoreError::Invariant(format!(
                "a token named {} (or with the same secret) exists",
                token.name
            ))),
            Err(e) => Err(error::map(e)),
        }
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, name"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows.iter().map(token_from).collect()
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
        .map(token_from)
        .transpose()
    }

    async fn revoke_token(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(at)
        .execute(self.pool())
        .await
        .map_err(error::map)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn anonymise_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await.map_err(error::map)?;
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
        .await
        .map_err(error::map)?;
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
        .await
        .map_err(error::map)?;
        tx.commit().await.map_err(error::map)?;
        Ok(u64::try_from(n).unwrap_or(0))
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
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM payments WHERE contact IS NOT NULL AND \
               (contact->>'phone' = $1 OR lower(contact->>'email') = $2) \
             ORDER BY created_at, id",
        )
        .bind(phone)
        .bind(email)
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.payment(id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }
}
