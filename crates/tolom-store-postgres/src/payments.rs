//! [`PaymentStore`] on PostgreSQL: payments and refunds. Creating a payment
//! and applying an update are each **one statement** (data-modifying CTEs
//! in one implicit transaction): the payment, the charge change, the refund,
//! the events and the outbox messages commit together or not at all.

use std::sync::OnceLock;

use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder, Row};
use tolom_core::charge::ChargeStatus;
use tolom_core::events::Event;
use tolom_core::payment::{Payment, PaymentState, Refund, RefundState};
use tolom_core::ports::{
    ChargeChange, CreateOutcome, InvariantKind, PaymentQuery, PaymentStore, PaymentUpdate,
    StoreError,
};
use uuid::Uuid;

use crate::audit::append_note;
use crate::error::{self, constraint, retry, Failure};
use crate::rows::{
    self, EventArrays, OutboxArrays, PaymentParams, RefundParams, IN_FLIGHT_SQL, PAYMENT_COLUMNS,
    REFUND_COLUMNS,
};
use crate::PostgresStore;

/// The text of [`create_sql`] and [`update_sql`], built once per process.
static CREATE_SQL: OnceLock<String> = OnceLock::new();
static UPDATE_SQL: OnceLock<String> = OnceLock::new();

/// Creates a payment and its events: one statement, one implicit
/// transaction. `$1..$31` the payment, `$32..$38` the events.
///
/// The transaction commits without waiting for the disk
/// (`synchronous_commit = off`, set by the statement itself for its own
/// transaction, so no extra round trip): the port allows it — a payment
/// lost in a power cut before its card was sent holds no money — and the
/// write becomes durable no later than the next durable commit (the
/// `Authorizing` update that must precede the call to the acquirer), since
/// PostgreSQL flushes its log in order, up to that commit's record.
fn create_sql() -> String {
    format!(
        "WITH p AS ({} RETURNING id), {} \
         SELECT count(*), set_config('synchronous_commit', 'off', true) FROM p",
        rows::PAYMENT_INSERT,
        rows::events_cte(32)
    )
}

/// Applies a payment update: one statement, one implicit transaction.
///
/// `$1..$31` the payment, `$32` the expected stored version, `$33` the
/// charge change (`mark_paid`, `reopen` or NULL), `$34..$43` the refund
/// (all NULL when none), `$44..$50` the events, `$51..$60` the outbox
/// messages. When the payment row matched but the charge could not change
/// as asked, `tolom_refuse` aborts the whole statement with the rule
/// `charges_already_paid` (`MarkPaid` on a paid charge) or
/// `charges_reopen_not_paid` (`Reopen` of a charge that is not paid); the
/// deferred constraint triggers check the cross-table rules at its commit.
fn update_sql() -> String {
    format!(
        "WITH p AS ({update} RETURNING charge_id), \
         c AS (UPDATE charges SET status = CASE WHEN $33::text = 'mark_paid' THEN 'paid' \
               ELSE 'unpaid' END \
               WHERE id = (SELECT charge_id FROM p) AND $33::text IS NOT NULL \
                 AND CASE WHEN $33::text = 'mark_paid' THEN status <> 'paid' \
                     ELSE status = 'paid' END \
               RETURNING 1), \
         r AS (INSERT INTO refunds (id, payment_id, currency, amount_minor, reason, state, \
                 idempotency_key, created_at, updated_at, failure) \
               SELECT $34::uuid, $35::uuid, $36::text, $37::bigint, $38::text, $39::text, \
                 $40::text, $41::timestamptz, $42::timestamptz, $43::text \
               WHERE $34::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM p) \
               ON CONFLICT (id) DO UPDATE SET payment_id = EXCLUDED.payment_id, \
                 currency = EXCLUDED.currency, amount_minor = EXCLUDED.amount_minor, \
                 reason = EXCLUDED.reason, state = EXCLUDED.state, \
                 idempotency_key = EXCLUDED.idempotency_key, created_at = EXCLUDED.created_at, \
                 updated_at = EXCLUDED.updated_at, failure = EXCLUDED.failure \
               RETURNING 1), \
         {events}, \
         {outbox} \
         SELECT (SELECT count(*) FROM p) AS updated, \
                EXISTS (SELECT 1 FROM payments WHERE id = $1) AS found, \
                CASE WHEN (SELECT count(*) FROM p) = 1 AND $33::text IS NOT NULL \
                      AND (SELECT count(*) FROM c) = 0 \
                 THEN tolom_refuse(CASE WHEN $33::text = 'mark_paid' \
                      THEN '{already_paid}' ELSE '{not_paid}' END, \
                      CASE WHEN $33::text = 'mark_paid' \
                      THEN 'the charge is already paid' \
                      ELSE 'only a paid charge can be reopened' END) \
                 ELSE true END AS ok",
        update = rows::PAYMENT_UPDATE,
        events = rows::events_cte(44),
        outbox = rows::outbox_cte(51),
        already_paid = constraint::CHARGE_ALREADY_PAID,
        not_paid = constraint::CHARGE_REOPEN_NOT_PAID,
    )
}

