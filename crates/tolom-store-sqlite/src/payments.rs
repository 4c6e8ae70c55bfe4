//! [`PaymentStore`] on SQLite: payments and refunds. A payment is written
//! as its [`PaymentRecord`](tolom_core::payment::PaymentRecord) and read
//! back through [`Payment::restore`](tolom_core::payment::Payment::restore)
//! (`rows.rs`).
//!
//! The schema takes the rules atomically: the partial unique indexes
//! `payments_one_in_flight` and `payments_one_paid`, the optimistic
//! `version`, the CHECK `refunds_within_total`, the trigger
//! `payments_fixed_fields`.

use async_trait::async_trait;
use std::sync::LazyLock;

use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use tolom_core::charge::ChargeStatus;
use tolom_core::events::Event;
use tolom_core::payment::{Payment, Refund, RefundState};
use tolom_core::ports::{
    ChargeChange, CreateOutcome, InvariantKind, PaymentQuery, PaymentStore, PaymentUpdate,
    StoreError,
};
use uuid::Uuid;

use crate::audit::{head, placeholders, Records, WriteTx};
use crate::error::{corrupt, foreign_key_violation, map, unique, unique_violation};
use crate::outbox::{bind_outbox, outbox_sql, OutboxRow};
use crate::rows::{
    id, limit_of, minor, parse_id, payment_from, refund_from, to_json, ts, PaymentRow, SqliteQuery,
    INSERT_PAYMENT, IN_FLIGHT_SQL, PAYMENT_COLUMNS, PAYMENT_PARAMS, REFUND_COLUMNS, UPDATE_PAYMENT,
};
use crate::SqliteStore;

/// The payment of a charge that is in flight (used after the partial
/// unique index refused a second one).
async fn in_flight_of(tx: &mut WriteTx, charge_id: &str) -> Result<Option<Uuid>, StoreError> {
    sqlx::query_scalar::<_, String>(&format!(
        "SELECT id FROM payments WHERE charge_id = ?1 AND state IN {IN_FLIGHT_SQL}"
    ))
    .bind(charge_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(map)?
    .map(|s| parse_id(&s))
    .transpose()
}

async fn payment_by_start_key(tx: &mut WriteTx, key: &str) -> Result<Option<Payment>, StoreError> {
    sqlx::query(&format!(
        "SELECT {} FROM payments WHERE start_key = ?1",
        *PAYMENT_COLUMNS
    ))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await
    .map_err(map)?
    .as_ref()
    .map(payment_from)
    .transpose()
}

/// The statement inserting or updating (by id) a refund, with ten
/// unnumbered parameters (the `first`-th on).
fn refund_sql(first: usize) -> String {
    // A second refund of the payment with the same idempotency key violates
    // UNIQUE (payment_id, idempotency_key) → Conflict (error.rs); a changed
    // amount or payment fires `refunds_fixed_fields` → ImmutableField.
    let mut next = first;
    format!(
        "INSERT INTO refunds (id, payment_id, currency, amount_minor, reason, state, \
         idempotency_key, created_at, updated_at, failure) VALUES {} \
         ON CONFLICT (id) DO UPDATE SET payment_id = excluded.payment_id, \
         currency = excluded.currency, amount_minor = excluded.amount_minor, \
         reason = excluded.reason, state = excluded.state, \
         idempotency_key = excluded.idempotency_key, created_at = excluded.created_at, \
         updated_at = excluded.updated_at, failure = excluded.failure; ",
        placeholders(&mut next, 10, 1)
    )
}

/// Binds a refund's parameters of [`refund_sql`].
fn bind_refund<'q>(q: SqliteQuery<'q>, r: &Refund) -> Result<SqliteQuery<'q>, StoreError> {
    Ok(q.bind(id(r.id))
        .bind(id(r.payment_id))
        .bind(r.amount.currency().code())
        .bind(minor(r.amount)?)
        .bind(r.reason.clone())
        .bind(r.state.as_str())
        .bind(r.idempotency_key.clone())
        .bind(ts(r.created_at))
        .bind(ts(r.updated_at))
        .bind(r.failure.clone()))
}

/// The read of a start: the charge's status and the payment of the start
/// key, if any (`?1` the charge id, `?2` the start key).
static START_READ: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<String> = PAYMENT_COLUMNS
        .split(", ")
        .map(|c| format!("p.{c} AS {c}"))
        .collect();
    format!(
        "SELECT (SELECT status FROM charges WHERE id = ?1) AS charge_status, {} \
         FROM (SELECT 1) LEFT JOIN payments p ON p.start_key = ?2",
        columns.join(", ")
    )
});

fn payments(rows: &[SqliteRow]) -> Result<Vec<Payment>, StoreError> {
    rows.iter().map(payment_from).collect()
}

