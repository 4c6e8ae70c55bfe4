//! Payment codes: forgiving input, strict value.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::checkdigit::{CheckDigitScheme, Damm};
use crate::i18n::{ErrorCode, Text};

/// The family of services a code prefix stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceFamily {
    /// ID card and general civil passport (prefix `11` by default).
    Passport,
    /// National and international driving licences (prefix `16`).
    DrivingLicence,
    /// The Meken-card for compatriots (prefix `13`).
    MekenCard,
}

/// A validated payment code: ASCII digits only, of the configured length,
/// with a known prefix and a correct check digit.
///
/// Build it with [`CodeFormat::parse`]. Its `Display` is the bare digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentCode(String);

impl PaymentCode {
    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps digits that were validated earlier (e.g. read back from
    /// storage). Adapters use this; payer input goes through
    /// [`CodeFormat::parse`].
    pub fn from_trusted(digits: impl Into<String>) -> PaymentCode {
        PaymentCode(digits.into())
    }

    /// The code grouped in fours for display: `1100 0000 0012 3`.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + self.0.len() / 4);
        for (i, ch) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(ch);
        }
        out
    }
}

impl fmt::Display for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a text is not a payment code. Each variant has its own stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Nothing was entered.
    #[error("no payment code entered")]
    Empty,
    /// Letters or other characters besides digits, spaces and dashes.
    #[error("payment code contains characters other than digits")]
    InvalidCharacters,
    /// Wrong number of digits.
    #[error("payment code has {got} digits, expected {expected}")]
    Length {
        /// Digits entered.
        got: usize,
        /// Digits expected.
        expected: usize,
    },
    /// The prefix belongs to no service family.
    #[error("payment code has an unknown prefix")]
    Prefix,
    /// The check digit does not match: a typo.
    #[error("payment code check digit does not match")]
    CheckDigit,
}

impl ErrorCode for CodeError {
    fn text(&self) -> Text {
        match self {
            CodeError::Empty => Text::CodeEmpty,
            CodeError::InvalidCharacters => Text::CodeInvalidCharacters,
            CodeError::Length { .. } => Text::CodeLength,
            CodeError::Prefix => Text::CodePrefix,
            CodeError::CheckDigit => Text::CodeCheckDigit,
        }
    }
}

/// The shape of valid codes: length, prefixes per family and check digits.
///
/// The default is what tolom assumes for the state payment site, whose exact
/// format is not published: 12 digits, prefixes `11` (passport / ID card),
/// `16` (driving licence) and `13` (Meken-card), one Damm check digit.
///
/// ```
/// use tolom_core::code::{CodeFormat, CodeError, ServiceFamily};
/// let format = CodeFormat::default();
/// let code = format.generate(ServiceFamily::Passport, 1234).unwrap();
/// let typed = format!(" {}-{} ", &code.as_str()[..6], &code.as_str()[6..]);
/// assert_eq!(format.parse(&typed).unwrap(), code);
/// assert_eq!(format.parse("11x"), Err(CodeError::InvalidCharacters));
/// ```
#[derive(Debug, Clone)]
pub struct CodeFormat {
    length: usize,
    prefixes: Vec<(String, ServiceFamily)>,
    scheme: Arc<dyn CheckDigitScheme>,
}

impl Default for CodeFormat {
    fn default() -> Self {
        CodeFormat {
            length: 12,
            prefixes: vec![
                ("11".into(), ServiceFamily::Passport),
                ("16".into(), ServiceFamily::DrivingLicence),
                ("13".into(), ServiceFamily::MekenCard),
            ],
            scheme: Arc::new(Damm),
        }
    }
}

/// A format could not be built from its parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid code format: {0}")]
pub struct FormatError(pub String);

