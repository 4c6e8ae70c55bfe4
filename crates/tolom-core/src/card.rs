//! Card and contact input: validation that reports every field error at
//! once, brand detection from a ranges table, and card secrets that cannot
//! leak.
//!
//! PAN and CVV live only in [`Pan`] and [`Cvv`]: zeroized on drop, redacted in
//! `Debug`, not `Serialize`. What tolom keeps is a [`MaskedPan`] (at most
//! the first 6 and last 4 digits, never more than half of them) and the
//! [`CardBrand`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use chrono::{DateTime, Datelike, Utc};
use phonenumber::metadata::{Descriptor, DATABASE};
use phonenumber::Metadata;
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

/// The digits of the CVV2/CVC2 of every brand tolom accepts (4-digit
/// codes belong to American Express, which it does not): what the card
/// form's validator requires and its hint says.
pub const CVV_DIGITS: usize = 3;

impl CardBrand {
    /// The digits of this brand's CVV2/CVC2 ([`CVV_DIGITS`] for all of
    /// them).
    pub fn cvv_digits(&self) -> usize {
        CVV_DIGITS
    }

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

    /// The ranges, in the order they are matched.
    pub fn ranges(&self) -> &[BrandRange] {
        &self.ranges
    }

    /// The shortest and the longest card number the table accepts (`None`
    /// for an empty table): what the card form's hint says.
    ///
    /// ```
    /// use tolom_core::card::BrandTable;
    /// assert_eq!(BrandTable::default().pan_lengths(), Some((12, 19)));
    /// ```
    pub fn pan_lengths(&self) -> Option<(u8, u8)> {
        let lengths = self.ranges.iter().flat_map(|r| r.lengths.iter().copied());
        Some((lengths.clone().min()?, lengths.max()?))
    }

