//! Rows ↔ domain values: the columns of each table, the parameters bound
//! for a write, and rows read back into domain values.
//!
//! A row that does not read back into a valid domain value (an unknown
//! state or event kind, a payment [`Payment::restore`] refuses, a column of
//! the wrong type) is [`StoreError::Broken`]: the database holds something
//! tolom never wrote, and retrying will not help.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Postgres, Row};
use tolom_core::access::{ApiToken, Role};
use tolom_core::audit::AuditEntry;
use tolom_core::card::{CardSummary, Contact, Email};
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::PaymentCode;
use tolom_core::events::{Event, EventKind};
use tolom_core::external::{ExternalPayment, ExternalState, PaymentChannel};
use tolom_core::i18n::{ErrorCode, Language};
use tolom_core::money::{Currency, Money};
use tolom_core::outbox::{AgencyEvent, Channel, OutboxMessage, OutboxPayload, OutboxStatus};
use tolom_core::payment::{
    Approval, Challenge, DeclineReason, Payment, PaymentRecord, PaymentState, Refund, RefundState,
};
use tolom_core::ports::{InvariantKind, StoreError, StoredCheckpoint};
use tolom_core::terms::TermsEdition;
use uuid::Uuid;

/// A stored value that does not read back.
fn broken(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Broken(format!("stored {what} cannot be read: {detail}"))
}

/// A value that cannot be written as it is (it does not fit a column).
fn unwritable(detail: impl Into<String>) -> StoreError {
    StoreError::invariant(InvariantKind::Constraint, detail)
}

fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(col).map_err(|e| broken(col, e))
}

/// Minor units as stored (`bigint`).
pub(crate) fn minor(m: Money) -> Result<i64, StoreError> {
    i64::try_from(m.to_minor_units())
        .map_err(|_| unwritable(format!("amount {m} does not fit in a bigint")))
}

fn money(row: &PgRow, col: &str, currency: Currency) -> Result<Money, StoreError> {
    let v: i64 = get(row, col)?;
    let v = u64::try_from(v).map_err(|_| broken(col, "negative amount"))?;
    Ok(Money::from_minor_units(v, currency))
}

fn currency(row: &PgRow) -> Result<Currency, StoreError> {
    let code: String = get(row, "currency")?;
    Currency::from_code(&code).ok_or_else(|| broken("currency", code))
}

/// `LIMIT` of a query (`0` = no limit: `NULL`).
pub(crate) fn limit_of(limit: usize) -> Option<i64> {
    (limit > 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX))
}

/// Reads every row with `f`.
pub(crate) fn all<T>(
    rows: &[PgRow],
    f: impl Fn(&PgRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}

// ---------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------

/// The in-flight states ([`PaymentState::IN_FLIGHT`]) as stored, for
/// `state IN ...` (the same list as the partial index
/// `payments_one_in_flight`).
pub(crate) const IN_FLIGHT_SQL: &str = "('created', 'authorizing', 'action_required', 'unknown')";

/// Columns of a payment, in parameter order.
pub(crate) const PAYMENT_COLUMNS: &str = "id, charge_id, code, service, currency, amount_minor, \
    fee_minor, total_minor, state, version, created_at, updated_at, expires_at, terms_edition, \
    language, start_key, submit_key, card, contact, acquirer, acquirer_ref, approval, \
    decline_reason, failure, challenge, refunded_minor, refund_pending_minor, succeeded_at, \
    receipt_number, return_attempts, next_return_at";

/// Inserts a payment (`$1..$31`).
pub(crate) const PAYMENT_INSERT: &str = "INSERT INTO payments (id, charge_id, code, service, \
    currency, amount_minor, fee_minor, total_minor, state, version, created_at, updated_at, \
    expires_at, terms_edition, language, start_key, submit_key, card, contact, acquirer, \
    acquirer_ref, approval, decline_reason, failure, challenge, refunded_minor, \
    refund_pending_minor, succeeded_at, receipt_number, return_attempts, next_return_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
    $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)";

