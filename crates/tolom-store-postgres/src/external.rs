//! [`ExternalPaymentStore`] on PostgreSQL: payments made elsewhere, each
//! written with its charge change, events, outbox messages and audit notes
//! in one transaction.
//!
//! The write locks the charge's row first (`FOR UPDATE`), so that its
//! status, read and then changed, cannot change in between: a card payment
//! succeeding at the same moment (its update sets the charge `paid` only
//! while it is not) waits for this transaction and then finds the charge
//! paid, or this one waits for it and finds the same. The schema checks
//! the rules again (`migrations/0009_external_payments.sql`): one accepted
//! payment per charge, never next to a paid card payment, the charge `paid`
//! exactly while one of them exists, fixed fields, no deletes.

use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use tolom_core::external::{ExternalPayment, ExternalState, PaymentChannel};
use tolom_core::ports::{
    ExternalPaymentStore, ExternalQuery, ExternalWrite, InvariantKind, RecordOutcome, StoreError,
};
use uuid::Uuid;

use crate::audit::append_note;
use crate::error::{self, constraint, retry, Failure};
use crate::rows::{self, EventArrays, OutboxArrays, EXTERNAL_COLUMNS};
use crate::PostgresStore;

/// Appends the events (`$1..$7`) and enqueues the outbox messages
/// (`$8..$17`) of a write: one statement.
fn rest_sql() -> String {
    format!(
        "WITH p AS (SELECT 1), {events}, {outbox} \
         SELECT (SELECT count(*) FROM e) AS events, (SELECT count(*) FROM o) AS messages",
        events = rows::events_cte(1),
        outbox = rows::outbox_cte(8),
    )
}

/// The events, outbox messages and notes of a write, on the transaction's
/// connection.
async fn write_rest(
    conn: &mut PgConnection,
    w: &ExternalWrite,
    events: &EventArrays,
    outbox: &OutboxArrays,
    sql: &str,
) -> Result<(), Failure> {
    outbox
        .bind(events.bind(sqlx::query(sql)))
        .fetch_one(&mut *conn)
        .await?;
    for note in &w.notes {
        append_note(&mut *conn, note).await?;
    }
    Ok(())
}

/// The charge's status, its row locked until the transaction ends; `None`
/// when there is no such charge.
async fn lock_charge(conn: &mut PgConnection, id: Uuid) -> Result<Option<String>, Failure> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT status FROM charges WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

async fn pay_charge(conn: &mut PgConnection, id: Uuid) -> Result<(), Failure> {
    sqlx::query("UPDATE charges SET status = 'paid' WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn payable(status: &str) -> bool {
    matches!(status, "unpaid" | "expired")
}

impl PostgresStore {
    async fn external_where(
        &self,
        condition: &str,
        a: impl for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send,
        b: Option<&str>,
    ) -> Result<Option<ExternalPayment>, StoreError> {
        let sql = format!("SELECT {EXTERNAL_COLUMNS} FROM external_payments WHERE {condition}");
        let mut q = sqlx::query(&sql).bind(a);
        if let Some(b) = b {
            q = q.bind(b);
        }
        q.fetch_optional(self.pool())
            .await
            .map_err(error::map)?
            .as_ref()
            .map(rows::external)
            .transpose()
    }

    async fn try_record_external(
        &self,
        w: &ExternalWrite,
        events: &EventArrays,
        outbox: &OutboxArrays,
        sql: &str,
    ) -> Result<RecordOutcome, Failure> {
        let p = &w.payment;
        if let Some(existing) = self
            .external_payment_by_reference(p.channel, &p.reference)
            .await?
        {
            return Ok(RecordOutcome::Existing(Box::new(existing)));
        }
        let mut tx = self.pool().begin().await?;
        let status = lock_charge(&mut tx, p.charge_id)
            .await?
            .ok_or(StoreError::ChargeNotFound)?;
        match p.state {
            ExternalState::Accepted if !payable(&status) => return Err(StoreError::Conflict.into()),
            ExternalState::Duplicate if status != "paid" => return Err(StoreError::Conflict.into()),
            _ => {}
        }
        let inserted = rows::bind_external(
            sqlx::query(&format!(
                "INSERT INTO external_payments ({EXTERNAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
                 $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            )),
            p,
        )?
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // The same channel and reference, committed meanwhile.
            Err(e) if error::is_unique(&e, constraint::EXTERNAL_REFERENCE) => {
                drop(tx);
                return match self
                    .external_payment_by_reference(p.channel, &p.reference)
                    .await?
                {
                    Some(existing) => Ok(RecordOutcome::Existing(Box::new(existing))),
                    None => Err(Failure::Retry("a reference written and gone".into())),
                };
            }
            Err(e) => return Err(e.into()),
        }
        if p.state == ExternalState::Accepted {
            pay_charge(&mut tx, p.charge_id).await?;
        }
        write_rest(&mut tx, w, events, outbox, sql).await?;
        tx.commit().await?;
        self.committed(true);
        Ok(RecordOutcome::Recorded)
    }

    async fn try_update_external(
        &self,
        from: ExternalState,
        w: &ExternalWrite,
        events: &EventArrays,
        outbox: &OutboxArrays,
        sql: &str,
    ) -> Result<(), Failure> {
        let p = &w.payment;
        let accepting = p.state == ExternalState::Accepted && from != ExternalState::Accepted;
        let mut tx = self.pool().begin().await?;
        // The charge first, then the payment: the order every write that
        // takes both takes them in.
        let charge_id: Option<Uuid> =
            sqlx::query_scalar("SELECT charge_id FROM external_payments WHERE id = $1")
                .bind(p.id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(charge_id) = charge_id else {
            return Err(StoreError::NotFound.into());
        };
        let status = lock_charge(&mut tx, charge_id).await?.unwrap_or_default();
        if accepting && !payable(&status) {
            return Err(StoreError::Conflict.into());
        }
        // Every column is written, so that the trigger
        // `external_payments_fixed_fields` refuses a change of a fixed one.
        let done = rows::bind_external(
            sqlx::query(
                "UPDATE external_payments SET charge_id = $2, code = $3, service = $4, \
                 channel = $5, reference = $6, currency = $7, amount_minor = $8, paid_at = $9, \
                 recorded_at = $10, recorded_by = $11, state = $12, resolved_at = $13, \
                 resolution = $14 WHERE id = $1 AND state = $15",
            ),
            p,
        )?
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict.into());
        }
        if accepting {
            pay_charge(&mut tx, p.charge_id).await?;
        } else if from == ExternalState::Accepted && p.state != ExternalState::Accepted {
            // The trigger external_payments_stay_accepted refuses it first.
            return Err(StoreError::invariant(
                InvariantKind::PaidWithoutPayment,
                "an accepted payment made elsewhere stays accepted",
            )
            .into());
        }
        write_rest(&mut tx, w, events, outbox, sql).await?;
        tx.commit().await?;
        self.committed(true);
        Ok(())
    }
}

