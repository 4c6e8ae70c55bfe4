//! Card and contact input: validation that reports every field error at
//! once, brand detection from a ranges table, and card secrets that cannot
//! leak.
//!
//! PAN and CVV live only in [`Pan`] and [`Cvv`]: zeroized on drop, redacted in
//! `Debug`, not `Serialize`. What tolom keeps is a [`MaskedPan`] (at most
//! the first 6 and last 4 digits, never more than half of them) and the
//! [`CardBrand`].

use std::fmt;

use chrono::{DateTime, Datelike, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::checkdigit::Luhn;
use crate::i18n::{ErrorCode, Text};
use crate::time::to_bishkek;

/// A card scheme tolom accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CardBrand {
    /// Visa.
    Visa,
    /// Mastercard.
    Mastercard,
    /// Maestro.
    Maestro,
    /// UnionPay.
    UnionPay,
    /// Mir.
    Mir,
    /// Elcart, the Kyrgyz national scheme (IIN 9417).
    Elcart,
}

impl CardBrand {
    /// Display name.
    pub fn name(&self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Maestro => "Maestro",
            CardBrand::UnionPay => "UnionPay",
            CardBrand::Mir => "Mir",
            CardBrand::Elcart => "Elcart",
        }
    }

    /// Stable lowercase id, as serialized.
    pub fn id(&self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::Maestro => "maestro",
            CardBrand::UnionPay => "union_pay",
            CardBrand::Mir => "mir",
            CardBrand::Elcart => "elcart",
        }
    }

    /// Parses the stable id.
    pub fn from_id(id: &str) -> Option<CardBrand> {
        [
            CardBrand::Visa,
            CardBrand::Mastercard,
            CardBrand::Maestro,
            CardBrand::UnionPay,
            CardBrand::Mir,
            CardBrand::Elcart,
        ]
        .into_iter()
        .find(|b| b.id() == id)
    }
}

impl fmt::Display for CardBrand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One IIN range of a brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandRange {
    /// The brand.
    pub brand: CardBrand,
    /// Lowest prefix, inclusive (e.g. `2221`).
    pub from: u32,
    /// Highest prefix, inclusive (e.g. `2720`).
    pub to: u32,
    /// How many leading digits `from`/`to` cover.
    pub prefix_len: u8,
    /// Allowed PAN lengths.
    pub lengths: Vec<u8>,
    /// Whether the Luhn check is required (lenient for UnionPay and Elcart).
    pub luhn: bool,
}

/// The table of brand ranges, matched in order (so broad ranges such as
/// Maestro's go last).
#[derive(Debug, Clone)]
pub struct BrandTable {
    ranges: Vec<BrandRange>,
}

impl Default for BrandTable {
    fn default() -> Self {
        use CardBrand::*;
        let r = |brand, from, to, prefix_len, lengths: &[u8], luhn| BrandRange {
            brand,
            from,
            to,
            prefix_len,
            lengths: lengths.to_vec(),
            luhn,
        };
        BrandTable {
            ranges: vec![
                r(Elcart, 9417, 9417, 4, &[16, 19], false),
                r(Mir, 2200, 2204, 4, &[16, 17, 18, 19], true),
                r(Mastercard, 2221, 2720, 4, &[16], true),
                r(Mastercard, 51, 55, 2, &[16], true),
                r(Visa, 4, 4, 1, &[13, 16, 19], true),
                r(UnionPay, 62, 62, 2, &[16, 17, 18, 19], false),
                r(UnionPay, 81, 81, 2, &[16, 17, 18, 19], false),
                r(Maestro, 50, 50, 2, &[12, 13, 14, 15, 16, 17, 18, 19], true),
                r(Maestro, 56, 69, 2, &[12, 13, 14, 15, 16, 17, 18, 19], true),
            ],
        }
    }
}

impl BrandTable {
    /// A table from custom ranges (e.g. Elcart sub-ranges a bank publishes).
    pub fn new(ranges: Vec<BrandRange>) -> BrandTable {
        BrandTable { ranges }
    }

    /// The first range whose prefix matches the digits.
    pub fn detect(&self, digits: &str) -> Option<&BrandRange> {
        self.ranges.iter().find(|r| {
            let n = usize::from(r.prefix_len);
            digits
                .get(..n)
                .filter(|p| p.len() == n)
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| p >= r.from && p <= r.to)
        })
    }
}

