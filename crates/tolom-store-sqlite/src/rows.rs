//! Rows ↔ domain values: instants as fixed-width UTC text, money as integer
//! minor units, small structures as JSON text, ids as hyphenated UUIDs,
//! enums by their stable names.
//!
//! Reading is strict: a row that does not decode, or does not restore into
//! a valid domain value ([`Payment::restore`], [`EventKind::parse`], ...),
//! is [`StoreError::Broken`] — it is not a row tolom wrote.

use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite};
use tolom_core::access::{ApiToken, Role};
use tolom_core::audit::AuditEntry;
use tolom_core::card::{CardSummary, MaskedPan};
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::PaymentCode;
use tolom_core::events::{Event, EventKind};
use tolom_core::external::{ExternalPayment, ExternalState, PaymentChannel};
use tolom_core::i18n::{ErrorCode, Language};
use tolom_core::money::{Currency, Money};
use tolom_core::outbox::{OutboxMessage, OutboxPayload, OutboxStatus};
use tolom_core::payment::{
    DeclineReason, Payment, PaymentRecord, PaymentState, Refund, RefundState,
};
use tolom_core::ports::{InvariantKind, StoreError, StoredCheckpoint};
use tolom_core::terms::TermsEdition;
use uuid::Uuid;

use crate::error::{corrupt, map};

/// A query with positional arguments.
pub(crate) type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/// `2026-11-25T12:00:00.000000000Z`: fixed width, so text order is time
/// order; nanoseconds kept, so an instant reads back exactly.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| corrupt("instant", e))
}

fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.map(|s| parse_ts(&s)).transpose()
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| corrupt("date", e))
}

/// An id as stored: lowercase hyphenated.
pub(crate) fn id(u: Uuid) -> String {
    u.hyphenated().to_string()
}

pub(crate) fn parse_id(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| corrupt("id", e))
}

/// Integer minor units (tyiyn for KGS).
pub(crate) fn minor(m: Money) -> Result<i64, StoreError> {
    i64::try_from(m.to_minor_units()).map_err(|_| {
        StoreError::invariant(
            InvariantKind::Constraint,
            format!("amount {m} too large to store"),
        )
    })
}

pub(crate) fn currency(code: &str) -> Result<Currency, StoreError> {
    Currency::from_code(code).ok_or_else(|| corrupt("currency", code))
}

pub(crate) fn money(minor: i64, currency: Currency) -> Result<Money, StoreError> {
    let units = u64::try_from(minor).map_err(|_| corrupt("amount", minor))?;
    Ok(Money::from_minor_units(units, currency))
}

/// Every amount of one record must share a currency (one column stores it).
pub(crate) fn same_currency(amounts: &[Money]) -> Result<Currency, StoreError> {
    let first = amounts
        .first()
        .map(|m| m.currency())
        .unwrap_or(Currency::KGS);
    if amounts.iter().any(|m| m.currency() != first) {
        return Err(StoreError::invariant(
            InvariantKind::Constraint,
            "amounts of one record in different currencies",
        ));
    }
    Ok(first)
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| {
        StoreError::invariant(InvariantKind::Constraint, format!("cannot encode: {e}"))
    })
}

