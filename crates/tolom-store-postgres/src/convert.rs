//! Domain values to SQL parameters and rows back to domain values.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;
use tolom_core::card::{CardSummary, Contact, Email};
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::PaymentCode;
use tolom_core::i18n::{ErrorCode, Language};
use tolom_core::money::{Currency, Money};
use tolom_core::events::Event;
use tolom_core::outbox::{AgencyEvent, OutboxMessage, OutboxPayload, OutboxStatus};
use tolom_core::payment::{
    Approval, Challenge, DeclineReason, Payment, PaymentState, Refund, RefundState,
};
use tolom_core::ports::StoreError;
use tolom_core::terms::TermsEdition;
use uuid::Uuid;

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Invariant(format!("stored {what} cannot be read: {detail}"))
}

fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(|e| corrupt(col, e))
}

/// Minor units as stored (`bigint`).
pub(crate) fn minor(m: Money) -> Result<i64, StoreError> {
    i64::try_from(m.to_minor_units())
        .map_err(|_| StoreError::Invariant(format!("amount {m} does not fit in a bigint")))
}

fn money(row: &PgRow, col: &str, currency: Currency) -> Result<Money, StoreError> {
    let v: i64 = get(row, col)?;
    let v = u64::try_from(v).map_err(|_| corrupt(col, "negative amount"))?;
    Ok(Money::from_minor_units(v, currency))
}

fn currency(row: &PgRow) -> Result<Currency, StoreError> {
    let code: String = get(row, "currency")?;
    Currency::from_code(&code).ok_or_else(|| corrupt("currency", code))
}

/// Everything bound for a payment row, in parameter order `$1..$29`
/// (see [`PAYMENT_INSERT`] and [`PAYMENT_UPDATE`]).
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
}

/// Columns of a payment, in parameter order.
pub(crate) const PAYMENT_COLUMNS: &str = "id, charge_id, code, service, currency, amount_minor, \
    fee_minor, total_minor, state, version, created_at, updated_at, expires_at, terms_edition, \
    language, start_key, submit_key, card, contact, acquirer, acquirer_ref, approval, \
    decline_reason, failure, challenge, refunded_minor, refund_pending_minor, succeeded_at, \
    receipt_number";

/// Inserts a payment (`$1..$29`).
pub(crate) const PAYMENT_INSERT: &str = "INSERT INTO payments (id, charge_id, code, service, \
    currency, amount_minor, fee_minor, total_minor, state, version, created_at, updated_at, \
    expires_at, terms_edition, language, start_key, submit_key, card, contact, acquirer, \
    acquirer_ref, approval, decline_reason, failure, challenge, refunded_minor, \
    refund_pending_minor, succeeded_at, receipt_number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
    $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, \
    $28, $29)";

/// Compare-and-set update of a payment (`$1..$29`, expected stored version
/// `$30`). The fixed fields are written too, so that the trigger
/// `payments_fixed_fields` refuses a change of them.
pub(crate) const PAYMENT_UPDATE: &str = "UPDATE payments SET charge_id = $2, code = $3, \
    service = $4, currency = $5, amount_minor = $6, fee_minor = $7, total_minor = $8, \
    state = $9, version = $10, created_at = $11, updated_at = $12, expires_at = $13, \
    terms_edition = $14, language = $15, start_key = $16, submit_key = $17, card = $18, \
    contact = $19, acquirer = $20, acquirer_ref = $21, approval = $22, decline_reason = $23, \
    failure = $24, challenge = $25, refunded_minor = $26, refund_pending_minor = $27, \
    succeeded_at = $28, receipt_number = $29 WHERE id = $1 AND version = $30";

impl PaymentParams {
    /// The parameters of a payment; refuses mixed currencies and amounts
    /// that do not fit.
    pub(crate) fn new(p: &Payment) -> Result<PaymentParams, StoreError> {
        let currency = p.total().currency();
        for m in [p.amount(), p.fee(), p.refunded(), p.refund_pending()] {
            if m.currency() != currency {
                return Err(StoreError::Invariant(
                    "a payment's amounts share one currency".into(),
                ));
            }
        }
        Ok(PaymentParams {
            id: p.id(),
            charge_id: p.charge_id(),
            code: p.code().as_str().to_string(),
            service: p.service().clone(),
            currency: currency.code(),
            amount: minor(p.amount())?,
            fee: minor(p.fee())?,
            total: minor(p.total())?,
            state: p.state().as_str(),
            version: i64::try_from(p.version())
                .map_err(|_| StoreError::Invariant("version overflow".into()))?,
            created_at: p.created_at(),
            updated_at: p.updated_at(),
            expires_at: p.expires_at(),
            terms_edition: p.terms_edition().clone(),
            language: p.language().tag(),
            start_key: p.start_key().clone(),
            submit_key: p.submit_key().map(str::to_string),
            card: p.card().cloned().map(Json),
            contact: p.contact().cloned().map(Json),
            acquirer: p.acquirer().map(str::to_string),
            acquirer_ref: p.acquirer_ref().map(str::to_string),
            approval: p.approval().cloned().map(Json),
            decline_reason: p.decline_reason().map(|r| r.code()),
            failure: p.failure().map(str::to_string),
            challenge: p.challenge().cloned().map(Json),
            refunded: minor(p.refunded())?,
            refund_pending: minor(p.refund_pending())?,
            succeeded_at: p.succeeded_at(),
            receipt_number: p.receipt_number().map(str::to_string),
        })
    }