impl PostgresStore {
    async fn payment_where(
        &self,
        condition: &str,
        value: impl for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send,
    ) -> Result<Option<Payment>, StoreError> {
        sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE {condition} \
             ORDER BY created_at, id LIMIT 1"
        ))
        .bind(value)
        .fetch_optional(self.pool())
        .await
        .map_err(error::map)?
        .as_ref()
        .map(rows::payment)
        .transpose()
    }

    /// Why the insert of `payment` was refused, read afterwards, in the
    /// order of the contract: the payment of the same start key, the
    /// charge (missing, not payable), the payment in flight.
    async fn create_refused(
        &self,
        payment: &Payment,
        e: &sqlx::Error,
    ) -> Result<CreateOutcome, Failure> {
        if let Some(existing) = self
            .payment_where("start_key = $1", payment.start_key())
            .await?
        {
            return Ok(CreateOutcome::Existing(Box::new(existing)));
        }
        let row = sqlx::query(&format!(
            "SELECT (SELECT status FROM charges WHERE id = $1) AS status, \
             (SELECT id FROM payments WHERE charge_id = $1 AND state IN {IN_FLIGHT_SQL}) AS in_flight"
        ))
        .bind(payment.charge_id())
        .fetch_one(self.pool())
        .await?;
        let status: Option<String> = row.try_get("status")?;
        let in_flight: Option<Uuid> = row.try_get("in_flight")?;
        match status {
            None => return Err(StoreError::ChargeNotFound.into()),
            Some(s) => {
                let status = rows::charge_status(&s)?;
                if status != ChargeStatus::Unpaid {
                    return Err(StoreError::ChargeNotPayable(status).into());
                }
            }
        }
        if let Some(id) = in_flight {
            return Err(StoreError::InFlight { payment_id: id }.into());
        }
        if error::is_unique(e, constraint::PAYMENT_PKEY) {
            return Err(StoreError::invariant(
                InvariantKind::Constraint,
                format!(
                    "{}: payment {} exists",
                    constraint::PAYMENT_PKEY,
                    payment.id()
                ),
            )
            .into());
        }
        let refused_by = error::constraint_of(e);
        if error::is_any_unique(e) || refused_by == Some(constraint::PAYMENT_CHARGE_PAYABLE) {
            // What refused it (a payment in flight, the same start key, the
            // charge's status) has settled since: try again.
            return Err(Failure::Retry(
                "the refusing state changed meanwhile".into(),
            ));
        }
        Err(error::classify(e))
    }

    async fn try_create(
        &self,
        payment: &Payment,
        params: &PaymentParams,
        events: &EventArrays,
        sql: &str,
    ) -> Result<CreateOutcome, Failure> {
        // The partial unique index `payments_one_in_flight` takes the
        // charge's single in-flight slot atomically: a concurrent insert
        // waits for this statement's transaction and then fails with 23505.
        // The trigger `payments_charge_payable` refuses a charge that is not
        // (or no longer) unpaid.
        let done = events
            .bind(params.bind(sqlx::query(sql)))
            .execute(self.pool())
            .await;
        match done {
            Ok(_) => {
                self.committed(false);
                Ok(CreateOutcome::Created)
            }
            Err(e) if error::is_refusal(&e) => self.create_refused(payment, &e).await,
            Err(e) => Err(error::classify(&e)),
        }
    }

    async fn try_update(
        &self,
        update: &PaymentUpdate,
        params: &PaymentParams,
        refund: &RefundParams<'_>,
        events: &EventArrays,
        outbox: &OutboxArrays,
        sql: &str,
    ) -> Result<(), Failure> {
        let q = params
            .bind(sqlx::query(sql))
            .bind(params.version() - 1)
            .bind(match update.charge {
                None => None,
                Some(ChargeChange::MarkPaid) => Some("mark_paid"),
                Some(ChargeChange::Reopen) => Some("reopen"),
            });
        let q = outbox.bind(events.bind(refund.bind(q)));
        // One statement; with audit notes (an operator's request), one
        // transaction: the statement, then the notes.
        let row = if update.notes.is_empty() {
            q.fetch_one(self.pool()).await?
        } else {
            let mut tx = self.pool().begin().await?;
            let row = q.fetch_one(&mut *tx).await?;
            if row.try_get::<i64, _>("updated")? == 1 {
                for note in &update.notes {
                    append_note(&mut tx, note).await?;
                }
                tx.commit().await?;
            }
            row
        };
        let updated: i64 = row.try_get("updated")?;
        if updated == 1 {
            self.committed(true);
            return Ok(());
        }
        let found: bool = row.try_get("found")?;
        Err(if found {
            StoreError::Conflict
        } else {
            StoreError::NotFound
        }
        .into())
    }
}

