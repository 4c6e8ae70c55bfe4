//! The formats of what API clients send — payment codes, card fields,
//! receipt references, idempotency keys, `lang` — defined once: the
//! OpenAPI document (`api::openapi`) publishes these patterns and lengths,
//! and the handlers refuse what does not match them, with the same regular
//! expressions (the `regex` crate; the patterns keep to the part of the
//! syntax that JSON Schema's ECMA-262, Python's `re` and `regex` read
//! alike: anchors, classes, groups, counted repetition).
//!
//! The API is stricter than the portal's form, on purpose: a person may
//! type `1100.4200.0013` or `12 / 30` and the core reads it, a program is
//! held to the documented form. What a pattern cannot say (a code's check
//! digit, a card number's Luhn digit and brand range, an expiry in the
//! past, a phone number that is no number of its country) is still judged
//! by the core, with its own error codes (`docs/api.md`, "Formats").

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use regex::Regex;
use tolom_core::card::{CardForm, Field, FieldError, ValidationErrors, CVV_DIGITS};
use tolom_core::code::{CodeFormat, ServiceFamily};
use tolom_core::i18n::{ErrorCode, Text};

/// A string field's documented form: a pattern, a maximum length and an
/// example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// The regular expression a value must match (anchored where the
    /// whole value is meant).
    pub pattern: String,
    /// The most characters.
    pub max_length: usize,
    /// An example of a valid value.
    pub example: String,
}

impl Format {
    fn of(pattern: &str, max_length: usize, example: &str) -> Format {
        Format {
            pattern: pattern.to_string(),
            max_length,
            example: example.to_string(),
        }
    }

    /// Whether `value` has this form (length in characters, as JSON Schema
    /// counts them).
    pub fn accepts(&self, value: &str) -> bool {
        value.chars().count() <= self.max_length && matches(&self.pattern, value)
    }
}