/// Compare-and-set update of a payment (`$1..$31`, expected stored version
/// `$32`). The fixed fields are written too, so that the trigger
/// `payments_fixed_fields` refuses a change of them.
pub(crate) const PAYMENT_UPDATE: &str = "UPDATE payments SET charge_id = $2, code = $3, \
    service = $4, currency = $5, amount_minor = $6, fee_minor = $7, total_minor = $8, \
    state = $9, version = $10, created_at = $11, updated_at = $12, expires_at = $13, \
    terms_edition = $14, language = $15, start_key = $16, submit_key = $17, card = $18, \
    contact = $19, acquirer = $20, acquirer_ref = $21, approval = $22, decline_reason = $23, \
    failure = $24, challenge = $25, refunded_minor = $26, refund_pending_minor = $27, \
    succeeded_at = $28, receipt_number = $29, return_attempts = $30, next_return_at = $31 \
    WHERE id = $1 AND version = $32";

/// Everything bound for a payment row, in parameter order `$1..$31`
/// (see [`PAYMENT_INSERT`] and [`PAYMENT_UPDATE`]), from its
/// [`PaymentRecord`].
pub(crate) struct PaymentParams {
    id: Uuid,
    charge_id: Uuid,
    code: String,
    service: String,
    currency: &'static str,
    amount: i64,
    fee: i64,
    total: i64,
    state: &'static str,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    terms_edition: String,
    language: &'static str,
    start_key: String,
    submit_key: Option<String>,
    card: Option<Json<CardSummary>>,
    contact: Option<Json<Contact>>,
    acquirer: Option<String>,
    acquirer_ref: Option<String>,
    approval: Option<Json<Approval>>,
    decline_reason: Option<&'static str>,
    failure: Option<String>,
    challenge: Option<Json<Challenge>>,
    refunded: i64,
    refund_pending: i64,
    succeeded_at: Option<DateTime<Utc>>,
    receipt_number: Option<String>,
    return_attempts: i64,
    next_return_at: Option<DateTime<Utc>>,
}

impl PaymentParams {
    /// The parameters of a payment's record; refuses mixed currencies and
    /// amounts that do not fit (what [`Payment::restore`] would refuse to
    /// read back is refused by the schema's constraints).
    pub(crate) fn new(p: &Payment) -> Result<PaymentParams, StoreError> {
        let r: &PaymentRecord = p.record();
        let currency = r.total.currency();
        if [r.amount, r.fee, r.refunded, r.refund_pending]
            .iter()
            .any(|m| m.currency() != currency)
        {
            return Err(unwritable("a payment's amounts share one currency"));
        }
        Ok(PaymentParams {
            id: r.id,
            charge_id: r.charge_id,
            code: r.code.as_str().to_string(),
            service: r.service.clone(),
            currency: currency.code(),
            amount: minor(r.amount)?,
            fee: minor(r.fee)?,
            total: minor(r.total)?,
            state: r.state.as_str(),
            version: i64::try_from(r.version).map_err(|_| unwritable("version overflow"))?,
            created_at: r.created_at,
            updated_at: r.updated_at,
            expires_at: r.expires_at,
            terms_edition: r.terms_edition.clone(),
            language: r.language.tag(),
            start_key: r.start_key.clone(),
            submit_key: r.submit_key.clone(),
            card: r.card.clone().map(Json),
            contact: r.contact.clone().map(Json),
            acquirer: r.acquirer.clone(),
            acquirer_ref: r.acquirer_ref.clone(),
            approval: r.approval.clone().map(Json),
            decline_reason: r.decline_reason.map(|d| d.code()),
            failure: r.failure.clone(),
            challenge: r.challenge.clone().map(Json),
            refunded: minor(r.refunded)?,
            refund_pending: minor(r.refund_pending)?,
            succeeded_at: r.succeeded_at,
            receipt_number: r.receipt_number.clone(),
            return_attempts: i64::from(r.return_attempts),
            next_return_at: r.next_return_at,
        })
    }