pub(crate) fn opt_json<T: Serialize>(v: Option<&T>) -> Result<Option<String>, StoreError> {
    v.map(to_json).transpose()
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

fn opt_from_json<T: DeserializeOwned>(
    what: &str,
    s: Option<String>,
) -> Result<Option<T>, StoreError> {
    s.map(|s| from_json(what, &s)).transpose()
}

/// A `LIMIT` value: 0 means none (SQLite: a negative limit).
pub(crate) fn limit_of(limit: usize) -> i64 {
    if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

/// Typed column access with errors mapped.
pub(crate) trait Get {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
}

impl Get for SqliteRow {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.try_get::<String, _>(col).map_err(map)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.try_get::<Option<String>, _>(col).map_err(map)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.try_get::<i64, _>(col).map_err(map)
    }
}

// ---------------------------------------------------------------------------
// Charges
// ---------------------------------------------------------------------------

pub(crate) const CHARGE_COLUMNS: &str = "id, code, service, urgency, payer_name, currency, \
     amount_minor, issued_at, expires_at, status, agency_ref";

pub(crate) fn charge_from(row: &SqliteRow) -> Result<Charge, StoreError> {
    let status = row.text("status")?;
    Ok(Charge {
        id: parse_id(&row.text("id")?)?,
        code: PaymentCode::from_trusted(row.text("code")?),
        service: row.text("service")?,
        urgency: row.opt_text("urgency")?,
        payer: Payer {
            full_name: row.text("payer_name")?,
        },
        amount: money(row.int("amount_minor")?, currency(&row.text("currency")?)?)?,
        issued_at: parse_ts(&row.text("issued_at")?)?,
        expires_at: parse_ts(&row.text("expires_at")?)?,
        status: ChargeStatus::parse(&status).ok_or_else(|| corrupt("charge status", status))?,
        agency_ref: row.opt_text("agency_ref")?,
    })
}

// ---------------------------------------------------------------------------
// Payments made elsewhere
// ---------------------------------------------------------------------------

/// Columns of a payment made elsewhere, in binding order (`?1` … `?14`).
pub(crate) const EXTERNAL_COLUMNS: &str = "id, charge_id, code, service, channel, reference, \
     currency, amount_minor, paid_at, recorded_at, recorded_by, state, resolved_at, resolution";

/// A payment made elsewhere from a row selected with [`EXTERNAL_COLUMNS`].
pub(crate) fn external_from(row: &SqliteRow) -> Result<ExternalPayment, StoreError> {
    let channel = row.text("channel")?;
    let state = row.text("state")?;
    Ok(ExternalPayment {
        id: parse_id(&row.text("id")?)?,
        charge_id: parse_id(&row.text("charge_id")?)?,
        code: PaymentCode::from_trusted(row.text("code")?),
        service: row.text("service")?,
        channel: PaymentChannel::parse(&channel)
            .filter(PaymentChannel::is_external)
            .ok_or_else(|| corrupt("channel", channel))?,
        reference: row.text("reference")?,
        amount: money(row.int("amount_minor")?, currency(&row.text("currency")?)?)?,
        paid_at: parse_ts(&row.text("paid_at")?)?,
        recorded_at: parse_ts(&row.text("recorded_at")?)?,
        recorded_by: row.text("recorded_by")?,
        state: ExternalState::parse(&state).ok_or_else(|| corrupt("external state", state))?,
        resolved_at: opt_ts(row.opt_text("resolved_at")?)?,
        resolution: row.opt_text("resolution")?,
    })
}

/// Binds a payment made elsewhere as `?1` … `?14`, in the order of
/// [`EXTERNAL_COLUMNS`].
pub(crate) fn bind_external<'q>(
    q: SqliteQuery<'q>,
    p: &ExternalPayment,
) -> Result<SqliteQuery<'q>, StoreError> {
    Ok(q.bind(id(p.id))
        .bind(id(p.charge_id))
        .bind(p.code.as_str().to_string())
        .bind(p.service.clone())
        .bind(p.channel.as_str())
        .bind(p.reference.clone())
        .bind(p.amount.currency().code())
        .bind(minor(p.amount)?)
        .bind(ts(p.paid_at))
        .bind(ts(p.recorded_at))
        .bind(p.recorded_by.clone())
        .bind(p.state.as_str())
        .bind(p.resolved_at.map(ts))
        .bind(p.resolution.clone()))
}

// ---------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------

/// The in-flight states ([`PaymentState::IN_FLIGHT`]), as stored, for
/// `state IN ...`.
pub(crate) const IN_FLIGHT_SQL: &str = "('created', 'authorizing', 'action_required', 'unknown')";

/// Payment columns in binding order (`?1` … `?31`).
const PAYMENT_FIELDS: [&str; 31] = [
    "id",
    "charge_id",
    "code",
    "service",
    "currency",
    "amount_minor",
    "fee_minor",
    "total_minor",
    "state",
    "version",
    "created_at",
    "updated_at",
    "expires_at",
    "terms_edition",
    "language",
    "start_key",
    "submit_key",
    "card",
    "contact",
    "acquirer",
    "acquirer_ref",
    "approval",
    "decline_reason",
    "failure",
    "challenge",
    "refunded_minor",
    "refund_pending_minor",
    "succeeded_at",
    "receipt_number",
    "return_attempts",
    "next_return_at",
];