    /// The fewest and the most CVV digits among the table's brands (`None`
    /// for an empty table).
    ///
    /// ```
    /// use tolom_core::card::{BrandTable, CVV_DIGITS};
    /// assert_eq!(BrandTable::default().cvv_lengths(), Some((CVV_DIGITS, CVV_DIGITS)));
    /// ```
    pub fn cvv_lengths(&self) -> Option<(usize, usize)> {
        let digits = self.ranges.iter().map(|r| r.brand.cvv_digits());
        Some((digits.clone().min()?, digits.max()?))
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
///
/// Numbers are judged by libphonenumber's metadata (the `phonenumber`
/// crate): a number is accepted when libphonenumber says it is a valid
/// number of its country, never by a table of tolom's own. See
/// `docs/phones.md`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

/// The region whose national numbers a payer may type without `+` and
/// country code: a region of libphonenumber's metadata. [`PhoneRegion::KG`]
/// by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhoneRegion(phonenumber::country::Id);

impl PhoneRegion {
    /// Kyrgyzstan (`KG`, +996): the portal's region.
    pub const KG: PhoneRegion = PhoneRegion(phonenumber::country::Id::KG);

    /// The region of an ISO 3166-1 alpha-2 code (`"KZ"`, any case), if
    /// libphonenumber has metadata for it.
    ///
    /// ```
    /// use tolom_core::card::PhoneRegion;
    /// assert_eq!(PhoneRegion::from_code("kg"), Some(PhoneRegion::KG));
    /// assert!(PhoneRegion::from_code("KZ").is_some());
    /// assert!(PhoneRegion::from_code("XX").is_none());
    /// ```
    pub fn from_code(code: &str) -> Option<PhoneRegion> {
        let id: phonenumber::country::Id = code.trim().to_ascii_uppercase().parse().ok()?;
        // Parsing looks the region up and must find it.
        DATABASE.by_id(id.as_ref())?;
        Some(PhoneRegion(id))
    }

    /// The ISO 3166-1 alpha-2 code, e.g. `KG`.
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

impl Default for PhoneRegion {
    /// [`PhoneRegion::KG`].
    fn default() -> Self {
        PhoneRegion::KG
    }
}

/// Why typed text is not a phone number tolom accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// Not a valid number: empty, characters other than ASCII digits,
    /// punctuation and one leading `+`, or not a valid number of its
    /// country by libphonenumber.
    #[error("not a valid phone number")]
    Invalid,
    /// Written nationally (without `+` or the international prefix) and
    /// not a valid number of the region: a number from abroad must be
    /// written with `+` and its country code. The card form's code is
    /// `contact.phone_national_not_kg`.
    #[error("not a valid number of the region; a number from abroad needs + and its country code")]
    NationalNotInRegion,
}

/// The most digits read: a national number has at most 17, its country
/// code 3 and an international prefix a few more.
const PHONE_MAX_DIGITS: usize = 25;

/// National input of this many digits (or more, up to 15) that is not a
/// number of the region gets the hint to write `+` and the country code;
/// shorter input is no number anywhere.
const PHONE_HINT_MIN_DIGITS: usize = 7;

impl Phone {
    /// The E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses payer input with Kyrgyzstan as the region
    /// ([`Phone::parse_in`] with [`PhoneRegion::KG`]); `None` for anything
    /// that is not a valid number. Kyrgyz numbers may be written nationally
    /// (`0555 123 456`, `555123456`) or internationally (`+996 555 123
    /// 456`); foreign numbers must be international (`+7…`, `00 7…`).
    ///
    /// ```
    /// use tolom_core::card::Phone;
    /// assert_eq!(Phone::parse("0 (555) 12-34-56").unwrap().as_str(), "+996555123456");
    /// assert_eq!(Phone::parse("+7 912 345 67 89").unwrap().as_str(), "+79123456789");
    /// assert!(Phone::parse("+996 155 123 456").is_none());
    /// ```
    pub fn parse(input: &str) -> Option<Phone> {
        Phone::parse_in(input, PhoneRegion::KG).ok()
    }

    /// Parses payer input: a number valid by libphonenumber's metadata,
    /// written internationally (`+` or the region's international prefix,
    /// then the country code) or nationally in `region`, kept in E.164.
    ///
    /// Only ASCII digits, one `+` before them and libphonenumber's
    /// punctuation between them (spaces, dashes, brackets, `.`, `/`, `~`)
    /// are read; anything else (letters, extensions, `*`, `#`, `tel:`,
    /// other scripts' digits) is [`PhoneError::Invalid`], where
    /// libphonenumber is more lenient. National input of
    /// 7 to 15 digits that is not a valid number of `region` is
    /// [`PhoneError::NationalNotInRegion`], so a payer abroad learns to
    /// write `+` and the country code.
    ///
    /// ```
    /// use tolom_core::card::{Phone, PhoneError, PhoneRegion};
    /// let kg = PhoneRegion::KG;
    /// assert_eq!(Phone::parse_in("0312 62 00 00", kg).unwrap().as_str(), "+996312620000");
    /// assert_eq!(Phone::parse_in("912 345 67 89", kg), Err(PhoneError::NationalNotInRegion));
    /// assert_eq!(Phone::parse_in("+1 065 146 2315", kg), Err(PhoneError::Invalid));
    /// let kz = PhoneRegion::from_code("KZ").unwrap();
    /// assert_eq!(Phone::parse_in("8 701 123 45 67", kz).unwrap().as_str(), "+77011234567");
    /// ```
    pub fn parse_in(input: &str, region: PhoneRegion) -> Result<Phone, PhoneError> {
        let mut digits = String::new();
        let mut plus = false;
        for ch in input.trim().chars() {
            match ch {
                '0'..='9' if digits.len() == PHONE_MAX_DIGITS => return Err(PhoneError::Invalid),
                '0'..='9' => digits.push(ch),
                '+' if !plus && digits.is_empty() => plus = true,
                _ if is_phone_punctuation(ch) => {}
                _ => return Err(PhoneError::Invalid),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Invalid);
        }
        let Some(home) = DATABASE.by_id(region.code()) else {
            return Err(PhoneError::Invalid);
        };
        if let Some((code, national)) =
            split_number(&digits, plus, home).filter(|(code, n)| is_valid_number(*code, n))
        {
            return Ok(Phone(format!("+{code}{national}")));
        }
        let national = !plus && after_idd(&digits, home).is_none();
        if national && (PHONE_HINT_MIN_DIGITS..=15).contains(&digits.len()) {
            Err(PhoneError::NationalNotInRegion)
        } else {
            Err(PhoneError::Invalid)
        }
    }

    /// Wraps a stored E.164 value.
    pub fn from_stored(e164: impl Into<String>) -> Phone {
        Phone(e164.into())
    }
}

// libphonenumber's parsing and validation (`PhoneNumberUtil.parse` and
// `isValidNumber`), step by step, for digits typed after an optional `+`,
// on the metadata of the `phonenumber` crate. The crate's own `parse` and
// `is_valid` differ from libphonenumber: they match patterns by prefix (so
// `+387 61 123 4562`, a digit too long, passes), strip a national prefix
// twice (`+7 812 123 45 67` loses its 8 and fails) and lose Italy's leading
// zero. docs/phones.md has the figures.

/// libphonenumber's shortest and longest national significant number.
const NSN_LENGTHS: std::ops::RangeInclusive<usize> = 2..=17;

/// How the length of a national number fits a region's numbers
/// (libphonenumber's `ValidationResult`).
#[derive(Debug, PartialEq, Eq)]
enum Length {
    Possible,
    LocalOnly,
    TooShort,
    TooLong,
    Invalid,
}

/// A region's descriptors of the types of numbers (`getNumberType`'s
/// order), which make its general lengths.
fn number_types(meta: &Metadata) -> [Option<&Descriptor>; 10] {
    let d = meta.descriptors();
    [
        d.premium_rate(),
        d.toll_free(),
        d.shared_cost(),
        d.voip(),
        d.personal_number(),
        d.pager(),
        d.uan(),
        d.voicemail(),
        d.fixed_line(),
        d.mobile(),
    ]
}

/// The lengths of all numbers of a region, and those only dialled locally
/// (the general descriptor's, as libphonenumber's build derives them).
fn general_lengths(meta: &Metadata) -> (Vec<u16>, Vec<u16>) {
    let mut lengths = Vec::new();
    let mut local = Vec::new();
    for desc in number_types(meta).into_iter().flatten() {
        lengths.extend_from_slice(desc.possible_length());
        local.extend_from_slice(desc.possible_local_length());
    }
    lengths.sort_unstable();
    lengths.dedup();
    local.retain(|l| !lengths.contains(l));
    (lengths, local)
}

/// libphonenumber's `testNumberLength` for any type.
fn test_length(national: &str, meta: &Metadata) -> Length {
    let (lengths, local) = general_lengths(meta);
    let length = u16::try_from(national.len()).unwrap_or(u16::MAX);
    let (Some(&min), Some(&max)) = (lengths.first(), lengths.last()) else {
        return Length::Invalid;
    };
    if local.contains(&length) {
        Length::LocalOnly
    } else if length < min {
        Length::TooShort
    } else if length > max {
        Length::TooLong
    } else if lengths.contains(&length) {
        Length::Possible
    } else {
        Length::Invalid
    }
}

/// Compiled patterns of the metadata, by their source as the metadata has
/// it: anchored at the start (`[0]`) or whole (`[1]`).
type CompiledPatterns = [HashMap<String, Option<Arc<regex::Regex>>>; 2];

/// The metadata's pattern compiled with `^` before it and, for `whole`,
/// `$` after it; compiled once each (the metadata has a few thousand).
///
/// The compiled pattern is shared, never cloned: a cloned `Regex` starts
/// with no match cache of its own and builds one (tens of kilobytes) on
/// its first match, which made every phone number cost ~0.4 M
/// instructions.
fn anchored(pattern: &str, whole: bool) -> Option<Arc<regex::Regex>> {
    static COMPILED: OnceLock<RwLock<CompiledPatterns>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(Default::default);
    let known = compiled
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(usize::from(whole))
        .and_then(|m| m.get(pattern).cloned());
    if let Some(re) = known {
        return re;
    }
    let mut compiled = compiled.write().unwrap_or_else(PoisonError::into_inner);
    compiled[usize::from(whole)]
        .entry(pattern.to_string())
        .or_insert_with(|| {
            let source = format!("^(?:{pattern}){}", if whole { "$" } else { "" });
            // The metadata's patterns are laid out with white space.
            regex::RegexBuilder::new(&source)
                .ignore_whitespace(true)
                .build()
                .ok()
                .map(Arc::new)
        })
        .clone()
}

/// The whole number matches the descriptor's pattern.
fn pattern_whole(desc: &Descriptor, national: &str) -> bool {
    anchored(desc.national_number().as_str(), true).is_some_and(|re| re.is_match(national))
}

/// libphonenumber's `isNumberMatchingDesc`: one of the descriptor's
/// lengths, when it lists them, and its whole pattern.
fn matches_desc(desc: Option<&Descriptor>, national: &str) -> bool {
    desc.is_some_and(|desc| {
        let lengths = desc.possible_length();
        let length = u16::try_from(national.len()).unwrap_or(u16::MAX);
        (lengths.is_empty() || lengths.contains(&length)) && pattern_whole(desc, national)
    })
}

/// A number of the region, of some type (`getNumberType` is not
/// `UNKNOWN`).
fn is_number_of(meta: &Metadata, national: &str) -> bool {
    let (lengths, _) = general_lengths(meta);
    let length = u16::try_from(national.len()).unwrap_or(u16::MAX);
    lengths.contains(&length)
        && pattern_whole(meta.descriptors().general(), national)
        && number_types(meta)
            .into_iter()
            .any(|desc| matches_desc(desc, national))
}

/// The regions of a country calling code, its main country first, then by
/// name (libphonenumber's order).
fn regions_of(code: u16) -> Vec<&'static Metadata> {
    let mut regions = DATABASE.by_code(&code).unwrap_or_default();
    regions.sort_by(|a, b| {
        (!a.is_main_country_for_code(), a.id()).cmp(&(!b.is_main_country_for_code(), b.id()))
    });
    regions
}

/// The digits after the region's international prefix (`00` in
/// Kyrgyzstan), unless a `0` follows it (`parsePrefixAsIdd`).
fn after_idd<'d>(digits: &'d str, home: &Metadata) -> Option<&'d str> {
    let idd = anchored(home.international_prefix()?.as_str(), false)?;
    let rest = &digits[idd.find(digits)?.end()..];
    (!rest.starts_with('0')).then_some(rest)
}

