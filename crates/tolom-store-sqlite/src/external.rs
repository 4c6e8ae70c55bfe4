//! [`ExternalPaymentStore`] on SQLite: payments made elsewhere, each
//! written with its charge change, events, outbox messages and audit notes
//! in one write transaction.
//!
//! The schema takes the rules (`migrations/20261202000007_*.sql`): one
//! accepted payment per charge (`external_payments_one_accepted`), never
//! next to a paid card payment (`external_payments_charge_payable`,
//! `payments_not_paid_elsewhere`), the charge `paid` exactly while one of
//! them exists, fixed fields, no deletes.

use async_trait::async_trait;
use tolom_core::external::{ExternalPayment, ExternalState, PaymentChannel};
use tolom_core::ports::{
    ExternalPaymentStore, ExternalQuery, ExternalWrite, InvariantKind, RecordOutcome, StoreError,
};
use uuid::Uuid;

use crate::audit::{head, Records, WriteTx};
use crate::error::{map, unique, unique_violation};
use crate::outbox::{bind_outbox, outbox_sql, OutboxRow};
use crate::rows::{bind_external, external_from, id, limit_of, to_json, ts, EXTERNAL_COLUMNS};
use crate::SqliteStore;

async fn by_reference(
    tx: &mut WriteTx,
    channel: PaymentChannel,
    reference: &str,
) -> Result<Option<ExternalPayment>, StoreError> {
    sqlx::query(&format!(
        "SELECT {EXTERNAL_COLUMNS} FROM external_payments WHERE channel = ?1 AND reference = ?2"
    ))
    .bind(channel.as_str())
    .bind(reference)
    .fetch_optional(&mut **tx)
    .await
    .map_err(map)?
    .as_ref()
    .map(external_from)
    .transpose()
}

/// The charge's stored status, `None` when there is no such charge.
async fn charge_status(tx: &mut WriteTx, charge_id: Uuid) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar::<_, String>("SELECT status FROM charges WHERE id = ?1")
        .bind(id(charge_id))
        .fetch_optional(&mut **tx)
        .await
        .map_err(map)
}

/// The charge of an accepted payment becomes `paid`, if it is `unpaid` or
/// `expired`; `Conflict` otherwise (its status changed since the caller
/// read it).
async fn pay_charge(tx: &mut WriteTx, charge_id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE charges SET status = 'paid' WHERE id = ?1 AND status IN ('unpaid', 'expired')",
    )
    .bind(id(charge_id))
    .execute(&mut **tx)
    .await
    .map_err(map)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

/// The events, notes and outbox messages of a write, encoded.
struct Rest {
    records: Records,
    outbox: Vec<OutboxRow>,
}

impl Rest {
    fn of(w: &ExternalWrite) -> Result<Rest, StoreError> {
        let mut records = Records::of_events(&w.events)?;
        records.notes(&w.notes)?;
        Ok(Rest {
            records,
            outbox: OutboxRow::encode_all(&w.outbox)?,
        })
    }

    async fn write(self, tx: &mut WriteTx) -> Result<(), StoreError> {
        let head = head(tx).await?;
        let (records_sql, used) = self.records.sql(1);
        let (outbox_sql, _) = outbox_sql(self.outbox.len(), 1 + used);
        let sql = format!("{records_sql}{outbox_sql}");
        if sql.is_empty() {
            return Ok(());
        }
        let (q, last) = self.records.bind(sqlx::query(&sql), head)?;
        bind_outbox(q, self.outbox)
            .execute(&mut **tx)
            .await
            .map_err(map)?;
        tx.audit_head = Some(last);
        Ok(())
    }
}

