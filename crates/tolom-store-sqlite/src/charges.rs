//! [`ChargeStore`] on SQLite: charges, with their events in the same
//! transaction.

use async_trait::async_trait;
use tolom_core::audit::AuditNote;
use tolom_core::charge::{Charge, ChargeStatus};
use tolom_core::code::PaymentCode;
use tolom_core::events::Event;
use tolom_core::ports::{ChargeQuery, ChargeStore, StoreError};
use uuid::Uuid;

use crate::audit::Records;
use crate::error::map;
use crate::rows::{charge_from, id, limit_of, minor, ts, CHARGE_COLUMNS};
use crate::SqliteStore;

#[async_trait]
impl ChargeStore for SqliteStore {
    async fn insert_charge(
        &self,
        charge: &Charge,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError> {
        let mut records = Records::of_events(std::slice::from_ref(event))?;
        records.notes(notes)?;
        let (charge_id, code, service, urgency, payer) = (
            id(charge.id),
            charge.code.as_str().to_string(),
            charge.service.clone(),
            charge.urgency.clone(),
            charge.payer.full_name.clone(),
        );
        let (currency, amount) = (charge.amount.currency().code(), minor(charge.amount)?);
        let (issued_at, expires_at) = (ts(charge.issued_at), ts(charge.expires_at));
        let (status, agency_ref) = (charge.status.as_str(), charge.agency_ref.clone());
        self.write(move |tx| {
            Box::pin(async move {
                // UNIQUE charges.code / PRIMARY KEY charges.id → DuplicateCode,
                // the unique (service, agency_key) → DuplicateAgencyRef
                // (error.rs); the job rolls back, so not even the event is
                // written.
                sqlx::query(
                    "INSERT INTO charges (id, code, service, urgency, payer_name, currency, \
                     amount_minor, issued_at, expires_at, status, agency_ref, agency_key) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
                )
                .bind(charge_id)
                .bind(code)
                .bind(service)
                .bind(urgency)
                .bind(payer)
                .bind(currency)
                .bind(amount)
                .bind(issued_at)
                .bind(expires_at)
                .bind(status)
                .bind(agency_ref)
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                records.write(tx).await
            })
        })
        .await
    }

    async fn charge_by_agency_ref(
        &self,
        service: &str,
        agency_ref: &str,
    ) -> Result<Option<Charge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHARGE_COLUMNS} FROM charges WHERE service = ?1 AND agency_key = ?2"
        ))
        .bind(service)
        .bind(agency_ref)
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .as_ref()
        .map(charge_from)
        .transpose()
    }

    async fn charge_by_code(&self, code: &PaymentCode) -> Result<Option<Charge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHARGE_COLUMNS} FROM charges WHERE code = ?1"
        ))
        .bind(code.as_str())
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .as_ref()
        .map(charge_from)
        .transpose()
    }

    async fn charge(&self, charge_id: Uuid) -> Result<Option<Charge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHARGE_COLUMNS} FROM charges WHERE id = ?1"
        ))
        .bind(id(charge_id))
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .as_ref()
        .map(charge_from)
        .transpose()
    }

    async fn set_charge_status(
        &self,
        charge_id: Uuid,
        from: ChargeStatus,
        to: ChargeStatus,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError> {
        let mut records = Records::of_events(std::slice::from_ref(event))?;
        records.notes(notes)?;
        let charge_id = id(charge_id);
        self.write(move |tx| {
            Box::pin(async move {
                // The schema's triggers refuse leaving Paid while a paid
                // payment exists, and entering Paid without one
                // (`tolom:paid_without_payment`).
                let done =
                    sqlx::query("UPDATE charges SET status = ?1 WHERE id = ?2 AND status = ?3")
                        .bind(to.as_str())
                        .bind(&charge_id)
                        .bind(from.as_str())
                        .execute(&mut **tx)
                        .await
                        .map_err(map)?;
                if done.rows_affected() == 0 {
                    let exists =
                        sqlx::query_scalar::<_, i64>("SELECT 1 FROM charges WHERE id = ?1")
                            .bind(&charge_id)
                            .fetch_optional(&mut **tx)
                            .await
                            .map_err(map)?;
                    return Err(if exists.is_some() {
                        StoreError::Conflict
                    } else {
                        StoreError::ChargeNotFound
                    });
                }
                records.write(tx).await
            })
        })
        .await
    }

    async fn list_charges(&self, q: &ChargeQuery) -> Result<Vec<Charge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHARGE_COLUMNS} FROM charges \
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR expires_at < ?2) \
             ORDER BY expires_at, id LIMIT ?3"
        ))
        .bind(q.status.map(|s| s.as_str()))
        .bind(q.expires_before.map(ts))
        .bind(limit_of(q.limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(charge_from)
        .collect()
    }
}