#[async_trait]
impl ExternalPaymentStore for PostgresStore {
    async fn record_external_payment(
        &self,
        w: &ExternalWrite,
    ) -> Result<RecordOutcome, StoreError> {
        rows::minor(w.payment.amount)?;
        let events = EventArrays::new(&w.events);
        let outbox = OutboxArrays::new(&w.outbox)?;
        let sql = rest_sql();
        retry(|| self.try_record_external(w, &events, &outbox, &sql)).await
    }

    async fn update_external_payment(
        &self,
        from: ExternalState,
        w: &ExternalWrite,
    ) -> Result<(), StoreError> {
        rows::minor(w.payment.amount)?;
        let events = EventArrays::new(&w.events);
        let outbox = OutboxArrays::new(&w.outbox)?;
        let sql = rest_sql();
        retry(|| self.try_update_external(from, w, &events, &outbox, &sql)).await
    }

    async fn external_payment(&self, id: Uuid) -> Result<Option<ExternalPayment>, StoreError> {
        self.external_where("id = $1", id, None).await
    }

    async fn external_payment_by_reference(
        &self,
        channel: PaymentChannel,
        reference: &str,
    ) -> Result<Option<ExternalPayment>, StoreError> {
        self.external_where(
            "channel = $1 AND reference = $2",
            channel.as_str(),
            Some(reference),
        )
        .await
    }

    async fn list_external_payments(
        &self,
        query: &ExternalQuery,
    ) -> Result<Vec<ExternalPayment>, StoreError> {
        let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT {EXTERNAL_COLUMNS} FROM external_payments WHERE TRUE"
        ));
        if !query.states.is_empty() {
            let states: Vec<&'static str> =
                query.states.iter().map(ExternalState::as_str).collect();
            qb.push(" AND state = ANY(").push_bind(states).push(")");
        }
        if let Some(c) = query.charge_id {
            qb.push(" AND charge_id = ").push_bind(c);
        }
        if let Some(s) = &query.service {
            qb.push(" AND service = ").push_bind(s.clone());
        }
        if let Some(t) = query.paid_from {
            qb.push(" AND paid_at >= ").push_bind(t);
        }
        if let Some(t) = query.paid_to {
            qb.push(" AND paid_at < ").push_bind(t);
        }
        qb.push(" ORDER BY recorded_at, id");
        if let Some(l) = rows::limit_of(query.limit) {
            qb.push(" LIMIT ").push_bind(l);
        }
        let found = qb
            .build()
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows::all(&found, rows::external)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholders of the statement are numbered without a gap.
    #[test]
    fn parameters_are_numbered_without_gaps() {
        let sql = rest_sql();
        for i in 1..=17 {
            assert!(sql.contains(&format!("${i}")), "${i} missing in {sql}");
        }
        assert!(!sql.contains("$18"), "{sql}");
    }
}
