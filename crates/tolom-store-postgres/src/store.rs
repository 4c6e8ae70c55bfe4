//! The port implementations.

use std::future::Future;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgRow, Postgres};
use sqlx::{QueryBuilder, Row};
use tolom_core::charge::{Charge, ChargeStatus};
use tolom_core::code::PaymentCode;
use tolom_core::events::Event;
use tolom_core::outbox::{OutboxMessage, OutboxStatus};
use tolom_core::payment::{Payment, PaymentState, Refund, RefundState};
use tolom_core::ports::{
    ChargeChange, ChargeQuery, ChargeStore, CreateOutcome, EventLog, OutboxStore, PaymentQuery,
    PaymentStore, PaymentUpdate, StoreError, TermsStore,
};
use tolom_core::terms::TermsEdition;
use uuid::Uuid;

use crate::convert::{self, EventArrays, OutboxArrays, PaymentParams};
use crate::error::{self, constraint, Failure};
use crate::PostgresStore;

/// How often a transaction that lost a deadlock or a serialization check
/// is run again before the call fails with `Unavailable`.
const TX_ATTEMPTS: usize = 4;

/// The in-flight states, as stored (must match the partial index
/// `payments_one_in_flight`).
const IN_FLIGHT_SQL: &str = "('created', 'authorizing', 'action_required', 'unknown')";

/// Runs one attempt after another while the attempt asks for a retry.
async fn retry<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut last = String::new();
    for _ in 0..TX_ATTEMPTS {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(Failure::Store(e)) => return Err(e),
            Err(Failure::Retry(why)) => last = why,
        }
    }
    Err(StoreError::Unavailable(format!(
        "transaction aborted {TX_ATTEMPTS} times: {last}"
    )))
}

fn limit_of(limit: usize) -> Option<i64> {
    (limit > 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX))
}

/// The events of a write, appended in order (`$E..$E+5` are the arrays),
/// only when the CTE `p` wrote a row.
fn events_cte(first: usize) -> String {
    let [a, b, c, d, e, f] = std::array::from_fn(|i| first + i);
    format!(
        "e AS (INSERT INTO events (id, at, charge_id, payment_id, kind, data) \
         SELECT id, at, charge_id, payment_id, kind, data FROM unnest(${a}::uuid[], \
         ${b}::timestamptz[], ${c}::uuid[], ${d}::uuid[], ${e}::text[], ${f}::jsonb[]) \
         WITH ORDINALITY AS t(id, at, charge_id, payment_id, kind, data, n) \
         WHERE EXISTS (SELECT 1 FROM p) ORDER BY n RETURNING 1)"
    )
}

/// Creates a payment and its events: one statement, one implicit
/// transaction. `$1..$29` the payment, `$30..$35` the events.
fn create_sql() -> String {
    format!(
        "WITH p AS ({} RETURNING id), {} SELECT count(*) FROM p",
        convert::PAYMENT_INSERT,
        events_cte(30)
    )
}