/// The country calling code the digits begin with, and the rest
/// (`extractCountryCode`).
fn country_code_of(digits: &str) -> Option<(u16, &str)> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=digits.len().min(3)).find_map(|n| {
        let code: u16 = digits[..n].parse().ok()?;
        DATABASE.by_code(&code).map(|_| (code, &digits[n..]))
    })
}

/// libphonenumber's `maybeStripNationalPrefixAndCarrierCode`: the number
/// without the region's national prefix (`0` in Kyrgyzstan), or with its
/// transformation, unless that spoils a number of the region.
fn strip_national_prefix(number: &str, meta: &Metadata) -> String {
    let pattern = match (meta.national_prefix_for_parsing(), meta.national_prefix()) {
        (Some(parsing), _) => parsing.as_str().to_string(),
        (None, Some(prefix)) if !prefix.is_empty() => regex::escape(prefix),
        _ => return number.to_string(),
    };
    let Some(re) = anchored(&pattern, false) else {
        return number.to_string();
    };
    let Some(found) = re.captures(number) else {
        return number.to_string();
    };
    let general = meta.descriptors().general();
    let viable = pattern_whole(general, number);
    let groups = re.captures_len() - 1;
    let transform = meta
        .national_prefix_transform_rule()
        .filter(|rule| !rule.is_empty() && groups > 0 && found.get(groups).is_some());
    let candidate = match transform {
        None => number[found.get(0).map_or(0, |m| m.end())..].to_string(),
        Some(rule) => {
            // `$1` as the regex crate reads it whatever follows: `${1}`.
            let mut replacement = String::new();
            for ch in rule.chars() {
                match replacement.strip_suffix('$') {
                    Some(before) if ch.is_ascii_digit() => {
                        replacement = format!("{before}${{{ch}}}");
                    }
                    _ => replacement.push(ch),
                }
            }
            re.replace(number, replacement.as_str()).into_owned()
        }
    };
    if viable && !pattern_whole(general, &candidate) {
        number.to_string()
    } else {
        candidate
    }
}