    /// The stored version.
    pub(crate) fn version(&self) -> i64 {
        self.version
    }

    /// Binds `$1..$29`.
    pub(crate) fn bind<'q>(
        &'q self,
        q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
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
    }
}

/// A payment from a row selected with [`PAYMENT_COLUMNS`].
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
    Ok(Payment {
        id: get(row, "id")?,
        charge_id: get(row, "charge_id")?,
        code: PaymentCode::from_trusted(code),
        service: get(row, "service")?,
        amount: money(row, "amount_minor", cur)?,
        fee: money(row, "fee_minor", cur)?,
        total: money(row, "total_minor", cur)?,
        state: PaymentState::parse(&state).ok_or_else(|| corrupt("payment state", &state))?,
        version: u64::try_from(version).map_err(|_| corrupt("version", version))?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        expires_at: get(row, "expires_at")?,
        terms_edition: get(row, "terms_edition")?,
        language: language
            .parse::<Language>()
            .map_err(|_| corrupt("language", &language))?,
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
                DeclineReason::from_code(&code).ok_or_else(|| corrupt("decline reason", code))?,
            ),
        },
        failure: get(row, "failure")?,
        challenge: challenge.map(|j| j.0),
        refunded: money(row, "refunded_minor", cur)?,
        refund_pending: money(row, "refund_pending_minor", cur)?,
        succeeded_at: get(row, "succeeded_at")?,
        receipt_number: get(row, "receipt_number")?,
    })
}

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
        status: parse_charge_status(&status)?,
        agency_ref: get(row, "agency_ref")?,
    })
}

/// A stored charge status.
pub(crate) fn parse_charge_status(s: &str) -> Result<ChargeStatus, StoreError> {
    ChargeStatus::parse(s).ok_or_else(|| corrupt("charge status", s))
}

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
        state: RefundState::parse(&state).ok_or_else(|| corrupt("refund state", &state))?,
        idempotency_key: get(row, "idempotency_key")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        failure: get(row, "failure")?,
    })
}

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
        status: OutboxStatus::parse(&status).ok_or_else(|| corrupt("outbox status", &status))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts", attempts))?,
        next_attempt_at: get(row, "next_attempt_at")?,
        lease_until: get(row, "lease_until")?,
        last_error: get(row, "last_error")?,
        delivered_at: get(row, "delivered_at")?,
    })
}

/// Columns of an event.
pub(crate) const EVENT_COLUMNS: &str = "id, at, charge_id, payment_id, kind, data";

/// An event from a row selected with [`EVENT_COLUMNS`].
pub(crate) fn event(row: &PgRow) -> Result<Event, StoreError> {
    let data: Json<serde_json::Value> = get(row, "data")?;
    Ok(Event {
        id: get(row, "id")?,
        at: get(row, "at")?,
        charge_id: get(row, "charge_id")?,
        payment_id: get(row, "payment_id")?,
        kind: get(row, "kind")?,
        data: data.0,
    })
}

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

/// Events as column arrays, for one `INSERT ... SELECT FROM unnest(...)`.
#[derive(Default)]
pub(crate) struct EventArrays {
    pub(crate) ids: Vec<Uuid>,
    pub(crate) ats: Vec<DateTime<Utc>>,
    pub(crate) charges: Vec<Uuid>,
    pub(crate) payments: Vec<Option<Uuid>>,
    pub(crate) kinds: Vec<String>,
    pub(crate) data: Vec<Json<serde_json::Value>>,
}

impl EventArrays {
    pub(crate) fn new(events: &[Event]) -> EventArrays {
        let mut a = EventArrays::default();
        for e in events {
            a.ids.push(e.id);
            a.ats.push(e.at);
            a.charges.push(e.charge_id);
            a.payments.push(e.payment_id);
            a.kinds.push(e.kind.clone());
            a.data.push(Json(e.data.clone()));
        }
        a
    }
}

/// Outbox messages as column arrays.
#[derive(Default)]
pub(crate) struct OutboxArrays {
    pub(crate) ids: Vec<Uuid>,
    pub(crate) created: Vec<DateTime<Utc>>,
    pub(crate) channels: Vec<&'static str>,
    pub(crate) payloads: Vec<Json<StoredPayload>>,
    pub(crate) statuses: Vec<&'static str>,
    pub(crate) attempts: Vec<i32>,
    pub(crate) next: Vec<DateTime<Utc>>,
    pub(crate) leases: Vec<Option<DateTime<Utc>>>,
    pub(crate) errors: Vec<Option<String>>,
    pub(crate) delivered: Vec<Option<DateTime<Utc>>>,
}

impl OutboxArrays {
    pub(crate) fn new(messages: &[OutboxMessage]) -> Result<OutboxArrays, StoreError> {
        let mut a = OutboxArrays::default();
        for m in messages {
            a.ids.push(m.id);
            a.created.push(m.created_at);
            a.channels.push(match m.payload.channel() {
                tolom_core::outbox::Channel::Email => "email",
                tolom_core::outbox::Channel::Webhook => "webhook",
            });
            a.payloads.push(Json(StoredPayload::from(&m.payload)));
            a.statuses.push(m.status.as_str());
            a.attempts.push(
                i32::try_from(m.attempts)
                    .map_err(|_| StoreError::Invariant("attempts overflow".into()))?,
            );
            a.next.push(m.next_attempt_at);
            a.leases.push(m.lease_until);
            a.errors.push(m.last_error.clone());
            a.delivered.push(m.delivered_at);
        }
        Ok(a)
    }
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
}
