//! Values as stored: instants as fixed-width UTC text, money as integer
//! minor units, small structures as JSON text, ids as hyphenated UUIDs.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use tolom_core::ports::StoreError;
use uuid::Uuid;

use tolom_core::money::{Currency, Money};

use crate::error::{corrupt, map};

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

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| corrupt("date", e))
}

pub(crate) fn id(u: Uuid) -> String {
    u.hyphenated().to_string()
}

pub(crate) fn parse_id(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| corrupt("id", e))
}

/// Integer minor units (tyiyn for KGS).
pub(crate) fn minor(m: Money) -> Result<i64, StoreError> {
    i64::try_from(m.to_minor_units())
        .map_err(|_| StoreError::Invariant(format!("amount {m} too large to store")))
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
        return Err(StoreError::Invariant(
            "amounts of one record in different currencies".into(),
        ));
    }
    Ok(first)
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invariant(format!("cannot encode: {e}")))
}

pub(crate) fn opt_json<T: Serialize>(v: &Option<T>) -> Result<Option<String>, StoreError> {
    v.as_ref().map(to_json).transpose()
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_are_fixed_width_sortable_and_exact() {
        let a = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let b = a + chrono::Duration::nanoseconds(1);
        assert_eq!(ts(a), "2026-11-25T12:00:00.000000000Z");
        assert_eq!(ts(a).len(), ts(b).len());
        assert!(ts(a) < ts(b));
        assert_eq!(parse_ts(&ts(b)).unwrap(), b);
    }

    #[test]
    fn money_is_integer_minor_units() {
        let m = Money::parse("510.50", Currency::KGS).unwrap();
        assert_eq!(minor(m).unwrap(), 51_050);
        assert_eq!(money(51_050, Currency::KGS).unwrap(), m);
        assert!(money(-1, Currency::KGS).is_err());
        assert!(same_currency(&[m, Money::som(1)]).is_ok());
    }
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
        language: tolom_core::i18n::Language,
    },
    AgencyNotice(tolom_core::outbox::AgencyEvent),
}

pub(crate) fn payload_json(p: &tolom_core::outbox::OutboxPayload) -> Result<String, StoreError> {
    use tolom_core::outbox::OutboxPayload;
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

pub(crate) fn payload_from(s: &str) -> Result<tolom_core::outbox::OutboxPayload, StoreError> {
    use tolom_core::outbox::OutboxPayload;
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