/// A primary account number. Secret: zeroized on drop, never printed.
pub struct Pan(SecretString);

impl Pan {
    /// The digits, for the acquirer call only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The masked form kept and shown everywhere.
    pub fn masked(&self) -> MaskedPan {
        MaskedPan::from_digits(self.expose())
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pan([REDACTED])")
    }
}

/// A card verification value. Secret: zeroized on drop, never printed.
pub struct Cvv(SecretString);

impl Cvv {
    /// The digits, for the acquirer call only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Cvv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvv([REDACTED])")
    }
}

/// A PAN with most digits hidden: at most the first 6 and the last 4
/// digits show, and never more than half of them — `4111********1111` for
/// 16 digits, `42*******2222` for 13 (see [`MaskedPan::shown`]). What a mask shows is too little to rebuild the
/// number: at least half the digits stay hidden (for 12–13 digit cards a
/// 6 + 4 mask would hide only 2–3, which the Luhn check digit narrows to a
/// few dozen guesses).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MaskedPan(String);

impl MaskedPan {
    /// How many leading and trailing digits the mask of an `n`-digit PAN
    /// shows: the last 4, then leading digits up to 6, as long as the
    /// total stays at most half of `n` (12 → 2 + 4, 13 → 2 + 4, 14 and 15
    /// → 3 + 4, 16 and 17 → 4 + 4, 18 and 19 → 5 + 4). Fewer than 12
    /// digits is not a card number: nothing shows.
    pub fn shown(n: usize) -> (usize, usize) {
        if n < 12 {
            return (0, 0);
        }
        let allowed = (n / 2).min(10);
        let last = allowed.min(4);
        (allowed - last, last)
    }

    fn from_digits(digits: &str) -> MaskedPan {
        MaskedPan(mask_chars(digits))
    }

    /// Wraps an already-masked value read back from storage, masking it
    /// again by today's rule (a value stored under an older, looser rule
    /// comes out masked as a new one would be). Refuses a value that shows
    /// more than 10 digits: that is not a mask but a card number.
    pub fn from_stored(masked: impl Into<String>) -> Option<MaskedPan> {
        let s = masked.into();
        let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
        (digits <= 10).then(|| MaskedPan(mask_chars(&s)))
    }

    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len().saturating_sub(4)..]
    }
}

/// `masked` with every digit outside the shown head and tail
/// ([`MaskedPan::shown`] of its length) replaced by `*`.
fn mask_chars(masked: &str) -> String {
    let n = masked.chars().count();
    let (first, last) = MaskedPan::shown(n);
    masked
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_ascii_digit() && i >= first && i + last < n {
                '*'
            } else {
                c
            }
        })
        .collect()
}

impl TryFrom<String> for MaskedPan {
    type Error = &'static str;

    /// As [`MaskedPan::from_stored`]: whatever is read is masked again.
    fn try_from(s: String) -> Result<MaskedPan, &'static str> {
        MaskedPan::from_stored(s).ok_or("a card number where a masked one was expected")
    }
}

impl From<MaskedPan> for String {
    fn from(m: MaskedPan) -> String {
        m.0
    }
}

impl fmt::Display for MaskedPan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A card's expiry month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardExpiry {
    /// Month, 1..=12.
    pub month: u8,
    /// Four-digit year.
    pub year: u16,
}

impl CardExpiry {
    /// Whether the card is still valid at `now`: a card is valid through the
    /// last day of its expiry month (judged on the Bishkek calendar).
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        let local = to_bishkek(now);
        let (y, m) = (local.year(), local.month());
        (i32::from(self.year), u32::from(self.month)) >= (y, m)
    }
}

/// A card ready for the acquirer. Holds secrets; never stored.
#[derive(Debug)]
pub struct CardDetails {
    /// The card number.
    pub pan: Pan,
    /// The verification value.
    pub cvv: Cvv,
    /// The expiry month.
    pub expiry: CardExpiry,
    /// The cardholder's name, in upper-case Latin letters.
    pub holder: String,
    /// The detected brand.
    pub brand: CardBrand,
}

impl CardDetails {
    /// What tolom keeps about the card.
    pub fn summary(&self) -> CardSummary {
        CardSummary {
            masked_pan: self.pan.masked(),
            brand: self.brand,
            holder: self.holder.clone(),
        }
    }
}

