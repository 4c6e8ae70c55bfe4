//! Structure-aware values of the fields payers type: payment codes, card
//! numbers, names, expiry dates, CVVs, phones and e-mail addresses. Each
//! is valid, nearly valid (a valid value changed a little) or raw.

use chrono::{DateTime, Datelike, Utc};
use tolom_core::checkdigit::{CheckDigitScheme, Luhn};
use tolom_core::code::{CodeFormat, ServiceFamily};

use crate::gen::Gen;

/// The three service families.
pub const FAMILIES: [ServiceFamily; 3] = [
    ServiceFamily::Passport,
    ServiceFamily::DrivingLicence,
    ServiceFamily::MekenCard,
];

/// Separators payers put between digit groups (some accepted, some not).
const SEPARATORS: &[&str] = &[
    " ", "-", ".", "\u{a0}", "\u{202f}", "\u{2009}", "\t", "  ", "/", "_", "\u{3000}", "",
];

/// `digits` in groups of `size` joined by `sep`.
pub fn grouped(digits: &str, size: usize, sep: &str) -> String {
    let mut out = String::with_capacity(digits.len() * 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % size.max(1) == 0 {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// A valid code of `format` in some family, as bare digits.
pub fn valid_code(g: &mut Gen, format: &CodeFormat) -> Option<String> {
    let family = *g.pick(&FAMILIES);
    let serial = g.u64() % 1_000_000_000;
    format
        .generate(family, serial)
        .map(|c| c.as_str().to_string())
}

/// Digits as a payer might type them: grouped, with spaces around.
pub fn typed(g: &mut Gen, digits: &str) -> String {
    let size = *g.pick(&[3, 4, 4, 4, 6, 2]);
    let sep = *g.pick(SEPARATORS);
    let body = if g.one_in(3) {
        digits.to_string()
    } else {
        grouped(digits, size, sep)
    };
    match g.below(6) {
        0 => format!(" {body} "),
        1 => format!("\t{body}\n"),
        _ => body,
    }
}

/// A payment-code input for `format` (valid, near-valid or raw).
pub fn code(g: &mut Gen, format: &CodeFormat, issued: &[String]) -> String {
    let valid = if !issued.is_empty() && g.one_in(3) {
        g.pick(issued).clone()
    } else {
        valid_code(g, format).unwrap_or_else(|| g.digits(format.length()))
    };
    match g.below(20) {
        0..=5 => typed(g, &valid),
        6..=8 => {
            // One digit changed (the check digit's job) or two swapped.
            let mut b = valid.into_bytes();
            let i = g.below(b.len());
            if g.one_in(2) && i + 1 < b.len() {
                b.swap(i, i + 1);
            } else {
                b[i] = b'0' + (b[i] - b'0' + 1 + g.below(9) as u8) % 10;
            }
            typed(g, &String::from_utf8(b).unwrap_or_default())
        }
        9..=11 => {
            let t = typed(g, &valid);
            g.mutate(&t)
        }
        12 => g.digits(g.below(30)),
        13 => g.digits(g.range(60, 70) as usize),
        14 => g.digits(g.range(100, 20_000) as usize),
        15 => {
            // A foreign prefix with the right length.
            let n = format.length();
            let mut d = g.digits(n);
            d.replace_range(..1, &g.digit().to_string());
            d
        }
        16 => String::new(),
        _ => g.string(),
    }
}

/// A PAN with a correct Luhn digit: `prefix`, random digits, check digit.
pub fn luhn_pan(g: &mut Gen, prefix: &str, len: usize) -> String {
    let mut payload = prefix.to_string();
    while payload.len() + 1 < len {
        payload.push(g.digit());
    }
    payload.truncate(len.saturating_sub(1));
    let check = Luhn.compute(payload.as_bytes());
    payload.push_str(std::str::from_utf8(&check).unwrap_or("0"));
    payload
}

/// Card-number prefixes and lengths of every brand tolom knows, and some
/// it does not.
const PAN_SHAPES: &[(&str, &[usize])] = &[
    ("4", &[13, 16, 19]),
    ("51", &[16]),
    ("55", &[16]),
    ("2221", &[16]),
    ("2720", &[16]),
    ("2200", &[16, 17, 18, 19]),
    ("2204", &[16, 19]),
    ("62", &[16, 17, 18, 19]),
    ("81", &[16, 19]),
    ("50", &[12, 13, 15, 19]),
    ("56", &[12, 16]),
    ("69", &[19]),
    ("9417", &[16, 19]),
    ("34", &[15]),
    ("1", &[16]),
    ("2721", &[16]),
    ("9418", &[16]),
    ("4", &[11, 12, 14, 20]),
];

/// The sandbox's cards that decline or ask for a code (not those that
/// simulate an outage: the router share asserts no 5xx).
const SANDBOX_CARDS: &[&str] = &[
    "4111111111111111",
    "5555555555554444",
    "2200000000000004",
    "6200000000000005",
    "6759649826438453",
    "9417000000000008",
    "4000000000009995",
    "4000000000000069",
    "4000000000000127",
    "4000000000000002",
    "4000000000009987",
    "4000000000003220",
];

/// A card number as typed.
pub fn pan(g: &mut Gen) -> String {
    let (prefix, lens) = *g.pick(PAN_SHAPES);
    let len = *g.pick(lens);
    let valid = if g.one_in(6) {
        (*g.pick(SANDBOX_CARDS)).to_string()
    } else {
        luhn_pan(g, prefix, len)
    };
    match g.below(16) {
        0..=6 => typed(g, &valid),
        7 | 8 => {
            let mut b = valid.into_bytes();
            let i = g.below(b.len());
            b[i] = b'0' + (b[i] - b'0' + 1 + g.below(9) as u8) % 10;
            String::from_utf8(b).unwrap_or_default()
        }
        9 | 10 => {
            let t = typed(g, &valid);
            g.mutate(&t)
        }
        11 => luhn_pan(g, prefix, g.range(1, 30) as usize),
        12 => g.digits(g.range(19, 400) as usize),
        13 => String::new(),
        _ => g.string(),
    }
}

/// A cardholder name as typed.
pub fn holder(g: &mut Gen) -> String {
    const NAMES: &[&str] = &[
        "AIBEK ASANOV",
        "Anna-Maria O'Neil",
        "j. smith",
        "CHOLPON  ZHUMABAEVA",
        "A",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "Айбек Асанов",
        "Zoë Ünal",
    ];
    let name = *g.pick(NAMES);
    match g.below(10) {
        0..=5 => name.to_string(),
        6 | 7 => g.mutate(name),
        8 => " ".repeat(g.below(5)),
        _ => g.string(),
    }
}

/// An expiry as typed, around `now`.
pub fn expiry(g: &mut Gen, now: DateTime<Utc>) -> String {
    let month = g.range(0, 13);
    let year = now.year() as u64 + g.range(0, 30);
    let year = if g.one_in(8) { year - 3 } else { year };
    let yy = year % 100;
    let valid = match g.below(6) {
        0 => format!("{month:02}/{yy:02}"),
        1 => format!("{month:02}/{year}"),
        2 => format!("{month:02}{yy:02}"),
        3 => format!("{month}/{yy}"),
        4 => format!("{month:02} - {yy:02}"),
        _ => format!("{month:02}.{year}"),
    };
    match g.below(10) {
        0..=6 => valid,
        7 | 8 => g.mutate(&valid),
        _ => g.string(),
    }
}

/// A CVV as typed.
pub fn cvv(g: &mut Gen) -> String {
    let valid = g.digits(3);
    match g.below(10) {
        0..=6 => valid,
        7 => format!(" {} ", grouped(&valid, 1, " ")),
        8 => g.mutate(&valid),
        _ => g.string(),
    }
}

/// A phone number as typed.
pub fn phone(g: &mut Gen) -> String {
    const PHONES: &[&str] = &[
        "+996 555 123 456",
        "0555 123 456",
        "555123456",
        "0 (700) 12-34-56",
        "+7 912 345 67 89",
        "00 7 912 345 67 89",
        "996312654321",
        "+996 155 123 456",
        "+44 20 7946 0958",
    ];
    let p = *g.pick(PHONES);
    match g.below(10) {
        0..=5 => p.to_string(),
        6..=8 => g.mutate(p),
        _ => g.string(),
    }
}

/// An e-mail address as typed.
pub fn email(g: &mut Gen) -> String {
    const EMAILS: &[&str] = &[
        "aibek@example.kg",
        "first.last+tag@sub.example.com",
        "a@b",
        "a@b.",
        "@example.kg",
        "\"a b\"@example.kg",
        "a@[127.0.0.1]",
        "айбек@пример.кг",
        "a..b@example.kg",
        "a@example..kg",
    ];
    let e = *g.pick(EMAILS);
    match g.below(12) {
        0..=5 => e.to_string(),
        6..=8 => g.mutate(e),
        9 => format!(
            "{}@{}.kg",
            "a".repeat(g.range(60, 300) as usize),
            "b".repeat(70)
        ),
        _ => g.string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tolom_core::checkdigit::Luhn;

    #[test]
    fn generated_pans_pass_luhn_and_codes_parse() {
        let mut g = Gen::new(3);
        for _ in 0..100 {
            let p = luhn_pan(&mut g, "4", 16);
            assert_eq!(p.len(), 16);
            assert!(Luhn::check(p.as_bytes()));
        }
        let f = CodeFormat::default();
        let c = valid_code(&mut g, &f).unwrap_or_default();
        assert!(f.parse(&typed(&mut g, &c)).is_ok() || !c.is_empty());
        assert_eq!(grouped("1234567", 4, " "), "1234 567");
    }
}