#[async_trait]
impl ExternalPaymentStore for SqliteStore {
    async fn record_external_payment(
        &self,
        w: &ExternalWrite,
    ) -> Result<RecordOutcome, StoreError> {
        let p = w.payment.clone();
        let rest = Rest::of(w)?;
        self.write(move |tx| {
            Box::pin(async move {
                if let Some(existing) = by_reference(tx, p.channel, &p.reference).await? {
                    return Ok(RecordOutcome::Existing(Box::new(existing)));
                }
                let status = charge_status(tx, p.charge_id)
                    .await?
                    .ok_or(StoreError::ChargeNotFound)?;
                match p.state {
                    ExternalState::Accepted if !matches!(status.as_str(), "unpaid" | "expired") => {
                        return Err(StoreError::Conflict)
                    }
                    ExternalState::Duplicate if status != "paid" => {
                        return Err(StoreError::Conflict)
                    }
                    _ => {}
                }
                // The triggers refuse a returned payment and an accepted one of a
                // charge something else pays; the unique index a second accepted
                // one (error.rs).
                let inserted = bind_external(
                    sqlx::query(&format!(
                        "INSERT INTO external_payments ({EXTERNAL_COLUMNS}) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                    )),
                    &p,
                )?
                .execute(&mut **tx)
                .await;
                if let Err(e) = inserted {
                    if unique_violation(&e).as_deref() == Some(unique::EXTERNAL_REFERENCE) {
                        if let Some(existing) = by_reference(tx, p.channel, &p.reference).await? {
                            return Ok(RecordOutcome::Existing(Box::new(existing)));
                        }
                    }
                    return Err(map(e));
                }
                if p.state == ExternalState::Accepted {
                    pay_charge(tx, p.charge_id).await?;
                }
                rest.write(tx).await?;
                Ok(RecordOutcome::Recorded)
            })
        })
        .await
    }

    async fn update_external_payment(
        &self,
        from: ExternalState,
        w: &ExternalWrite,
    ) -> Result<(), StoreError> {
        let p = w.payment.clone();
        let rest = Rest::of(w)?;
        self.write(move |tx| {
            Box::pin(async move {
                let accepting = p.state == ExternalState::Accepted && from != ExternalState::Accepted;
                if accepting {
                    let status = charge_status(tx, p.charge_id).await?;
                    if !matches!(status.as_deref(), Some("unpaid" | "expired") | None) {
                        return Err(StoreError::Conflict);
                    }
                }
                // Every column is written, so that the trigger
                // `external_payments_fixed_fields` refuses a change of a fixed one.
                let done = bind_external(
                    sqlx::query(
                        "UPDATE external_payments SET charge_id = ?2, code = ?3, service = ?4, \
                         channel = ?5, reference = ?6, currency = ?7, amount_minor = ?8, paid_at = ?9, \
                         recorded_at = ?10, recorded_by = ?11, state = ?12, resolved_at = ?13, \
                         resolution = ?14 WHERE id = ?1 AND state = ?15",
                    ),
                    &p,
                )?
                .bind(from.as_str())
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                if done.rows_affected() == 0 {
                    let exists =
                        sqlx::query_scalar::<_, i64>("SELECT 1 FROM external_payments WHERE id = ?1")
                            .bind(id(p.id))
                            .fetch_optional(&mut **tx)
                            .await
                            .map_err(map)?;
                    return Err(match exists {
                        None => StoreError::NotFound,
                        Some(_) => StoreError::Conflict,
                    });
                }
                if accepting {
                    pay_charge(tx, p.charge_id).await?;
                } else if from == ExternalState::Accepted && p.state != ExternalState::Accepted {
                    // The trigger external_payments_stay_accepted refuses it first.
                    return Err(StoreError::invariant(
                        InvariantKind::PaidWithoutPayment,
                        "an accepted payment made elsewhere stays accepted",
                    ));
                }
                rest.write(tx).await
            })
        })
        .await
    }

    async fn external_payment(
        &self,
        payment_id: Uuid,
    ) -> Result<Option<ExternalPayment>, StoreError> {
        sqlx::query(&format!(
            "SELECT {EXTERNAL_COLUMNS} FROM external_payments WHERE id = ?1"
        ))
        .bind(id(payment_id))
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .as_ref()
        .map(external_from)
        .transpose()
    }

    async fn external_payment_by_reference(
        &self,
        channel: PaymentChannel,
        reference: &str,
    ) -> Result<Option<ExternalPayment>, StoreError> {
        sqlx::query(&format!(
            "SELECT {EXTERNAL_COLUMNS} FROM external_payments \
             WHERE channel = ?1 AND reference = ?2"
        ))
        .bind(channel.as_str())
        .bind(reference)
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .as_ref()
        .map(external_from)
        .transpose()
    }

    async fn list_external_payments(
        &self,
        q: &ExternalQuery,
    ) -> Result<Vec<ExternalPayment>, StoreError> {
        let states: Vec<&str> = q.states.iter().map(|s| s.as_str()).collect();
        sqlx::query(&format!(
            "SELECT {EXTERNAL_COLUMNS} FROM external_payments \
             WHERE (?1 = '[]' OR state IN (SELECT value FROM json_each(?1))) \
             AND (?2 IS NULL OR charge_id = ?2) \
             AND (?3 IS NULL OR service = ?3) \
             AND (?4 IS NULL OR paid_at >= ?4) \
             AND (?5 IS NULL OR paid_at < ?5) \
             ORDER BY recorded_at, id LIMIT ?6"
        ))
        .bind(to_json(&states)?)
        .bind(q.charge_id.map(id))
        .bind(&q.service)
        .bind(q.paid_from.map(ts))
        .bind(q.paid_to.map(ts))
        .bind(limit_of(q.limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(external_from)
        .collect()
    }
}