#[async_trait]
impl PaymentStore for SqliteStore {
    async fn create_payment(
        &self,
        payment: &Payment,
        events: &[Event],
    ) -> Result<CreateOutcome, StoreError> {
        let row = PaymentRow::encode(payment)?;
        let records = Records::of_events(events)?;
        // The port allows the start to commit without waiting for the disk:
        // durable no later than the next durable commit (the payment's
        // `Authorizing`, before its card goes to the acquirer).
        self.write_deferred(move |tx| {
            Box::pin(async move {
                let charge_id = row.charge_id.clone();
                let start_key = row.start_key.clone();
                // One read: the payment of this start key (a replay), if
                // any, and the charge's status.
                let found = sqlx::query(&START_READ)
                    .bind(&charge_id)
                    .bind(&start_key)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(map)?;
                if found
                    .try_get::<Option<String>, _>("id")
                    .map_err(map)?
                    .is_some()
                {
                    return Ok(CreateOutcome::Existing(Box::new(payment_from(&found)?)));
                }
                let status = found
                    .try_get::<Option<String>, _>("charge_status")
                    .map_err(map)?
                    .ok_or(StoreError::ChargeNotFound)?;
                let status =
                    ChargeStatus::parse(&status).ok_or_else(|| corrupt("charge status", status))?;
                if status != ChargeStatus::Unpaid {
                    return Err(StoreError::ChargeNotPayable(status));
                }
                // The partial unique index `payments_one_in_flight` takes the
                // one-in-flight rule atomically. The payment, its events and
                // their audit entries go in one call (the statements after
                // a failing one do not run).
                let head = head(tx).await?;
                let (records_sql, _) = records.sql(PAYMENT_PARAMS + 1);
                let sql = format!("{}; {records_sql}", INSERT_PAYMENT.as_str());
                let (q, last) = records.bind(row.bind(sqlx::query(&sql)), head)?;
                let inserted = q.execute(&mut **tx).await;
                if let Err(e) = inserted {
                    return match unique_violation(&e).as_deref() {
                        Some(unique::ONE_IN_FLIGHT) | Some(unique::ONE_PAID) => {
                            match in_flight_of(tx, &charge_id).await? {
                                Some(payment_id) => Err(StoreError::InFlight { payment_id }),
                                None => Err(StoreError::invariant(
                                    InvariantKind::SecondPaidPayment,
                                    "the charge already has a paid payment",
                                )),
                            }
                        }
                        Some(unique::START_KEY) => {
                            match payment_by_start_key(tx, &start_key).await? {
                                Some(p) => Ok(CreateOutcome::Existing(Box::new(p))),
                                None => Err(StoreError::Conflict),
                            }
                        }
                        _ if foreign_key_violation(&e) => Err(StoreError::ChargeNotFound),
                        _ => Err(map(e)),
                    };
                }
                tx.audit_head = Some(last);
                Ok(CreateOutcome::Created)
            })
        })
        .await
    }

