//! Exact money: `rust_decimal` amounts tagged with a currency.
//!
//! No floats anywhere. Amounts are converted to integer minor units only at
//! the acquirer boundary ([`Money::to_minor_units`]).

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    numeric: u16,
    minor_units: u8,
}

impl Currency {
    /// Kyrgyz som: ISO 4217 numeric 417, two minor units (tyiyn).
    pub const KGS: Currency = Currency {
        code: "KGS",
        numeric: 417,
        minor_units: 2,
    };

    /// The alphabetic code, e.g. `KGS`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The numeric code, e.g. `417`.
    pub fn numeric(&self) -> u16 {
        self.numeric
    }

    /// Number of minor units (2 for KGS).
    pub fn minor_units(&self) -> u8 {
        self.minor_units
    }

    /// Looks a currency up by its alphabetic code.
    pub fn from_code(code: &str) -> Option<Currency> {
        match code {
            "KGS" => Some(Currency::KGS),
            _ => None,
        }
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown currency {code}")))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// Why a money operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The two amounts are in different currencies.
    #[error("currency mismatch: {0} vs {1}")]
    CurrencyMismatch(Currency, Currency),
    /// The amount has more decimal places than the currency allows.
    #[error("amount {0} has more than {1} decimal places")]
    TooPrecise(Decimal, u8),
    /// The amount is negative.
    #[error("amount is negative")]
    Negative,
    /// The result does not fit.
    #[error("amount overflow")]
    Overflow,
}

/// An exact, non-negative amount of money in one currency.
///
/// ```
/// use tolom_core::money::{Currency, Money};
/// let fee = Money::from_minor_units(51_000, Currency::KGS);
/// assert_eq!(fee.to_string(), "510.00 KGS");
/// assert_eq!(fee.to_minor_units(), 51_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Builds an amount, refusing negative values and values finer than the
    /// currency's minor unit.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(MoneyError::Negative);
        }
        let normalized = amount.normalize();
        if normalized.scale() > u32::from(currency.minor_units) {
            return Err(MoneyError::TooPrecise(amount, currency.minor_units));
        }
        let mut amount = normalized;
        amount.rescale(u32::from(currency.minor_units));
        Ok(Money { amount, currency })
    }

    /// Zero in the given currency.
    pub fn zero(currency: Currency) -> Money {
        Money::from_minor_units(0, currency)
    }

    /// Builds an amount from integer minor units (tyiyn for KGS).
    pub fn from_minor_units(minor: u64, currency: Currency) -> Money {
        Money {
            amount: Decimal::from_i128_with_scale(
                i128::from(minor),
                u32::from(currency.minor_units),
            ),
            currency,
        }
    }

    /// Parses `"510"`, `"510.5"` or `"510.50"` in the given currency.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let amount: Decimal = text
            .trim()
            .parse()
            .map_err(|_| MoneyError::TooPrecise(Decimal::ZERO, currency.minor_units))?;
        Money::new(amount, currency)
    }

    /// Kyrgyz som, from an integer number of som.
    pub fn som(som: u64) -> Money {
        Money::from_minor_units(som.saturating_mul(100), Currency::KGS)
    }

    /// The decimal amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// The largest amount, in minor units, that tolom takes: what every
    /// store (a signed 64-bit integer of minor units) and the acquirer
    /// boundary hold. Issuing a larger charge is refused.
    pub const MAX_MINOR_UNITS: u64 = i64::MAX as u64;

    /// Integer minor units, or `None` when the amount does not fit
    /// [`Money::MAX_MINOR_UNITS`] (or is finer than the minor unit).
    pub fn checked_minor_units(&self) -> Option<u64> {
        let mut scaled = self.amount;
        scaled.rescale(u32::from(self.currency.minor_units));
        if scaled != self.amount {
            return None;
        }
        u64::try_from(scaled.mantissa())
            .ok()
            .filter(|m| *m <= Self::MAX_MINOR_UNITS)
    }

    /// Integer minor units, for the acquirer boundary only. An amount that
    /// does not fit gives 0: amounts are checked with
    /// [`Money::checked_minor_units`] when a charge is issued, so none
    /// reaches here.
    pub fn to_minor_units(&self) -> u64 {
        let mut scaled = self.amount;
        scaled.rescale(u32::from(self.currency.minor_units));
        u64::try_from(scaled.mantissa()).unwrap_or(0)
    }

    /// Exact sum; both amounts must share the currency.
    pub fn checked_add(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Money::new(amount, self.currency)
    }

    /// Exact difference; refuses to go below zero.
    pub fn checked_sub(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(MoneyError::Negative);
        }
        Money::new(amount, self.currency)
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

/// Amounts compare only within one currency.
impl PartialOrd for Money {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (self.currency == other.currency).then(|| self.amount.cmp(&other.amount))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl Money {
    /// The amount with a thin-space thousands separator, e.g. `11 315.00`.
    pub fn grouped(&self) -> String {
        let text = self.amount.to_string();
        let (int, frac) = text.split_once('.').unwrap_or((text.as_str(), ""));
        let mut out = String::new();
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push('\u{202f}');
            }
            out.push(ch);
        }
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn exact_arithmetic() {
        let a = Money::new(dec!(10000), Currency::KGS).unwrap();
        let b = Money::new(dec!(1315), Currency::KGS).unwrap();
        let sum = a.checked_add(b).unwrap();
        assert_eq!(sum.to_minor_units(), 1_131_500);
        assert_eq!(sum.to_string(), "11315.00 KGS");
        assert_eq!(sum.grouped(), "11\u{202f}315.00");
        assert_eq!(sum.checked_sub(b).unwrap(), a);
        assert_eq!(b.checked_sub(a), Err(MoneyError::Negative));
    }

    #[test]
    fn refuses_sub_minor_precision_and_negatives() {
        assert!(matches!(
            Money::new(dec!(1.005), Currency::KGS),
            Err(MoneyError::TooPrecise(..))
        ));
        assert_eq!(
            Money::new(dec!(-1), Currency::KGS),
            Err(MoneyError::Negative)
        );
        assert_eq!(
            Money::parse("510.5", Currency::KGS)
                .unwrap()
                .to_minor_units(),
            51_050
        );
        assert!(Money::parse("abc", Currency::KGS).is_err());
    }

    #[test]
    fn amounts_that_do_not_fit_minor_units_are_told_apart() {
        assert_eq!(Money::som(885).checked_minor_units(), Some(88_500));
        let max = Money::from_minor_units(Money::MAX_MINOR_UNITS, Currency::KGS);
        assert_eq!(max.checked_minor_units(), Some(Money::MAX_MINOR_UNITS));
        let over = Money::parse("92233720368547758.08", Currency::KGS).unwrap();
        assert_eq!(over.checked_minor_units(), None);
        let huge = Money::parse("79228162514264337593543950", Currency::KGS).unwrap();
        assert_eq!(huge.checked_minor_units(), None);
        assert_eq!(huge.to_minor_units(), 0, "why issue checks first");
    }

    #[test]
    fn serde_round_trip_keeps_exact_string() {
        let m = Money::som(885);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"885.00","currency":"KGS"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }
}