/// Whether `value` matches `pattern`, compiled once per pattern (a handful
/// in a process: the fixed ones and the configured code format's, so the
/// list is bounded by the configuration, not by requests). The patterns
/// are this module's own and tested to compile; one that did not would
/// match nothing.
///
/// The compiled expression is shared through an `Arc`, not cloned: a
/// cloned `Regex` starts with an empty pool of matching caches, so every
/// request would build its lazy DFA again (a few % of a request's CPU).
fn matches(pattern: &str, value: &str) -> bool {
    type Cache = Mutex<Vec<(String, Option<Arc<Regex>>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let re = match cache.iter().find(|(p, _)| p == pattern) {
        Some((_, re)) => re.clone(),
        None => {
            let re = Regex::new(pattern).ok().map(Arc::new);
            cache.push((pattern.to_string(), re.clone()));
            re
        }
    };
    drop(cache);
    re.is_some_and(|re| re.is_match(value))
}

/// The languages `?lang=` takes, exactly as written.
pub const LANGUAGES: [&str; 3] = ["ky", "ru", "en"];

/// The families a code format may give prefixes to.
const FAMILIES: [ServiceFamily; 3] = [
    ServiceFamily::Passport,
    ServiceFamily::DrivingLicence,
    ServiceFamily::MekenCard,
];

/// What may stand between a code's digits, as the core reads it
/// (`CodeFormat::parse`): spaces, dashes, dots, tabs, no-break, thin and
/// narrow no-break spaces.
const CODE_SEPARATORS: &str = r"[ \t.\u00A0\u2009\u202F-]";

/// A payment code of `format`, as the core reads it: its digits, a
/// configured prefix first, with separators ([`CODE_SEPARATORS`])
/// anywhere (`110042000013`, `1100 4200 0013`, `1100.4200.0013`); at most
/// 64 characters. Only the check digit is left to the core.
pub fn code(format: &CodeFormat) -> Format {
    let sep = CODE_SEPARATORS;
    let digit_run = |digits: &str| {
        digits
            .chars()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(&format!("{sep}*"))
    };
    let mut prefixes: Vec<&str> = FAMILIES
        .iter()
        .filter_map(|f| format.prefix_of(*f))
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    let length = format.length();
    // The rest is counted per prefix, so that a format whose prefixes
    // differ in length is described exactly too.
    let branches: Vec<String> = prefixes
        .iter()
        .map(|p| {
            let rest = length.saturating_sub(p.len());
            format!("{}(?:{sep}*[0-9]){{{rest}}}", digit_run(p))
        })
        .collect();
    let example = FAMILIES
        .iter()
        .find_map(|f| {
            format
                .generate(*f, 4_200_002)
                .or_else(|| format.generate(*f, 1))
        })
        .map(|c| c.as_str().to_string())
        .unwrap_or_default();
    Format {
        pattern: format!("^{sep}*(?:{}){sep}*$", branches.join("|")),
        max_length: CODE_MAX_LENGTH,
        example,
    }
}

/// Whether `input` matches [`code`]'s pattern for `format`, without
/// building the [`Format`] (its pattern and example: a dozen strings) on
/// every request: the pattern depends only on the format's prefixes and
/// length, so it is kept per (prefixes, length) — a handful in a process,
/// bounded by the configurations, never by requests.
fn code_matches(format: &CodeFormat, input: &str) -> bool {
    type Key = (Vec<String>, usize);
    type Compiled = Option<Arc<Regex>>;
    static PATTERNS: OnceLock<Mutex<Vec<(Key, Compiled)>>> = OnceLock::new();
    let mut prefixes: [Option<&str>; 3] = [None; 3];
    for (slot, family) in prefixes.iter_mut().zip(FAMILIES) {
        *slot = format.prefix_of(family);
    }
    let length = format.length();
    let same = |(p, l): &Key| {
        *l == length
            && p.iter()
                .map(String::as_str)
                .eq(prefixes.iter().flatten().copied())
    };
    let mut known = PATTERNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let re = match known.iter().find(|(k, _)| same(k)) {
        Some((_, re)) => re.clone(),
        None => {
            let re = Regex::new(&code(format).pattern).ok().map(Arc::new);
            let key = (
                prefixes.iter().flatten().map(|p| p.to_string()).collect(),
                length,
            );
            if known.len() >= 64 {
                known.remove(0);
            }
            known.push((key, re.clone()));
            re
        }
    };
    drop(known);
    re.is_some_and(|re| re.is_match(input))
}

/// The most characters of a code as sent, separators included.
const CODE_MAX_LENGTH: usize = 64;

/// Refuses a code that does not have its documented form, with the
/// core's error for it (`code.length`, `code.prefix`, ...), or
/// `code.length` for one longer than 64 characters that the core would
/// have read.
pub fn check_code(format: &CodeFormat, input: &str) -> Result<(), Text> {
    if input.chars().count() <= CODE_MAX_LENGTH && code_matches(format, input) {
        return Ok(());
    }
    Err(format
        .parse(input)
        .err()
        .map_or(Text::CodeLength, |e| e.text()))
}

/// The cardholder's name: Latin letters, `.`, `'` and `-`, words apart by
/// single spaces, beginning with a letter, at most 26 characters (what
/// the card carries).
pub fn holder() -> Format {
    Format::of(
        r"^[A-Za-z][A-Za-z.'-]*(?: [A-Za-z.'-]+)*$",
        26,
        "AIBEK ASANOV",
    )
}

/// The card number: 12 to 19 digits, optionally grouped by single spaces
/// or dashes.
pub fn pan() -> Format {
    Format::of(r"^[0-9](?:[ -]?[0-9]){11,18}$", 37, "4111 1111 1111 1111")
}

/// The expiry: `MM/YY`, `MM/YYYY`, `MMYY` or `MMYYYY`.
pub fn expiry() -> Format {
    Format::of(r"^(?:0[1-9]|1[0-2])/?(?:[0-9]{2}|[0-9]{4})$", 7, "12/30")
}

/// The CVV/CVC: [`CVV_DIGITS`] digits.
pub fn cvv() -> Format {
    Format {
        pattern: format!("^[0-9]{{{CVV_DIGITS}}}$"),
        max_length: CVV_DIGITS,
        example: "1234567890"[..CVV_DIGITS.min(10)].to_string(),
    }
}

/// The phone: digits, an optional leading `+`, single spaces, dashes and
/// brackets between them; 7 to 30 characters.
pub fn phone() -> Format {
    Format::of(r"^\+?\(?[0-9][0-9 ()-]{5,27}[0-9]$", 30, "+996 555 123 456")
}

/// The e-mail address: one `@`, a dot in the domain, no white space; at
/// most 254 characters.
pub fn email() -> Format {
    Format::of(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", 254, "payer@example.kg")
}

/// A receipt number: the Bishkek date, `-`, 16 upper-case hex digits (10
/// on receipts issued before the 64-bit numbers).
pub fn receipt_number() -> Format {
    Format::of(
        r"^[0-9]{8}-[0-9A-F]{10}(?:[0-9A-F]{6})?$",
        25,
        "20261125-3F9A0C41D27E88B1",
    )
}

/// A receipt key's id: the first 8 characters of its public key in
/// base64url.
/// Empty is "not given" (every key of the ring is tried).
pub fn key_id() -> Format {
    Format::of(r"^(?:[A-Za-z0-9_-]{8})?$", 8, "Xq3vR8kT")
}

/// An Ed25519 signature: 64 bytes in base64url without padding (86
/// characters); the standard alphabet and `==` padding are read too.
pub fn signature() -> Format {
    Format::of(
        r"^[A-Za-z0-9_+/-]{86}(?:==)?$",
        88,
        "hGx2Yw3J1jv8Q3bqYJ0jV8m3yQ2fS8Hq0W1xQ4bH7u5cV2nD9kL0pR3sT6wZ8aB1cE4fG7hJ0kM3nP6qS9tV2A",
    )
}

/// A receipt's signed content: any text with something besides white
/// space (what it says is the signature check's business).
pub fn signed_content() -> Format {
    Format::of(
        r"\S",
        65_536,
        "tolom-receipt/2\nnumber: 20261125-3F9A0C41D27E88B1\n…",
    )
}

/// The id of the agreement edition accepted: any text with something
/// besides white space (an edition that is not the one in force is `409
/// terms.outdated`).
pub fn accepted_terms() -> Format {
    Format::of(r"\S", 128, "2024-01-01")
}

/// An `Idempotency-Key`: 1 to 128 of `A-Z a-z 0-9 . _ : -` (a UUID will
/// do).
pub fn idempotency_key() -> Format {
    Format::of(
        r"^[A-Za-z0-9._:-]{1,128}$",
        128,
        "5f0c9a52-8d4e-4a8b-9a61-3e2f1c0b7d11",
    )
}

/// The format of a card form's field.
pub fn card_field(field: Field) -> Format {
    match field {
        Field::Holder => holder(),
        Field::Pan => pan(),
        Field::Expiry => expiry(),
        Field::Cvv => cvv(),
        Field::Phone => phone(),
        Field::Email => email(),
    }
}

/// The card form's fields, in the form's order.
pub const CARD_FIELDS: [Field; 6] = [
    Field::Holder,
    Field::Pan,
    Field::Expiry,
    Field::Cvv,
    Field::Phone,
    Field::Email,
];

/// What a field that does not have its documented form is, when the core
/// would have read it.
fn misformed(field: Field) -> Text {
    match field {
        Field::Holder => Text::CardHolderLatin,
        Field::Pan => Text::CardPanDigits,
        Field::Expiry => Text::CardExpiryInvalid,
        Field::Cvv => Text::CardCvvLength,
        Field::Phone => Text::ContactPhoneInvalid,
        Field::Email => Text::ContactEmailInvalid,
    }
}

fn value(form: &CardForm, field: Field) -> &str {
    match field {
        Field::Holder => &form.holder,
        Field::Pan => &form.pan,
        Field::Expiry => &form.expiry,
        Field::Cvv => &form.cvv,
        Field::Phone => &form.phone,
        Field::Email => &form.email,
    }
}

/// The card form's errors when a field does not have its documented form,
/// every field's at once: `core` is the core's own judgement of the form
/// (its error for a field wins: `card.pan_length` says more than
/// `card.pan_digits`), and a field the core would have read but the API
/// does not gets its field's generic error. `None` when every field has
/// its form (the core then judges the form alone).
pub fn card_errors(
    form: &CardForm,
    core: impl FnOnce() -> Option<ValidationErrors>,
) -> Option<ValidationErrors> {
    let misformed_fields: Vec<Field> = CARD_FIELDS
        .into_iter()
        .filter(|f| !card_field(*f).accepts(value(form, *f)))
        .collect();
    if misformed_fields.is_empty() {
        return None;
    }
    let core = core().map(|e| e.0).unwrap_or_default();
    let errors = CARD_FIELDS
        .into_iter()
        .filter_map(|field| {
            core.iter().find(|e| e.field == field).cloned().or_else(|| {
                misformed_fields.contains(&field).then(|| FieldError {
                    field,
                    text: misformed(field),
                })
            })
        })
        .collect();
    Some(ValidationErrors(errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<(&'static str, Format)> {
        vec![
            ("code", code(&CodeFormat::default())),
            ("holder", holder()),
            ("pan", pan()),
            ("expiry", expiry()),
            ("cvv", cvv()),
            ("phone", phone()),
            ("email", email()),
            ("receipt_number", receipt_number()),
            ("key_id", key_id()),
            ("signature", signature()),
            ("signed_content", signed_content()),
            ("accepted_terms", accepted_terms()),
            ("idempotency_key", idempotency_key()),
        ]
    }

    #[test]
    fn every_pattern_compiles_and_accepts_its_example() {
        for (name, f) in all() {
            assert!(Regex::new(&f.pattern).is_ok(), "{name}: {}", f.pattern);
            assert!(f.accepts(&f.example), "{name}: {:?}", f.example);
            if name != "key_id" {
                assert!(!f.accepts(""), "{name} accepts nothing");
            }
        }
    }

    #[test]
    fn the_code_pattern_is_what_the_core_reads() {
        let format = CodeFormat::default();
        let f = code(&format);
        assert_eq!(f.example.len(), 12);
        assert!(format.parse(&f.example).is_ok());
        let c = &f.example;
        let typed = [
            c.clone(),
            format!("{} {} {}", &c[..4], &c[4..8], &c[8..]),
            format!("{}-{}-{}", &c[..4], &c[4..8], &c[8..]),
            format!("{}.{}.{}", &c[..4], &c[4..8], &c[8..]),
            format!("  {}\t{} ", &c[..6], &c[6..]),
            format!("{}\u{a0}{}\u{202f}{}\u{2009}", &c[..4], &c[4..8], &c[8..]),
        ];
        for ok in typed {
            assert!(f.accepts(&ok), "{ok:?}");
            assert!(format.parse(&ok).is_ok(), "{ok:?}");
        }
        // What the core refuses for its form, the pattern refuses too.
        for bad in [
            "11004200001",
            "1100420000133",
            "990042000013",
            "1100_4200_0013",
            "110042000013\n",
            "11004200001３",
            "",
        ] {
            assert!(!f.accepts(bad), "{bad:?}");
            assert!(format.parse(bad).is_err(), "{bad:?}");
        }
        // Longer than 64 characters: refused by the API alone.
        let long = format!("{}{c}", " ".repeat(60));
        assert!(!f.accepts(&long));
        assert_eq!(check_code(&format, &long), Err(Text::CodeLength));
        assert_eq!(
            check_code(&format, "1100_4200_0013"),
            Err(Text::CodeInvalidCharacters)
        );
    }

    #[test]
    fn card_fields_have_their_forms() {
        assert!(holder().accepts("O'NEIL MARY-JANE"));
        assert!(!holder().accepts("AIBEK  ASANOV"));
        assert!(!holder().accepts("Айбек"));
        assert!(!holder().accepts("ABCDEFGHIJKLMNOPQRSTUVWXYZA"));
        assert!(pan().accepts("4111111111111111"));
        assert!(!pan().accepts("4111 1111 1111 111a"));
        assert!(!pan().accepts("41111111111"));
        assert!(expiry().accepts("1230") && expiry().accepts("12/2030"));
        assert!(!expiry().accepts("13/30") && !expiry().accepts("12 / 30"));
        assert!(!cvv().accepts("12") && !cvv().accepts("1234"));
        assert!(phone().accepts("+996 (555) 123-456") && phone().accepts("0555123456"));
        assert!(!phone().accepts("+996 555 123 456 ext. 7"));
        assert!(email().accepts("a@example.kg"));
        assert!(!email().accepts("a @example.kg") && !email().accepts("a@localhost"));
        assert!(receipt_number().accepts("20260101-0123456789"));
        assert!(!receipt_number().accepts("20260101-0123456789abcdef"));
        assert!(idempotency_key().accepts(&"k".repeat(128)));
        assert!(!idempotency_key().accepts(&"k".repeat(129)));
        assert!(!idempotency_key().accepts("key with spaces"));
        assert!(!signed_content().accepts(" \n\t"));
    }

    #[test]
    fn a_misformed_field_is_reported_with_every_other_error() {
        let form = CardForm {
            holder: "AIBEK  ASANOV".into(),
            pan: "4111.1111.1111.1111".into(),
            expiry: "12/30".into(),
            cvv: "123".into(),
            phone: "+996555123456".into(),
            email: "a@example".into(),
        };
        let core = || {
            Some(ValidationErrors(vec![FieldError {
                field: Field::Email,
                text: Text::ContactEmailInvalid,
            }]))
        };
        let errors = card_errors(&form, core).expect("misformed");
        let got: Vec<(Field, Text)> = errors.0.iter().map(|e| (e.field, e.text)).collect();
        assert_eq!(
            got,
            vec![
                (Field::Holder, Text::CardHolderLatin),
                (Field::Pan, Text::CardPanDigits),
                (Field::Email, Text::ContactEmailInvalid),
            ]
        );
        let good = CardForm {
            holder: "AIBEK ASANOV".into(),
            pan: "4111 1111 1111 1111".into(),
            expiry: "12/30".into(),
            cvv: "123".into(),
            phone: "+996 555 123 456".into(),
            email: "a@example.kg".into(),
        };
        assert!(card_errors(&good, || panic!("not asked")).is_none());
    }
}