/// What is kept about a card after payment: masked PAN, brand and holder name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    /// First 6 / last 4.
    pub masked_pan: MaskedPan,
    /// Brand.
    pub brand: CardBrand,
    /// Cardholder name as entered (personal data; anonymised after retention).
    pub holder: String,
}

/// A phone number in E.164 form, e.g. `+996555123456`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// The E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses payer input. Kyrgyz numbers may be written nationally
    /// (`0555 123 456`, `555123456`) or internationally (`+996 555 123 456`);
    /// foreign numbers must be international (`+7…`, `00 7…`).
    ///
    /// ```
    /// use tolom_core::card::Phone;
    /// assert_eq!(Phone::parse("0 (555) 12-34-56").unwrap().as_str(), "+996555123456");
    /// assert_eq!(Phone::parse("+7 912 345 67 89").unwrap().as_str(), "+79123456789");
    /// assert!(Phone::parse("+996 155 123 456").is_none());
    /// ```
    pub fn parse(input: &str) -> Option<Phone> {
        let mut digits = String::new();
        let mut plus = false;
        for (i, ch) in input.trim().chars().enumerate() {
            match ch {
                '0'..='9' => digits.push(ch),
                '+' if i == 0 => plus = true,
                ' ' | '-' | '(' | ')' | '.' | '\u{a0}' => {}
                _ => return None,
            }
            if digits.len() > 20 {
                return None;
            }
        }
        let international = if plus {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_string()
        } else if digits.len() == 10 && digits.starts_with('0') {
            format!("996{}", &digits[1..])
        } else if digits.len() == 9 {
            format!("996{digits}")
        } else if digits.len() == 12 && digits.starts_with("996") {
            digits
        } else {
            return None;
        };
        if let Some(national) = international.strip_prefix("996") {
            return kyrgyz_national_ok(national).then(|| Phone(format!("+{international}")));
        }
        let ok = (8..=15).contains(&international.len()) && !international.starts_with('0');
        ok.then(|| Phone(format!("+{international}")))
    }

    /// Wraps a stored E.164 value.
    pub fn from_stored(e164: impl Into<String>) -> Phone {
        Phone(e164.into())
    }
}

/// A Kyrgyz national number: 9 digits, a mobile prefix or a landline area
/// code (3xx).
fn kyrgyz_national_ok(n: &str) -> bool {
    const MOBILE: [&str; 16] = [
        "20", "22", "50", "51", "54", "55", "56", "57", "59", "70", "75", "77", "88", "99", "600",
        "755",
    ];
    n.len() == 9
        && n.bytes().all(|b| b.is_ascii_digit())
        && (MOBILE.iter().any(|p| n.starts_with(p)) || n.starts_with('3'))
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses an address; the domain must contain a dot.
    pub fn parse(input: &str) -> Option<Email> {
        let s = input.trim();
        if s.len() > 254 || !email_address::EmailAddress::is_valid(s) {
            return None;
        }
        let domain = s.rsplit_once('@').map(|(_, d)| d)?;
        (domain.contains('.') && !domain.ends_with('.')).then(|| Email(s.to_string()))
    }

    /// Wraps a stored value.
    pub fn from_stored(s: impl Into<String>) -> Email {
        Email(s.into())
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The payer's contact details given with the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Telephone.
    pub phone: Phone,
    /// E-mail, where the receipt goes.
    pub email: Email,
}

/// The card form as the payer typed it. The PAN and CVV fields are wiped
/// when the form is dropped and hidden from `Debug`.
#[derive(Default, Deserialize)]
pub struct CardForm {
    /// Cardholder name (Latin letters).
    #[serde(default)]
    pub holder: String,
    /// Card number, spaces allowed.
    #[serde(default)]
    pub pan: String,
    /// Expiry as `MM/YY`, `MM/YYYY` or `MMYY`.
    #[serde(default)]
    pub expiry: String,
    /// CVV/CVC.
    #[serde(default)]
    pub cvv: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
}

impl fmt::Debug for CardForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardForm")
            .field("holder", &self.holder)
            .field("pan", &"[REDACTED]")
            .field("expiry", &self.expiry)
            .field("cvv", &"[REDACTED]")
            .field("phone", &self.phone)
            .field("email", &self.email)
            .finish()
    }
}