/// Why libphonenumber's `maybeExtractCountryCode` throws.
enum CodeError {
    /// After `+` or the international prefix, too few digits.
    TooShort,
    /// No known country calling code.
    Unknown,
}

/// libphonenumber's `maybeExtractCountryCode`: the country calling code
/// and the national number after it, when the digits are international
/// (`+`, the international prefix) or begin with the region's own code
/// where that makes a better number; `None` for a national number.
fn extract_country_code(
    digits: &str,
    plus: bool,
    home: &Metadata,
) -> Result<Option<(u16, String)>, CodeError> {
    let international = if plus {
        Some(digits)
    } else {
        after_idd(digits, home)
    };
    if let Some(rest) = international {
        if rest.len() <= *NSN_LENGTHS.start() {
            return Err(CodeError::TooShort);
        }
        let (code, national) = country_code_of(rest).ok_or(CodeError::Unknown)?;
        return Ok(Some((code, national.to_string())));
    }
    let code = home.country_code();
    let Some(rest) = digits.strip_prefix(code.to_string().as_str()) else {
        return Ok(None);
    };
    let general = home.descriptors().general();
    let potential = strip_national_prefix(rest, home);
    let better = !pattern_whole(general, digits) && pattern_whole(general, &potential);
    Ok((better || test_length(digits, home) == Length::TooLong).then_some((code, potential)))
}

/// libphonenumber's `parse` of digits typed (after a `+`, if `plus`) in
/// the region `home`: the country calling code and the national
/// significant number, `None` where libphonenumber throws.
fn split_number(digits: &str, plus: bool, home: &Metadata) -> Option<(u16, String)> {
    let extracted = match extract_country_code(digits, plus, home) {
        Ok(extracted) => extracted,
        // `+` and no known code: read again without the `+`.
        Err(CodeError::Unknown) if plus => match extract_country_code(digits, false, home) {
            Ok(Some(extracted)) => Some(extracted),
            _ => return None,
        },
        Err(_) => return None,
    };
    let (code, national, meta) = match extracted {
        Some((code, national)) => (code, national, *regions_of(code).first()?),
        None => (home.country_code(), digits.to_string(), home),
    };
    if national.len() < *NSN_LENGTHS.start() {
        return None;
    }
    let stripped = strip_national_prefix(&national, meta);
    let national = match test_length(&stripped, meta) {
        Length::TooShort | Length::LocalOnly | Length::Invalid => national,
        Length::Possible | Length::TooLong => stripped,
    };
    NSN_LENGTHS
        .contains(&national.len())
        .then_some((code, national))
}