impl CodeFormat {
    /// A custom format. Prefixes must be digits, shorter than the code
    /// leaves room for, and none may be a prefix of another.
    pub fn new(
        length: usize,
        prefixes: Vec<(String, ServiceFamily)>,
        scheme: Arc<dyn CheckDigitScheme>,
    ) -> Result<CodeFormat, FormatError> {
        if length == 0 || length > 64 {
            return Err(FormatError("length must be 1..=64".into()));
        }
        if prefixes.is_empty() {
            return Err(FormatError("at least one prefix is needed".into()));
        }
        for (p, _) in &prefixes {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FormatError(format!("prefix {p:?} is not digits")));
            }
            if p.len() + scheme.check_len() >= length {
                return Err(FormatError(format!("prefix {p:?} leaves no room")));
            }
        }
        for (a, _) in &prefixes {
            for (b, _) in &prefixes {
                if a != b && b.starts_with(a.as_str()) {
                    return Err(FormatError(format!("prefix {a:?} shadows {b:?}")));
                }
            }
        }
        Ok(CodeFormat {
            length,
            prefixes,
            scheme,
        })
    }

    /// Total number of digits.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The check-digit scheme.
    pub fn scheme(&self) -> &dyn CheckDigitScheme {
        self.scheme.as_ref()
    }

    /// The prefix of a family, if configured.
    pub fn prefix_of(&self, family: ServiceFamily) -> Option<&str> {
        self.prefixes
            .iter()
            .find(|(_, f)| *f == family)
            .map(|(p, _)| p.as_str())
    }

    /// The family a valid code belongs to.
    pub fn family_of(&self, code: &PaymentCode) -> Option<ServiceFamily> {
        self.prefixes
            .iter()
            .find(|(p, _)| code.0.starts_with(p.as_str()))
            .map(|(_, f)| *f)
    }

    /// Parses payer input. Spaces, dashes, dots and NBSPs between digits are
    /// ignored; anything else is an error. Checks run in the order a payer
    /// can act on: characters, length, prefix, check digit.
    pub fn parse(&self, input: &str) -> Result<PaymentCode, CodeError> {
        let mut digits = String::with_capacity(self.length);
        for ch in input.chars() {
            match ch {
                '0'..='9' => {
                    if digits.len() > 64 {
                        return Err(CodeError::Length {
                            got: digits.len() + 1,
                            expected: self.length,
                        });
                    }
                    digits.push(ch)
                }
                ' ' | '-' | '.' | '\t' | '\u{a0}' | '\u{202f}' | '\u{2009}' => {}
                _ => return Err(CodeError::InvalidCharacters),
            }
        }
        if digits.is_empty() {
            return Err(CodeError::Empty);
        }
        if digits.len() != self.length {
            return Err(CodeError::Length {
                got: digits.len(),
                expected: self.length,
            });
        }
        if !self
            .prefixes
            .iter()
            .any(|(p, _)| digits.starts_with(p.as_str()))
        {
            return Err(CodeError::Prefix);
        }
        if !self.scheme.is_valid(digits.as_bytes()) {
            return Err(CodeError::CheckDigit);
        }
        Ok(PaymentCode(digits))
    }

    /// How many serials a family has: 10 to the power of the digits
    /// between the prefix and the check digits (`None` for a family
    /// without a prefix, or beyond `u128`).
    pub fn serials(&self, family: ServiceFamily) -> Option<u128> {
        let prefix = self.prefix_of(family)?;
        let body_len = self.length - prefix.len() - self.scheme.check_len();
        10u128.checked_pow(u32::try_from(body_len).ok()?)
    }

    /// A code with a **random serial** in `family`: every serial digit is
    /// drawn uniformly from `rng` (give it a CSPRNG — issuing uses the
    /// operating system's, `rand::rngs::OsRng`), then the check digits are
    /// added. Nothing about one code tells another: codes are not
    /// sequential and not derived from any reference. Uniqueness is the
    /// store's (a duplicate is refused and the issuer draws again).
    pub fn random<R>(&self, family: ServiceFamily, rng: &mut R) -> Option<PaymentCode>
    where
        R: rand::RngCore + rand::CryptoRng + ?Sized,
    {
        use rand::Rng;
        let prefix = self.prefix_of(family)?;
        let body_len = self.length - prefix.len() - self.scheme.check_len();
        let mut payload = String::with_capacity(self.length);
        payload.push_str(prefix);
        for _ in 0..body_len {
            payload.push(char::from(b'0' + rng.gen_range(0..10u8)));
        }
        let check = self.scheme.compute(payload.as_bytes());
        payload.push_str(std::str::from_utf8(&check).ok()?);
        Some(PaymentCode(payload))
    }

    /// Builds the code with serial number `serial` in `family`: prefix,
    /// zero-padded serial, check digits. For fixtures and demo data with
    /// known codes; issuing draws serials with [`CodeFormat::random`].
    pub fn generate(&self, family: ServiceFamily, serial: u64) -> Option<PaymentCode> {
        let prefix = self.prefix_of(family)?;
        let body_len = self.length - prefix.len() - self.scheme.check_len();
        let serial = serial.to_string();
        if serial.len() > body_len {
            return None;
        }
        let mut payload = String::with_capacity(self.length);
        payload.push_str(prefix);
        payload.extend(std::iter::repeat_n('0', body_len - serial.len()));
        payload.push_str(&serial);
        let check = self.scheme.compute(payload.as_bytes());
        payload.push_str(std::str::from_utf8(&check).ok()?);
        Some(PaymentCode(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkdigit::{Luhn, Mod97_10};
    use proptest::prelude::*;

    #[test]
    fn each_bad_input_has_its_own_error() {
        let f = CodeFormat::default();
        let good = f.generate(ServiceFamily::DrivingLicence, 42).unwrap();
        assert_eq!(good.as_str().len(), 12);
        assert!(good.as_str().starts_with("16"));
        assert_eq!(f.family_of(&good), Some(ServiceFamily::DrivingLicence));
        assert_eq!(f.parse(""), Err(CodeError::Empty));
        assert_eq!(f.parse(" - "), Err(CodeError::Empty));
        assert_eq!(f.parse("11AB"), Err(CodeError::InvalidCharacters));
        assert_eq!(f.parse("１１"), Err(CodeError::InvalidCharacters));
        assert_eq!(
            f.parse("1100"),
            Err(CodeError::Length {
                got: 4,
                expected: 12
            })
        );
        assert_eq!(f.parse("990000000001"), Err(CodeError::Prefix));
        let mut typo = good.as_str().as_bytes().to_vec();
        typo[5] = if typo[5] == b'9' { b'0' } else { typo[5] + 1 };
        assert_eq!(
            f.parse(std::str::from_utf8(&typo).unwrap()),
            Err(CodeError::CheckDigit)
        );
        let spaced = good.grouped();
        assert_eq!(f.parse(&spaced).unwrap(), good);
    }

    #[test]
    fn custom_formats() {
        let f = CodeFormat::new(
            20,
            vec![("188".into(), ServiceFamily::Passport)],
            Arc::new(Mod97_10),
        )
        .unwrap();
        let c = f.generate(ServiceFamily::Passport, 7).unwrap();
        assert_eq!(c.as_str().len(), 20);
        assert_eq!(f.parse(c.as_str()).unwrap(), c);
        assert!(f.generate(ServiceFamily::MekenCard, 1).is_none());
        assert!(CodeFormat::new(
            10,
            vec![
                ("1".into(), ServiceFamily::Passport),
                ("11".into(), ServiceFamily::MekenCard)
            ],
            Arc::new(Luhn)
        )
        .is_err());
        assert!(CodeFormat::new(
            3,
            vec![("11".into(), ServiceFamily::Passport)],
            Arc::new(Mod97_10)
        )
        .is_err());
    }

    #[test]
    fn random_codes_are_valid_uniform_and_unrelated() {
        let f = CodeFormat::default();
        let mut rng = rand::rngs::OsRng;
        assert_eq!(f.serials(ServiceFamily::Passport), Some(1_000_000_000));
        let mut seen = std::collections::HashSet::new();
        let mut digit_counts = [0u32; 10];
        for _ in 0..2_000 {
            let c = f.random(ServiceFamily::MekenCard, &mut rng).unwrap();
            assert_eq!(f.parse(c.as_str()), Ok(c.clone()));
            assert_eq!(f.family_of(&c), Some(ServiceFamily::MekenCard));
            for d in c.as_str()[2..11].bytes() {
                digit_counts[usize::from(d - b'0')] += 1;
            }
            assert!(seen.insert(c), "a repeat in 2,000 draws of 10^9");
        }
        // 18,000 digits: each digit about 1,800 times (a fixed or
        // sequential source would be far off).
        for (d, n) in digit_counts.iter().enumerate() {
            assert!((1_500..2_100).contains(n), "digit {d}: {n}");
        }
        // A deterministic source gives the same codes: the randomness is
        // the generator's, nothing else goes in.
        use rand::SeedableRng;
        let a = f.random(
            ServiceFamily::Passport,
            &mut rand::rngs::StdRng::seed_from_u64(1),
        );
        let b = f.random(
            ServiceFamily::Passport,
            &mut rand::rngs::StdRng::seed_from_u64(1),
        );
        assert_eq!(a, b);
        let long = CodeFormat::new(
            60,
            vec![("7".into(), ServiceFamily::Passport)],
            Arc::new(Mod97_10),
        )
        .unwrap();
        let c = long.random(ServiceFamily::Passport, &mut rng).unwrap();
        assert_eq!(long.parse(c.as_str()), Ok(c));
        assert_eq!(long.serials(ServiceFamily::Passport), None);
        assert!(f.random(ServiceFamily::Passport, &mut rng).is_some());
        let only_passports = CodeFormat::new(
            12,
            vec![("11".into(), ServiceFamily::Passport)],
            Arc::new(Damm),
        )
        .unwrap();
        assert!(only_passports
            .random(ServiceFamily::MekenCard, &mut rng)
            .is_none());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = CodeFormat::default().parse(&s);
        }

        #[test]
        fn generated_codes_parse(serial in 0u64..1_000_000_000) {
            let f = CodeFormat::default();
            for fam in [ServiceFamily::Passport, ServiceFamily::DrivingLicence, ServiceFamily::MekenCard] {
                let c = f.generate(fam, serial).unwrap();
                prop_assert_eq!(f.parse(c.as_str()), Ok(c.clone()));
                prop_assert_eq!(f.family_of(&c), Some(fam));
            }
        }
    }
}