/// The parameters of [`INSERT_PAYMENT`] (31).
pub(crate) const PAYMENT_PARAMS: usize = PAYMENT_FIELDS.len();

/// Every payment column, for `SELECT`.
pub(crate) static PAYMENT_COLUMNS: LazyLock<String> = LazyLock::new(|| PAYMENT_FIELDS.join(", "));

/// `INSERT INTO payments (...) VALUES (?, ..., ?)`: unnumbered parameters,
/// bound in column order, so that it can go first in a call of several
/// statements.
pub(crate) static INSERT_PAYMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO payments ({}) VALUES ({})",
        PAYMENT_FIELDS.join(", "),
        vec!["?"; PAYMENT_FIELDS.len()].join(", ")
    )
});

/// Every column but `id` is set (so that the schema's triggers see an
/// attempt to change a fixed one); `?32` is the expected stored version.
pub(crate) static UPDATE_PAYMENT: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = PAYMENT_FIELDS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    format!(
        "UPDATE payments SET {} WHERE id = ?1 AND version = ?{}",
        sets.join(", "),
        PAYMENT_FIELDS.len() + 1
    )
});

/// A payment's [`PaymentRecord`] as column values, in
/// [`PAYMENT_FIELDS`] order.
pub(crate) struct PaymentRow {
    pub(crate) id: String,
    pub(crate) charge_id: String,
    code: String,
    service: String,
    currency: &'static str,
    amount: i64,
    fee: i64,
    total: i64,
    state: &'static str,
    version: i64,
    created_at: String,
    updated_at: String,
    expires_at: String,
    terms_edition: String,
    language: &'static str,
    pub(crate) start_key: String,
    submit_key: Option<String>,
    card: Option<String>,
    contact: Option<String>,
    acquirer: Option<String>,
    acquirer_ref: Option<String>,
    approval: Option<String>,
    decline_reason: Option<&'static str>,
    failure: Option<String>,
    challenge: Option<String>,
    refunded: i64,
    refund_pending: i64,
    succeeded_at: Option<String>,
    receipt_number: Option<String>,
    return_attempts: i64,
    next_return_at: Option<String>,
}

impl PaymentRow {
    /// The columns of `p`'s record.
    pub(crate) fn encode(p: &Payment) -> Result<PaymentRow, StoreError> {
        let r: &PaymentRecord = p.record();
        let currency = same_currency(&[r.amount, r.fee, r.total, r.refunded, r.refund_pending])?;
        Ok(PaymentRow {
            id: id(r.id),
            charge_id: id(r.charge_id),
            code: r.code.as_str().to_string(),
            service: r.service.clone(),
            currency: currency.code(),
            amount: minor(r.amount)?,
            fee: minor(r.fee)?,
            total: minor(r.total)?,
            state: r.state.as_str(),
            version: i64::try_from(r.version).map_err(|_| {
                StoreError::invariant(InvariantKind::Constraint, "version out of range")
            })?,
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
            expires_at: ts(r.expires_at),
            terms_edition: r.terms_edition.clone(),
            language: r.language.tag(),
            start_key: r.start_key.clone(),
            submit_key: r.submit_key.clone(),
            card: opt_json(r.card.as_ref())?,
            contact: opt_json(r.contact.as_ref())?,
            acquirer: r.acquirer.clone(),
            acquirer_ref: r.acquirer_ref.clone(),
            approval: opt_json(r.approval.as_ref())?,
            decline_reason: r.decline_reason.map(|d| d.code()),
            failure: r.failure.clone(),
            challenge: opt_json(r.challenge.as_ref())?,
            refunded: minor(r.refunded)?,
            refund_pending: minor(r.refund_pending)?,
            succeeded_at: r.succeeded_at.map(ts),
            receipt_number: r.receipt_number.clone(),
            return_attempts: i64::from(r.return_attempts),
            next_return_at: r.next_return_at.map(ts),
        })
    }

