//! [`ChargeStore`] on PostgreSQL: charges and their status, each write with
//! its event in one statement.

use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder, Row};
use tolom_core::audit::AuditNote;
use tolom_core::charge::{Charge, ChargeStatus};
use tolom_core::code::PaymentCode;
use tolom_core::events::Event;
use tolom_core::ports::{ChargeQuery, ChargeStore, InvariantKind, StoreError};
use uuid::Uuid;

use crate::audit::append_note;
use crate::error::{self, retry, Failure};
use crate::rows::{self, CHARGE_COLUMNS, EVENT_COLUMNS};
use crate::PostgresStore;

impl PostgresStore {
    async fn charge_where(
        &self,
        condition: &str,
        value: impl for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send,
    ) -> Result<Option<Charge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHARGE_COLUMNS} FROM charges WHERE {condition}"
        ))
        .bind(value)
        .fetch_optional(self.pool())
        .await
        .map_err(error::map)?
        .as_ref()
        .map(rows::charge)
        .transpose()
    }
}

#[async_trait]
impl ChargeStore for PostgresStore {
    async fn insert_charge(
        &self,
        charge: &Charge,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError> {
        let amount = rows::minor(charge.amount)?;
        // The unique constraints `charges_code_key` and `charges_pkey`
        // refuse a duplicate (→ DuplicateCode), the unique index
        // `charges_agency_key` a taken agency reference (→
        // DuplicateAgencyRef); the event is inserted only from the charge's
        // row, in the same statement, and the notes (if any) in the same
        // transaction.
        let sql = format!(
            "WITH c AS (INSERT INTO charges ({CHARGE_COLUMNS}, agency_key) VALUES ($1, $2, $3, \
             $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id) \
             INSERT INTO events ({EVENT_COLUMNS}) \
             SELECT $12, $13, $14, $15, $16, $17, $18 FROM c"
        );
        retry(|| async {
            let mut tx = self.pool().begin().await?;
            let q = sqlx::query(&sql)
                .bind(charge.id)
                .bind(charge.code.as_str())
                .bind(&charge.service)
                .bind(&charge.urgency)
                .bind(&charge.payer.full_name)
                .bind(charge.amount.currency().code())
                .bind(amount)
                .bind(charge.issued_at)
                .bind(charge.expires_at)
                .bind(charge.status.as_str())
                .bind(&charge.agency_ref);
            rows::bind_event(q, event).execute(&mut *tx).await?;
            for note in notes {
                append_note(&mut tx, note).await?;
            }
            tx.commit().await?;
            self.committed(true);
            Ok(())
        })
        .await
    }

    async fn charge_by_agency_ref(
        &self,
        service: &str,
        agency_ref: &str,
    ) -> Result<Option<Charge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHARGE_COLUMNS} FROM charges WHERE service = $1 AND agency_key = $2"
        ))
        .bind(service)
        .bind(agency_ref)
        .fetch_optional(self.pool())
        .await
        .map_err(error::map)?
        .as_ref()
        .map(rows::charge)
        .transpose()
    }

    async fn charge_by_code(&self, code: &PaymentCode) -> Result<Option<Charge>, StoreError> {
        self.charge_where("code = $1", code.as_str()).await
    }

    async fn charge(&self, id: Uuid) -> Result<Option<Charge>, StoreError> {
        self.charge_where("id = $1", id).await
    }

    async fn set_charge_status(
        &self,
        id: Uuid,
        from: ChargeStatus,
        to: ChargeStatus,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError> {
        if to == ChargeStatus::Paid && from != ChargeStatus::Paid {
            return Err(StoreError::invariant(
                InvariantKind::PaidWithoutPayment,
                "a charge becomes Paid only with its payment (ChargeChange::MarkPaid)",
            ));
        }
        // Leaving `paid` while a paid payment exists is refused at commit by
        // the deferred trigger `charges_paid_matches`
        // (charges_paid_stays_paid → PaidWithoutPayment).
        let sql = format!(
            "WITH c AS (UPDATE charges SET status = $3 WHERE id = $1 AND status = $2 \
             RETURNING id) \
             INSERT INTO events ({EVENT_COLUMNS}) \
             SELECT $4, $5, $6, $7, $8, $9, $10 FROM c"
        );
        let done = retry(|| async {
            let mut tx = self.pool().begin().await?;
            let q = sqlx::query(&sql)
                .bind(id)
                .bind(from.as_str())
                .bind(to.as_str());
            let done = rows::bind_event(q, event).execute(&mut *tx).await?;
            if done.rows_affected() > 0 {
                for note in notes {
                    append_note(&mut tx, note).await?;
                }
            }
            tx.commit().await?;
            self.committed(true);
            Ok::<_, Failure>(done)
        })
        .await?;
        if done.rows_affected() > 0 {
            return Ok(());
        }
        let exists: bool = sqlx::query("SELECT EXISTS (SELECT 1 FROM charges WHERE id = $1)")
            .bind(id)
            .fetch_one(self.pool())
            .await
            .and_then(|r| r.try_get(0))
            .map_err(error::map)?;
        Err(if exists {
            StoreError::Conflict
        } else {
            StoreError::ChargeNotFound
        })
    }

    async fn list_charges(&self, query: &ChargeQuery) -> Result<Vec<Charge>, StoreError> {
        let mut qb: QueryBuilder<'_, Postgres> =
            QueryBuilder::new(format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE TRUE"));
        if let Some(s) = query.status {
            qb.push(" AND status = ").push_bind(s.as_str());
        }
        if let Some(t) = query.expires_before {
            qb.push(" AND expires_at < ").push_bind(t);
        }
        qb.push(" ORDER BY expires_at, id");
        if let Some(l) = rows::limit_of(query.limit) {
            qb.push(" LIMIT ").push_bind(l);
        }
        let found = qb
            .build()
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows::all(&found, rows::charge)
    }
}