impl Drop for CardForm {
    fn drop(&mut self) {
        self.pan.zeroize();
        self.cvv.zeroize();
    }
}

/// A field of the card form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Cardholder name.
    Holder,
    /// Card number.
    Pan,
    /// Expiry.
    Expiry,
    /// CVV.
    Cvv,
    /// Phone.
    Phone,
    /// E-mail.
    Email,
}

impl Field {
    /// The form field's name (`holder`, `pan`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Field::Holder => "holder",
            Field::Pan => "pan",
            Field::Expiry => "expiry",
            Field::Cvv => "cvv",
            Field::Phone => "phone",
            Field::Email => "email",
        }
    }
}

/// One field's error, with its text (serialized as its stable code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Which field.
    pub field: Field,
    /// What is wrong, e.g. [`Text::CardPanLuhn`] (code `card.pan_luhn`).
    #[serde(rename = "code")]
    pub text: Text,
}

impl ErrorCode for FieldError {
    fn text(&self) -> Text {
        self.text
    }
}

/// Every error of a card form, collected in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("card form has {} invalid field(s)", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// The error of one field, if any.
    pub fn for_field(&self, field: Field) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }

    /// The codes, in form order.
    pub fn codes(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.code()).collect()
    }
}

impl ErrorCode for ValidationErrors {
    /// The first field's error (an empty list, which `validate` never
    /// returns, is an invalid request).
    fn text(&self) -> Text {
        self.0.first().map_or(Text::RequestInvalid, |e| e.text)
    }
}

impl CardForm {
    /// Validates every field and returns the card and contact, or **all**
    /// field errors at once.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use tolom_core::card::{BrandTable, CardForm, CardBrand};
    /// let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    /// let form = CardForm {
    ///     holder: "Aibek Asanov".into(), pan: "4111 1111 1111 1111".into(),
    ///     expiry: "12/28".into(), cvv: "123".into(),
    ///     phone: "0555 123 456".into(), email: "aibek@example.kg".into(),
    /// };
    /// let (card, contact) = form.validate(now, &BrandTable::default()).unwrap();
    /// assert_eq!(card.brand, CardBrand::Visa);
    /// assert_eq!(card.pan.masked().as_str(), "4111********1111");
    /// assert_eq!(contact.phone.as_str(), "+996555123456");
    /// ```
    pub fn validate(
        &self,
        now: DateTime<Utc>,
        brands: &BrandTable,
    ) -> Result<(CardDetails, Contact), ValidationErrors> {
        let mut errors = Vec::new();
        let mut err = |field, text| errors.push(FieldError { field, text });

        let holder = normalize_holder(&self.holder);
        if let Err(code) = &holder {
            err(Field::Holder, *code);
        }

        let pan_result = check_pan(&self.pan, brands);
        if let Err(code) = &pan_result {
            err(Field::Pan, *code);
        }

        let expiry = parse_expiry(&self.expiry, now);
        if let Err(code) = expiry {
            err(Field::Expiry, code);
        }

        let mut cvv: String = self.cvv.chars().filter(|c| !c.is_whitespace()).collect();
        if cvv.is_empty() {
            err(Field::Cvv, Text::CardCvvRequired);
        } else if cvv.len() != 3 || !cvv.bytes().all(|b| b.is_ascii_digit()) {
            err(Field::Cvv, Text::CardCvvLength);
        }

        let phone = if self.phone.trim().is_empty() {
            err(Field::Phone, Text::ContactPhoneRequired);
            None
        } else {
            let p = Phone::parse(&self.phone);
            if p.is_none() {
                err(Field::Phone, Text::ContactPhoneInvalid);
            }
            p
        };

        let email = if self.email.trim().is_empty() {
            err(Field::Email, Text::ContactEmailRequired);
            None
        } else {
            let e = Email::parse(&self.email);
            if e.is_none() {
                err(Field::Email, Text::ContactEmailInvalid);
            }
            e
        };

        match (holder, pan_result, expiry, phone, email) {
            (Ok(holder), Ok((pan, brand)), Ok(expiry), Some(phone), Some(email))
                if errors.is_empty() =>
            {
                let cvv_secret = SecretString::from(std::mem::take(&mut cvv));
                Ok((
                    CardDetails {
                        pan: Pan(SecretString::from(pan)),
                        cvv: Cvv(cvv_secret),
                        expiry,
                        holder,
                        brand,
                    },
                    Contact { phone, email },
                ))
            }
            (_, Ok((mut pan, _)), ..) => {
                pan.zeroize();
                cvv.zeroize();
                Err(ValidationErrors(errors))
            }
            _ => {
                cvv.zeroize();
                Err(ValidationErrors(errors))
            }
        }
    }
}