    /// Binds every column, `?1` … `?31`.
    pub(crate) fn bind<'q>(self, q: SqliteQuery<'q>) -> SqliteQuery<'q> {
        q.bind(self.id)
            .bind(self.charge_id)
            .bind(self.code)
            .bind(self.service)
            .bind(self.currency)
            .bind(self.amount)
            .bind(self.fee)
            .bind(self.total)
            .bind(self.state)
            .bind(self.version)
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.expires_at)
            .bind(self.terms_edition)
            .bind(self.language)
            .bind(self.start_key)
            .bind(self.submit_key)
            .bind(self.card)
            .bind(self.contact)
            .bind(self.acquirer)
            .bind(self.acquirer_ref)
            .bind(self.approval)
            .bind(self.decline_reason)
            .bind(self.failure)
            .bind(self.challenge)
            .bind(self.refunded)
            .bind(self.refund_pending)
            .bind(self.succeeded_at)
            .bind(self.receipt_number)
            .bind(self.return_attempts)
            .bind(self.next_return_at)
    }
}

/// A stored payment: its columns read into a [`PaymentRecord`], restored
/// with [`Payment::restore`] (which checks what every payment tolom writes
/// satisfies). A row that does not restore is [`StoreError::Broken`].
pub(crate) fn payment_from(row: &SqliteRow) -> Result<Payment, StoreError> {
    let cur = currency(&row.text("currency")?)?;
    let state = row.text("state")?;
    let language = row.text("language")?;
    let version = row.int("version")?;
    let card: Option<CardSummary> = opt_from_json("card summary", row.opt_text("card")?)?;
    // Defence in depth: never hand out a stored value that shows a PAN.
    if let Some(c) = &card {
        if MaskedPan::from_stored(c.masked_pan.as_str()).is_none() {
            return Err(corrupt("card summary", "not masked"));
        }
    }
    let record = PaymentRecord {
        id: parse_id(&row.text("id")?)?,
        charge_id: parse_id(&row.text("charge_id")?)?,
        code: PaymentCode::from_trusted(row.text("code")?),
        service: row.text("service")?,
        amount: money(row.int("amount_minor")?, cur)?,
        fee: money(row.int("fee_minor")?, cur)?,
        total: money(row.int("total_minor")?, cur)?,
        state: PaymentState::parse(&state).ok_or_else(|| corrupt("payment state", &state))?,
        version: u64::try_from(version).map_err(|_| corrupt("version", version))?,
        created_at: parse_ts(&row.text("created_at")?)?,
        updated_at: parse_ts(&row.text("updated_at")?)?,
        expires_at: parse_ts(&row.text("expires_at")?)?,
        terms_edition: row.text("terms_edition")?,
        language: Language::from_str(&language).map_err(|e| corrupt("language", e))?,
        start_key: row.text("start_key")?,
        submit_key: row.opt_text("submit_key")?,
        card,
        contact: opt_from_json("contact", row.opt_text("contact")?)?,
        acquirer: row.opt_text("acquirer")?,
        acquirer_ref: row.opt_text("acquirer_ref")?,
        approval: opt_from_json("approval", row.opt_text("approval")?)?,
        decline_reason: row
            .opt_text("decline_reason")?
            .map(|s| DeclineReason::from_code(&s).ok_or_else(|| corrupt("decline reason", s)))
            .transpose()?,
        failure: row.opt_text("failure")?,
        challenge: opt_from_json("challenge", row.opt_text("challenge")?)?,
        refunded: money(row.int("refunded_minor")?, cur)?,
        refund_pending: money(row.int("refund_pending_minor")?, cur)?,
        succeeded_at: opt_ts(row.opt_text("succeeded_at")?)?,
        receipt_number: row.opt_text("receipt_number")?,
        return_attempts: {
            let n = row.int("return_attempts")?;
            u32::try_from(n).map_err(|_| corrupt("return attempts", n))?
        },
        next_return_at: opt_ts(row.opt_text("next_return_at")?)?,
    };
    Payment::restore(record).map_err(|e| StoreError::Broken(format!("stored {e}")))
}