/// Applies a payment update: one statement, one implicit transaction.
///
/// `$1..$29` the payment, `$30` the expected stored version, `$31` the
/// charge change (`mark_paid`, `reopen` or NULL), `$32..$41` the refund
/// (all NULL when none), `$42..$47` the events, `$48..$57` the outbox
/// messages. When the payment row matched but the charge could not change
/// as asked, `tolom_refuse` aborts the whole statement; the deferred
/// constraint triggers check the cross-table rules at its commit.
fn update_sql() -> String {
    format!(
        "WITH p AS ({update} RETURNING charge_id), \
         c AS (UPDATE charges SET status = CASE WHEN $31::text = 'mark_paid' THEN 'paid' \
               ELSE 'unpaid' END \
               WHERE id = (SELECT charge_id FROM p) AND $31::text IS NOT NULL \
                 AND CASE WHEN $31::text = 'mark_paid' THEN status <> 'paid' \
                     ELSE status = 'paid' END \
               RETURNING 1), \
         r AS (INSERT INTO refunds (id, payment_id, currency, amount_minor, reason, state, \
                 idempotency_key, created_at, updated_at, failure) \
               SELECT $32::uuid, $33::uuid, $34::text, $35::bigint, $36::text, $37::text, \
                 $38::text, $39::timestamptz, $40::timestamptz, $41::text \
               WHERE $32::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM p) \
               ON CONFLICT (id) DO UPDATE SET payment_id = EXCLUDED.payment_id, \
                 currency = EXCLUDED.currency, amount_minor = EXCLUDED.amount_minor, \
                 reason = EXCLUDED.reason, state = EXCLUDED.state, \
                 idempotency_key = EXCLUDED.idempotency_key, created_at = EXCLUDED.created_at, \
                 updated_at = EXCLUDED.updated_at, failure = EXCLUDED.failure \
               RETURNING 1), \
         {events}, \
         o AS (INSERT INTO outbox (id, created_at, channel, payload, status, attempts, \
                 next_attempt_at, lease_until, last_error, delivered_at) \
               SELECT id, created_at, channel, payload, status, attempts, next_attempt_at, \
                 lease_until, last_error, delivered_at FROM unnest($48::uuid[], \
                 $49::timestamptz[], $50::text[], $51::jsonb[], $52::text[], $53::int4[], \
                 $54::timestamptz[], $55::timestamptz[], $56::text[], $57::timestamptz[]) \
               WITH ORDINALITY AS t(id, created_at, channel, payload, status, attempts, \
                 next_attempt_at, lease_until, last_error, delivered_at, n) \
               WHERE EXISTS (SELECT 1 FROM p) ORDER BY n RETURNING 1) \
         SELECT (SELECT count(*) FROM p) AS updated, \
                EXISTS (SELECT 1 FROM payments WHERE id = $1) AS found, \
                CASE WHEN (SELECT count(*) FROM p) = 1 AND $31::text IS NOT NULL \
                      AND (SELECT count(*) FROM c) = 0 \
                 THEN tolom_refuse('payments_charge_change', CASE WHEN $31::text = 'mark_paid' \
                      THEN 'the charge is already paid' \
                      ELSE 'only a paid charge can be reopened' END) \
                 ELSE true END AS ok",
        update = convert::PAYMENT_UPDATE,
        events = events_cte(42),
    )
}