fn normalize_holder(input: &str) -> Result<String, Text> {
    let words: Vec<&str> = input.split_whitespace().collect();
    if words.is_empty() {
        return Err(Text::CardHolderRequired);
    }
    let joined = words.join(" ");
    let latin = joined
        .chars()
        .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'));
    if !latin || !joined.chars().any(|c| c.is_ascii_alphabetic()) || joined.len() > 26 {
        return Err(Text::CardHolderLatin);
    }
    Ok(joined.to_ascii_uppercase())
}

fn check_pan(input: &str, brands: &BrandTable) -> Result<(String, CardBrand), Text> {
    let mut digits = String::with_capacity(19);
    for ch in input.chars() {
        match ch {
            '0'..='9' => {
                if digits.len() >= 19 {
                    digits.zeroize();
                    return Err(Text::CardPanLength);
                }
                digits.push(ch)
            }
            ' ' | '-' | '\u{a0}' => {}
            _ => {
                digits.zeroize();
                return Err(Text::CardPanDigits);
            }
        }
    }
    let fail = |mut d: String, code| {
        d.zeroize();
        Err(code)
    };
    if digits.is_empty() {
        return Err(Text::CardPanRequired);
    }
    if !(12..=19).contains(&digits.len()) {
        return fail(digits, Text::CardPanLength);
    }
    let Some(range) = brands.detect(&digits) else {
        return fail(digits, Text::CardBrandUnknown);
    };
    if !range.lengths.contains(&(digits.len() as u8)) {
        return fail(digits, Text::CardPanLength);
    }
    if range.luhn && !Luhn::check(digits.as_bytes()) {
        return fail(digits, Text::CardPanLuhn);
    }
    let brand = range.brand;
    Ok((digits, brand))
}