    /// The version to store.
    pub(crate) fn version(&self) -> i64 {
        self.version
    }

    /// Binds `$1..$31`.
    pub(crate) fn bind<'q>(
        &'q self,
        q: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        q.bind(self.id)
            .bind(self.charge_id)
            .bind(&self.code)
            .bind(&self.service)
            .bind(self.currency)
            .bind(self.amount)
            .bind(self.fee)
            .bind(self.total)
            .bind(self.state)
            .bind(self.version)
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.expires_at)
            .bind(&self.terms_edition)
            .bind(self.language)
            .bind(&self.start_key)
            .bind(&self.submit_key)
            .bind(&self.card)
            .bind(&self.contact)
            .bind(&self.acquirer)
            .bind(&self.acquirer_ref)
            .bind(&self.approval)
            .bind(self.decline_reason)
            .bind(&self.failure)
            .bind(&self.challenge)
            .bind(self.refunded)
            .bind(self.refund_pending)
            .bind(self.succeeded_at)
            .bind(&self.receipt_number)
            .bind(self.return_attempts)
            .bind(self.next_return_at)
    }
}

/// A payment from a row selected with [`PAYMENT_COLUMNS`]: the row read
/// into a [`PaymentRecord`], then [`Payment::restore`]d (a record it
/// refuses is [`StoreError::Broken`]).
pub(crate) fn payment(row: &PgRow) -> Result<Payment, StoreError> {
    let cur = currency(row)?;
    let state: String = get(row, "state")?;
    let language: String = get(row, "language")?;
    let version: i64 = get(row, "version")?;
    let decline: Option<String> = get(row, "decline_reason")?;
    let card: Option<Json<CardSummary>> = get(row, "card")?;
    let contact: Option<Json<Contact>> = get(row, "contact")?;
    let approval: Option<Json<Approval>> = get(row, "approval")?;
    let challenge: Option<Json<Challenge>> = get(row, "challenge")?;
    let code: String = get(row, "code")?;
    let record = PaymentRecord {
        id: get(row, "id")?,
        charge_id: get(row, "charge_id")?,
        code: PaymentCode::from_trusted(code),
        service: get(row, "service")?,
        amount: money(row, "amount_minor", cur)?,
        fee: money(row, "fee_minor", cur)?,
        total: money(row, "total_minor", cur)?,
        state: PaymentState::parse(&state).ok_or_else(|| broken("payment state", &state))?,
        version: u64::try_from(version).map_err(|_| broken("version", version))?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        expires_at: get(row, "expires_at")?,
        terms_edition: get(row, "terms_edition")?,
        language: language
            .parse::<Language>()
            .map_err(|_| broken("language", &language))?,
        start_key: get(row, "start_key")?,
        submit_key: get(row, "submit_key")?,
        card: card.map(|j| j.0),
        contact: contact.map(|j| j.0),
        acquirer: get(row, "acquirer")?,
        acquirer_ref: get(row, "acquirer_ref")?,
        approval: approval.map(|j| j.0),
        decline_reason: match decline {
            None => None,
            Some(code) => Some(
                DeclineReason::from_code(&code).ok_or_else(|| broken("decline reason", code))?,
            ),
        },
        failure: get(row, "failure")?,
        challenge: challenge.map(|j| j.0),
        refunded: money(row, "refunded_minor", cur)?,
        refund_pending: money(row, "refund_pending_minor", cur)?,
        succeeded_at: get(row, "succeeded_at")?,
        receipt_number: get(row, "receipt_number")?,
        return_attempts: {
            let n: i64 = get(row, "return_attempts")?;
            u32::try_from(n).map_err(|_| broken("return attempts", n))?
        },
        next_return_at: get(row, "next_return_at")?,
    };
    Payment::restore(record).map_err(|e| StoreError::Broken(format!("stored {e}")))
}

// ---------------------------------------------------------------------------
// Charges
// ---------------------------------------------------------------------------