fn rows<T>(
    rows: Vec<PgRow>,
    f: impl Fn(&PgRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}

impl PostgresStore {
    async fn payment_where(
        &self,
        condition: &str,
        value: impl for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send,
    ) -> Result<Option<Payment>, StoreError> {
        let sql = format!(
            "SELECT {} FROM payments WHERE {condition} ORDER BY created_at, id LIMIT 1",
            convert::PAYMENT_COLUMNS
        );
        sqlx::query(&sql)
            .bind(value)
            .fetch_optional(self.pool())
            .await
            .map_err(error::map)?
            .as_ref()
            .map(convert::payment)
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
            .payment_where("start_key = $1", &payment.start_key())
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
                let status = convert::parse_charge_status(&s)?;
                if status != ChargeStatus::Unpaid {
                    return Err(StoreError::ChargeNotPayable(status).into());
                }
            }
        }
        if let Some(id) = in_flight {
            return Err(StoreError::InFlight { payment_id: id }.into());
        }
        if error::is_unique(e, constraint::PAYMENT_PKEY) {
            return Err(
                StoreError::Invariant(format!("payment {} already exists", payment.id())).into(),
            );
        }
        if error::is_any_unique(e) || error::is_check(e, constraint::PAYMENT_CHARGE_PAYABLE) {
            // What refused it has settled since (the payment in flight
            // ended, the charge came back): try again.
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
        let q = params.bind(sqlx::query(sql));
        let done = q
            .bind(&events.ids)
            .bind(&events.ats)
            .bind(&events.charges)
            .bind(&events.payments)
            .bind(&events.kinds)
            .bind(&events.data)
            .execute(self.pool())
            .await;
        match done {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(e) => match error::classify(&e) {
                Failure::Retry(why) => Err(Failure::Retry(why)),
                Failure::Store(StoreError::Unavailable(m)) => {
                    Err(StoreError::Unavailable(m).into())
                }
                Failure::Store(_) => self.create_refused(payment, &e).await,
            },
        }
    }

    async fn try_update(
        &self,
        update: &PaymentUpdate,
        params: &PaymentParams,
        events: &EventArrays,
        outbox: &OutboxArrays,
        sql: &str,
    ) -> Result<(), Failure> {
        let refund = match &update.refund {
            Some(r) => Some((r, convert::minor(r.amount)?)),
            None => None,
        };
        let row = params
            .bind(sqlx::query(sql))
            .bind(params.version() - 1)
            .bind(match update.charge {
                None => None,
                Some(ChargeChange::MarkPaid) => Some("mark_paid"),
                Some(ChargeChange::Reopen) => Some("reopen"),
            })
            .bind(refund.map(|(r, _)| r.id))
            .bind(refund.map(|(r, _)| r.payment_id))
            .bind(refund.map(|(r, _)| r.amount.currency().code()))
            .bind(refund.map(|(_, minor)| minor))
            .bind(refund.map(|(r, _)| r.reason.as_str()))
            .bind(refund.map(|(r, _)| r.state.as_str()))
            .bind(refund.map(|(r, _)| r.idempotency_key.as_str()))
            .bind(refund.map(|(r, _)| r.created_at))
            .bind(refund.map(|(r, _)| r.updated_at))
            .bind(refund.and_then(|(r, _)| r.failure.as_deref()))
            .bind(&events.ids)
            .bind(&events.ats)
            .bind(&events.charges)
            .bind(&events.payments)
            .bind(&events.kinds)
            .bind(&events.data)
            .bind(&outbox.ids)
            .bind(&outbox.created)
            .bind(&outbox.channels)
            .bind(&outbox.payloads)
            .bind(&outbox.statuses)
            .bind(&outbox.attempts)
            .bind(&outbox.next)
            .bind(&outbox.leases)
            .bind(&outbox.errors)
            .bind(&outbox.delivered)
            .fetch_one(self.pool())
            .await?;
        let updated: i64 = row.try_get("updated")?;
        if updated == 1 {
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
impl ChargeStore for PostgresStore {
    async fn insert_charge(&self, charge: &Charge, event: &Event) -> Result<(), StoreError> {
        let amount = convert::minor(charge.amount)?;
        let data = sqlx::types::Json(&event.data);
        let sql = format!(
            "WITH c AS (INSERT INTO charges ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11) RETURNING id) \
             INSERT INTO events (id, at, charge_id, payment_id, kind, data) \
             SELECT $12, $13, $14, $15, $16, $17 FROM c",
            convert::CHARGE_COLUMNS
        );
        let q = || {
            sqlx::query(&sql)
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
                .bind(&charge.agency_ref)
                .bind(event.id)
                .bind(event.at)
                .bind(event.charge_id)
                .bind(event.payment_id)
                .bind(&event.kind)
                .bind(data)
        };
        retry(|| async {
            q().execute(self.pool())
                .await
                .map(|_| ())
                .map_err(Failure::from)
        })
        .await
    }

    async fn charge_by_code(&self, code: &PaymentCode) -> Result<Option<Charge>, StoreError> {
        let sql = format!(
            "SELECT {} FROM charges WHERE code = $1",
            convert::CHARGE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(code.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(error::map)?
            .as_ref()
            .map(convert::charge)
            .transpose()
    }

    async fn charge(&self, id: Uuid) -> Result<Option<Charge>, StoreError> {
        let sql = format!(
            "SELECT {} FROM charges WHERE id = $1",
            convert::CHARGE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(error::map)?
            .as_ref()
            .map(convert::charge)
            .transpose()
    }

    async fn set_charge_status(
        &self,
        id: Uuid,
        from: ChargeStatus,
        to: ChargeStatus,
        event: &Event,
    ) -> Result<(), StoreError> {
        if to == ChargeStatus::Paid && from != ChargeStatus::Paid {
            return Err(StoreError::Invariant(
                "a charge becomes Paid only with its payment (ChargeChange::MarkPaid)".into(),
            ));
        }
        let data = sqlx::types::Json(&event.data);
        let done = retry(|| async {
            sqlx::query(
                "WITH c AS (UPDATE charges SET status = $3 WHERE id = $1 AND status = $2 \
                 RETURNING id) \
                 INSERT INTO events (id, at, charge_id, payment_id, kind, data) \
                 SELECT $4, $5, $6, $7, $8, $9 FROM c",
            )
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(event.id)
            .bind(event.at)
            .bind(event.charge_id)
            .bind(event.payment_id)
            .bind(&event.kind)
            .bind(data)
            .execute(self.pool())
            .await
            .map_err(Failure::from)
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
        let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM charges WHERE TRUE",
            convert::CHARGE_COLUMNS
        ));
        if let Some(s) = query.status {
            qb.push(" AND status = ").push_bind(s.as_str());
        }
        if let Some(t) = query.expires_before {
            qb.push(" AND expires_at < ").push_bind(t);
        }
        qb.push(" ORDER BY expires_at, id");
        if let Some(l) = limit_of(query.limit) {
            qb.push(" LIMIT ").push_bind(l);
        }
        let found = qb
            .build()
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows(found, convert::charge)
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
        let sql = create_sql();
        retry(|| self.try_create(payment, &params, &events, &sql)).await
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
                return Err(StoreError::Invariant("a refund of another payment".into()));
            }
            if r.amount.currency() != p.total().currency() {
                return Err(StoreError::Invariant("a refund in another currency".into()));
            }
        }
        let params = PaymentParams::new(p)?;
        let events = EventArrays::new(&update.events);
        let outbox = OutboxArrays::new(&update.outbox)?;
        let sql = update_sql();
        retry(|| self.try_update(update, &params, &events, &outbox, &sql)).await
    }

    async fn list_payments(&self, query: &PaymentQuery) -> Result<Vec<Payment>, StoreError> {
        let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM payments WHERE TRUE",
            convert::PAYMENT_COLUMNS
        ));
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
        if let Some(l) = limit_of(query.limit) {
            qb.push(" LIMIT ").push_bind(l);
        }
        let found = qb
            .build()
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows(found, convert::payment)
    }

    async fn refund_by_key(
        &self,
        payment_id: Uuid,
        key: &str,
    ) -> Result<Option<Refund>, StoreError> {
        let sql = format!(
            "SELECT {} FROM refunds WHERE payment_id = $1 AND idempotency_key = $2",
            convert::REFUND_COLUMNS
        );
        sqlx::query(&sql)
            .bind(payment_id)
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(error::map)?
            .as_ref()
            .map(convert::refund)
            .transpose()
    }

    async fn refunds_of(&self, payment_id: Uuid) -> Result<Vec<Refund>, StoreError> {
        let sql = format!(
            "SELECT {} FROM refunds WHERE payment_id = $1 ORDER BY seq",
            convert::REFUND_COLUMNS
        );
        let found = sqlx::query(&sql)
            .bind(payment_id)
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows(found, convert::refund)
    }

    async fn refunds_in_state(
        &self,
        state: RefundState,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        let sql = format!(
            "SELECT {} FROM refunds WHERE state = $1 ORDER BY seq LIMIT $2",
            convert::REFUND_COLUMNS
        );
        let found = sqlx::query(&sql)
            .bind(state.as_str())
            .bind(limit_of(limit))
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows(found, convert::refund)
    }
}

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
        worker: &str,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // One statement: pick due, unleased rows, skipping rows another
        // worker is claiming right now, and lease them. Under READ
        // COMMITTED a row claimed and committed by another worker after our
        // snapshot is re-checked on the new version and dropped.
        let found = retry(|| async {
            sqlx::query(
                "UPDATE outbox o SET lease_until = $2, lease_owner = $4 \
                 FROM (SELECT id FROM outbox \
                       WHERE status = 'pending' AND next_attempt_at <= $1 \
                         AND (lease_until IS NULL OR lease_until <= $1) \
                       ORDER BY next_attempt_at, seq \
                       LIMIT $3 \
                       FOR UPDATE SKIP LOCKED) due \
                 WHERE o.id = due.id \
                 RETURNING o.seq, o.id, o.created_at, o.payload, o.status, o.attempts, \
                   o.next_attempt_at, o.lease_until, o.last_error, o.delivered_at",
            )
            .bind(now)
            .bind(lease_until)
            .bind(limit_of(limit))
            .bind(worker)
            .fetch_all(self.pool())
            .await
            .map_err(Failure::from)
        })
        .await?;
        let mut claimed = Vec::with_capacity(found.len());
        for row in &found {
            let seq: i64 = row.try_get("seq").map_err(error::map)?;
            claimed.push((seq, convert::outbox(row)?));
        }
        claimed.sort_by(|(sa, a), (sb, b)| (a.next_attempt_at, sa).cmp(&(b.next_attempt_at, sb)));
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    async fn outbox_delivered(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'delivered', delivered_at = coalesce(delivered_at, $2), \
             lease_until = NULL, lease_owner = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(error::map)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn outbox_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "WITH u AS (UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
               lease_until = NULL, lease_owner = NULL, \
               status = CASE WHEN $3::timestamptz IS NULL THEN 'dead' ELSE 'pending' END, \
               next_attempt_at = coalesce($3::timestamptz, next_attempt_at) \
             WHERE id = $1 AND status <> 'delivered' RETURNING id) \
             SELECT (SELECT count(*) FROM u) AS updated, \
                    EXISTS (SELECT 1 FROM outbox WHERE id = $1) AS found",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at)
        .fetch_one(self.pool())
        .await
        .map_err(error::map)?;
        let found: bool = row.try_get("found").map_err(error::map)?;
        if !found {
            return Err(StoreError::NotFound);
        }
        // Found but not updated: already delivered; a late failure report
        // changes nothing.
        Ok(())
    }

    async fn outbox_list(
        &self,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let sql = format!(
            "SELECT {} FROM outbox WHERE ($1::text IS NULL OR status = $1) \
             ORDER BY seq DESC LIMIT $2",
            convert::OUTBOX_COLUMNS
        );
        let found = sqlx::query(&sql)
            .bind(status.map(|s| s.as_str()))
            .bind(limit_of(limit))
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows(found, convert::outbox)
    }

    async fn outbox_retry(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'pending', next_attempt_at = $2, lease_until = NULL, \
             lease_owner = NULL WHERE id = $1 AND status = 'dead'",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(error::map)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl EventLog for PostgresStore {
    async fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (id, at, charge_id, payment_id, kind, data) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(event.id)
        .bind(event.at)
        .bind(event.charge_id)
        .bind(event.payment_id)
        .bind(&event.kind)
        .bind(sqlx::types::Json(&event.data))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(error::map)
    }

    async fn events_of(&self, id: Uuid) -> Result<Vec<Event>, StoreError> {
        let sql = format!(
            "SELECT {} FROM events WHERE charge_id = $1 OR payment_id = $1 ORDER BY seq",
            convert::EVENT_COLUMNS
        );
        let found = sqlx::query(&sql)
            .bind(id)
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows(found, convert::event)
    }
}

#[async_trait]
impl TermsStore for PostgresStore {
    async fn publish_terms(&self, edition: &TermsEdition) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO terms_editions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            convert::TERMS_COLUMNS
        );
        match sqlx::query(&sql)
            .bind(&edition.id)
            .bind(edition.published_at)
            .bind(edition.effective_at)
            .bind(edition.last_changed)
            .bind(&edition.text_ky)
            .bind(&edition.text_ru)
            .bind(&edition.text_en)
            .execute(self.pool())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error::is_any_unique(&e) => Err(StoreError::Invariant(format!(
                "edition {} exists; editions are never rewritten",
                edition.id
            ))),
            Err(e) => Err(error::map(e)),
        }
    }

    async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError> {
        let sql = format!(
            "SELECT {} FROM terms_editions ORDER BY effective_at, published_at, id",
            convert::TERMS_COLUMNS
        );
        let found = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(error::map)?;
        rows(found, convert::terms)
    }
}