fn parse_expiry(input: &str, now: DateTime<Utc>) -> Result<CardExpiry, Text> {
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let (m, y) = match compact.split_once(['/', '-', '.']) {
        Some((m, y)) => (m.to_string(), y.to_string()),
        None if compact.is_ascii() && (compact.len() == 4 || compact.len() == 6) => {
            (compact[..2].to_string(), compact[2..].to_string())
        }
        None => return Err(Text::CardExpiryInvalid),
    };
    if m.is_empty() || m.len() > 2 || !m.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Text::CardExpiryInvalid);
    }
    if !(y.len() == 2 || y.len() == 4) || !y.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Text::CardExpiryInvalid);
    }
    let month: u8 = m.parse().map_err(|_| Text::CardExpiryInvalid)?;
    let mut year: u16 = y.parse().map_err(|_| Text::CardExpiryInvalid)?;
    if y.len() == 2 {
        year += 2000;
    }
    if !(1..=12).contains(&month) {
        return Err(Text::CardExpiryInvalid);
    }
    let expiry = CardExpiry { month, year };
    if !expiry.is_valid_at(now) {
        return Err(Text::CardExpired);
    }
    let this_year = to_bishkek(now).year();
    if i32::from(year) > this_year + 25 {
        return Err(Text::CardExpiryInvalid);
    }
    Ok(expiry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn form(pan: &str) -> CardForm {
        CardForm {
            holder: "AIBEK ASANOV".into(),
            pan: pan.into(),
            expiry: "11/26".into(),
            cvv: "123".into(),
            phone: "+996 700 123 456".into(),
            email: "a@example.kg".into(),
        }
    }

    #[test]
    fn detects_brands() {
        let t = BrandTable::default();
        for (pan, brand) in [
            ("4111111111111111", CardBrand::Visa),
            ("5555555555554444", CardBrand::Mastercard),
            ("2221000000000009", CardBrand::Mastercard),
            ("2200000000000004", CardBrand::Mir),
            ("6200000000000005", CardBrand::UnionPay),
            ("6759649826438453", CardBrand::Maestro),
            ("9417000000000000", CardBrand::Elcart),
        ] {
            let (_, got) = check_pan(pan, &t).unwrap_or_else(|c| panic!("{pan}: {c}"));
            assert_eq!(got, brand, "{pan}");
        }
    }

    #[test]
    fn reports_every_field_error_at_once() {
        let bad = CardForm {
            holder: "Айбек Асанов".into(),
            pan: "4111 1111 1111 1112".into(),
            expiry: "10/26".into(),
            cvv: "12".into(),
            phone: "12345".into(),
            email: "not-an-email".into(),
        };
        let errs = bad.validate(now(), &BrandTable::default()).unwrap_err();
        assert_eq!(
            errs.codes(),
            [
                "card.holder_latin",
                "card.pan_luhn",
                "card.expired",
                "card.cvv_length",
                "contact.phone_invalid",
                "contact.email_invalid"
            ]
        );
        let empty = CardForm::default()
            .validate(now(), &BrandTable::default())
            .unwrap_err();
        assert_eq!(
            empty.codes(),
            [
                "card.holder_required",
                "card.pan_required",
                "card.expiry_invalid",
                "card.cvv_required",
                "contact.phone_required",
                "contact.email_required"
            ]
        );
    }

    #[test]
    fn pan_errors_are_distinct() {
        let t = BrandTable::default();
        assert_eq!(
            check_pan("4111-1111-1111-111x", &t).unwrap_err(),
            Text::CardPanDigits
        );
        assert_eq!(
            check_pan("41111111111", &t).unwrap_err(),
            Text::CardPanLength
        );
        assert_eq!(
            check_pan("411111111111111", &t).unwrap_err(),
            Text::CardPanLength
        );
        assert_eq!(
            check_pan("3000000000000004", &t).unwrap_err(),
            Text::CardBrandUnknown
        );
        assert_eq!(
            check_pan("5555555555554445", &t).unwrap_err(),
            Text::CardPanLuhn
        );
        assert_eq!(
            check_pan("41111111111111111111", &t).unwrap_err(),
            Text::CardPanLength
        );
    }

    #[test]
    fn expiry_is_valid_through_the_end_of_the_month() {
        // 2026-11-30 23:59 Bishkek is 17:59 UTC: still valid for 11/26.
        let last = Utc.with_ymd_and_hms(2026, 11, 30, 17, 59, 0).unwrap();
        assert!(CardExpiry {
            month: 11,
            year: 2026
        }
        .is_valid_at(last));
        // 2026-12-01 00:00 Bishkek is 2026-11-30 18:00 UTC: expired.
        let next = Utc.with_ymd_and_hms(2026, 11, 30, 18, 0, 0).unwrap();
        assert!(!CardExpiry {
            month: 11,
            year: 2026
        }
        .is_valid_at(next));
        assert_eq!(
            parse_expiry("1126", now()).unwrap(),
            CardExpiry {
                month: 11,
                year: 2026
            }
        );
        assert_eq!(
            parse_expiry("01/2030", now()).unwrap(),
            CardExpiry {
                month: 1,
                year: 2030
            }
        );
        assert_eq!(
            parse_expiry("13/27", now()).unwrap_err(),
            Text::CardExpiryInvalid
        );
        assert_eq!(
            parse_expiry("12/99", now()).unwrap_err(),
            Text::CardExpiryInvalid
        );
    }

    #[test]
    fn secrets_never_show() {
        let (card, _) = form("4111111111111111")
            .validate(now(), &BrandTable::default())
            .unwrap();
        let dbg = format!("{card:?}");
        assert!(!dbg.contains("4111111111111111"), "{dbg}");
        assert!(!dbg.contains("123"), "{dbg}");
        let f = form("4111111111111111");
        let dbg = format!("{f:?}");
        assert!(
            !dbg.contains("4111111111111111") && !dbg.contains("\"123\""),
            "{dbg}"
        );
        let json = serde_json::to_string(&card.summary()).unwrap();
        assert!(!json.contains("4111111111111111"));
        assert!(json.contains("4111********1111"));
        assert!(MaskedPan::from_stored("4111111111111111").is_none());
    }

    /// The digits a mask shows.
    fn shown_digits(m: &MaskedPan) -> usize {
        m.as_str().chars().filter(|c| c.is_ascii_digit()).count()
    }

    #[test]
    fn short_card_masks_show_no_more_than_half_the_digits() {
        for (pan, masked) in [
            // 13-digit Visa: 6 + 4 would show 10 of 13.
            ("4222222222222", "42*******2222"),
            // 12-digit Maestro: 6 + 4 would show 10 of 12.
            ("670000000000", "67******0000"),
            ("4111111111111111", "4111********1111"),
            ("4111111111111111110", "41111**********1110"),
        ] {
            let (card, _) = form(pan)
                .validate(now(), &BrandTable::default())
                .unwrap_or_else(|e| panic!("{pan}: {e:?}"));
            let m = card.pan.masked();
            assert_eq!(m.as_str(), masked, "{pan}");
            assert_eq!(m.as_str().len(), pan.len(), "{pan}: as long as the number");
            assert!(
                2 * shown_digits(&m) <= pan.len(),
                "{pan}: {m} shows more than half"
            );
            assert_eq!(m.last4(), &pan[pan.len() - 4..]);
        }
    }

    #[test]
    fn a_stored_mask_is_masked_again_and_a_stored_number_refused() {
        // A mask kept under the older first-6/last-4 rule reads back as a
        // new one would be made.
        let old = MaskedPan::from_stored("411111******1111").unwrap_or_else(|| panic!("mask"));
        assert_eq!(old.as_str(), "4111********1111");
        let short = MaskedPan::from_stored("422222***2222").unwrap_or_else(|| panic!("mask"));
        assert_eq!(short.as_str(), "42*******2222");
        // The same through serde (a card summary read from JSON).
        let m: MaskedPan =
            serde_json::from_str("\"411111******1111\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.as_str(), "4111********1111");
        assert_eq!(
            serde_json::to_string(&m).unwrap_or_default(),
            "\"4111********1111\""
        );
        assert!(serde_json::from_str::<MaskedPan>("\"4111111111111111\"").is_err());
        assert!(MaskedPan::from_stored("4222222222222").is_none());
    }

    #[test]
    fn phones() {
        for (input, e164) in [
            ("+996 555 123 456", "+996555123456"),
            ("0555123456", "+996555123456"),
            ("555 12 34 56", "+996555123456"),
            ("996700123456", "+996700123456"),
            ("+996 312 62 00 00", "+996312620000"),
            ("00 44 20 7946 0958", "+442079460958"),
            ("+1 (202) 555-0143", "+12025550143"),
        ] {
            assert_eq!(
                Phone::parse(input).map(|p| p.0),
                Some(e164.to_string()),
                "{input}"
            );
        }
        for bad in [
            "",
            "+996 55 123 456",
            "+996 111 123 456",
            "12345",
            "+0123456789",
            "phone",
            "+996555123456789",
        ] {
            assert!(Phone::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(Email::parse("aibek@example.kg").is_some());
        assert!(Email::parse(" a.b+c@mail.example.com ").is_some());
        for bad in ["", "a@b", "a@", "@b.kg", "a b@c.kg", "a@b.kg."] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn validation_never_panics(holder in "\\PC{0,40}", pan in "\\PC{0,30}", expiry in "\\PC{0,10}",
                                   cvv in "\\PC{0,6}", phone in "\\PC{0,25}", email in "\\PC{0,40}") {
            let f = CardForm { holder, pan, expiry, cvv, phone, email };
            let _ = f.validate(now(), &BrandTable::default());
        }

        #[test]
        fn digit_pans_never_panic(pan in "[0-9 ]{0,30}") {
            let _ = check_pan(&pan, &BrandTable::default());
        }

        /// Every mask of a 12–19 digit number: as long as the number, at
        /// most half its digits, and only from its first 6 and last 4.
        #[test]
        fn masks_show_at_most_half_and_only_the_ends(pan in "[0-9]{12,19}") {
            let n = pan.len();
            let m = MaskedPan::from_digits(&pan);
            prop_assert_eq!(m.as_str().chars().count(), n);
            prop_assert!(2 * shown_digits(&m) <= n, "{} shows more than half", m);
            prop_assert!(shown_digits(&m) <= 10);
            for (i, (shown, digit)) in m.as_str().chars().zip(pan.chars()).enumerate() {
                if shown != '*' {
                    prop_assert_eq!(shown, digit);
                    prop_assert!(i < 6 || i >= n - 4, "digit {} of {} shown", i, n);
                }
            }
            // Reading it back changes nothing.
            prop_assert_eq!(MaskedPan::from_stored(m.as_str()), Some(m.clone()));
        }
    }
}