#[async_trait]
impl PaymentStore for PostgresStore {
    async fn create_payment(
        &self,
        payment: &Payment,
        events: &[Event],
    ) -> Result<CreateOutcome, StoreError> {
        let params = PaymentParams::new(payment)?;
        let events = EventArrays::new(events);
        let sql = CREATE_SQL.get_or_init(create_sql);
        retry(|| self.try_create(payment, &params, &events, sql)).await
    }

    async fn payment(&self, id: Uuid) -> Result<Option<Payment>, StoreError> {
        self.payment_where("id = $1", id).await
    }

    async fn payment_by_receipt(&self, number: &str) -> Result<Option<Payment>, StoreError> {
        self.payment_where("receipt_number = $1", number).await
    }

    async fn update_payment(&self, update: &PaymentUpdate) -> Result<(), StoreError> {
        let p = &update.payment;
        if let Some(r) = &update.refund {
            if r.payment_id != p.id() {
                return Err(StoreError::invariant(
                    InvariantKind::Constraint,
                    "a refund of another payment",
                ));
            }
            if r.amount.currency() != p.total().currency() {
                return Err(StoreError::invariant(
                    InvariantKind::Constraint,
                    "a refund in another currency",
                ));
            }
        }
        let params = PaymentParams::new(p)?;
        let refund = RefundParams::new(update.refund.as_ref())?;
        let events = EventArrays::new(&update.events);
        let outbox = OutboxArrays::new(&update.outbox)?;
        let sql = UPDATE_SQL.get_or_init(update_sql);
        retry(|| self.try_update(update, &params, &refund, &events, &outbox, sql)).await
    }

    async fn list_payments(&self, query: &PaymentQuery) -> Result<Vec<Payment>, StoreError> {
        let mut qb: QueryBuilder<'_, Postgres> =
            QueryBuilder::new(format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE TRUE"));
        if !query.states.is_empty() {
            let states: Vec<&'static str> = query.states.iter().map(PaymentState::as_str).collect();
            qb.push(" AND state = ANY(").push_bind(states).push(")");
        }
        if let Some(s) = &query.service {
            qb.push(" AND service = ").push_bind(s.clone());
        }
        if let Some(c) = query.charge_id {
            qb.push(" AND charge_id = ").push_bind(c);
        }
        if let Some(t) = query.created_from {
            qb.push(" AND created_at >= ").push_bind(t);
        }
        if let Some(t) = query.created_to {
            qb.push(" AND created_at < ").push_bind(t);
        }
        if let Some(t) = query.updated_before {
            qb.push(" AND updated_at < ").push_bind(t);
        }
        qb.push(" ORDER BY created_at, id");
        if let Some(l) = rows::limit_of(query.limit) {
            qb.push(" LIMIT ").push_bind(l);
        }
        let found = qb
            .build()
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows::all(&found, rows::payment)
    }

    async fn refund_by_key(
        &self,
        payment_id: Uuid,
        key: &str,
    ) -> Result<Option<Refund>, StoreError> {
        sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 AND idempotency_key = $2"
        ))
        .bind(payment_id)
        .bind(key)
        .fetch_optional(self.pool())
        .await
        .map_err(error::map)?
        .as_ref()
        .map(rows::refund)
        .transpose()
    }

    async fn refunds_of(&self, payment_id: Uuid) -> Result<Vec<Refund>, StoreError> {
        let found = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 ORDER BY seq"
        ))
        .bind(payment_id)
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows::all(&found, rows::refund)
    }

    async fn refunds_in_state(
        &self,
        state: RefundState,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        let found = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE state = $1 ORDER BY seq LIMIT $2"
        ))
        .bind(state.as_str())
        .bind(rows::limit_of(limit))
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows::all(&found, rows::refund)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholders of each statement are numbered without a gap.
    #[test]
    fn parameters_are_numbered_without_gaps() {
        for (sql, n) in [(create_sql(), 38), (update_sql(), 60)] {
            for i in 1..=n {
                assert!(sql.contains(&format!("${i}")), "${i} missing in {sql}");
            }
            assert!(!sql.contains(&format!("${}", n + 1)), "${} in {sql}", n + 1);
        }
    }
}