/// libphonenumber's `isValidNumber`: the number's region is the only one
/// of its country calling code, or the first whose leading digits or
/// numbers it matches, and it is a number of that region.
fn is_valid_number(code: u16, national: &str) -> bool {
    let regions = regions_of(code);
    let region = if regions.len() == 1 {
        regions.first().copied()
    } else {
        regions
            .into_iter()
            .find(|meta| match meta.leading_digits() {
                Some(leading) => {
                    anchored(leading.as_str(), false).is_some_and(|re| re.is_match(national))
                }
                None => is_number_of(meta, national),
            })
    };
    region.is_some_and(|meta| is_number_of(meta, national))
}

/// libphonenumber's punctuation, which payers may write between the digits
/// (spaces, dashes, brackets, dots, slashes, tildes, in their ASCII and
/// typographic forms), less `x`, its mark of an extension.
fn is_phone_punctuation(ch: char) -> bool {
    matches!(
        ch,
        ' ' | '\u{a0}'
            | '\u{ad}'
            | '\u{200b}'
            | '\u{2060}'
            | '\u{3000}'
            | '-'
            | '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{30fc}'
            | '\u{ff0d}'..='\u{ff0f}'
            | '('
            | ')'
            | '\u{ff08}'
            | '\u{ff09}'
            | '['
            | ']'
            | '\u{ff3b}'
            | '\u{ff3d}'
            | '.'
            | '/'
            | '~'
            | '\u{2053}'
            | '\u{223c}'
            | '\u{ff5e}'
    )
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
        } else if cvv.len() != CVV_DIGITS || !cvv.bytes().all(|b| b.is_ascii_digit()) {
            err(Field::Cvv, Text::CardCvvLength);
        }

        let phone = if self.phone.trim().is_empty() {
            err(Field::Phone, Text::ContactPhoneRequired);
            None
        } else {
            match Phone::parse_in(&self.phone, PhoneRegion::KG) {
                Ok(p) => Some(p),
                Err(e) => {
                    err(Field::Phone, phone_text(e));
                    None
                }
            }
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

/// The card form's text for a phone error (the form's region is
/// Kyrgyzstan).
fn phone_text(e: PhoneError) -> Text {
    match e {
        PhoneError::Invalid => Text::ContactPhoneInvalid,
        PhoneError::NationalNotInRegion => Text::ContactPhoneNationalNotKg,
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

    /// Numbers as libphonenumber judges them (Python `phonenumbers`
    /// 9.0.33, the metadata of the `phonenumber` crate 0.3.10+9.0.33,
    /// region KG): the E.164 form of a valid number, `None` for anything
    /// else. Regenerate or check the expectations from the workspace root:
    ///
    /// ```text
    /// python3 -m pip install phonenumbers==9.0.33
    /// python3 - <<'EOF'
    /// import re, phonenumbers as p
    /// src = open("crates/tolom-core/src/card.rs", encoding="utf-8").read()
    /// for name in ["LIBPHONENUMBER", "STRICTER_THAN_LIBPHONENUMBER"]:
    ///     body = src.split("const %s: " % name)[1].split("];")[0]
    ///     for raw in re.findall(r'(?<!Some)\(\s*"((?:[^"\\]|\\.)*)",', body):
    ///         s = re.sub(r"\\u\{([0-9a-f]+)\}", lambda m: chr(int(m[1], 16)), raw)
    ///         try:
    ///             n = p.parse(s, "KG")
    ///             ok = p.is_valid_number(n)
    ///         except p.NumberParseException:
    ///             ok = False
    ///         e164 = p.format_number(n, p.PhoneNumberFormat.E164) if ok else None
    ///         print(name, '("%s", %s),' % (raw, 'Some("%s")' % e164 if e164 else "None"))
    /// EOF
    /// ```
    const LIBPHONENUMBER: &[(&str, Option<&str>)] = &[
        ("0220 123 456", Some("+996220123456")),
        ("+996 221 234 567", Some("+996221234567")),
        ("0500 123 456", Some("+996500123456")),
        ("+996 502 345 678", Some("+996502345678")),
        ("0520 123 456", Some("+996520123456")),
        ("0 (525) 11-22-33", Some("+996525112233")),
        ("0550 123 456", Some("+996550123456")),
        ("555 12 34 56", Some("+996555123456")),
        ("0557 000 111", Some("+996557000111")),
        ("0700 123 456", Some("+996700123456")),
        ("+996 705 987 654", Some("+996705987654")),
        ("0770 123 456", Some("+996770123456")),
        ("+996 777 000 000", Some("+996777000000")),
        ("0990 123 456", Some("+996990123456")),
        ("0995 123 456", Some("+996995123456")),
        ("+996 999 888 777", Some("+996999888777")),
        ("0912 345 678", Some("+996912345678")),
        ("0600 123 456", Some("+996600123456")),
        ("0755 123 456", Some("+996755123456")),
        ("0200 123 456", Some("+996200123456")),
        ("0205 123 456", Some("+996205123456")),
        ("0880 123 456", Some("+996880123456")),
        ("0888 123 456", Some("+996888123456")),
        ("996 700 123 456", Some("+996700123456")),
        ("00 996 555 123 456", Some("+996555123456")),
        ("0800 123 456", Some("+996800123456")),
        ("0 800 123 4567", Some("+9968001234567")),
        ("+996 800 123 456", Some("+996800123456")),
        ("0312 62 00 00", Some("+996312620000")),
        ("+996 312 54 32 10", Some("+996312543210")),
        ("03222 5 12 34", Some("+996322251234")),
        ("0609 123 456", Some("+996609123456")),
        ("0612 123 456", Some("+996612123456")),
        ("0622 123 456", Some("+996622123456")),
        ("0623 123 456", Some("+996623123456")),
        ("0624 123 456", Some("+996624123456")),
        ("03922 5 12 34", Some("+996392251234")),
        ("03522 5 12 34", Some("+996352251234")),
        ("0204 123 456", None),
        ("0206 123 456", None),
        ("0209 123 456", None),
        ("0530 123 456", None),
        ("0590 123 456", None),
        ("0595 123 456", None),
        ("0881 123 456", None),
        ("0885 123 456", None),
        ("0991 123 456", None),
        ("0994 123 456", None),
        ("0300 123 456", None),
        ("0310 123 456", None),
        ("0399 123 456", None),
        ("0111 123 456", None),
        ("+996 155 123 456", None),
        ("+996 204 123 456", None),
        ("+996 991 123 456", None),
        ("0625 123 456", None),
        ("0555 123 45", None),
        ("0555 123 4567", None),
        ("+996 55 123 456", None),
        ("+996 555 123 4567", None),
        ("+7 912 345 67 89", Some("+79123456789")),
        ("+7 495 123 45 67", Some("+74951234567")),
        ("+7 701 123 45 67", Some("+77011234567")),
        ("+7 727 258 12 34", Some("+77272581234")),
        ("00 7 912 345 67 89", Some("+79123456789")),
        ("+998 90 123 45 67", Some("+998901234567")),
        ("+998 71 123 45 67", Some("+998711234567")),
        ("+992 93 123 4567", Some("+992931234567")),
        ("+992 372 21 23 45", Some("+992372212345")),
        ("+90 532 123 45 67", Some("+905321234567")),
        ("+90 212 345 67 89", Some("+902123456789")),
        ("+1 651 462 3150", Some("+16514623150")),
        ("+1 (212) 736-5000", Some("+12127365000")),
        ("+44 20 7946 0958", Some("+442079460958")),
        ("+44 7400 123456", Some("+447400123456")),
        ("+49 30 1234567", Some("+49301234567")),
        ("+49 151 23456789", Some("+4915123456789")),
        ("0044 20 7946 0958", Some("+442079460958")),
        ("+86 138 0013 8000", Some("+8613800138000")),
        ("+39 06 6982 1234", Some("+390669821234")),
        ("00 39 06 6982 1234", Some("+390669821234")),
        ("0039 333 123 4567", Some("+393331234567")),
        ("+225 07 89 88 12 34", Some("+2250789881234")),
        ("+52 55 1234 5678", Some("+525512345678")),
        ("+52 1 55 1234 5678", None),
        ("+54 9 11 2345 6789", Some("+5491123456789")),
        ("+33 06 12 34 56 78", Some("+33612345678")),
        ("+82 10 1234 5678", Some("+821012345678")),
        ("+380 50 123 4567", Some("+380501234567")),
        ("+996 0555 123 456", Some("+996555123456")),
        ("011 7 912 345 67 89", None),
        ("00 0 555", None),
        ("+1 0651462315", None),
        ("+1 123 456 7890", None),
        ("+7 012 345 67 89", None),
        ("+998 00 123 45 67", None),
        ("+999 123 456 789", None),
        ("+0 555 123 456", None),
        ("+44 20 7946 095", None),
        ("+49 30", None),
        ("+996", None),
        ("912 345 67 89", None),
        ("8 912 345 67 89", None),
        ("9123456789", None),
        ("(212) 736-5000", None),
        ("07400 123456", None),
        ("90 123 45 67", None),
        ("", None),
        ("   ", None),
        ("+", None),
        ("12", None),
        ("119", None),
        ("12345", None),
        ("x", None),
        ("phone", None),
        ("0000000000", None),
        ("+996 555 123 456 789", None),
        ("+99655512345678901234", None),
        ("055512345\u{431}6", None),
        ("0555_123_456", None),
        ("(0555) 123 456", Some("+996555123456")),
        ("+996-555-123-456", Some("+996555123456")),
        ("+996.555.123.456", Some("+996555123456")),
        ("+996 (555) 12-34-56", Some("+996555123456")),
        ("+996\u{a0}555\u{a0}123\u{a0}456", Some("+996555123456")),
        ("0555/123/456", Some("+996555123456")),
        ("0555\u{2013}123\u{2013}456", Some("+996555123456")),
        ("+996 [555] 123 456", Some("+996555123456")),
        ("  +996 555 123 456  ", Some("+996555123456")),
        ("+ 996 555 123 456", Some("+996555123456")),
        ("(+996) 555 123 456", Some("+996555123456")),
        ("+996 (0) 555 123 456", Some("+996555123456")),
    ];

    /// Input libphonenumber reads as a valid number (its E.164 form beside
    /// it) that tolom refuses on purpose: other scripts' digits, letters,
    /// extensions, `tel:` URIs, `*`, `#` and a doubled `+` (docs/phones.md).
    const STRICTER_THAN_LIBPHONENUMBER: &[(&str, Option<&str>)] = &[
        (
            "\u{ff10}\u{ff15}\u{ff15}\u{ff15} \u{ff11}\u{ff12}\u{ff13} \u{ff14}\u{ff15}\u{ff16}",
            Some("+996555123456"),
        ),
        (
            "\u{660}\u{665}\u{665}\u{665}\u{661}\u{662}\u{663}\u{664}\u{665}\u{666}",
            Some("+996555123456"),
        ),
        ("0555 123 456 ext. 12", Some("+996555123456")),
        ("+996 555 ABC DEF", Some("+996555222333")),
        ("tel:+996555123456", Some("+996555123456")),
        ("++996 555 123 456", Some("+996555123456")),
        (
            "0555 123 456 \u{434}\u{43e}\u{431}. 7",
            Some("+996555123456"),
        ),
        ("0555*123*456", Some("+996555123456")),
        ("#0555123456", Some("+996555123456")),
    ];

    #[test]
    fn phones_agree_with_libphonenumber() {
        assert!(LIBPHONENUMBER.len() >= 60);
        let disagree: Vec<String> = LIBPHONENUMBER
            .iter()
            .filter_map(|&(input, expected)| {
                let got = Phone::parse(input);
                (got.as_ref().map(Phone::as_str) != expected)
                    .then(|| format!("{input:?}: libphonenumber {expected:?}, tolom {got:?}"))
            })
            .collect();
        assert!(
            disagree.is_empty(),
            "{} of {} disagree:\n{}",
            disagree.len(),
            LIBPHONENUMBER.len(),
            disagree.join("\n")
        );
    }

    #[test]
    fn phones_stricter_than_libphonenumber() {
        for &(input, libphonenumber) in STRICTER_THAN_LIBPHONENUMBER {
            assert!(libphonenumber.is_some(), "{input:?}");
            assert_eq!(
                Phone::parse_in(input, PhoneRegion::KG),
                Err(PhoneError::Invalid),
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_national_number_from_abroad_gets_the_hint() {
        let kg = PhoneRegion::default();
        assert_eq!(kg, PhoneRegion::KG);
        for national in [
            "912 345 67 89",
            "8 912 345 67 89",
            "9123456789",
            "(212) 736-5000",
            "07400 123456",
            "90 123 45 67",
            "0204 123 456",
            "0555 123 45",
            "996 155 123 456",
        ] {
            assert_eq!(
                Phone::parse_in(national, kg),
                Err(PhoneError::NationalNotInRegion),
                "{national:?}"
            );
        }
        for invalid in [
            "+1 0651462315",
            "00 1 065 146 2315",
            "+996 155 123 456",
            "+7 912 345 67 8",
            "12345",
            "119",
            "phone",
            "",
            "0555 123 456 789 012 345",
        ] {
            assert_eq!(
                Phone::parse_in(invalid, kg),
                Err(PhoneError::Invalid),
                "{invalid:?}"
            );
        }
        // The card form says so, in every language, with its own code.
        let mut f = form("4111111111111111");
        f.phone = "912 345 67 89".into();
        let errs = f.validate(now(), &BrandTable::default()).unwrap_err();
        assert_eq!(errs.codes(), ["contact.phone_national_not_kg"]);
        let e = errs.for_field(Field::Phone).unwrap();
        for lang in crate::i18n::Language::ALL {
            let msg = e.message(lang);
            assert!(msg.contains('+') && msg.contains("+7 912"), "{lang}: {msg}");
        }
        f.phone = "+1 0651462315".into();
        let errs = f.validate(now(), &BrandTable::default()).unwrap_err();
        assert_eq!(errs.codes(), ["contact.phone_invalid"]);
        // The same number with + is accepted.
        f.phone = "+7 912 345 67 89".into();
        let (_, contact) = f.validate(now(), &BrandTable::default()).unwrap();
        assert_eq!(contact.phone.as_str(), "+79123456789");
    }

    #[test]
    fn phones_are_kept_in_e164() {
        for (input, e164) in [
            ("+996 555 123 456", "+996555123456"),
            ("0555123456", "+996555123456"),
            ("555 12 34 56", "+996555123456"),
            ("996700123456", "+996700123456"),
            ("00 996 700 123 456", "+996700123456"),
            ("+996 (0) 312 62 00 00", "+996312620000"),
            ("0 800 123 4567", "+9968001234567"),
            ("00 44 20 7946 0958", "+442079460958"),
            ("+1 (212) 736-5000", "+12127365000"),
            // A leading zero that belongs to the number (Italy) is kept.
            ("+39 06 6982 1234", "+390669821234"),
        ] {
            let phone = Phone::parse(input).unwrap_or_else(|| panic!("{input:?}"));
            assert_eq!(phone.as_str(), e164, "{input:?}");
            assert_eq!(phone.to_string(), e164);
            // E.164 reads back as itself, and serializes as a string.
            assert_eq!(Phone::parse(e164), Some(phone.clone()));
            assert_eq!(
                serde_json::to_string(&phone).unwrap_or_default(),
                format!("\"{e164}\"")
            );
        }
        // A stored value is taken as it is.
        assert_eq!(
            Phone::from_stored("+996555123456").as_str(),
            "+996555123456"
        );
    }

    #[test]
    fn phone_regions_are_libphonenumber_regions() {
        assert_eq!(PhoneRegion::KG.code(), "KG");
        assert_eq!(PhoneRegion::from_code(" kz "), PhoneRegion::from_code("KZ"));
        for bad in ["", "XX", "001", "KGZ", "k", "\u{41a}G"] {
            assert_eq!(PhoneRegion::from_code(bad), None, "{bad:?}");
        }
        let kz = PhoneRegion::from_code("KZ").unwrap();
        assert_eq!(kz.code(), "KZ");
        assert_eq!(
            Phone::parse_in("8 701 123 45 67", kz).map(|p| p.0),
            Ok("+77011234567".to_string())
        );
        assert_eq!(
            Phone::parse_in("0555 123 456", kz),
            Err(PhoneError::NationalNotInRegion)
        );
        assert_eq!(
            Phone::parse_in("+996 555 123 456", kz).map(|p| p.0),
            Ok("+996555123456".to_string())
        );
    }

    /// Every region libphonenumber has metadata for.
    fn all_regions() -> Vec<PhoneRegion> {
        phonenumber::metadata::DATABASE
            .iter()
            .filter_map(|m| PhoneRegion::from_code(m.id()))
            .collect()
    }

    #[test]
    fn phones_never_panic_in_any_region() {
        let regions = all_regions();
        assert!(regions.len() > 200, "{} regions", regions.len());
        for region in regions {
            for prefix in ["", "+", "0", "00", "8", "011", "+0", "+00"] {
                for body in [
                    "1234567890123456789",
                    "0000000000000000000",
                    "9999999999999999999",
                ] {
                    for len in 0..=body.len() {
                        let _ = Phone::parse_in(&format!("{prefix}{}", &body[..len]), region);
                    }
                }
            }
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

        /// Any text, and digits in every region of the metadata: no panic,
        /// and what is accepted is E.164 that reads back as itself.
        #[test]
        fn phones_never_panic(input in "\\PC{0,30}", typed in "[+]?[0-9 ()-]{0,22}",
                              region in 0usize..1000) {
            let regions = all_regions();
            let region = regions[region % regions.len()];
            for text in [&input, &typed] {
                for r in [PhoneRegion::KG, region] {
                    if let Ok(phone) = Phone::parse_in(text, r) {
                        let digits = &phone.as_str()[1..];
                        prop_assert!(phone.as_str().starts_with('+'));
                        prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()) && digits.len() <= 20);
                        prop_assert_eq!(Phone::parse_in(phone.as_str(), r), Ok(phone.clone()));
                    }
                }
            }
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