    async fn payment(&self, payment_id: Uuid) -> Result<Option<Payment>, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM payments WHERE id = ?1",
            *PAYMENT_COLUMNS
        ))
        .bind(id(payment_id))
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .as_ref()
        .map(payment_from)
        .transpose()
    }

    async fn payment_by_receipt(&self, number: &str) -> Result<Option<Payment>, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM payments WHERE receipt_number = ?1",
            *PAYMENT_COLUMNS
        ))
        .bind(number)
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .as_ref()
        .map(payment_from)
        .transpose()
    }

    async fn update_payment(&self, u: &PaymentUpdate) -> Result<(), StoreError> {
        let new = &u.payment;
        let expected = new
            .version()
            .checked_sub(1)
            .and_then(|v| i64::try_from(v).ok());
        let row = PaymentRow::encode(new)?;
        let payment_id = row.id.clone();
        let charge_id = row.charge_id.clone();
        if let Some(r) = &u.refund {
            if r.payment_id != new.id() {
                return Err(StoreError::invariant(
                    InvariantKind::Constraint,
                    "refund of another payment",
                ));
            }
        }
        match u.charge {
            Some(ChargeChange::MarkPaid) if !new.state().is_paid() => {
                return Err(StoreError::invariant(
                    InvariantKind::PaidWithoutPayment,
                    "MarkPaid without a paid payment",
                ))
            }
            Some(ChargeChange::Reopen) if new.state().is_paid() => {
                return Err(StoreError::invariant(
                    InvariantKind::PaidWithoutPayment,
                    "only a fully refunded payment reopens its charge",
                ))
            }
            _ => {}
        }
        let expected = expected.unwrap_or(-1);
        let charge = u.charge;
        let refund = u.refund.clone();
        let mut records = Records::of_events(&u.events)?;
        records.notes(&u.notes)?;
        let outbox = OutboxRow::encode_all(&u.outbox)?;
        self.write(move |tx| {
            Box::pin(async move {
                // Optimistic concurrency: only the expected stored version is
                // replaced. The schema refuses changed amounts/charge/code
                // (trigger), a second in-flight or paid payment (partial
                // unique indexes), refunds above the total and unmasked cards
                // (CHECK); error.rs maps each by name.
                let updated = row
                    .bind(sqlx::query(UPDATE_PAYMENT.as_str()))
                    .bind(expected)
                    .execute(&mut **tx)
                    .await
                    .map_err(map)?;
                if updated.rows_affected() == 0 {
                    let exists =
                        sqlx::query_scalar::<_, i64>("SELECT version FROM payments WHERE id = ?1")
                            .bind(&payment_id)
                            .fetch_optional(&mut **tx)
                            .await
                            .map_err(map)?;
                    return Err(match exists {
                        None => StoreError::NotFound,
                        Some(_) => StoreError::Conflict,
                    });
                }
                // The rest in one call: the charge, the refund, the events and
                // their audit entries, the outbox messages. A refused charge
                // change shows as one row fewer than written.
                let head = head(tx).await?;
                let mut sql = String::new();
                let mut next = 1;
                let mut expected = records.rows() + outbox.len() as u64;
                if let Some(change) = charge {
                    sql.push_str(match change {
                        ChargeChange::MarkPaid => {
                            "UPDATE charges SET status = 'paid' WHERE id = ? AND status <> 'paid'; "
                        }
                        ChargeChange::Reopen => {
                            "UPDATE charges SET status = 'unpaid' WHERE id = ? AND status = 'paid'; "
                        }
                    });
                    next += 1;
                    expected += 1;
                }
                if refund.is_some() {
                    sql.push_str(&refund_sql(next));
                    next += 10;
                    expected += 1;
                }
                let (records_sql, used) = records.sql(next);
                sql.push_str(&records_sql);
                let (outbox_sql, _) = outbox_sql(outbox.len(), next + used);
                sql.push_str(&outbox_sql);
                if sql.is_empty() {
                    return Ok(());
                }
                let mut q = sqlx::query(&sql);
                if charge.is_some() {
                    q = q.bind(charge_id);
                }
                if let Some(r) = &refund {
                    q = bind_refund(q, r)?;
                }
                let (q, last) = records.bind(q, head)?;
                let done = bind_outbox(q, outbox)
                    .execute(&mut **tx)
                    .await
                    .map_err(map)?;
                if done.rows_affected() != expected {
                    return Err(match charge {
                        Some(ChargeChange::Reopen) => StoreError::invariant(
                            InvariantKind::PaidWithoutPayment,
                            "only a paid charge reopens",
                        ),
                        _ => StoreError::invariant(
                            InvariantKind::ChargeAlreadyPaid,
                            "charge already paid",
                        ),
                    });
                }
                tx.audit_head = Some(last);
                Ok(())
            })
        })
        .await
    }

    async fn list_payments(&self, q: &PaymentQuery) -> Result<Vec<Payment>, StoreError> {
        let states: Vec<&str> = q.states.iter().map(|s| s.as_str()).collect();
        let rows = sqlx::query(&format!(
            "SELECT {} FROM payments \
             WHERE (?1 = '[]' OR state IN (SELECT value FROM json_each(?1))) \
             AND (?2 IS NULL OR service = ?2) \
             AND (?3 IS NULL OR charge_id = ?3) \
             AND (?4 IS NULL OR created_at >= ?4) \
             AND (?5 IS NULL OR created_at < ?5) \
             AND (?6 IS NULL OR updated_at < ?6) \
             ORDER BY created_at, id LIMIT ?7",
            *PAYMENT_COLUMNS
        ))
        .bind(to_json(&states)?)
        .bind(&q.service)
        .bind(q.charge_id.map(id))
        .bind(q.created_from.map(ts))
        .bind(q.created_to.map(ts))
        .bind(q.updated_before.map(ts))
        .bind(limit_of(q.limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?;
        payments(&rows)
    }

    async fn refund_by_key(
        &self,
        payment_id: Uuid,
        key: &str,
    ) -> Result<Option<Refund>, StoreError> {
        sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = ?1 AND idempotency_key = ?2"
        ))
        .bind(id(payment_id))
        .bind(key)
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .as_ref()
        .map(refund_from)
        .transpose()
    }

    async fn refunds_of(&self, payment_id: Uuid) -> Result<Vec<Refund>, StoreError> {
        sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = ?1 ORDER BY seq"
        ))
        .bind(id(payment_id))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(refund_from)
        .collect()
    }

    async fn refunds_in_state(
        &self,
        state: RefundState,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE state = ?1 ORDER BY seq LIMIT ?2"
        ))
        .bind(state.as_str())
        .bind(limit_of(limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(refund_from)
        .collect()
    }
}
