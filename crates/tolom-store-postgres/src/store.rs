//! The port implementations.

use std::future::Future;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgRow, Postgres};
use sqlx::{QueryBuilder, Row, Transaction};
use tolom_core::charge::{Charge, ChargeStatus};
use tolom_core::code::PaymentCode;
use tolom_core::outbox::{Event, OutboxMessage, OutboxStatus};
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

const EVENTS_INSERT: &str = "INSERT INTO events (id, at, charge_id, payment_id, kind, data) \
    SELECT id, at, charge_id, payment_id, kind, data FROM unnest($1::uuid[], \
    $2::timestamptz[], $3::uuid[], $4::uuid[], $5::text[], $6::jsonb[]) WITH ORDINALITY \
    AS t(id, at, charge_id, payment_id, kind, data, n) ORDER BY n";

const OUTBOX_INSERT: &str = "INSERT INTO outbox (id, created_at, channel, payload, status, \
    attempts, next_attempt_at, lease_until, last_error, delivered_at) \
    SELECT id, created_at, channel, payload, status, attempts, next_attempt_at, lease_until, \
    last_error, delivered_at FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], \
    $4::jsonb[], $5::text[], $6::int4[], $7::timestamptz[], $8::timestamptz[], $9::text[], \
    $10::timestamptz[]) WITH ORDINALITY AS t(id, created_at, channel, payload, status, \
    attempts, next_attempt_at, lease_until, last_error, delivered_at, n) ORDER BY n";

const REFUND_UPSERT: &str = "INSERT INTO refunds (id, payment_id, currency, amount_minor, \
    reason, state, idempotency_key, created_at, updated_at, failure) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
    ON CONFLICT (id) DO UPDATE SET payment_id = EXCLUDED.payment_id, \
    currency = EXCLUDED.currency, amount_minor = EXCLUDED.amount_minor, \
    reason = EXCLUDED.reason, state = EXCLUDED.state, \
    idempotency_key = EXCLUDED.idempotency_key, created_at = EXCLUDED.created_at, \
    updated_at = EXCLUDED.updated_at, failure = EXCLUDED.failure";