/// Columns of a charge.
pub(crate) const CHARGE_COLUMNS: &str = "id, code, service, urgency, payer_name, currency, \
    amount_minor, issued_at, expires_at, status, agency_ref";

/// A charge from a row selected with [`CHARGE_COLUMNS`].
pub(crate) fn charge(row: &PgRow) -> Result<Charge, StoreError> {
    let cur = currency(row)?;
    let status: String = get(row, "status")?;
    let code: String = get(row, "code")?;
    Ok(Charge {
        id: get(row, "id")?,
        code: PaymentCode::from_trusted(code),
        service: get(row, "service")?,
        urgency: get(row, "urgency")?,
        payer: Payer {
            full_name: get(row, "payer_name")?,
        },
        amount: money(row, "amount_minor", cur)?,
        issued_at: get(row, "issued_at")?,
        expires_at: get(row, "expires_at")?,
        status: charge_status(&status)?,
        agency_ref: get(row, "agency_ref")?,
    })
}

// ---------------------------------------------------------------------------
// Payments made elsewhere
// ---------------------------------------------------------------------------

/// Columns of a payment made elsewhere, in parameter order (`$1..$14`).
pub(crate) const EXTERNAL_COLUMNS: &str = "id, charge_id, code, service, channel, reference, \
    currency, amount_minor, paid_at, recorded_at, recorded_by, state, resolved_at, resolution";

/// A payment made elsewhere from a row selected with [`EXTERNAL_COLUMNS`].
pub(crate) fn external(row: &PgRow) -> Result<ExternalPayment, StoreError> {
    let cur = currency(row)?;
    let code: String = get(row, "code")?;
    let channel: String = get(row, "channel")?;
    let state: String = get(row, "state")?;
    Ok(ExternalPayment {
        id: get(row, "id")?,
        charge_id: get(row, "charge_id")?,
        code: PaymentCode::from_trusted(code),
        service: get(row, "service")?,
        channel: PaymentChannel::parse(&channel)
            .filter(PaymentChannel::is_external)
            .ok_or_else(|| broken("channel", &channel))?,
        reference: get(row, "reference")?,
        amount: money(row, "amount_minor", cur)?,
        paid_at: get(row, "paid_at")?,
        recorded_at: get(row, "recorded_at")?,
        recorded_by: get(row, "recorded_by")?,
        state: ExternalState::parse(&state).ok_or_else(|| broken("external state", &state))?,
        resolved_at: get(row, "resolved_at")?,
        resolution: get(row, "resolution")?,
    })
}

/// Binds a payment made elsewhere as fourteen parameters, in the order of
/// [`EXTERNAL_COLUMNS`].
pub(crate) fn bind_external<'q>(
    q: Query<'q, Postgres, PgArguments>,
    p: &'q ExternalPayment,
) -> Result<Query<'q, Postgres, PgArguments>, StoreError> {
    Ok(q.bind(p.id)
        .bind(p.charge_id)
        .bind(p.code.as_str())
        .bind(&p.service)
        .bind(p.channel.as_str())
        .bind(&p.reference)
        .bind(p.amount.currency().code())
        .bind(minor(p.amount)?)
        .bind(p.paid_at)
        .bind(p.recorded_at)
        .bind(&p.recorded_by)
        .bind(p.state.as_str())
        .bind(p.resolved_at)
        .bind(&p.resolution))
}

/// A stored charge status.
pub(crate) fn charge_status(s: &str) -> Result<ChargeStatus, StoreError> {
    ChargeStatus::parse(s).ok_or_else(|| broken("charge status", s))
}

// ---------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------

/// Columns of a refund.
pub(crate) const REFUND_COLUMNS: &str = "id, payment_id, currency, amount_minor, reason, state, \
    idempotency_key, created_at, updated_at, failure";