// ---------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------

pub(crate) const REFUND_COLUMNS: &str = "id, payment_id, currency, amount_minor, reason, state, \
     idempotency_key, created_at, updated_at, failure";

pub(crate) fn refund_from(row: &SqliteRow) -> Result<Refund, StoreError> {
    let state = row.text("state")?;
    Ok(Refund {
        id: parse_id(&row.text("id")?)?,
        payment_id: parse_id(&row.text("payment_id")?)?,
        amount: money(row.int("amount_minor")?, currency(&row.text("currency")?)?)?,
        reason: row.text("reason")?,
        state: RefundState::parse(&state).ok_or_else(|| corrupt("refund state", state))?,
        idempotency_key: row.text("idempotency_key")?,
        created_at: parse_ts(&row.text("created_at")?)?,
        updated_at: parse_ts(&row.text("updated_at")?)?,
        failure: row.opt_text("failure")?,
    })
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

pub(crate) const EVENT_COLUMNS: &str = "id, at, charge_id, payment_id, kind, actor, data";

/// A stored event; its kind by stable name ([`EventKind::parse`]): an
/// unknown name is [`StoreError::Broken`].
pub(crate) fn event_from(row: &SqliteRow) -> Result<Event, StoreError> {
    let kind = row.text("kind")?;
    Ok(Event {
        id: parse_id(&row.text("id")?)?,
        at: parse_ts(&row.text("at")?)?,
        charge_id: parse_id(&row.text("charge_id")?)?,
        payment_id: row
            .opt_text("payment_id")?
            .map(|s| parse_id(&s))
            .transpose()?,
        kind: EventKind::parse(&kind).ok_or_else(|| corrupt("event kind", &kind))?,
        actor: row.text("actor")?,
        data: from_json("event data", &row.text("data")?)?,
    })
}

// ---------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------

pub(crate) const OUTBOX_COLUMNS: &str = "seq, id, created_at, payload, status, attempts, \
     next_attempt_at, lease_until, last_error, delivered_at";

pub(crate) fn outbox_from(row: &SqliteRow) -> Result<OutboxMessage, StoreError> {
    let status = row.text("status")?;
    let attempts = row.int("attempts")?;
    Ok(OutboxMessage {
        id: parse_id(&row.text("id")?)?,
        created_at: parse_ts(&row.text("created_at")?)?,
        payload: payload_from(&row.text("payload")?)?,
        status: OutboxStatus::parse(&status).ok_or_else(|| corrupt("outbox status", status))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts", attempts))?,
        next_attempt_at: parse_ts(&row.text("next_attempt_at")?)?,
        lease_until: opt_ts(row.opt_text("lease_until")?)?,
        last_error: row.opt_text("last_error")?,
        delivered_at: opt_ts(row.opt_text("delivered_at")?)?,
    })
}

/// The stored form of an outbox payload.
///
/// `OutboxPayload` is internally tagged with `type`, and its
/// `AgencyNotice(AgencyEvent)` variant carries a field also serialized as
/// `type`, so `serde_json` writes a JSON object with two `type` keys that it
/// cannot read back. The store therefore keeps its own adjacently tagged
/// form: `{"kind": "agency_notice", "data": {...}}`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
enum StoredPayload {
    ReceiptEmail {
        payment_id: Uuid,
        to: tolom_core::card::Email,
        language: Language,
    },
    AgencyNotice(tolom_core::outbox::AgencyEvent),
}

pub(crate) fn payload_json(p: &OutboxPayload) -> Result<String, StoreError> {
    let stored = match p.clone() {
        OutboxPayload::ReceiptEmail {
            payment_id,
            to,
            language,
        } => StoredPayload::ReceiptEmail {
            payment_id,
            to,
            language,
        },
        OutboxPayload::AgencyNotice(event) => StoredPayload::AgencyNotice(event),
    };
    to_json(&stored)
}

pub(crate) fn payload_from(s: &str) -> Result<OutboxPayload, StoreError> {
    Ok(match from_json::<StoredPayload>("outbox payload", s)? {
        StoredPayload::ReceiptEmail {
            payment_id,
            to,
            language,
        } => OutboxPayload::ReceiptEmail {
            payment_id,
            to,
            language,
        },
        StoredPayload::AgencyNotice(event) => OutboxPayload::AgencyNotice(event),
    })
}

// ---------------------------------------------------------------------------
// Agreement editions
// ---------------------------------------------------------------------------

pub(crate) const TERMS_COLUMNS: &str =
    "id, published_at, effective_at, last_changed, text_ky, text_ru, text_en";

pub(crate) fn terms_from(row: &SqliteRow) -> Result<TermsEdition, StoreError> {
    Ok(TermsEdition {
        id: row.text("id")?,
        published_at: parse_ts(&row.text("published_at")?)?,
        effective_at: parse_ts(&row.text("effective_at")?)?,
        last_changed: parse_date(&row.text("last_changed")?)?,
        text_ky: row.text("text_ky")?,
        text_ru: row.text("text_ru")?,
        text_en: row.text("text_en")?,
    })
}

// ---------------------------------------------------------------------------
// Audit log and tokens
// ---------------------------------------------------------------------------

pub(crate) const AUDIT_COLUMNS: &str = "seq, at, actor, action, subject, data, prev_hash, hash";

/// A kept checkpoint (`size, head, at, text`).
pub(crate) fn checkpoint_from(row: &SqliteRow) -> Result<StoredCheckpoint, StoreError> {
    let size = row.int("size")?;
    Ok(StoredCheckpoint {
        size: u64::try_from(size).map_err(|_| corrupt("checkpoint size", size))?,
        head: row.text("head")?,
        at: parse_ts(&row.text("at")?)?,
        text: row.text("text")?,
    })
}

pub(crate) fn audit_from(row: &SqliteRow) -> Result<AuditEntry, StoreError> {
    let seq = row.int("seq")?;
    Ok(AuditEntry {
        seq: u64::try_from(seq).map_err(|_| corrupt("audit seq", seq))?,
        at: parse_ts(&row.text("at")?)?,
        actor: row.text("actor")?,
        action: row.text("action")?,
        subject: row.text("subject")?,
        data: from_json("audit data", &row.text("data")?)?,
        prev_hash: row.text("prev_hash")?,
        hash: row.text("hash")?,
    })
}

pub(crate) const TOKEN_COLUMNS: &str = "id, name, role, secret_hash, created_at, revoked_at";

pub(crate) fn token_from(row: &SqliteRow) -> Result<ApiToken, StoreError> {
    let role = row.text("role")?;
    Ok(ApiToken {
        id: parse_id(&row.text("id")?)?,
        name: row.text("name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("token role", role))?,
        secret_hash: row.text("secret_hash")?,
        created_at: parse_ts(&row.text("created_at")?)?,
        revoked_at: opt_ts(row.opt_text("revoked_at")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_are_fixed_width_sortable_and_exact() {
        let a = Utc
            .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let b = a + chrono::Duration::nanoseconds(1);
        assert_eq!(ts(a), "2026-11-25T12:00:00.000000000Z");
        assert_eq!(ts(a).len(), ts(b).len());
        assert!(ts(a) < ts(b));
        assert_eq!(parse_ts(&ts(b)), Ok(b));
    }

    #[test]
    fn money_is_integer_minor_units() {
        let m = Money::parse("510.50", Currency::KGS).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(minor(m), Ok(51_050));
        assert_eq!(money(51_050, Currency::KGS), Ok(m));
        assert!(matches!(
            money(-1, Currency::KGS),
            Err(StoreError::Broken(_))
        ));
        assert!(same_currency(&[m, Money::som(1)]).is_ok());
    }

    #[test]
    fn unreadable_values_are_broken_not_temporary() {
        for e in [
            parse_ts("yesterday").err(),
            parse_id("not-a-uuid").err(),
            currency("XXX").err(),
            from_json::<CardSummary>("card", "{").err(),
        ] {
            let e = e.unwrap_or_else(|| panic!("refused"));
            assert!(matches!(e, StoreError::Broken(_)), "{e:?}");
            assert!(!e.is_temporary());
        }
    }
}