async fn insert_events(
    tx: &mut Transaction<'static, Postgres>,
    events: &EventArrays,
) -> Result<(), Failure> {
    if events.ids.is_empty() {
        return Ok(());
    }
    sqlx::query(EVENTS_INSERT)
        .bind(&events.ids)
        .bind(&events.ats)
        .bind(&events.charges)
        .bind(&events.payments)
        .bind(&events.kinds)
        .bind(&events.data)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_outbox(
    tx: &mut Transaction<'static, Postgres>,
    messages: &OutboxArrays,
) -> Result<(), Failure> {
    if messages.ids.is_empty() {
        return Ok(());
    }
    sqlx::query(OUTBOX_INSERT)
        .bind(&messages.ids)
        .bind(&messages.created)
        .bind(&messages.channels)
        .bind(&messages.payloads)
        .bind(&messages.statuses)
        .bind(&messages.attempts)
        .bind(&messages.next)
        .bind(&messages.leases)
        .bind(&messages.errors)
        .bind(&messages.delivered)
        .execute(&mut **tx)
        .await?;
    Ok(())
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

    /// What a refused insert of `payment` ran into, read after the
    /// transaction was rolled back: the payment of the same start key (the
    /// contract's first rule), else the payment in flight.
    async fn create_conflict(
        &self,
        payment: &Payment,
        e: &sqlx::Error,
    ) -> Result<CreateOutcome, Failure> {
        if let Some(existing) = self
            .payment_where("start_key = $1", &payment.start_key)
            .await?
        {
            return Ok(CreateOutcome::Existing(Box::new(existing)));
        }
        let in_flight = sqlx::query(&format!(
            "SELECT id FROM payments WHERE charge_id = $1 AND state IN {IN_FLIGHT_SQL}"
        ))
        .bind(payment.charge_id)
        .fetch_optional(self.pool())
        .await?;
        match in_flight {
            Some(row) => Err(StoreError::InFlight {
                payment_id: row.try_get("id")?,
            }
            .into()),
            None if error::is_unique(e, constraint::PAYMENT_PKEY) => {
                Err(StoreError::Invariant(format!("payment {} already exists", payment.id)).into())
            }
            // The payment in flight settled between our insert and this
            // read: try again.
            None => Err(Failure::Retry(
                "the payment in flight settled meanwhile".into(),
            )),
        }
    }

    async fn try_create(
        &self,
        payment: &Payment,
        params: &PaymentParams,
        events: &EventArrays,
    ) -> Result<CreateOutcome, Failure> {
        // Cheap checks first, in the order of the contract: an existing
        // start key, then the charge.
        let row = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM payments WHERE start_key = $1) AS existing, \
             (SELECT status FROM charges WHERE id = $2) AS status",
        )
        .bind(&payment.start_key)
        .bind(payment.charge_id)
        .fetch_one(self.pool())
        .await?;
        let existing: bool = row.try_get("existing")?;
        if existing {
            return match self
                .payment_where("start_key = $1", &payment.start_key)
                .await?
            {
                Some(p) => Ok(CreateOutcome::Existing(Box::new(p))),
                None => Err(Failure::Retry("start key vanished".into())),
            };
        }
        let status: Option<String> = row.try_get("status")?;
        let status = match status {
            None => return Err(StoreError::ChargeNotFound.into()),
            Some(s) => convert::parse_charge_status(&s)?,
        };
        if status != ChargeStatus::Unpaid {
            return Err(StoreError::ChargeNotPayable(status).into());
        }
        let mut tx = self.pool().begin().await?;
        // The partial unique index `payments_one_in_flight` takes the
        // charge's single in-flight slot atomically: a concurrent insert
        // waits for this transaction and then fails with 23505.
        if let Err(e) = params
            .bind(sqlx::query(convert::PAYMENT_INSERT))
            .execute(&mut *tx)
            .await
        {
            if error::is_any_unique(&e) {
                let _ = tx.rollback().await;
                return self.create_conflict(payment, &e).await;
            }
            return Err(e.into());
        }
        // Read the charge again under a share lock, after the insert: a
        // payment that succeeded concurrently held the in-flight slot, so its
        // commit (charge Paid) is visible by now.
        let status: String = sqlx::query("SELECT status FROM charges WHERE id = $1 FOR SHARE")
            .bind(payment.charge_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("status")?;
        let status = convert::parse_charge_status(&status)?;
        if status != ChargeStatus::Unpaid {
            let _ = tx.rollback().await;
            return Err(StoreError::ChargeNotPayable(status).into());
        }
        insert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(CreateOutcome::Created)
    }

    async fn try_update(
        &self,
        update: &PaymentUpdate,
        params: &PaymentParams,
        events: &EventArrays,
        outbox: &OutboxArrays,
    ) -> Result<(), Failure> {
        let p = &update.payment;
        let mut tx = self.pool().begin().await?;
        // Compare-and-set on the version: a stale update matches no row.
        let done = params
            .bind(sqlx::query(convert::PAYMENT_UPDATE))
            .bind(params.version() - 1)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            let exists: bool = sqlx::query("SELECT EXISTS (SELECT 1 FROM payments WHERE id = $1)")
                .bind(p.id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            let _ = tx.rollback().await;
            return Err(if exists {
                StoreError::Conflict
            } else {
                StoreError::NotFound
            }
            .into());
        }
        match update.charge {
            None => {}
            Some(ChargeChange::MarkPaid) => {
                // The trigger `charges_rules` refuses `paid` without a paid
                // payment of the charge.
                let done = sqlx::query(
                    "UPDATE charges SET status = 'paid' WHERE id = $1 AND status <> 'paid'",
                )
                .bind(p.charge_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    let _ = tx.rollback().await;
                    return Err(StoreError::Invariant("the charge is already paid".into()).into());
                }
            }
            Some(ChargeChange::Reopen) => {
                // The trigger refuses to leave `paid` while a paid payment
                // of the charge exists.
                let done = sqlx::query(
                    "UPDATE charges SET status = 'unpaid' WHERE id = $1 AND status = 'paid'",
                )
                .bind(p.charge_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    let _ = tx.rollback().await;
                    return Err(
                        StoreError::Invariant("only a paid charge can be reopened".into()).into(),
                    );
                }
            }
        }
        if let Some(r) = &update.refund {
            if r.payment_id != p.id {
                let _ = tx.rollback().await;
                return Err(StoreError::Invariant("a refund of another payment".into()).into());
            }
            if r.amount.currency() != p.total.currency() {
                let _ = tx.rollback().await;
                return Err(StoreError::Invariant("a refund in another currency".into()).into());
            }
            sqlx::query(REFUND_UPSERT)
                .bind(r.id)
                .bind(r.payment_id)
                .bind(r.amount.currency().code())
                .bind(convert::minor(r.amount)?)
                .bind(&r.reason)
                .bind(r.state.as_str())
                .bind(&r.idempotency_key)
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(&r.failure)
                .execute(&mut *tx)
                .await?;
        }
        insert_events(&mut tx, events).await?;
        insert_outbox(&mut tx, outbox).await?;
        // Deferred checks (a paid payment's charge is Paid; refunds within
        // the total) run here.
        tx.commit().await?;
        Ok(())
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
        retry(|| self.try_create(payment, &params, &events)).await
    }

    async fn payment(&self, id: Uuid) -> Result<Option<Payment>, StoreError> {
        self.payment_where("id = $1", id).await
    }

    async fn payment_by_receipt(&self, number: &str) -> Result<Option<Payment>, StoreError> {
        self.payment_where("receipt_number = $1", number).await
    }

    async fn update_payment(&self, update: &PaymentUpdate) -> Result<(), StoreError> {
        let params = PaymentParams::new(&update.payment)?;
        let events = EventArrays::new(&update.events);
        let outbox = OutboxArrays::new(&update.outbox)?;
        retry(|| self.try_update(update, &params, &events, &outbox)).await
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