/// A refund from a row selected with [`REFUND_COLUMNS`].
pub(crate) fn refund(row: &PgRow) -> Result<Refund, StoreError> {
    let cur = currency(row)?;
    let state: String = get(row, "state")?;
    Ok(Refund {
        id: get(row, "id")?,
        payment_id: get(row, "payment_id")?,
        amount: money(row, "amount_minor", cur)?,
        reason: get(row, "reason")?,
        state: RefundState::parse(&state).ok_or_else(|| broken("refund state", &state))?,
        idempotency_key: get(row, "idempotency_key")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        failure: get(row, "failure")?,
    })
}

/// A refund's parameters (`$n..$n+9` of the payment update: id, payment,
/// currency, amount, reason, state, key, created, updated, failure).
pub(crate) struct RefundParams<'a> {
    refund: Option<(&'a Refund, i64)>,
}

impl<'a> RefundParams<'a> {
    /// The refund of an update, if any.
    pub(crate) fn new(refund: Option<&'a Refund>) -> Result<RefundParams<'a>, StoreError> {
        Ok(RefundParams {
            refund: match refund {
                Some(r) => Some((r, minor(r.amount)?)),
                None => None,
            },
        })
    }

    /// Binds the ten parameters (all `NULL` without a refund).
    pub(crate) fn bind<'q>(
        &'q self,
        q: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        let r = self.refund;
        q.bind(r.map(|(r, _)| r.id))
            .bind(r.map(|(r, _)| r.payment_id))
            .bind(r.map(|(r, _)| r.amount.currency().code()))
            .bind(r.map(|(_, minor)| minor))
            .bind(r.map(|(r, _)| r.reason.as_str()))
            .bind(r.map(|(r, _)| r.state.as_str()))
            .bind(r.map(|(r, _)| r.idempotency_key.as_str()))
            .bind(r.map(|(r, _)| r.created_at))
            .bind(r.map(|(r, _)| r.updated_at))
            .bind(r.and_then(|(r, _)| r.failure.as_deref()))
    }
}

// ---------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------

/// How an outbox payload is stored.
///
/// Not [`OutboxPayload`]'s own serde form: that one is internally tagged
/// with `type`, and [`AgencyEvent`] has a field renamed `type` too, so an
/// agency notice serializes with two `type` keys — JSONB keeps only the last
/// and `serde_json` refuses the duplicate. Here the event is nested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum StoredPayload {
    /// [`OutboxPayload::ReceiptEmail`].
    ReceiptEmail {
        payment_id: Uuid,
        to: Email,
        language: Language,
    },
    /// [`OutboxPayload::AgencyNotice`].
    AgencyNotice { event: AgencyEvent },
}

impl From<&OutboxPayload> for StoredPayload {
    fn from(p: &OutboxPayload) -> Self {
        match p {
            OutboxPayload::ReceiptEmail {
                payment_id,
                to,
                language,
            } => StoredPayload::ReceiptEmail {
                payment_id: *payment_id,
                to: to.clone(),
                language: *language,
            },
            OutboxPayload::AgencyNotice(event) => StoredPayload::AgencyNotice {
                event: event.clone(),
            },
        }
    }
}

impl From<StoredPayload> for OutboxPayload {
    fn from(p: StoredPayload) -> Self {
        match p {
            StoredPayload::ReceiptEmail {
                payment_id,
                to,
                language,
            } => OutboxPayload::ReceiptEmail {
                payment_id,
                to,
                language,
            },
            StoredPayload::AgencyNotice { event } => OutboxPayload::AgencyNotice(event),
        }
    }
}

/// Columns of an outbox message.
pub(crate) const OUTBOX_COLUMNS: &str = "id, created_at, payload, status, attempts, \
    next_attempt_at, lease_until, last_error, delivered_at";

/// An outbox message from a row selected with [`OUTBOX_COLUMNS`].
pub(crate) fn outbox(row: &PgRow) -> Result<OutboxMessage, StoreError> {
    let status: String = get(row, "status")?;
    let attempts: i32 = get(row, "attempts")?;
    let payload: Json<StoredPayload> = get(row, "payload")?;
    Ok(OutboxMessage {
        id: get(row, "id")?,
        created_at: get(row, "created_at")?,
        payload: payload.0.into(),
        status: OutboxStatus::parse(&status).ok_or_else(|| broken("outbox status", &status))?,
        attempts: u32::try_from(attempts).map_err(|_| broken("attempts", attempts))?,
        next_attempt_at: get(row, "next_attempt_at")?,
        lease_until: get(row, "lease_until")?,
        last_error: get(row, "last_error")?,
        delivered_at: get(row, "delivered_at")?,
    })
}

/// The CTE `o` that enqueues the messages bound at `$first..$first+9`
/// ([`OutboxArrays::bind`]), only when the CTE `p` wrote a row.
pub(crate) fn outbox_cte(first: usize) -> String {
    let [a, b, c, d, e, f, g, h, i, j] = std::array::from_fn(|k| first + k);
    format!(
        "o AS (INSERT INTO outbox (id, created_at, channel, payload, status, attempts, \
           next_attempt_at, lease_until, last_error, delivered_at) \
         SELECT id, created_at, channel, payload, status, attempts, next_attempt_at, \
           lease_until, last_error, delivered_at FROM unnest(${a}::uuid[], \
           ${b}::timestamptz[], ${c}::text[], ${d}::jsonb[], ${e}::text[], ${f}::int4[], \
           ${g}::timestamptz[], ${h}::timestamptz[], ${i}::text[], ${j}::timestamptz[]) \
         WITH ORDINALITY AS t(id, created_at, channel, payload, status, attempts, \
           next_attempt_at, lease_until, last_error, delivered_at, n) \
         WHERE EXISTS (SELECT 1 FROM p) ORDER BY n RETURNING 1)"
    )
}

/// Outbox messages as column arrays, for one
/// `INSERT ... SELECT FROM unnest(...)` ([`outbox_cte`]).
#[derive(Default)]
pub(crate) struct OutboxArrays {
    ids: Vec<Uuid>,
    created: Vec<DateTime<Utc>>,
    channels: Vec<&'static str>,
    payloads: Vec<Json<StoredPayload>>,
    statuses: Vec<&'static str>,
    attempts: Vec<i32>,
    next: Vec<DateTime<Utc>>,
    leases: Vec<Option<DateTime<Utc>>>,
    errors: Vec<Option<String>>,
    delivered: Vec<Option<DateTime<Utc>>>,
}

impl OutboxArrays {
    /// The messages' columns.
    pub(crate) fn new(messages: &[OutboxMessage]) -> Result<OutboxArrays, StoreError> {
        let mut a = OutboxArrays::default();
        for m in messages {
            a.ids.push(m.id);
            a.created.push(m.created_at);
            a.channels.push(match m.payload.channel() {
                Channel::Email => "email",
                Channel::Webhook => "webhook",
            });
            a.payloads.push(Json(StoredPayload::from(&m.payload)));
            a.statuses.push(m.status.as_str());
            a.attempts
                .push(i32::try_from(m.attempts).map_err(|_| unwritable("attempts overflow"))?);
            a.next.push(m.next_attempt_at);
            a.leases.push(m.lease_until);
            a.errors.push(m.last_error.clone());
            a.delivered.push(m.delivered_at);
        }
        Ok(a)
    }

    /// Binds the ten arrays, in the order of [`outbox_cte`].
    pub(crate) fn bind<'q>(
        &'q self,
        q: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        q.bind(&self.ids)
            .bind(&self.created)
            .bind(&self.channels)
            .bind(&self.payloads)
            .bind(&self.statuses)
            .bind(&self.attempts)
            .bind(&self.next)
            .bind(&self.leases)
            .bind(&self.errors)
            .bind(&self.delivered)
    }
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/// Columns of an event.
pub(crate) const EVENT_COLUMNS: &str = "id, at, charge_id, payment_id, kind, actor, data";

/// An event from a row selected with [`EVENT_COLUMNS`]; its kind is read by
/// its stable name (an unknown name is [`StoreError::Broken`]).
pub(crate) fn event(row: &PgRow) -> Result<Event, StoreError> {
    let data: Json<serde_json::Value> = get(row, "data")?;
    let kind: String = get(row, "kind")?;
    Ok(Event {
        id: get(row, "id")?,
        at: get(row, "at")?,
        charge_id: get(row, "charge_id")?,
        payment_id: get(row, "payment_id")?,
        kind: EventKind::parse(&kind).ok_or_else(|| broken("event kind", &kind))?,
        actor: get(row, "actor")?,
        data: data.0,
    })
}

/// The CTE `e` that appends the events bound at `$first..$first+6`
/// ([`EventArrays::bind`]) in order, only when the CTE `p` wrote a row.
pub(crate) fn events_cte(first: usize) -> String {
    let [a, b, c, d, e, f, g] = std::array::from_fn(|i| first + i);
    format!(
        "e AS (INSERT INTO events ({EVENT_COLUMNS}) \
         SELECT id, at, charge_id, payment_id, kind, actor, data FROM unnest(${a}::uuid[], \
         ${b}::timestamptz[], ${c}::uuid[], ${d}::uuid[], ${e}::text[], ${f}::text[], \
         ${g}::jsonb[]) WITH ORDINALITY AS t(id, at, charge_id, payment_id, kind, actor, data, n) \
         WHERE EXISTS (SELECT 1 FROM p) ORDER BY n RETURNING 1)"
    )
}

/// Events as column arrays, for one `INSERT ... SELECT FROM unnest(...)`
/// ([`events_cte`]).
#[derive(Default)]
pub(crate) struct EventArrays {
    ids: Vec<Uuid>,
    ats: Vec<DateTime<Utc>>,
    charges: Vec<Uuid>,
    payments: Vec<Option<Uuid>>,
    kinds: Vec<&'static str>,
    actors: Vec<String>,
    data: Vec<Json<serde_json::Value>>,
}

impl EventArrays {
    /// The events' columns.
    pub(crate) fn new(events: &[Event]) -> EventArrays {
        let mut a = EventArrays::default();
        for e in events {
            a.ids.push(e.id);
            a.ats.push(e.at);
            a.charges.push(e.charge_id);
            a.payments.push(e.payment_id);
            a.kinds.push(e.kind.as_str());
            a.actors.push(e.actor.clone());
            a.data.push(Json(e.data.clone()));
        }
        a
    }

    /// Binds the seven arrays, in the order of [`events_cte`].
    pub(crate) fn bind<'q>(
        &'q self,
        q: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        q.bind(&self.ids)
            .bind(&self.ats)
            .bind(&self.charges)
            .bind(&self.payments)
            .bind(&self.kinds)
            .bind(&self.actors)
            .bind(&self.data)
    }
}

/// Binds one event as seven parameters, in the order of [`EVENT_COLUMNS`].
pub(crate) fn bind_event<'q>(
    q: Query<'q, Postgres, PgArguments>,
    e: &'q Event,
) -> Query<'q, Postgres, PgArguments> {
    q.bind(e.id)
        .bind(e.at)
        .bind(e.charge_id)
        .bind(e.payment_id)
        .bind(e.kind.as_str())
        .bind(&e.actor)
        .bind(Json(&e.data))
}

// ---------------------------------------------------------------------------
// Agreement editions
// ---------------------------------------------------------------------------

/// Columns of an edition.
pub(crate) const TERMS_COLUMNS: &str =
    "id, published_at, effective_at, last_changed, text_ky, text_ru, text_en";

/// An edition from a row selected with [`TERMS_COLUMNS`].
pub(crate) fn terms(row: &PgRow) -> Result<TermsEdition, StoreError> {
    let last_changed: NaiveDate = get(row, "last_changed")?;
    Ok(TermsEdition {
        id: get(row, "id")?,
        published_at: get(row, "published_at")?,
        effective_at: get(row, "effective_at")?,
        last_changed,
        text_ky: get(row, "text_ky")?,
        text_ru: get(row, "text_ru")?,
        text_en: get(row, "text_en")?,
    })
}

// ---------------------------------------------------------------------------
// Audit log and tokens
// ---------------------------------------------------------------------------

/// Columns of an audit entry.
pub(crate) const AUDIT_COLUMNS: &str = "seq, at, actor, action, subject, data, prev_hash, hash";

/// An audit entry from a row selected with [`AUDIT_COLUMNS`].
pub(crate) fn audit(row: &PgRow) -> Result<AuditEntry, StoreError> {
    let seq: i64 = get(row, "seq")?;
    let data: Json<serde_json::Value> = get(row, "data")?;
    Ok(AuditEntry {
        seq: u64::try_from(seq).map_err(|e| broken("audit seq", e))?,
        at: get(row, "at")?,
        actor: get(row, "actor")?,
        action: get(row, "action")?,
        subject: get(row, "subject")?,
        data: data.0,
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

/// Columns of a kept checkpoint.
pub(crate) const CHECKPOINT_COLUMNS: &str = "size, head, at, text";

/// A kept checkpoint from a row selected with [`CHECKPOINT_COLUMNS`].
pub(crate) fn checkpoint(row: &PgRow) -> Result<StoredCheckpoint, StoreError> {
    let size: i64 = get(row, "size")?;
    Ok(StoredCheckpoint {
        size: u64::try_from(size).map_err(|e| broken("checkpoint size", e))?,
        head: get(row, "head")?,
        at: get(row, "at")?,
        text: get(row, "text")?,
    })
}

/// Columns of an admin token.
pub(crate) const TOKEN_COLUMNS: &str = "id, name, role, secret_hash, created_at, revoked_at";

/// A token from a row selected with [`TOKEN_COLUMNS`].
pub(crate) fn token(row: &PgRow) -> Result<ApiToken, StoreError> {
    let role: String = get(row, "role")?;
    Ok(ApiToken {
        id: get(row, "id")?,
        name: get(row, "name")?,
        role: Role::parse(&role).ok_or_else(|| broken("token role", &role))?,
        secret_hash: get(row, "secret_hash")?,
        created_at: get(row, "created_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tolom_core::outbox::AgencyEventKind;

    #[test]
    fn agency_notices_round_trip_through_json() {
        let payload = OutboxPayload::AgencyNotice(AgencyEvent {
            event_id: Uuid::from_u128(1),
            kind: AgencyEventKind::PaymentRefunded,
            occurred_at: DateTime::<Utc>::default(),
            code: "110000000017".into(),
            agency_ref: Some("AG".into()),
            service: "passport-2020".into(),
            payment_id: Uuid::from_u128(2),
            receipt_number: Some("20261125-0000000000".into()),
            amount: Money::som(885),
            refunded: Money::som(100),
            channel: tolom_core::external::PaymentChannel::Card,
        });
        let text = serde_json::to_string(&StoredPayload::from(&payload)).unwrap_or_default();
        let back: StoredPayload = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(OutboxPayload::from(back), payload);
        let mail = OutboxPayload::ReceiptEmail {
            payment_id: Uuid::from_u128(3),
            to: Email::from_stored("a@example.kg"),
            language: Language::Ru,
        };
        let text = serde_json::to_string(&StoredPayload::from(&mail)).unwrap_or_default();
        let back: StoredPayload = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(OutboxPayload::from(back), mail);
    }

    #[test]
    fn in_flight_states_as_stored() {
        let listed: Vec<String> = PaymentState::IN_FLIGHT
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(IN_FLIGHT_SQL, format!("({})", listed.join(", ")));
        assert!(include_str!("../migrations/0001_init.sql")
            .contains(&format!("WHERE state IN ({})", listed.join(", "))));
    }

    #[test]
    fn limits() {
        assert_eq!(limit_of(0), None);
        assert_eq!(limit_of(3), Some(3));
        assert_eq!(limit_of(usize::MAX), Some(i64::MAX));
    }
}
